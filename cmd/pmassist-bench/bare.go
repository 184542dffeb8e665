package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/datetime/flexible"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/pmassist/pmassist"
)

// The bare baseline: Bleve alone, with a mapping like the appliance's
// (store/search/mapping.go) — title and text analyzed in English with term
// vectors and stored, keyword fields lower-cased, a datetime, a sortable
// date key with doc values — and nothing else: no queue, no store, no
// HTTP, no snippets.

const (
	bareLowerKeyword = "bench_lower_keyword"
	bareDateParser   = "bench_rfc3339nano"
	bareBatchSize    = 1000
	// bareSortLayout is fixed-width, so that the keys sort as the times do.
	bareSortLayout = "2006-01-02T15:04:05.000000000Z"
)

// bareDoc is what the baseline indexes for an item.
type bareDoc struct {
	Tenant      string   `json:"tenant"`
	Type        string   `json:"type"`
	Title       string   `json:"title,omitempty"`
	Text        string   `json:"text,omitempty"`
	Service     []string `json:"service,omitempty"`
	Channel     []string `json:"channel,omitempty"`
	Author      []string `json:"author,omitempty"`
	AuthorName  string   `json:"author_name,omitempty"`
	Created     string   `json:"created,omitempty"`
	CreatedSort string   `json:"created_sort,omitempty"`
	URL         string   `json:"url,omitempty"`
	ExternalID  string   `json:"external_id,omitempty"`
}

func bareDocOf(tenant string, it *pmassist.Item) *bareDoc {
	d := &bareDoc{Tenant: tenant, Type: string(it.Type), Title: it.Title, Text: it.Text,
		Service: []string{string(it.Service)}, Channel: []string{it.Channel}, AuthorName: it.Author.Name,
		Created: it.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedSort: it.CreatedAt.UTC().Format(bareSortLayout),
		URL: it.URL, ExternalID: it.ExternalID}
	if it.Author.Name != "" {
		d.Author = append(d.Author, it.Author.Name)
	}
	if it.Author.Email != "" {
		d.Author = append(d.Author, it.Author.Email)
	}
	return d
}

func bareMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = en.AnalyzerName
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false
	if err := im.AddCustomAnalyzer(bareLowerKeyword, map[string]any{
		"type": custom.Name, "tokenizer": single.Name, "token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomDateTimeParser(bareDateParser, map[string]any{
		"type": flexible.Name, "layouts": []any{time.RFC3339Nano},
	}); err != nil {
		return nil, err
	}
	dm := bleve.NewDocumentStaticMapping()
	dm.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	text := func() *mapping.FieldMapping {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer, fm.Store, fm.IncludeTermVectors, fm.IncludeInAll, fm.DocValues = en.AnalyzerName, true, true, false, false
		return fm
	}
	keyword := func(analyzer string, store, docValues bool) *mapping.FieldMapping {
		fm := bleve.NewKeywordFieldMapping()
		fm.Analyzer, fm.Store, fm.IncludeTermVectors, fm.IncludeInAll, fm.DocValues = analyzer, store, false, false, docValues
		return fm
	}
	stored := func() *mapping.FieldMapping {
		fm := bleve.NewTextFieldMapping()
		fm.Index, fm.Store, fm.IncludeTermVectors, fm.IncludeInAll, fm.DocValues = false, true, false, false, false
		return fm
	}
	created := bleve.NewDateTimeFieldMapping()
	created.DateFormat, created.Store, created.DocValues, created.IncludeInAll = bareDateParser, true, false, false

	dm.AddFieldMappingsAt("tenant", keyword("keyword", false, false))
	dm.AddFieldMappingsAt("type", keyword("keyword", true, false))
	dm.AddFieldMappingsAt("title", text())
	dm.AddFieldMappingsAt("text", text())
	dm.AddFieldMappingsAt("service", keyword(bareLowerKeyword, true, false))
	dm.AddFieldMappingsAt("channel", keyword(bareLowerKeyword, true, false))
	dm.AddFieldMappingsAt("author", keyword(bareLowerKeyword, false, false))
	dm.AddFieldMappingsAt("author_name", stored())
	dm.AddFieldMappingsAt("created", created)
	dm.AddFieldMappingsAt("created_sort", keyword("keyword", false, true))
	dm.AddFieldMappingsAt("url", stored())
	dm.AddFieldMappingsAt("external_id", stored())
	im.DefaultMapping = dm
	return im, nil
}

// bareIndex indexes docs into a new index in dir, in batches of 1000, and
// returns the open index and the time until the last batch was searchable.
func bareIndex(dir string, docs []*bareDoc) (bleve.Index, time.Duration, error) {
	im, err := bareMapping()
	if err != nil {
		return nil, 0, err
	}
	idx, err := bleve.NewUsing(dir, im, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	for i := 0; i < len(docs); i += bareBatchSize {
		b := idx.NewBatch()
		for j := i; j < min(i+bareBatchSize, len(docs)); j++ {
			if err := b.Index(fmt.Sprintf("item:%07d", j), docs[j]); err != nil {
				_ = idx.Close()
				return nil, 0, err
			}
		}
		if err := idx.Batch(b); err != nil {
			_ = idx.Close()
			return nil, 0, err
		}
	}
	return idx, time.Since(start), nil
}

// splitQuery separates a search's "quoted phrases" from its words.
func splitQuery(q string) (words, phrases []string) {
	for i, part := range strings.Split(q, `"`) {
		if i%2 == 1 {
			if p := strings.TrimSpace(part); p != "" {
				phrases = append(phrases, p)
			}
			continue
		}
		words = append(words, strings.Fields(part)...)
	}
	return words, phrases
}

func bareTerm(field, term string) query.Query {
	q := query.NewTermQuery(term)
	q.SetField(field)
	return q
}

// bareRequest is q straight on the bare index: a conjunction of the
// tenant, a match query (all its tokens) per word, a phrase query per
// phrase and a term or range query per filter; the first 20 hits by score,
// or by date with sort=date, without stored fields or locations.
func bareRequest(tenant string, q benchQuery) *bleve.SearchRequest {
	must := []query.Query{bareTerm("tenant", tenant)}
	words, phrases := splitQuery(q.Q)
	for _, w := range words {
		m := query.NewMatchQuery(w)
		m.SetField("text")
		m.SetOperator(query.MatchQueryOperatorAnd)
		must = append(must, m)
	}
	for _, p := range phrases {
		m := query.NewMatchPhraseQuery(p)
		m.SetField("text")
		must = append(must, m)
	}
	if q.Type != "" {
		must = append(must, bareTerm("type", q.Type))
	}
	if q.Service != "" {
		must = append(must, bareTerm("service", q.Service))
	}
	if q.Channel != "" {
		must = append(must, bareTerm("channel", strings.ToLower(q.Channel)))
	}
	if q.Author != "" {
		must = append(must, bareTerm("author", strings.ToLower(q.Author)))
	}
	if q.From != "" || q.To != "" {
		var from, to time.Time
		if q.From != "" {
			from, _ = time.Parse(time.DateOnly, q.From)
		}
		if q.To != "" {
			to, _ = time.Parse(time.DateOnly, q.To)
			to = to.AddDate(0, 0, 1)
		}
		inclusive, exclusive := true, false
		r := query.NewDateRangeInclusiveQuery(from, to, &inclusive, &exclusive)
		r.SetField("created")
		must = append(must, r)
	}
	req := bleve.NewSearchRequestOptions(query.NewConjunctionQuery(must), 20, 0, false)
	if q.Sort == "date" {
		req.SortBy([]string{"-created_sort"})
		req.Score = "none"
	}
	return req
}
