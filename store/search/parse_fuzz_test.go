package search

import (
	"reflect"
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
//   - the request built from it is restricted to the caller's tenant
//     whatever the text or filters say: with words or phrases, each is
//     made of the tenant's own tokens (tenantPrefix) in the words fields,
//     as term and phrase queries (never query-string syntax); without, by
//     one tenant clause, first; the filters search only their own keyword
//     fields.
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

		pl, err3 := ix.plan(tenantID, pmassist.SearchQuery{Q: q, Channel: channel, Author: author, Types: []string{"decision", "message"}})
		if (err3 == nil) != (err == nil) {
			t.Fatalf("parse %v, request %v", err, err3)
		}
		if err3 != nil {
			return
		}
		req, p3 := pl.request(pl.limit, pl.offset), pl.pq
		if !reflect.DeepEqual(p3, p) {
			t.Fatalf("request parsed %+v, not %+v", p3, p)
		}
		// With text, every word and phrase is made of the caller's tokens,
		// and there is no tenant clause; without, the tenant clause is
		// first.
		prefix := string(tenantPrefix(tenantID))
		tenants, texts := 0, 0
		var walk func(query.Query, bool)
		walk = func(qq query.Query, must bool) {
			switch x := qq.(type) {
			case *query.BooleanQuery:
				walk(x.Must, true)
				walk(x.Should, false)
				if x.Filter != nil {
					walk(x.Filter, false)
				}
				if x.MustNot != nil {
					t.Fatalf("must not %#v", x.MustNot)
				}
			case *query.ConjunctionQuery:
				for _, c := range x.Conjuncts {
					walk(c, must)
				}
			case *query.DisjunctionQuery:
				for _, c := range x.Disjuncts {
					walk(c, must)
				}
			case *query.TermQuery:
				switch x.FieldVal {
				case fieldTenant:
					if x.Term != tenantID {
						t.Fatalf("tenant clause %q, want %q", x.Term, tenantID)
					}
					tenants++
				case fieldType, fieldService, fieldChannel, fieldAuthor, fieldPeriod:
				case fieldWords, fieldTitleWords:
					if !strings.HasPrefix(x.Term, prefix) {
						t.Fatalf("term %q of %q lacks the tenant's prefix %q", x.Term, x.FieldVal, prefix)
					}
					if must && x.FieldVal != fieldTitleWords {
						texts++
					}
				default:
					t.Fatalf("term query on %q", x.FieldVal)
				}
			case *query.TermRangeQuery:
				if x.FieldVal != fieldCreatedSort {
					t.Fatalf("term range on %q", x.FieldVal)
				}
			case *query.MatchNoneQuery:
			case *query.MultiPhraseQuery:
				if x.FieldVal != fieldWords && x.FieldVal != fieldTitleWords {
					t.Fatalf("phrase on %q", x.FieldVal)
				}
				for _, slot := range x.Terms {
					for _, term := range slot {
						if !strings.HasPrefix(term, prefix) {
							t.Fatalf("phrase term %q lacks the tenant's prefix %q", term, prefix)
						}
					}
				}
				if must && x.FieldVal == fieldWords {
					texts++
				}
			default:
				t.Fatalf("unexpected %T in the request", qq)
			}
		}
		walk(req.Query, true)
		if p.hasText() {
			if tenants != 0 || texts == 0 {
				t.Fatalf("with text: %d tenant clauses, %d text clauses", tenants, texts)
			}
		} else {
			top, ok := req.Query.(*query.ConjunctionQuery)
			if !ok || len(top.Conjuncts) == 0 {
				t.Fatalf("top query %T", req.Query)
			}
			if tq, ok := top.Conjuncts[0].(*query.TermQuery); !ok || tq.FieldVal != fieldTenant || tq.Term != tenantID || tenants != 1 {
				t.Fatalf("first clause %#v (%d tenant clauses), want the tenant %q", top.Conjuncts[0], tenants, tenantID)
			}
		}
	})
}
