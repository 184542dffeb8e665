package search

import (
	"context"
	"fmt"
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
	req, pq, err := ix.request(tenantID, q)
	if err != nil {
		return nil, err
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return nil, ix.unavailable()
	}
	out := &pmassist.SearchResults{Results: []pmassist.SearchResult{}}
	if pq.empty {
		// Only stop words or punctuation: nothing can match.
		out.Took = time.Since(start)
		return out, nil
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out.Total = int(res.Total)
	if len(res.Hits) == 0 {
		out.Took = time.Since(start)
		return out, nil
	}
	page, err := ix.page(ctx, pq, res.Hits)
	if err != nil {
		return nil, err
	}
	for _, h := range res.Hits {
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
			Snippet: snippet(stringField(p.Fields[fieldText]), p.Locations[fieldText]),
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
func (ix *Index) page(ctx context.Context, pq parsedQuery, hits search.DocumentMatchCollection) (map[string]*search.DocumentMatch, error) {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	// The ids come from the tenant's search (and ids are unique): a term
	// query on the tenant here would only cost its postings.
	must := query.NewDocIDQuery(ids)
	var q query.Query = must
	var should []query.Query
	for _, w := range pq.words {
		m := query.NewMatchQuery(w)
		m.SetField(fieldText)
		should = append(should, m)
	}
	for _, ph := range pq.phrases {
		m := query.NewMatchPhraseQuery(ph)
		m.SetField(fieldText)
		should = append(should, m)
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

// textQuery matches a word (each of its tokens) or a phrase in the title,
// which counts double, or in the text.
func textQuery(s string, phrase bool) query.Query {
	var title, text query.Query
	if phrase {
		t := query.NewMatchPhraseQuery(s)
		t.SetField(fieldTitle)
		t.SetBoost(2)
		x := query.NewMatchPhraseQuery(s)
		x.SetField(fieldText)
		title, text = t, x
	} else {
		t := query.NewMatchQuery(s)
		t.SetField(fieldTitle)
		t.SetBoost(2)
		t.SetOperator(query.MatchQueryOperatorAnd)
		x := query.NewMatchQuery(s)
		x.SetField(fieldText)
		x.SetOperator(query.MatchQueryOperatorAnd)
		title, text = t, x
	}
	return query.NewDisjunctionQuery([]query.Query{title, text})
}

var validTypes = map[string]bool{
	string(pmassist.ItemMessage):     true,
	string(pmassist.ItemIssue):       true,
	string(pmassist.ItemPullRequest): true,
	TypeDecision:                     true,
}

// request turns a search into a Bleve request, always restricted to the
// tenant.
func (ix *Index) request(tenantID string, q pmassist.SearchQuery) (*bleve.SearchRequest, parsedQuery, error) {
	pq, err := parseQuery(q.Q, ix.analyzer)
	if err != nil {
		return nil, pq, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	if q.Offset < 0 {
		return nil, pq, invalid("offset", "must not be negative")
	}
	if q.Offset+limit > maxWindow {
		return nil, pq, invalid("offset", "only the first 10000 results can be paged through")
	}
	byDate := false
	switch q.Sort {
	case "", "relevance":
	case "date":
		byDate = true
	default:
		return nil, pq, invalid("sort", "must be relevance or date")
	}

	must := []query.Query{termQuery(fieldTenant, tenantID)}
	for _, w := range pq.words {
		must = append(must, textQuery(w, false))
	}
	for _, ph := range pq.phrases {
		must = append(must, textQuery(ph, true))
	}
	if len(q.Types) > 0 {
		var types []query.Query
		seen := map[string]bool{}
		for _, t := range q.Types {
			if !validTypes[t] {
				return nil, pq, invalid("type", "must be message, issue, pull_request or decision")
			}
			if !seen[t] {
				seen[t] = true
				types = append(types, termQuery(fieldType, t))
			}
		}
		must = append(must, query.NewDisjunctionQuery(types))
	}
	if q.Service != "" {
		if !q.Service.Valid() {
			return nil, pq, invalid("service", "must be slack, linear or github")
		}
		must = append(must, termQuery(fieldService, string(q.Service)))
	}
	// Slack channels are shown with a '#' that is not part of their name.
	if ch := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(q.Channel), "#")); ch != "" {
		must = append(must, termQuery(fieldChannel, ch))
	}
	if a := strings.ToLower(strings.TrimSpace(q.Author)); a != "" {
		must = append(must, termQuery(fieldAuthor, a))
	}
	if q.From != nil || q.To != nil {
		var from, to time.Time
		if q.From != nil {
			if !validDate(*q.From) {
				return nil, pq, invalid("from", "date out of range")
			}
			from = *q.From
		}
		if q.To != nil {
			if !validDate(*q.To) {
				return nil, pq, invalid("to", "date out of range")
			}
			to = *q.To
		}
		inclusive, exclusive := true, false
		r := query.NewDateRangeInclusiveQuery(from, to, &inclusive, &exclusive)
		r.SetField(fieldCreated)
		must = append(must, r)
	}

	req := bleve.NewSearchRequestOptions(query.NewConjunctionQuery(must), limit, q.Offset, false)
	// The date key ends with the document id: equal times never tie.
	newest := search.SortOrder{&search.SortField{Field: fieldCreatedSort, Type: search.SortFieldAsString, Desc: true}}
	switch {
	case byDate || !pq.hasText():
		// By date (a listing always is): no score to compute.
		req.SortByCustom(newest)
		req.Score = "none"
	default:
		req.SortByCustom(search.SortOrder{&search.SortScore{Desc: true}})
	}
	return req, pq, nil
}
