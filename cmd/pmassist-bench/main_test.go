package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The harness measures; its tests check only that its inputs are the same
// from run to run and that it prints what it measured. No timing is
// asserted here.

func TestCorpusIsDeterministic(t *testing.T) {
	a, b := newCorpus(1, 3000, corpusEnd), newCorpus(1, 3000, corpusEnd)
	if !reflect.DeepEqual(a.messages, b.messages) {
		t.Fatal("the same seed gave different messages")
	}
	if c := newCorpus(2, 3000, corpusEnd); reflect.DeepEqual(a.messages, c.messages) {
		t.Fatal("another seed gave the same messages")
	}
	if len(a.messages) != 3000 {
		t.Fatalf("%d messages, want 3000", len(a.messages))
	}
	seen := map[string]bool{}
	replies, bots := 0, 0
	for _, m := range a.messages {
		if seen[m.ts] {
			t.Fatalf("ts %s used twice", m.ts)
		}
		seen[m.ts] = true
		if m.parent != "" {
			replies++
			if !seen[m.parent] {
				t.Fatalf("reply %s before its parent %s", m.ts, m.parent)
			}
		}
		if m.user == botUser {
			bots++
		}
		if m.at.Before(a.start) || !m.at.Before(a.end.Add(48*time.Hour)) {
			t.Fatalf("message at %s outside the corpus' year", m.at)
		}
	}
	if share := float64(a.decisions) / 3000; share < 0.17 || share > 0.23 {
		t.Errorf("%.1f%% of the messages have a decision phrase, want about 20%%", 100*share)
	}
	if replies == 0 || bots == 0 {
		t.Errorf("%d replies and %d bot messages, want some of each", replies, bots)
	}
	// The items and the stand-in's workspace hold the same messages.
	items, data := a.items(), a.slackData()
	n := 0
	for _, ms := range data.Messages {
		n += len(ms)
	}
	if len(items) != 3000 || n != 3000 || len(data.Channels) != len(channelNames) {
		t.Fatalf("%d items, %d stand-in messages in %d channels", len(items), n, len(data.Channels))
	}
	if it := items[0]; it.Text != a.messages[0].text || !it.CreatedAt.Equal(a.messages[0].at) || it.Channel == "" {
		t.Fatalf("item %+v does not match message %+v", it, a.messages[0])
	}
}

func TestQueriesAreDeterministic(t *testing.T) {
	c := newCorpus(1, 1000, corpusEnd)
	a, b := newQueries(7, 1000, c), newQueries(7, 1000, c)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different queries")
	}
	var phrases, filters, byDate int
	for _, q := range a {
		words, ph := splitQuery(q.Q)
		if n := len(words) + len(ph); n < 1 || n > 3 {
			t.Fatalf("query %q has %d terms", q.Q, n)
		}
		if len(ph) > 0 {
			phrases++
		}
		if q.Type+q.Service+q.Channel+q.Author+q.From != "" {
			filters++
		}
		if q.Sort == "date" {
			byDate++
		}
		if q.From != "" && q.To < q.From {
			t.Fatalf("range %s..%s", q.From, q.To)
		}
		if req := bareRequest(bareTenant, q); req == nil || req.Size != 20 {
			t.Fatalf("bare request of %+v: %+v", q, req)
		}
	}
	for name, got := range map[string]int{"phrases": phrases, "filters": filters, "by date": byDate} {
		if got < 100 || got > 300 {
			t.Errorf("%d of 1000 queries with %s", got, name)
		}
	}
	v := benchQuery{Q: `"job queue" flaky`, Channel: "eng", Sort: "date"}.values()
	if v.Get("q") != `"job queue" flaky` || v.Get("channel") != "eng" || v.Get("sort") != "date" || v.Has("author") {
		t.Fatalf("values: %v", v)
	}
}

func TestSplitQuery(t *testing.T) {
	words, phrases := splitQuery(`"let's go with" postgres  "job queue"`)
	if !reflect.DeepEqual(words, []string{"postgres"}) || !reflect.DeepEqual(phrases, []string{"let's go with", "job queue"}) {
		t.Fatalf("%q %q", words, phrases)
	}
}

func TestTable(t *testing.T) {
	rows := []row{
		newRow(1, "ingest until searchable", unitRate, 9512.4, ptr(15873), "≥ 8,000/s and ≥ 0.6×", true),
		newRow(2, "search p99, API", unitMilli, 6.25, ptr(0.6), "≤ 5 ms", false),
		newRow(5, "start with the index, to /readyz 200", unitSec, 0.123, nil, "≤ 1 s", true),
	}
	var out bytes.Buffer
	if err := writeTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	want := `| figure | measurement                          |   value | baseline |  ratio | target               | result |
|-------:|--------------------------------------|--------:|---------:|-------:|----------------------|--------|
|      1 | ingest until searchable              | 9,512/s | 15,873/s |  0.60× | ≥ 8,000/s and ≥ 0.6× | PASS   |
|      2 | search p99, API                      | 6.25 ms |  0.60 ms | 10.42× | ≤ 5 ms               | MISS   |
|      5 | start with the index, to /readyz 200 |  0.12 s |        — |      — | ≤ 1 s                | PASS   |
`
	if out.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", out.String(), want)
	}
	if rows[2].Ratio != nil || rows[0].Ratio == nil {
		t.Fatal("ratio without a baseline, or none with one")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %s", p)
	}
	if p := percentile(ds, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %s", p)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
	if p := percentile(nil, 0.5); p != 0 {
		t.Errorf("p50 of nothing = %s", p)
	}
}

func TestOptions(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseOptions([]string{"-quick", "-figures", "5,1,1", "-json", "out.json"}, &stderr)
	if err != nil || !o.quick || !reflect.DeepEqual(o.figures, []int{1, 5}) || o.jsonPath != "out.json" {
		t.Fatalf("%+v %v", o, err)
	}
	if o, err := parseOptions(nil, &stderr); err != nil || !reflect.DeepEqual(o.figures, implemented) {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	for _, bad := range []string{"3", "8", "x", ""} {
		if _, err := parseOptions([]string{"-figures", bad}, &stderr); err == nil {
			t.Errorf("-figures %q accepted", bad)
		}
	}
}

func TestMeminfo(t *testing.T) {
	text := "MemFree:         18316584 kB\nMemTotal:       24731708 kB\n"
	if got := meminfoTotal(text); got != 24731708 {
		t.Fatalf("MemTotal = %d", got)
	}
	if s := (machine{CPUs: 2, MemoryKiB: 24731708, GoVersion: "go1.26.8", OS: "linux", Arch: "amd64"}).String(); !strings.Contains(s, "2 CPUs") || !strings.Contains(s, "23.6 GiB") {
		t.Fatalf("machine line %q", s)
	}
}
