package search

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// A search's work grows with the postings of its rarest required token
// (about 0.15 µs each over a million messages here): every candidate is
// visited, every hit scored or its date key read, before the first page is
// known. A search for a common word over a million messages matches 210,000
// of them (30 ms by relevance, 65 ms by date; docs/benchmarks.md, figure 7).
// So a broad search — one whose rarest required token has more than
// broadLimit postings in the tenant — is run period by period,
// newest first, a window at a time; a window is an aligned block of 64
// hours, or of 16 such blocks, and so on (periodTerms), one term each, sized
// from the matches
// per document seen so far to hold what is still wanted:
//
//   - sorted by date, it stops as soon as the windows searched hold the
//     page: older windows cannot hold anything newer, so the page is exactly
//     the page of the whole search;
//   - by relevance, it stops once the windows searched hold relevanceCap
//     matches (or the page, when paging deeper) and ranks those: the most
//     relevant of the newest matches, as large search engines answer broad
//     queries. Scores are those of the whole search (the period clause
//     weighs nothing), so windows merge by score.
//
// A search that stopped early reports an estimated total (Exact false),
// the matches found scaled by the share of documents searched.
const (
	broadLimit   = 50_000
	relevanceCap = 5_000
)

// plan is a search turned into Bleve's terms, before choosing how to run it.
type plan struct {
	tenant   string
	must     []query.Query
	should   []query.Query // weigh, never restrict (relevance only)
	filter   []query.Query // restrict, never weigh (only with text)
	pq       parsedQuery
	byDate   bool // sorted by date (also every listing)
	limit    int
	offset   int
	from, to *time.Time
	types    []string
	required map[string][]string // field → terms every match has (the words' tokens, keyword filters)
}

// request is the Bleve request of the plan with extra clauses, for size
// hits from the first.
func (p *plan) request(size, from int, extra ...query.Query) *bleve.SearchRequest {
	must := append(slices.Clip(p.must), extra...)
	var q query.Query = query.NewConjunctionQuery(must)
	if len(p.should) > 0 || len(p.filter) > 0 {
		b := query.NewBooleanQuery(must, p.should, nil)
		if len(p.filter) > 0 {
			b.AddFilter(query.NewConjunctionQuery(p.filter))
		}
		q = b
	}
	req := bleve.NewSearchRequestOptions(q, size, from, false)
	if p.byDate {
		// The date key ends with the document id: equal times never tie.
		req.SortByCustom(search.SortOrder{&search.SortField{Field: fieldCreatedSort, Type: search.SortFieldAsString, Desc: true}})
		req.Score = "none"
	} else {
		req.SortByCustom(search.SortOrder{&search.SortScore{Desc: true}})
	}
	return req
}

// outcome is what the first phase of a search found.
type outcome struct {
	hits  search.DocumentMatchCollection // the page
	total uint64
	exact bool
}

// find runs the first phase of a search: directly when it is narrow, by
// periods when it is broad.
func (ix *Index) find(ctx context.Context, p *plan) (outcome, error) {
	adv, err := ix.idx.Advanced()
	if err != nil {
		return outcome{}, err
	}
	r, err := adv.Reader()
	if err != nil {
		return outcome{}, err
	}
	est, periods, err := ix.estimate(ctx, r, p)
	_ = r.Close()
	if err != nil {
		return outcome{}, err
	}
	if est <= uint64(ix.o.broadLimit) {
		return ix.findDirect(ctx, p)
	}
	return ix.findByPeriods(ctx, p, periods, est)
}

// findDirect runs the first phase of a search in one go.
func (ix *Index) findDirect(ctx context.Context, p *plan) (outcome, error) {
	res, err := ix.idx.SearchInContext(ctx, p.request(p.limit, p.offset))
	if err != nil {
		return outcome{}, err
	}
	return outcome{hits: res.Hits, total: res.Total, exact: true}, nil
}

// periodCounts are the documents of each period block of windowLevel and up
// (every tenant's), from the index's dictionary of periods.
type periodCounts struct {
	blocks         [periodLevels + 1]map[int64]uint64
	newest, oldest int64 // blocks of windowLevel
	undated, all   uint64
	any            bool // a dated document exists
}

