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
	if o, err := parseOptions(nil, &stderr); err != nil || !reflect.DeepEqual(o.figures, defaultFigures) ||
		!reflect.DeepEqual(o.growth, []int{10_000, 100_000, 1_000_000}) {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if o, err := parseOptions([]string{"-quick", "-figures", "all"}, &stderr); err != nil ||
		!reflect.DeepEqual(o.figures, []int{1, 2, 3, 4, 5, 6, 7}) || !reflect.DeepEqual(o.growth, []int{1_000, 10_000, 100_000}) {
		t.Fatalf("all, quick: %+v %v", o, err)
	}
	if o, err := parseOptions([]string{"-figures", "7", "-growth", "1_000_000,5000"}, &stderr); err != nil ||
		!reflect.DeepEqual(o.growth, []int{5_000, 1_000_000}) {
		t.Fatalf("-growth: %+v %v", o, err)
	}
	for _, bad := range []string{"0", "8", "x", ""} {
		if _, err := parseOptions([]string{"-figures", bad}, &stderr); err == nil {
			t.Errorf("-figures %q accepted", bad)
		}
	}
	for _, bad := range []string{"50", "x", "1000,"} {
		if _, err := parseOptions([]string{"-growth", bad}, &stderr); err == nil {
			t.Errorf("-growth %q accepted", bad)
		}
	}
}

func TestProcMemory(t *testing.T) {
	text := "Name:\tpmassist-bench\nVmPeak:\t 2000000 kB\nVmHWM:\t  307200 kB\nVmRSS:\t  153600 kB\n" +
		"RssAnon:\t  102400 kB\nRssFile:\t   51200 kB\nRssShmem:\t       0 kB\n"
	p := parseProcMemory(text)
	if p != (procMemory{HWM: 307200, RSS: 153600, Anon: 102400, File: 51200}) {
		t.Fatalf("%+v", p)
	}
	if s := p.String(); !strings.Contains(s, "VmHWM 300 MiB") || !strings.Contains(s, "file-backed 50 MiB") {
		t.Fatalf("%q", s)
	}
}

// The copy check accepts a prefix of whole pages and refuses anything
// else; it is tested on its own rules here (checkBackupIDs), the file
// handling by the harness's runs.
func TestBackupPrefix(t *testing.T) {
	asked := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	commits := []commit{
		{ids: []string{"w1", "w2"}, end: asked.Add(-time.Second)},
		{ids: []string{"w3", "w4"}, end: asked.Add(time.Second)},
		{ids: []string{"w5", "w6"}, end: asked.Add(2 * time.Second)},
	}
	before := map[string]bool{"a": true, "b": true}
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	for _, tc := range []struct {
		got  map[string]bool
		held int
		ok   bool
	}{
		{set("a", "b", "w1", "w2"), 1, true},
		{set("a", "b", "w1", "w2", "w3", "w4"), 2, true},
		{set("a", "b", "w1", "w2", "w3", "w4", "w5", "w6"), 3, true},
		{set("a", "w1", "w2"), 0, false},                  // an older item missing
		{set("a", "b"), 0, false},                         // a page committed before the backup missing
		{set("a", "b", "w1", "w2", "w3"), 1, false},       // half a page
		{set("a", "b", "w1", "w2", "w5", "w6"), 1, false}, // not a prefix
		{set("a", "b", "w1", "w2", "stranger"), 1, false}, // an unknown item
	} {
		held, err := checkBackupIDs(tc.got, before, commits, asked)
		if (err == nil) != tc.ok || (tc.ok && held != tc.held) {
			t.Errorf("%v: held %d, %v", tc.got, held, err)
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

func TestSmaps(t *testing.T) {
	text := `55d0c0000000-55d0c1000000 r-xp 00000000 08:01 1234   /usr/bin/pmassist-bench
Size:              16384 kB
Rss:                8192 kB
7f0000000000-7f0010000000 r--s 00000000 08:01 99     /tmp/x/data/pmassist.db
Rss:               20480 kB
7f0010000000-7f0011000000 r--s 00000000 08:01 98     /tmp/x/data/index/store/000000000001.zap
Rss:                4096 kB
7f0011000000-7f0012000000 rw-p 00000000 00:00 0
Rss:               30720 kB
VmFlags: rd wr mr mw me ac
`
	got := parseSmaps(text, "/tmp/x/data")
	want := map[string]int64{"other files (the binary, libraries)": 8192, "data file": 20480, "index files": 4096, "anonymous": 30720}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v", got)
	}
	if s := formatByFile(got); !strings.HasPrefix(s, "anonymous 30 MiB, data file 20 MiB") {
		t.Fatalf("%q", s)
	}
}
