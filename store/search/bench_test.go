package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"

	"github.com/pmassist/pmassist"
)

var benchWords = strings.Fields(`
	we decided to ship the release on friday after review of the roadmap and the budget
	postgres migration analytics dashboard latency customer onboarding billing invoice
	sprint planning standup blocker retro design spec api endpoint webhook deploy rollback
	incident postmortem alert pager oncall metrics tracing logs search index cache queue
	mobile ios android web frontend backend infra terraform kubernetes docker pipeline
	pricing enterprise trial churn feedback interview survey persona journey funnel
	accessibility localization translation copy legal privacy security audit compliance
	let us go with option b agreed approved final call moving forward lgtm merged shipped`)

var benchChannels = []string{"eng", "product", "design", "releases", "support", "growth", "infra", "random"}

var benchAuthors = []pmassist.Person{
	{Name: "Ada Lovelace", Email: "ada@acme.test"}, {Name: "Lin Chen", Email: "lin@acme.test"},
	{Name: "Grace Hopper", Email: "grace@acme.test"}, {Name: "Sam Okafor", Email: "sam@acme.test"},
}

// benchText draws words Zipf-distributed, as in real text: the common
// words first, then a long tail of rare ones ("term1234").
func benchText(r *rand.Rand, words int) string {
	z := rand.NewZipf(r, 1.1, 2, uint64(len(benchWords)+5000-1))
	var b strings.Builder
	for i := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if k := int(z.Uint64()); k < len(benchWords) {
			b.WriteString(benchWords[k])
		} else {
			fmt.Fprintf(&b, "term%d", k-len(benchWords))
		}
	}
	return b.String()
}

func benchItem(r *rand.Rand, tenantID string, i int) *pmassist.Item {
	it := &pmassist.Item{
		ID: fmt.Sprintf("%s-%06d", tenantID, i), TenantID: tenantID, Type: pmassist.ItemMessage,
		Service: pmassist.ServiceSlack, ExternalID: fmt.Sprintf("C01:%d", i), URL: fmt.Sprintf("https://slack.test/%d", i),
		Text: benchText(r, 8+r.IntN(30)), Author: benchAuthors[r.IntN(len(benchAuthors))],
		Channel: benchChannels[r.IntN(len(benchChannels))], CreatedAt: t0.Add(time.Duration(i) * time.Minute),
	}
	if i%5 == 0 {
		it.Type, it.Service, it.Channel = pmassist.ItemIssue, pmassist.ServiceLinear, "ENG"
		it.Title = benchText(r, 4+r.IntN(6))
	}
	return it
}

// benchStore holds n items of "acme" and n/10 of each of 4 other tenants.
func benchStore(n int) *fakeStore {
	r := rand.New(rand.NewPCG(1, 2))
	f := newFakeStore()
	for i := range n {
		it := benchItem(r, "acme", i)
		f.items[it.ID] = it
	}
	for t := range 4 {
		for i := range n / 10 {
			it := benchItem(r, fmt.Sprintf("other%d", t), i)
			f.items[it.ID] = it
		}
	}
	return f
}

func benchQueries() []pmassist.SearchQuery {
	from, to := t0.Add(24*time.Hour), t0.Add(72*time.Hour)
	return []pmassist.SearchQuery{
		{Q: "postgres"},
		{Q: "term42"},
		{Q: "term7 term300"},
		{Q: "release budget"},
		{Q: "decided ship friday"},
		{Q: `"let us go"`},
		{Q: `"option b" approved`},
		{Q: "deploy", Sort: "date"},
		{Q: "incident", Channel: "eng"},
		{Q: "api", Types: []string{"issue"}},
		{Q: "customer", Author: "ada@acme.test"},
		{Q: "latency", From: &from, To: &to},
		{Q: "search index", Offset: 20},
		{Channel: "releases"},
		{},
	}
}

func BenchmarkSearch(b *testing.B) {
	f := benchStore(10_000)
	ix := openIndex(b, b.TempDir(), f)
	waitIdle(b, ix)
	ctx := tenantCtx("acme")
	qs := benchQueries()
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := ix.Search(ctx, qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	if len(times) > 0 {
		b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkSearchBare runs the same queries straight on the Bleve index
// (the tenant conjunction, sorted by score, without fields, locations or
// snippets): the baseline of BenchmarkSearch.
func BenchmarkSearchBare(b *testing.B) {
	f := benchStore(10_000)
	ix := openIndex(b, b.TempDir(), f)
	waitIdle(b, ix)
	var reqs []*bleve.SearchRequest
	for _, q := range benchQueries() {
		p, err := ix.plan("acme", q)
		if err != nil {
			b.Fatal(err)
		}
		req := p.request(p.limit, p.offset)
		req.SortByCustom(search.SortOrder{&search.SortScore{Desc: true}})
		req.Score = ""
		reqs = append(reqs, req)
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := ix.idx.Search(reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	if len(times) > 0 {
		b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkIndex queues b.N stored items and waits until they are
// searchable: the queue's path from committed ids to the index.
func BenchmarkIndex(b *testing.B) {
	f := newFakeStore()
	ix := openIndex(b, b.TempDir(), f)
	waitIdle(b, ix)
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]string, b.N)
	for i := range b.N {
		it := benchItem(r, "acme", i)
		f.items[it.ID] = it
		ids[i] = it.ID
	}
	ctx := tenantCtx("acme")
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(ids); i += 200 { // pages, as ingestion commits them
		ix.QueueItems(ctx, ids[i:min(i+200, len(ids))]...)
	}
	if err := ix.WaitIdle(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkIndexBare indexes the same documents straight into Bleve, in
// batches of 1000: the baseline of BenchmarkIndex.
func BenchmarkIndexBare(b *testing.B) {
	im, err := newMapping()
	if err != nil {
		b.Fatal(err)
	}
	idx, err := bleve.NewUsing(b.TempDir(), im, scorch.Name, scorch.Name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	r := rand.New(rand.NewPCG(3, 4))
	docs := make([]*doc, b.N)
	for i := range b.N {
		docs[i] = itemDoc(benchItem(r, "acme", i))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(docs); i += defaultBatchSize {
		batch := idx.NewBatch()
		for j := i; j < min(i+defaultBatchSize, len(docs)); j++ {
			if err := batch.Index(fmt.Sprintf("item:%d", j), docs[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := idx.Batch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
}
