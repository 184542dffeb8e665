package main

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// benchQuery is one search of figure 2, as the API takes it.
type benchQuery struct {
	Q       string `json:"q"`
	Type    string `json:"type,omitempty"`
	Service string `json:"service,omitempty"`
	Channel string `json:"channel,omitempty"`
	Author  string `json:"author,omitempty"`
	// From and To are days ("2006-01-02"), both included, in the tenant's
	// timezone (UTC here).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Sort string `json:"sort,omitempty"`
}

// values is the query string of GET /api/v1/search.
func (q benchQuery) values() url.Values {
	v := url.Values{"q": {q.Q}}
	for k, x := range map[string]string{"type": q.Type, "service": q.Service, "channel": q.Channel,
		"author": q.Author, "from": q.From, "to": q.To, "sort": q.Sort} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// Shares of the generated queries.
const (
	// rememberedShare of the searches look for a message someone
	// remembers: its words, phrases, channel, author or time. The others
	// combine words of the vocabulary at random (and often find nothing).
	rememberedShare = 0.85
	phraseShare     = 0.20
	filterShare     = 0.25
	byDateShare     = 0.15
)

// stopWords are never searched for alone.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "of": true, "for": true, "to": true, "in": true, "on": true, "is": true,
	"with": true, "and": true, "or": true, "by": true, "at": true, "be": true, "it": true, "this": true, "we": true,
	"after": true, "before": true, "every": true, "next": true, "back": true, "since": true, "has": true, "but": true,
	"not": true, "up": true, "more": true, "again": true, "from": true, "right": true, "got": true, "needs": true,
}

// vocabulary is what is searched for: the words of the chat's phrases and
// the long tail of names, lower-cased, in a fixed order.
type vocabulary struct {
	words   []string
	known   map[string]bool
	phrases []string // quoted searches
}

func newVocabulary() *vocabulary {
	v := &vocabulary{known: map[string]bool{}}
	add := func(w string) {
		w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
		if len(w) < 3 || stopWords[w] || strings.ContainsAny(w, "0123456789") || v.known[w] {
			return
		}
		v.known[w] = true
		v.words = append(v.words, w)
	}
	for _, list := range [][]string{areas, kinds, problems, statuses, actions, choices, changes, envs, names,
		{"decided", "decision", "agreed", "going", "final", "call", "fix", "review", "deploy", "merged", "blocked",
			"customer", "ticket", "benchmarks", "rollout", "reports"}} {
		for _, phrase := range list {
			for _, w := range strings.Fields(phrase) {
				add(w)
			}
		}
	}
	v.phrases = []string{"we decided", "let's go with", "final call", "going forward", "decided on", "we've agreed"}
	for _, p := range problems {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "a "), "an ")
		if strings.Contains(p, " ") {
			v.phrases = append(v.phrases, strings.ToLower(p))
		}
	}
	return v
}

// wordsOf lists the words of text that are in the vocabulary, once each.
func (v *vocabulary) wordsOf(text string) []string {
	var out []string
	for _, w := range strings.Fields(strings.ToLower(text)) {
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if v.known[w] && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// phrasesOf lists the quotable phrases of text: the decision and problem
// phrases it contains and its components ("billing worker").
func (v *vocabulary) phrasesOf(text string) []string {
	lower := strings.ToLower(text)
	var out []string
	for _, p := range v.phrases {
		if strings.Contains(lower, p) {
			out = append(out, p)
		}
	}
	f := strings.Fields(lower)
	for i := 0; i+1 < len(f); i++ {
		kind := strings.TrimRight(f[i+1], ".,;:?!")
		if slices.Contains(areas, f[i]) && slices.Contains(kinds, kind) {
			out = append(out, f[i]+" "+kind)
		}
	}
	return out
}

// newQueries draws n searches over the corpus c: 1–3 terms, about 20% with
// a quoted phrase, 25% with a filter (type, service, channel, author or a
// range of days) and 15% sorted by date. Most look for a message of the
// corpus by what one remembers of it; some combine random words.
func newQueries(seed uint64, n int, c *corpus) []benchQuery {
	rng := rand.New(rand.NewPCG(seed, 0x7175_6572_79))
	v := newVocabulary()
	out := make([]benchQuery, 0, n)
	for len(out) < n {
		m := c.messages[rng.IntN(len(c.messages))]
		remembered := rng.Float64() < rememberedShare
		words, phrases := v.wordsOf(m.text), v.phrasesOf(m.text)
		if !remembered {
			words, phrases = []string{pick(rng, v.words), pick(rng, v.words), pick(rng, v.words)}, v.phrases
		}
		if len(words) == 0 {
			continue // "+1", "Done": nothing to search for
		}
		var terms []string
		if len(phrases) > 0 && rng.Float64() < phraseShare {
			terms = append(terms, `"`+pick(rng, phrases)+`"`)
			if rng.IntN(2) == 0 {
				terms = append(terms, pick(rng, words))
			}
		} else {
			for k := 1 + rng.IntN(3); k > 0; k-- {
				if w := pick(rng, words); !slices.Contains(terms, w) {
					terms = append(terms, w)
				}
			}
		}
		q := benchQuery{Q: strings.Join(terms, " ")}
		if rng.Float64() < filterShare {
			switch rng.IntN(5) {
			case 0:
				q.Type = "message"
			case 1:
				q.Service = "slack"
			case 2:
				q.Channel = channelNames[m.channel]
			case 3:
				if m.user == botUser {
					q.Channel = channelNames[m.channel]
				} else {
					q.Author = people[m.user].email
				}
			default:
				from := m.at.AddDate(0, 0, -rng.IntN(15))
				q.From = from.Format(time.DateOnly)
				q.To = from.AddDate(0, 0, 15+rng.IntN(15)).Format(time.DateOnly)
			}
			if !remembered && q.Channel != "" {
				q.Channel = pick(rng, channelNames)
			}
		}
		if rng.Float64() < byDateShare {
			q.Sort = "date"
		}
		out = append(out, q)
	}
	return out
}
