package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// limited searches with the broad search's limits set.
type limited struct {
	ix                 *Index
	broadLimit, capped int
	walkAll            bool
}

func (l limited) Search(ctx context.Context, q pmassist.SearchQuery) (*pmassist.SearchResults, error) {
	l.ix.o.broadLimit, l.ix.o.relevanceCap, l.ix.o.walkAll = l.broadLimit, l.capped, l.walkAll
	return l.ix.Search(ctx, q)
}

// broadFixture indexes n messages of acme spread over about 40 weeks, one
// every 3 hours, most of them with the word "rollout", a few without a
// date, and some of another tenant; the same index is searched directly
// (nothing is broad) and by periods (limits lowered).
func broadFixture(t *testing.T, n int) (direct, byPeriods limited) {
	t.Helper()
	f := newFakeStore()
	r := rand.New(rand.NewPCG(7, 8))
	var items []*pmassist.Item
	words := []string{"rollout", "rollout", "rollout", "billing", "search", "deploy"}
	for i := range n {
		text := fmt.Sprintf("%s of the %s worker, step %d", words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(9))
		at := t0.Add(-time.Duration(i) * 3 * time.Hour)
		if i%97 == 0 {
			at = time.Time{} // no date: no sort key, period noPeriod
		}
		items = append(items, msg("acme", fmt.Sprintf("m%05d", i), text, at))
		if i%4 == 0 {
			items = append(items, msg("beta", fmt.Sprintf("b%05d", i), text, at))
		}
	}
	ix := openIndex(t, t.TempDir(), f, func(o *Options) { o.windows = new(atomic.Int64) })
	add(f, ix, items...)
	waitIdle(t, ix)
	return limited{ix, 1 << 30, 1 << 30, false}, limited{ix, 50, 200, false}
}

