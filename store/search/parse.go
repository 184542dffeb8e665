package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"

	"github.com/pmassist/pmassist"
)

// Limits of a search's text.
const (
	maxQueryRunes = 500
	maxQueryWords = 32
	// maxQueryTokens bounds what the words analyze into ("a-b-c-…" is one
	// word and many tokens), so that no search builds hundreds of searchers.
	maxQueryTokens = 64
)

// parsedQuery is the text of a search: words and quoted phrases, each kept
// only when it analyzes to at least one token (a stop word alone, or
// punctuation, would otherwise match nothing and, all words being required,
// empty the results).
type parsedQuery struct {
	words   []string
	phrases []string
	// empty: the text had nothing searchable although it was not blank.
	empty bool
}

func (p parsedQuery) hasText() bool { return len(p.words)+len(p.phrases) > 0 }

func invalidQuery(msg string) error {
	return &pmassist.Error{Code: pmassist.EINVALID, Message: msg, Fields: map[string]string{"q": msg}}
}

// isQuote reports whether r opens or closes a phrase; phones type curly
// quotes.
func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// parseQuery splits q into words and "quoted phrases". Nothing else has a
// meaning: + - * ~ ^ : ( ) and the like are text, left to the analyzer.
func parseQuery(q string, an analysis.Analyzer) (parsedQuery, error) {
	var p parsedQuery
	if !utf8.ValidString(q) {
		return p, invalidQuery("the search is not valid text (UTF-8)")
	}
	if utf8.RuneCountInString(q) > maxQueryRunes {
		return p, invalidQuery("the search is too long (at most 500 characters)")
	}
	var words, phrases []string
	var cur strings.Builder
	inQuote := false
	nwords := 0
	endWord := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range q {
		switch {
		case isQuote(r):
			if inQuote {
				ph := strings.TrimSpace(cur.String())
				nwords += len(strings.Fields(ph))
				if ph != "" {
					phrases = append(phrases, ph)
				}
				cur.Reset()
			} else {
				endWord()
			}
			inQuote = !inQuote
		case unicode.IsSpace(r) || unicode.IsControl(r):
			if inQuote {
				cur.WriteByte(' ')
			} else {
				endWord()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if inQuote {
		return p, invalidQuery(`a quoted phrase is not closed: add the missing "`)
	}
	endWord()
	nwords += len(words)
	if nwords > maxQueryWords {
		return p, invalidQuery("the search has too many words (at most 32)")
	}
	ntokens := 0
	for _, w := range words {
		if n := len(an.Analyze([]byte(w))); n > 0 {
			ntokens += n
			p.words = append(p.words, w)
		}
	}
	for _, ph := range phrases {
		if n := len(an.Analyze([]byte(ph))); n > 0 {
			ntokens += n
			p.phrases = append(p.phrases, ph)
		}
	}
	if ntokens > maxQueryTokens {
		return p, invalidQuery("the search has too many words (at most 32)")
	}
	p.empty = !p.hasText() && len(words)+len(phrases) > 0
	return p, nil
}
