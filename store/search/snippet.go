package search

import (
	"html"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/search"
)

// Snippets are built from the text stored in the index and the term
// locations of the hit. Storing the text costs index size, but loading it
// back from the data file for every hit would cost a read transaction and
// a JSON decode of the whole item per result, and the text could have
// changed since it was indexed, so that the locations would no longer fit.
const (
	snippetRunes  = 200 // the window's length
	snippetBefore = 60  // how much of the window comes before the first match
)

type span struct{ start, end int }

// matchSpans returns the byte spans of the text's matched terms, sorted
// and without overlaps; spans that do not fit the text are dropped.
func matchSpans(text string, terms search.TermLocationMap) []span {
	var spans []span
	for _, locs := range terms {
		for _, l := range locs {
			s, e := int(l.Start), int(l.End)
			if s < 0 || e > len(text) || s >= e || !utf8.RuneStart(text[s]) || (e < len(text) && !utf8.RuneStart(text[e])) {
				continue
			}
			spans = append(spans, span{s, e})
		}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	out := spans[:0]
	for _, s := range spans {
		if len(out) > 0 && s.start < out[len(out)-1].end {
			continue
		}
		out = append(out, s)
	}
	return out
}

// back returns the byte offset n runes before i.
func back(text string, i, n int) int {
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(text[:i])
		i -= size
	}
	return i
}

// forward returns the byte offset n runes after i.
func forward(text string, i, n int) int {
	for ; n > 0 && i < len(text); n-- {
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return i
}

// snippet is HTML: a window of about snippetRunes runes of text around
// the first match (the start of the text when the text has no match),
// escaped, with the matches wrapped in <mark> and "…" where the text was
// cut.
func snippet(text string, terms search.TermLocationMap) string {
	if text == "" {
		return ""
	}
	spans := matchSpans(text, terms)
	start := 0
	if len(spans) > 0 {
		start = back(text, spans[0].start, snippetBefore)
		if r, _ := utf8.DecodeLastRuneInString(text[:start]); start > 0 && !unicode.IsSpace(r) {
			// Begin at a word: skip to just after a space, if there is one
			// before the match.
			if sp := strings.IndexFunc(text[start:spans[0].start], unicode.IsSpace); sp >= 0 {
				start += sp
				start = skipSpace(text, start)
			}
		}
	}
	end := forward(text, start, snippetRunes)
	for _, s := range spans {
		// Never cut a match in two.
		if s.start < end && s.end > end {
			end = s.end
		}
	}
	if end < len(text) {
		// End at a word when one ends in the last quarter of the window.
		minEnd := start
		if len(spans) > 0 {
			minEnd = spans[0].end
		}
		if sp := strings.LastIndexFunc(text[start:end], unicode.IsSpace); sp >= 0 && start+sp > minEnd && start+sp >= back(text, end, snippetRunes/4) {
			end = start + sp
		}
	}

	var b strings.Builder
	b.Grow(end - start + 64)
	if start > 0 {
		b.WriteString("…")
	}
	pos := start
	for _, s := range spans {
		if s.end <= start {
			continue
		}
		if s.start >= end {
			break
		}
		b.WriteString(html.EscapeString(text[pos:s.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[s.start:s.end]))
		b.WriteString("</mark>")
		pos = s.end
	}
	b.WriteString(html.EscapeString(strings.TrimRightFunc(text[pos:end], unicode.IsSpace)))
	if end < len(text) {
		b.WriteString("…")
	}
	return b.String()
}

func skipSpace(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}