// estimate bounds how many documents the search can match: no more than
// its most selective required term (counted over every tenant). When that
// is more than broadLimit it also reads the period counts.
func (ix *Index) estimate(ctx context.Context, r index.IndexReader, p *plan) (uint64, *periodCounts, error) {
	count := func(field, term string) (uint64, error) {
		tfr, err := r.TermFieldReader(ctx, []byte(term), field, false, false, false)
		if err != nil {
			return 0, err
		}
		defer tfr.Close()
		return tfr.Count(), nil
	}
	est, err := count(fieldTenant, p.tenant)
	if err != nil {
		return 0, nil, err
	}
	// Every required term bounds it; those of the words and phrases are the
	// tenant's own (prefixed), so their counts are the tenant's.
	for field, terms := range p.required {
		for _, t := range terms {
			n, err := count(field, t)
			if err != nil {
				return 0, nil, err
			}
			est = min(est, n)
		}
	}
	if len(p.types) > 0 {
		var n uint64
		for _, t := range p.types {
			c, err := count(fieldType, t)
			if err != nil {
				return 0, nil, err
			}
			n += c
		}
		est = min(est, n)
	}
	if est <= uint64(ix.o.broadLimit) {
		return est, nil, nil
	}
	pc := &periodCounts{}
	for k := range pc.blocks {
		pc.blocks[k] = map[int64]uint64{}
	}
	read := func(dict index.FieldDict, err error) error {
		if err != nil {
			return err
		}
		defer dict.Close()
		for {
			e, err := dict.Next()
			if err != nil || e == nil {
				return err
			}
			if e.Term == noPeriod {
				pc.undated = e.Count
				pc.all += e.Count
				continue
			}
			level, block, ok := parsePeriodTerm(e.Term)
			if !ok || level < windowLevel {
				continue
			}
			pc.blocks[level][block] = e.Count
			if level == windowLevel {
				pc.all += e.Count
				if !pc.any || block > pc.newest {
					pc.newest = block
				}
				if !pc.any || block < pc.oldest {
					pc.oldest = block
				}
				pc.any = true
			}
		}
	}
	// Only the levels of windows (the quarter-hours alone are a term per
	// quarter-hour with a document), and the undated.
	for k := windowLevel; k <= periodLevels; k++ {
		// "<k>:" up to "<k>;", the character after ':'.
		if err := read(r.FieldDictRange(fieldPeriod, fmt.Appendf(nil, "%d:", k), fmt.Appendf(nil, "%d;", k))); err != nil {
			return 0, nil, err
		}
	}
	if err := read(r.FieldDictRange(fieldPeriod, []byte(noPeriod), []byte(noPeriod))); err != nil {
		return 0, nil, err
	}
	return est, pc, nil
}

// findByPeriods runs a broad search window by window, newest first.
func (ix *Index) findByPeriods(ctx context.Context, p *plan, pc *periodCounts, est uint64) (outcome, error) {
	need := p.offset + p.limit
	goal := uint64(need)
	if !p.byDate {
		goal = uint64(max(ix.o.relevanceCap, need))
	}
	var searched, total uint64
	var hits search.DocumentMatchCollection
	window := func(term string, docs uint64) error {
		t := termQuery(fieldPeriod, term)
		t.SetBoost(0) // the period weighs nothing: scores are those of the whole search
		if ix.o.windows != nil {
			ix.o.windows.Add(1)
		}
		res, err := ix.idx.SearchInContext(ctx, p.request(need, 0, t))
		if err != nil {
			return err
		}
		total += res.Total
		searched += docs
		hits = append(hits, res.Hits...)
		return nil
	}
	// Positions are blocks of windowLevel.
	shift := func(level int) int { return periodBits * (level - windowLevel) }
	hi, lo := pc.newest, pc.oldest
	if p.to != nil {
		hi = min(hi, quarterOf(p.to.Add(-time.Nanosecond))>>(periodBits*windowLevel))
	}
	if p.from != nil {
		lo = max(lo, quarterOf(*p.from)>>(periodBits*windowLevel))
	}
	// The documents the search could match: those of its dates.
	all := pc.all
	if p.from != nil || p.to != nil {
		all = 0
		for b, n := range pc.blocks[windowLevel] {
			if b >= lo && b <= hi {
				all += n
			}
		}
	}
	pos := hi
	for pc.any && pos >= lo && total < goal {
		if !ix.o.walkAll && searched > 0 && float64(total)*float64(all)/float64(searched) < float64(goal) {
			// At the rate seen so far the windows would all be walked
			// without reaching the goal (a phrase or words that are
			// common apart and rare together): a window costs a good part
			// of a whole search, so one search is cheaper.
			return ix.findDirect(ctx, p)
		}
		// Documents the next window should cover: what is still wanted at
		// the rate seen so far; at first, at the rate of the estimate
		// (which can only be higher than the real one); with nothing found
		// yet, as many as were searched (the windows double).
		var want uint64
		switch {
		case total > 0:
			want = uint64(float64(goal-total) * float64(searched) / float64(total) * 1.25)
		case searched == 0 && est > 0:
			want = uint64(float64(goal) * float64(all) / float64(est) * 1.25)
		default:
			want = max(searched, 1)
		}
		// The largest block ending at pos that holds no more than that.
		k := windowLevel
		for k < periodLevels {
			n := shift(k + 1)
			if ((pos>>n)+1)<<n-1 != pos || pc.blocks[k+1][pos>>n] > want {
				break
			}
			k++
		}
		block := pos >> shift(k)
		if docs := pc.blocks[k][block]; docs > 0 {
			if err := window(periodTerm(k, block), docs); err != nil {
				return outcome{}, err
			}
		}
		pos = block<<shift(k) - 1
	}
	exact := !pc.any || pos < lo
	// Documents without a date come last by date, and are outside every
	// range of dates.
	if exact && pc.undated > 0 && p.from == nil && p.to == nil {
		if total < goal {
			if err := window(noPeriod, pc.undated); err != nil {
				return outcome{}, err
			}
		} else {
			exact = false
		}
	}
	if !p.byDate {
		// Windows in date order hold hits in score order each: merge; equal
		// scores keep the newer window first.
		sort.SliceStable(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
	}
	out := outcome{total: total, exact: exact}
	if !exact && searched > 0 {
		out.total = max(total, uint64(float64(total)*float64(all)/float64(searched)))
	}
	if p.offset < len(hits) {
		out.hits = hits[p.offset:min(len(hits), need)]
	}
	return out, nil
}
