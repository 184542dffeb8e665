package search

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/pmassist/pmassist"
)

// FuzzParseQuery feeds a search's text and filters (seeds in
// testdata/fuzz/FuzzParseQuery: everyday searches and ones that try to
// smuggle a field, query syntax or another tenant). Properties:
//   - parsing is deterministic, and refuses only with EINVALID;
//   - a parsed word is a piece of the text without spaces, controls or
//     quotes; a phrase is trimmed and has no quotes; there are at most 32
//     of them together, and "empty" means nothing searchable is left;
//   - the request built from it has exactly one tenant clause, first,
//     naming the caller's tenant whatever the text or filters say; words
//     and phrases only ever search the title and the text, as match
//     queries (never query-string syntax), and the filters only their own
//     keyword fields.
func FuzzParseQuery(f *testing.F) {
	f.Add("tenant:other decision", "#eng", "bob@acme.test", "tenant-1")
	im, err := newMapping()
	if err != nil {
		f.Fatal(err)
	}
	ix := &Index{mapping: im, analyzer: im.AnalyzerNamed(textAnalyzer)}
	f.Fuzz(func(t *testing.T, q, channel, author, tenantID string) {
		p, err := parseQuery(q, ix.analyzer)
		p2, err2 := parseQuery(q, ix.analyzer)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(p, p2) {
			t.Fatalf("not deterministic: %+v, %v then %+v, %v", p, err, p2, err2)
		}
		if err != nil {
			if pmassist.ErrorCode(err) != pmassist.EINVALID {
				t.Fatalf("refused with %v", err)
			}
		} else {
			if len(p.words)+len(p.phrases) > maxQueryWords || p.empty && p.hasText() {
				t.Fatalf("parsed %+v", p)
			}
			for _, w := range p.words {
				if w == "" || !strings.Contains(q, w) || strings.ContainsFunc(w, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || isQuote(r) }) {
					t.Fatalf("word %q of %q", w, q)
				}
			}
			for _, ph := range p.phrases {
				if ph == "" || ph != strings.TrimSpace(ph) || strings.ContainsFunc(ph, isQuote) || !utf8.ValidString(ph) {
					t.Fatalf("phrase %q of %q", ph, q)
				}
			}
		}

		req, p3, err3 := ix.request(tenantID, pmassist.SearchQuery{Q: q, Channel: channel, Author: author, Types: []string{"decision", "message"}})
		if (err3 == nil) != (err == nil) {
			t.Fatalf("parse %v, request %v", err, err3)
		}
		if err3 != nil {
			return
		}
		if !reflect.DeepEqual(p3, p) {
			t.Fatalf("request parsed %+v, not %+v", p3, p)
		}
		top, ok := req.Query.(*query.ConjunctionQuery)
		if !ok || len(top.Conjuncts) == 0 {
			t.Fatalf("top query %T", req.Query)
		}
		if tq, ok := top.Conjuncts[0].(*query.TermQuery); !ok || tq.FieldVal != fieldTenant || tq.Term != tenantID {
			t.Fatalf("first clause %#v, want the tenant %q", top.Conjuncts[0], tenantID)
		}
		tenants := 0
		var walk func(query.Query)
		walk = func(qq query.Query) {
			switch x := qq.(type) {
			case *query.ConjunctionQuery:
				for _, c := range x.Conjuncts {
					walk(c)
				}
			case *query.DisjunctionQuery:
				for _, c := range x.Disjuncts {
					walk(c)
				}
			case *query.TermQuery:
				switch x.FieldVal {
				case fieldTenant:
					tenants++
				case fieldType, fieldService, fieldChannel, fieldAuthor:
				default:
					t.Fatalf("term query on %q", x.FieldVal)
				}
			case *query.MatchQuery:
				if x.FieldVal != fieldTitle && x.FieldVal != fieldText || !slices.Contains(p.words, x.Match) {
					t.Fatalf("match %q on %q; words %q", x.Match, x.FieldVal, p.words)
				}
			case *query.MatchPhraseQuery:
				if x.FieldVal != fieldTitle && x.FieldVal != fieldText || !slices.Contains(p.phrases, x.MatchPhrase) {
					t.Fatalf("phrase %q on %q; phrases %q", x.MatchPhrase, x.FieldVal, p.phrases)
				}
			default:
				t.Fatalf("unexpected %T in the request", qq)
			}
		}
		walk(req.Query)
		if tenants != 1 {
			t.Fatalf("%d tenant clauses", tenants)
		}
	})
}
