package search

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/datetime/flexible"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/pmassist/pmassist"
)

// Field names of an index document.
const (
	fieldTenant      = "tenant"
	fieldType        = "type"
	fieldTitle       = "title"
	fieldText        = "text"
	fieldService     = "service"
	fieldChannel     = "channel"
	fieldAuthor      = "author"      // name and email, lower-cased, for the filter
	fieldAuthorName  = "author_name" // the name as shown, stored only
	fieldCreated     = "created"
	fieldCreatedSort = "created_sort" // not in the mapping: see document
	fieldPeriod      = "period"       // the date's blocks of time; not in the mapping: see document
	fieldWords       = "words"        // title and text, searchable; not in the mapping: see document
	fieldTitleWords  = "title_words"  // the title alone, for its weight; not in the mapping
	fieldURL         = "url"
	fieldExternalID  = "external_id"
)

// Names registered in the mapping.
const (
	textAnalyzer         = en.AnalyzerName
	lowerKeywordAnalyzer = "pmassist_lower_keyword"
	// createdParser keeps nanoseconds: a time.Time handed to bleve directly
	// is stored with second precision.
	createdParser = "pmassist_rfc3339nano"
)

// TypeDecision is the result type of decisions; items carry their ItemType.
const TypeDecision = "decision"

// Document id prefixes.
const (
	itemPrefix     = "item:"
	decisionPrefix = "decision:"
)

// doc is what is indexed for an item or a decision. Empty slices are left
// out, so that no empty keyword is indexed.
type doc struct {
	Tenant     string   `json:"tenant"`
	Type       string   `json:"type"`
	Title      string   `json:"title,omitempty"`
	Text       string   `json:"text,omitempty"`
	Service    []string `json:"service,omitempty"`
	Channel    []string `json:"channel,omitempty"`
	Author     []string `json:"author,omitempty"`
	AuthorName string   `json:"author_name,omitempty"`
	Created    string   `json:"created,omitempty"`
	URL        string   `json:"url,omitempty"`
	ExternalID string   `json:"external_id,omitempty"`
}

// newMapping builds the index mapping. Anything changed here that changes
// what is indexed needs a bump of Version.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = textAnalyzer
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	err := im.AddCustomAnalyzer(lowerKeywordAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []any{lowercase.Name},
	})
	if err != nil {
		return nil, err
	}
	err = im.AddCustomDateTimeParser(createdParser, map[string]any{
		"type":    flexible.Name,
		"layouts": []any{time.RFC3339Nano},
	})
	if err != nil {
		return nil, err
	}

	dm := bleve.NewDocumentStaticMapping()
	// No composite _all field: every query names its fields.
	dm.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())

	keyword := func(analyzer string, store bool) *mapping.FieldMapping {
		fm := bleve.NewKeywordFieldMapping()
		fm.Analyzer = analyzer
		fm.Store = store
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = false
		return fm
	}
	storedOnly := func() *mapping.FieldMapping {
		fm := bleve.NewTextFieldMapping()
		fm.Index = false
		fm.Store = true
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = false
		return fm
	}
	created := bleve.NewDateTimeFieldMapping()
	created.DateFormat = createdParser
	created.Store = true
	// Stored for the results only: ranges of dates use fieldPeriod and
	// sorting fieldCreatedSort (see document). Bleve indexes a date as 16
	// prefix-coded terms, which took 40% of the indexing.
	created.Index = false
	created.DocValues = false
	created.IncludeInAll = false

	dm.AddFieldMappingsAt(fieldTenant, keyword("keyword", false))
	dm.AddFieldMappingsAt(fieldType, keyword("keyword", true))
	// Title and text are stored for the results and the snippets (see
	// snippet.go); they are searched through fieldWords (see document).
	dm.AddFieldMappingsAt(fieldTitle, storedOnly())
	dm.AddFieldMappingsAt(fieldText, storedOnly())
	dm.AddFieldMappingsAt(fieldService, keyword(lowerKeywordAnalyzer, true))
	// The channel is stored as written and indexed lower-cased.
	dm.AddFieldMappingsAt(fieldChannel, keyword(lowerKeywordAnalyzer, true))
	dm.AddFieldMappingsAt(fieldAuthor, keyword(lowerKeywordAnalyzer, false))
	dm.AddFieldMappingsAt(fieldAuthorName, storedOnly())
	dm.AddFieldMappingsAt(fieldCreated, created)
	dm.AddFieldMappingsAt(fieldURL, storedOnly())
	dm.AddFieldMappingsAt(fieldExternalID, storedOnly())
	im.DefaultMapping = dm
	return im, nil
}

// Bleve stores dates as int64 nanoseconds; outside this range a date is
// not indexed at all.
var (
	minDate = query.MinRFC3339CompatibleTime
	maxDate = query.MaxRFC3339CompatibleTime
)

func validDate(t time.Time) bool {
	return !t.IsZero() && t.After(minDate) && t.Before(maxDate)
}

