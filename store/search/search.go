package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/pmassist/pmassist"
)

// Limits of a page of results.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxWindow    = 10_000 // offset + limit
)

// resultFields are the stored fields a result is made of.
var resultFields = []string{fieldType, fieldTitle, fieldText, fieldURL, fieldService, fieldChannel, fieldAuthorName, fieldCreated}

// Search searches the items and decisions of the context's tenant.
//
// It runs in two phases, so that the cost of each hit of a query that
// matches thousands of documents stays that of a bare Bleve query: the
// first finds the page (no stored fields, no term locations, and for
// relevance a sort on the score alone, which Bleve collects on its fast
// path); the second loads the page's stored fields and, for the snippets,
// the locations of the matches in its text.
func (ix *Index) Search(ctx context.Context, q pmassist.SearchQuery) (*pmassist.SearchResults, error) {
	start := time.Now()
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	p, err := ix.plan(tenantID, q)
	if err != nil {
		return nil, err
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return nil, ix.unavailable()
	}
	out := &pmassist.SearchResults{Results: []pmassist.SearchResult{}, TotalExact: true}
	if p.pq.empty {
		// Only stop words or punctuation: nothing can match.
		out.Took = time.Since(start)
		return out, nil
	}
	found, err := ix.find(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out.Total, out.TotalExact = int(found.total), found.exact
	if len(found.hits) == 0 {
		out.Took = time.Since(start)
		return out, nil
	}
	page, err := ix.page(ctx, tenantID, p.pq, found.hits)
	if err != nil {
		return nil, err
	}
	for _, h := range found.hits {
		p := page[h.ID]
		if p == nil {
			continue // deleted between the two phases
		}
		_, id, _ := strings.Cut(h.ID, ":")
		r := pmassist.SearchResult{
			Type:    stringField(p.Fields[fieldType]),
			ID:      id,
			Title:   stringField(p.Fields[fieldTitle]),
			URL:     stringField(p.Fields[fieldURL]),
			Service: stringField(p.Fields[fieldService]),
			Channel: stringField(p.Fields[fieldChannel]),
			Author:  stringField(p.Fields[fieldAuthorName]),
			Score:   h.Score,
			Snippet: snippet(stringField(p.Fields[fieldText]), textLocations(p.Locations[fieldWords])),
		}
		if c := stringField(p.Fields[fieldCreated]); c != "" {
			r.CreatedAt, _ = time.Parse(time.RFC3339Nano, c)
		}
		out.Results = append(out.Results, r)
	}
	out.Took = time.Since(start)
	return out, nil
}

// page loads the stored fields of the hits and the locations of the
// search's words and phrases in their text, by document id.
func (ix *Index) page(ctx context.Context, tenantID string, pq parsedQuery, hits search.DocumentMatchCollection) (map[string]*search.DocumentMatch, error) {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	// The ids come from the tenant's search (and ids are unique): a term
	// query on the tenant here would only cost its postings.
	must := query.NewDocIDQuery(ids)
	var q query.Query = must
	var should []query.Query
	prefix := tenantPrefix(tenantID)
	for _, w := range pq.words {
		for _, tok := range ix.analyzer.Analyze([]byte(w)) {
			should = append(should, termQuery(fieldWords, prefixed(prefix, tok.Term)))
		}
	}
	for _, ph := range pq.phrases {
		should = append(should, ix.phraseQuery(prefix, ph, fieldWords))
	}
	if len(should) > 0 {
		q = query.NewBooleanQuery([]query.Query{must}, should, nil)
	}
	req := bleve.NewSearchRequestOptions(q, len(ids), 0, false)
	req.Fields = resultFields
	req.IncludeLocations = len(should) > 0
	req.Score = "none"
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := make(map[string]*search.DocumentMatch, len(res.Hits))
	for _, h := range res.Hits {
		out[h.ID] = h
	}
	return out, nil
}

// stringField is a stored field's (first) value.
func stringField(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}

func invalid(field, msg string) error {
	return pmassist.FieldError(map[string]string{field: msg})
}

func termQuery(field, term string) *query.TermQuery {
	q := query.NewTermQuery(term)
	q.SetField(field)
	return q
}

// prefixed is a token of fieldWords: the tenant's prefix and the term.
func prefixed(prefix, term []byte) string { return string(prefix) + string(term) }

// wordQuery matches a word — each of its tokens — in the title or the text.
func (ix *Index) wordQuery(prefix []byte, w, field string) query.Query {
	var terms []query.Query
	for _, tok := range ix.analyzer.Analyze([]byte(w)) {
		terms = append(terms, termQuery(field, prefixed(prefix, tok.Term)))
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return query.NewConjunctionQuery(terms)
}

// phraseQuery matches a phrase in the title or in the text: its tokens at
// their positions, stop words leaving gaps (what Bleve's match phrase
// query does, with the tenant's tokens).
func (ix *Index) phraseQuery(prefix []byte, ph, field string) query.Query {
	toks := ix.analyzer.Analyze([]byte(ph))
	first, last := toks[0].Position, toks[0].Position
	for _, t := range toks {
		first, last = min(first, t.Position), max(last, t.Position)
	}
	terms := make([][]string, last-first+1)
	for _, t := range toks {
		terms[t.Position-first] = append(terms[t.Position-first], prefixed(prefix, t.Term))
	}
	if len(terms) == 1 && len(terms[0]) == 1 {
		return termQuery(field, terms[0][0])
	}
	return query.NewMultiPhraseQuery(terms, field)
}

// dateRange matches the dates in [from, to): the whole quarter-hours inside
// as blocks of periods (days in every timezone begin at a quarter-hour: a
// day or a year is a handful of blocks), the rest at either end by the date
// keys (hexadecimal, so that their order is the dates').
func dateRange(from, to time.Time) query.Query {
	if !from.Before(to) {
		return query.NewMatchNoneQuery()
	}
	keys := func(from, to time.Time) query.Query {
		inclusive, exclusive := true, false
		q := query.NewTermRangeInclusiveQuery(string(sortKey(from, "")), string(sortKey(to, "")), &inclusive, &exclusive)
		q.SetField(fieldCreatedSort)
		return q
	}
	first, last := quarterOf(from), quarterOf(to) // whole quarters: [first, last)
	if !quarterStart(first).Equal(from) {
		first++
	}
	if first >= last {
		return keys(from, to) // within one quarter-hour, or two
	}
	var parts []query.Query
	for _, term := range rangeTerms(first, last) {
		parts = append(parts, termQuery(fieldPeriod, term))
	}
	if start := quarterStart(first); from.Before(start) {
		parts = append(parts, keys(from, start))
	}
	if end := quarterStart(last); end.Before(to) {
		parts = append(parts, keys(end, to))
	}
	return query.NewDisjunctionQuery(parts)
}

// isTerm reports whether q is a single term (a phrase of one token, which
// is already required).
func isTerm(q query.Query) bool {
	_, ok := q.(*query.TermQuery)
	return ok
}

// textLocations are the locations in the text (not the title) of a hit's
// fieldWords matches.
func textLocations(terms search.TermLocationMap) search.TermLocationMap {
	out := search.TermLocationMap{}
	for term, locs := range terms {
		for _, l := range locs {
			if len(l.ArrayPositions) == 1 && l.ArrayPositions[0] == textPosition {
				out[term] = append(out[term], l)
			}
		}
	}
	return out
}

var validTypes = map[string]bool{
	string(pmassist.ItemMessage):     true,
	string(pmassist.ItemIssue):       true,
	string(pmassist.ItemPullRequest): true,
	TypeDecision:                     true,
}

// plan turns a search into Bleve's terms, always restricted to the tenant.
func (ix *Index) plan(tenantID string, q pmassist.SearchQuery) (*plan, error) {
	pq, err := parseQuery(q.Q, ix.analyzer)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	if q.Offset < 0 {
		return nil, invalid("offset", "must not be negative")
	}
	if q.Offset+limit > maxWindow {
		return nil, invalid("offset", "only the first 10000 results can be paged through")
	}
	p := &plan{tenant: tenantID, pq: pq, limit: limit, offset: q.Offset, required: map[string][]string{}}
	switch q.Sort {
	case "", "relevance":
		// By date when there is nothing to score (a listing always is).
		p.byDate = !pq.hasText()
	case "date":
		p.byDate = true
	default:
		return nil, invalid("sort", "must be relevance or date")
	}

	// Every clause of the search's text is made of the tenant's tokens
	// (see document): they restrict it to the tenant. A search without
	// text is restricted by the tenant's term.
	//
	// The tokens of the words and phrases are the required terms; the
	// order of a phrase is then checked as a filter, on the documents that
	// have all its tokens. Filters (a phrase, type, service, channel,
	// author, dates) do not score: a filter matching most of the tenant
	// (service=slack) cost as much as the words when it was a scored
	// clause.
	prefix := tenantPrefix(tenantID)
	if !pq.hasText() {
		p.must = []query.Query{termQuery(fieldTenant, tenantID)}
	}
	require := func(field, term string) {
		if !slices.Contains(p.required[field], term) {
			p.required[field] = append(p.required[field], term)
			p.must = append(p.must, termQuery(field, term))
		}
	}
	for _, s := range append(slices.Clip(pq.words), pq.phrases...) {
		for _, tok := range ix.analyzer.Analyze([]byte(s)) {
			require(fieldWords, prefixed(prefix, tok.Term))
		}
	}
	for _, ph := range pq.phrases {
		if q := ix.phraseQuery(prefix, ph, fieldWords); !isTerm(q) {
			p.filter = append(p.filter, q)
		}
	}
	if !p.byDate {
		// Words in the title weigh more.
		for _, s := range append(slices.Clip(pq.words), pq.phrases...) {
			p.should = append(p.should, ix.wordQuery(prefix, s, fieldTitleWords))
		}
	}
	// filter adds a filter: a clause of its own in a listing, which has
	// nothing else to match.
	filter := func(q query.Query) {
		if pq.hasText() {
			p.filter = append(p.filter, q)
		} else {
			p.must = append(p.must, q)
		}
	}
	if len(q.Types) > 0 {
		var types []query.Query
		for _, t := range q.Types {
			if !validTypes[t] {
				return nil, invalid("type", "must be message, issue, pull_request or decision")
			}
			if !slices.Contains(p.types, t) {
				p.types = append(p.types, t)
				types = append(types, termQuery(fieldType, t))
			}
		}
		filter(query.NewDisjunctionQuery(types))
	}
	keyword := func(field, term string) {
		filter(termQuery(field, term))
		p.required[field] = append(p.required[field], term)
	}
	if q.Service != "" {
		if !q.Service.Valid() {
			return nil, invalid("service", "must be slack, linear or github")
		}
		keyword(fieldService, string(q.Service))
	}
	// Slack channels are shown with a '#' that is not part of their name.
	if ch := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(q.Channel), "#")); ch != "" {
		keyword(fieldChannel, ch)
	}
	if a := strings.ToLower(strings.TrimSpace(q.Author)); a != "" {
		keyword(fieldAuthor, a)
	}
	if q.From != nil || q.To != nil {
		from, to := minDate, maxDate
		if q.From != nil {
			if !validDate(*q.From) {
				return nil, invalid("from", "date out of range")
			}
			from = *q.From
			p.from = &from
		}
		if q.To != nil {
			if !validDate(*q.To) {
				return nil, invalid("to", "date out of range")
			}
			to = *q.To
			p.to = &to
		}
		filter(dateRange(from, to))
	}
	return p, nil
}