func searchOf(t *testing.T, l limited, q pmassist.SearchQuery) *pmassist.SearchResults {
	t.Helper()
	res, err := l.Search(tenantCtx("acme"), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func ids(res *pmassist.SearchResults) []string {
	out := make([]string, len(res.Results))
	for i, r := range res.Results {
		out[i] = r.ID
	}
	return out
}

// Sorted by date, a broad search gives exactly the pages of the direct
// search, at every offset, and an estimated total once it stopped early.
func TestBroadSearchByDate(t *testing.T) {
	direct, byPeriods := broadFixture(t, 2000)
	for _, q := range []pmassist.SearchQuery{
		{Q: "rollout", Sort: "date"},
		{Q: "rollout", Sort: "date", Offset: 20},
		{Q: "rollout", Sort: "date", Offset: 600, Limit: 100},
		{Q: "rollout", Sort: "date", Offset: 1500, Limit: 100}, // past the dated ones: the undated last
		{Q: "", Channel: "eng"},                                // a listing
		{Q: "billing worker", Sort: "date", Limit: 50},
	} {
		want := searchOf(t, direct, q)
		got := searchOf(t, byPeriods, q)
		if !want.TotalExact || want.Total <= 50 {
			t.Fatalf("%+v: the direct search is not broad enough: %d", q, want.Total)
		}
		// Newest first, the undated last: with the index of version 2,
		// whose raw 8-byte date keys Bleve cut at a 0xff byte, some were
		// out of place.
		for i := 1; i < len(want.Results); i++ {
			prev, cur := want.Results[i-1].CreatedAt, want.Results[i].CreatedAt
			if !cur.IsZero() && (prev.IsZero() || cur.After(prev)) {
				t.Fatalf("%+v: %s of %v after %s of %v", q, want.Results[i].ID, cur, want.Results[i-1].ID, prev)
			}
		}
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("%+v: by periods %v, direct %v", q, ids(got), ids(want))
		}
		for _, r := range got.Results {
			if !strings.HasPrefix(r.ID, "m") {
				t.Fatalf("another tenant's result %s", r.ID)
			}
		}
		if q.Offset < 1000 {
			if got.TotalExact || got.Total < want.Total/3 || got.Total > want.Total*3 {
				t.Errorf("%+v: total %d (exact %t), direct %d", q, got.Total, got.TotalExact, want.Total)
			}
		} else if !got.TotalExact || got.Total != want.Total {
			t.Errorf("%+v: walked every period: total %d (exact %t), want %d exact", q, got.Total, got.TotalExact, want.Total)
		}
	}
}

// By relevance, a broad search ranks the newest matches with the scores of
// the direct search: with a cap above the matches it is the direct search;
// with a lower one, the pages hold the best of the newest periods, in
// score order, and follow each other without gaps or repeats.
func TestBroadSearchByRelevance(t *testing.T) {
	direct, byPeriods := broadFixture(t, 2000)
	q := pmassist.SearchQuery{Q: "billing worker", Limit: 50}
	want := searchOf(t, direct, q)
	wide := byPeriods
	wide.capped, wide.walkAll = 100_000, true
	got := searchOf(t, wide, q)
	if len(got.Results) != len(want.Results) || !got.TotalExact || got.Total != want.Total {
		t.Fatalf("every period: %d results (%d, exact %t), direct %d (%d)", len(got.Results), got.Total, got.TotalExact, len(want.Results), want.Total)
	}
	// The same scores in the same order; equal scores may come in another
	// order (newest window first), so the ids are compared above the last
	// page's lowest score.
	last := want.Results[len(want.Results)-1].Score
	above := func(res *pmassist.SearchResults) []string {
		var out []string
		for _, r := range res.Results {
			if r.Score > last {
				out = append(out, r.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	for i := range got.Results {
		if got.Results[i].Score != want.Results[i].Score {
			t.Fatalf("result %d: score %v by periods, %v directly", i, got.Results[i].Score, want.Results[i].Score)
		}
	}
	if a, b := above(got), above(want); len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("above the last score: %v by periods, %v directly", a, b)
	}

	q = pmassist.SearchQuery{Q: "rollout", Limit: 100}
	first := searchOf(t, byPeriods, q)
	q.Offset = 100
	second := searchOf(t, byPeriods, q)
	all := searchOf(t, direct, pmassist.SearchQuery{Q: "rollout", Sort: "date", Limit: 100, Offset: 0})
	if first.TotalExact || len(first.Results) != 100 || len(second.Results) != 100 {
		t.Fatalf("pages of %d and %d, exact %t", len(first.Results), len(second.Results), first.TotalExact)
	}
	seen := map[string]bool{}
	oldest := all.Results[len(all.Results)-1].CreatedAt
	both := append(first.Results, second.Results...)
	for i, r := range both {
		if seen[r.ID] {
			t.Fatalf("%s on both pages", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.Score > both[i-1].Score {
			t.Fatalf("the two pages are not in score order at %d", i)
		}
		if r.CreatedAt.IsZero() {
			t.Fatalf("an undated message %s ranked among the newest", r.ID)
		}
	}
	// The cap holds at least 200 matches: the newest 100 by date are all
	// candidates, so none of the results is older than a few periods.
	for _, r := range first.Results {
		if r.CreatedAt.Before(oldest.AddDate(0, 0, -21)) {
			t.Fatalf("%s of %v ranked, the newest 100 reach back to %v", r.ID, r.CreatedAt, oldest)
		}
	}
}

// Dates narrow the periods searched; what is outside them never appears.
func TestBroadSearchDates(t *testing.T) {
	direct, byPeriods := broadFixture(t, 2000)
	from, to := t0.AddDate(0, 0, -120), t0.AddDate(0, 0, -60)
	for _, sort := range []string{"date", "relevance"} {
		q := pmassist.SearchQuery{Q: "rollout", Sort: sort, From: &from, To: &to, Limit: 100}
		got := searchOf(t, byPeriods, q)
		want := searchOf(t, direct, q)
		if len(got.Results) == 0 {
			t.Fatalf("%s: nothing", sort)
		}
		for _, r := range got.Results {
			if r.CreatedAt.Before(from) || !r.CreatedAt.Before(to) {
				t.Fatalf("%s: %s of %v outside %v–%v", sort, r.ID, r.CreatedAt, from, to)
			}
		}
		if sort == "date" && !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("by date: %v, direct %v", ids(got), ids(want))
		}
	}
}

// Quarter-hours are numbered from 1970 (UTC), and every block of a level
// holds exactly the 4 blocks of the level below.
func TestPeriods(t *testing.T) {
	for _, c := range []struct {
		at    time.Time
		start time.Time
	}{
		{time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC), time.Date(2026, 11, 28, 23, 45, 0, 0, time.UTC)},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1969, 12, 31, 23, 45, 0, 0, time.UTC)},
		{time.Date(2026, 11, 30, 5, 50, 0, 0, time.FixedZone("IST", 19800)), time.Date(2026, 11, 30, 0, 15, 0, 0, time.UTC)},
	} {
		if got := quarterStart(quarterOf(c.at)); !got.Equal(c.start) {
			t.Errorf("quarter of %v starts %v, want %v", c.at, got, c.start)
		}
	}
	if terms := periodTerms(time.Time{}, false); len(terms) != 1 || terms[0] != noPeriod {
		t.Fatalf("undated: %v", terms)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		at := time.Unix(r.Int64N(8_000_000_000)-3_000_000_000, r.Int64N(1e9)).UTC()
		q := quarterOf(at)
		start := quarterStart(q)
		if at.Before(start) || !at.Before(start.Add(15*time.Minute)) {
			t.Fatalf("%v: quarter %d starts %v", at, q, start)
		}
		terms := periodTerms(at, true)
		for k, term := range terms {
			level, block, ok := parsePeriodTerm(term)
			if !ok || level != k || q>>(periodBits*k) != block {
				t.Fatalf("%v (quarter %d): term %q at level %d", at, q, term, k)
			}
			if k > 0 {
				_, below, _ := parsePeriodTerm(terms[k-1])
				if below>>periodBits != block {
					t.Fatalf("%v: block %d of level %d is not in %d", at, below, k-1, block)
				}
			}
		}
	}
	if _, _, ok := parsePeriodTerm("junk"); ok {
		t.Fatal("junk parsed")
	}
}

// A range of quarter-hours is exactly the union of its blocks, and few of
// them: a quarter-hour is inside the range if and only if one of its
// blocks is a block of the range.
func TestRangeTerms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(from, to int64) {
		t.Helper()
		terms := rangeTerms(from, to)
		set := map[string]bool{}
		for _, term := range terms {
			if set[term] {
				t.Fatalf("[%d, %d): %s twice", from, to, term)
			}
			set[term] = true
		}
		if len(terms) > 2*(1<<periodBits-1)*periodLevels+64 {
			t.Fatalf("[%d, %d): %d terms", from, to, len(terms))
		}
		probe := func(q int64) {
			in := false
			for _, term := range periodTerms(quarterStart(q), true) {
				in = in || set[term]
			}
			if in != (q >= from && q < to) {
				t.Fatalf("[%d, %d) (%d terms): quarter %d inside %t", from, to, len(terms), q, in)
			}
		}
		for _, q := range []int64{from - 1, from, from + 1, to - 1, to, to + 1, (from + to) / 2} {
			probe(q)
		}
		for range 50 {
			probe(from - 100 + r.Int64N(to-from+200))
		}
	}
	for range 3000 {
		from := r.Int64N(4_000_000) - 1_000_000
		span := []int64{1, 96, 96 * 7, 96 * 365, r.Int64N(50), r.Int64N(5_000_000)}[r.IntN(6)]
		check(from, from+span)
	}
	check(quarterOf(minDate), quarterOf(maxDate))
	if terms := rangeTerms(5, 5); len(terms) != 0 {
		t.Fatalf("empty range: %v", terms)
	}
}

// A range of dates finds exactly the documents in it, whether its ends are
// whole quarter-hours (days in a timezone) or any instant.
func TestDateRangesAreExact(t *testing.T) {
	f := newFakeStore()
	ix := openIndex(t, t.TempDir(), f)
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var items []*pmassist.Item
	for i := range 300 {
		at := base.Add(time.Duration(r.Int64N(int64(10 * 24 * time.Hour))))
		if i%10 == 0 {
			at = base.Add(time.Duration(r.IntN(10*96)) * 15 * time.Minute) // on a quarter-hour
		}
		items = append(items, msg("acme", fmt.Sprintf("m%03d", i), "status update", at))
	}
	add(f, ix, items...)
	waitIdle(t, ix)
	ist := time.FixedZone("IST", 19800)
	for n := range 60 {
		var from, to time.Time
		switch n % 3 {
		case 0: // whole days in a timezone
			d := r.IntN(8)
			from = time.Date(2026, 11, 1+d, 0, 0, 0, 0, ist)
			to = from.AddDate(0, 0, 1+r.IntN(3))
		case 1: // any instants
			from = base.Add(time.Duration(r.Int64N(int64(10 * 24 * time.Hour))))
			to = from.Add(time.Duration(r.Int64N(int64(3 * 24 * time.Hour))))
		default: // within a quarter-hour or two
			from = items[r.IntN(len(items))].CreatedAt.Add(-time.Duration(r.Int64N(int64(10 * time.Minute))))
			to = from.Add(time.Duration(r.Int64N(int64(20 * time.Minute))))
		}
		var want []string
		for _, it := range items {
			if !it.CreatedAt.Before(from) && it.CreatedAt.Before(to) {
				want = append(want, it.ID)
			}
		}
		var got []string
		for offset := 0; ; offset += 100 {
			res := mustSearch(t, ix, "acme", pmassist.SearchQuery{From: &from, To: &to, Limit: 100, Offset: offset})
			got = append(got, ids(res)...)
			if len(res.Results) < 100 {
				if res.Total != len(want) {
					t.Fatalf("[%v, %v): total %d, want %d", from, to, res.Total, len(want))
				}
				break
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("[%v, %v): %v, want %v", from, to, got, want)
		}
	}
}

// A broad search whose windows show it will not reach its goal (words
// common apart, rare together) runs as one search: exact, and the same as
// the direct search.
func TestBroadSearchFallsBackToOneSearch(t *testing.T) {
	direct, byPeriods := broadFixture(t, 2000)
	q := pmassist.SearchQuery{Q: "billing deploy", Limit: 50}
	want := searchOf(t, direct, q)
	got := searchOf(t, byPeriods, q)
	if !got.TotalExact || got.Total != want.Total || len(got.Results) != len(want.Results) || want.Total >= 200 {
		t.Fatalf("%d results, total %d (exact %t); direct %d, total %d", len(got.Results), got.Total, got.TotalExact, len(want.Results), want.Total)
	}
	fellBack := byPeriods.ix.o.windows.Load()
	walking := byPeriods
	walking.walkAll = true
	if res := searchOf(t, walking, q); res.Total != want.Total || !res.TotalExact {
		t.Fatalf("walking every window: total %d (exact %t), want %d", res.Total, res.TotalExact, want.Total)
	}
	if walked := byPeriods.ix.o.windows.Load() - fellBack; fellBack > 2 || walked <= fellBack {
		t.Fatalf("%d windows before one search, %d walking them all", fellBack, walked)
	}
}