func created(t time.Time) string {
	if !validDate(t) {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func authorTerms(p pmassist.Person) []string {
	var terms []string
	if n := strings.TrimSpace(p.Name); n != "" {
		terms = append(terms, n)
	}
	if e := strings.TrimSpace(p.Email); e != "" && !strings.EqualFold(e, p.Name) {
		terms = append(terms, e)
	}
	return terms
}

func itemDoc(it *pmassist.Item) *doc {
	d := &doc{
		Tenant:     it.TenantID,
		Type:       string(it.Type),
		Title:      it.Title,
		Text:       it.Text,
		Author:     authorTerms(it.Author),
		AuthorName: it.Author.Name,
		Created:    created(it.CreatedAt),
		URL:        it.URL,
		ExternalID: it.ExternalID,
	}
	if it.Service != "" {
		d.Service = []string{string(it.Service)}
	}
	if it.Channel != "" {
		d.Channel = []string{it.Channel}
	}
	return d
}

// sourceItems finds an item of the decision's tenant by id, for the channel
// of a decision's source; nil when it is not found.
type sourceItems func(tenantID, itemID string) *pmassist.Item

// decisionDoc indexes a decision's title and summary; its service and
// channel are those of its sources, its author who decided and its date
// when it was decided. Decisions have no URL here: the server links them
// to their page.
func decisionDoc(d *pmassist.Decision, find sourceItems) *doc {
	when := d.DecidedAt
	if !validDate(when) {
		when = d.CreatedAt
	}
	out := &doc{
		Tenant:     d.TenantID,
		Type:       TypeDecision,
		Title:      d.Title,
		Text:       d.Summary,
		Author:     authorTerms(d.DecidedBy),
		AuthorName: d.DecidedBy.Name,
		Created:    created(when),
	}
	seenService := map[string]bool{}
	seenChannel := map[string]bool{}
	for _, s := range d.Sources {
		service, channel := string(s.Service), ""
		if s.ItemID != "" && find != nil {
			if it := find(d.TenantID, s.ItemID); it != nil {
				service, channel = string(it.Service), it.Channel
			}
		}
		if channel == "" && s.Service == pmassist.ServiceGitHub {
			// "{owner}/{repo}#{number}": the repository is the channel.
			if repo, _, ok := strings.Cut(s.ExternalID, "#"); ok {
				channel = repo
			}
		}
		if service != "" && !seenService[service] {
			seenService[service] = true
			out.Service = append(out.Service, service)
		}
		if channel != "" && !seenChannel[strings.ToLower(channel)] {
			seenChannel[strings.ToLower(channel)] = true
			out.Channel = append(out.Channel, channel)
		}
	}
	return out
}

// document maps d to the document id, with the sort key of its date.
//
// The key is a field of its own, outside the mapping, because Bleve's
// datetime doc values hold 16 prefix-coded terms per date in compressed
// chunks, and a sort by date reads those for every hit: 4 times the cost
// of a bare query at 100k documents. The key is one 8-byte term, its doc
// values neither chunked nor compressed, so that a sort reads 8 bytes per
// hit.
func (ix *Index) document(id string, d *doc) (*document.Document, error) {
	bd := document.NewDocument(id)
	if err := ix.mapping.MapDocument(bd, d); err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, d.Created)
	key := undatedKey(id)
	if err == nil {
		key = sortKey(t, id)
	}
	bd.AddField(document.NewTextFieldCustom(fieldCreatedSort, nil, key,
		index.IndexField|index.DocValues|index.SkipDVCompression|index.SkipDVChunking, nil))
	// The words of the title and the text, each token prefixed with the
	// tenant: a search's words find only its tenant's postings, without a
	// conjunction with the tenant's term — which matches every document of
	// the tenant, and cost more than the words themselves (twice the time
	// of a three-word search over a million messages; so did a disjunction
	// of title and text fields per word). The title is array position 0,
	// the text 1: a phrase never spans the two, and the snippet takes the
	// text's locations.
	an := tenantAnalyzer{an: ix.analyzer, prefix: tenantPrefix(d.Tenant)}
	for i, part := range []string{d.Title, d.Text} {
		if part == "" {
			continue
		}
		bd.AddField(document.NewTextFieldCustom(fieldWords, []uint64{uint64(i)}, []byte(part), index.IndexField|index.IncludeTermVectors, an))
		if i == 0 {
			bd.AddField(document.NewTextFieldCustom(fieldTitleWords, nil, []byte(part), index.IndexField, an))
		}
	}
	// Every document has its periods, so that searching period by period
	// (broad.go) covers all of them.
	// (one field whose analysis gives them all: a field per term cost a
	// tenth of the indexing).
	bd.AddField(document.NewTextFieldCustom(fieldPeriod, nil, []byte(strings.Join(periodTerms(t, err == nil), " ")), index.IndexField, periodAnalyzer{}))
	return bd, nil
}

// Periods. Time is cut into quarter-hours (every timezone's day starts at
// a quarter-hour), numbered from 1970-01-01 00:00 UTC; 4 quarter-hours
// make a block of level 1 (an hour), 4 of those a block of level 2 (4
// hours), and so on to level periodLevels (about 30 years). A document is
// indexed with the term of each block its date is in, "<level>:<number>":
// any block is one term. A range of dates is a handful of blocks
// (rangeTerms); a broad search walks blocks newest first (broad.go).
const (
	periodLevels = 10
	periodBits   = 2 // 4 blocks make one of the next level
	quarterHour  = int64(15 * time.Minute)
	windowLevel  = 4 // broad searches use blocks of this level (64 hours) and up
)

// noPeriod is the only period term of a document without a date.
const noPeriod = "none"

// quarterOf is the number of the quarter-hour t is in.
func quarterOf(t time.Time) int64 {
	n := t.UnixNano()
	q := n / quarterHour
	if n < 0 && n%quarterHour != 0 {
		q-- // floor
	}
	return q
}

// quarterStart is the first instant of a quarter-hour.
func quarterStart(q int64) time.Time { return time.Unix(0, q*quarterHour).UTC() }

func periodTerm(level int, block int64) string { return fmt.Sprintf("%d:%d", level, block) }

// periodTerms are the terms of a date's blocks, from the quarter-hour up.
func periodTerms(t time.Time, ok bool) []string {
	if !ok {
		return []string{noPeriod}
	}
	q := quarterOf(t)
	terms := make([]string, periodLevels+1)
	for k := range terms {
		terms[k] = periodTerm(k, q>>(periodBits*k))
	}
	return terms
}

// rangeTerms are the blocks that make up the quarter-hours [from, to): the
// fewest, largest aligned blocks (at most maxRangeTerms).
func rangeTerms(from, to int64) []string {
	var terms []string
	for k := 0; from < to; k++ {
		size := int64(1) << (periodBits * k)
		if k == periodLevels {
			for b := from >> (periodBits * k); b<<(periodBits*k) < to; b++ {
				terms = append(terms, periodTerm(k, b))
			}
			break
		}
		next := int64(1) << (periodBits * (k + 1))
		// Blocks of this level up to the next level's boundary, at both ends.
		for from < to && from%next != 0 {
			if from+size > to {
				break
			}
			terms = append(terms, periodTerm(k, from>>(periodBits*k)))
			from += size
		}
		for from < to && to%next != 0 {
			if to-size < from {
				break
			}
			to -= size
			terms = append(terms, periodTerm(k, to>>(periodBits*k)))
		}
	}
	return terms
}

// periodAnalyzer splits a document's period terms, joined by spaces.
type periodAnalyzer struct{}

func (periodAnalyzer) Analyze(input []byte) analysis.TokenStream {
	var ts analysis.TokenStream
	for i, term := range bytes.Fields(input) {
		ts = append(ts, &analysis.Token{Term: term, Position: i + 1, Type: analysis.AlphaNumeric})
	}
	return ts
}

// parsePeriodTerm reads a term of periodTerm.
func parsePeriodTerm(term string) (level int, block int64, ok bool) {
	if _, err := fmt.Sscanf(term, "%d:%d", &level, &block); err != nil || level < 0 || level > periodLevels {
		return 0, 0, false
	}
	return level, block, true
}

// sortKey orders times as their bytes do: big-endian nanoseconds with the
// sign bit flipped, in hexadecimal, followed by the document id so that no
// two keys tie — the order of equal times is then the same in every index
// built from the same data (a rebuild must not reorder a page).
//
// Hexadecimal, because Bleve's doc values separate a field's terms with the
// byte 0xff: a raw 8-byte time containing it was cut there, and that
// document sorted as if it had another date (index version 2).
// undatedKey is the sort key of a document without a date: after every
// date (newest first), in the order of the ids, like the dated ones' ties
// (without a key, Bleve's order of such documents changed with the query).
func undatedKey(id string) []byte { return append([]byte("0000000000000000"), id...) }

func sortKey(t time.Time, id string) []byte {
	key := make([]byte, 0, 16+len(id))
	key = fmt.Appendf(key, "%016x", uint64(t.UnixNano())^(1<<63))
	return append(key, id...)
}

// textPosition is the array position of the text in fieldWords.
const textPosition = 1

// tenantPrefix begins every token of a tenant's words: the id's length,
// ':', the id, ':'. No tenant's prefix begins another's, whatever the ids.
func tenantPrefix(tenantID string) []byte { return fmt.Appendf(nil, "%d:%s:", len(tenantID), tenantID) }

// tenantAnalyzer is the text analyzer with every token prefixed.
type tenantAnalyzer struct {
	an     analysis.Analyzer
	prefix []byte
}

func (a tenantAnalyzer) Analyze(input []byte) analysis.TokenStream {
	ts := a.an.Analyze(input)
	for _, t := range ts {
		t.Term = append(append(make([]byte, 0, len(a.prefix)+len(t.Term)), a.prefix...), t.Term...)
	}
	return ts
}
