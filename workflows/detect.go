package workflows

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// RuleDetector finds decisions with explainable rules (product.md §4). It is
// pure, deterministic and cheap enough to run on every ingested item.
//
// How it works:
//
//   - The text considered is the item's title and text, and for issues and
//     pull requests the comments of people (weighted lower, as thread
//     context). Quoted lines ("> …", "&gt; …"), code (fenced and inline) and
//     URLs are removed first, so that a quoted or pasted decision does not
//     count as the author's own.
//   - Positive signals each carry a weight: explicit markers ("Decision:",
//     "#decision", "DECISION"), decision phrases ("we decided", "let's go
//     with", "going forward we will", …), the tenant's own phrases, the
//     tenant's Slack reaction, the Linear label "decision", GitHub pull
//     requests that add or change an ADR.
//   - A text signal is lowered by what surrounds it: a negation or a
//     condition close before it ("haven't decided", "if we decide"), a
//     question, a hedge ("maybe", "I think", "proposal"), personal trivia
//     ("I decided to grab coffee"). A proposal that asks for input
//     ("Thoughts?", "any objections") lowers all text signals of its text.
//   - Confidence = 1 - Π(1 - w) over the signals, then multiplied down for a
//     canceled issue or a pull request closed without merging. Bots and
//     deleted items are never decisions. A decision needs confidence ≥ 0.5.
type RuleDetector struct{}

var _ pmassist.Detector = RuleDetector{}

// DecisionThreshold is the confidence from which an item is a decision.
const DecisionThreshold = 0.5

// Signal weights and lowering factors.
const (
	rdWMarker     = 0.9  // "Decision:", "Decided:"
	rdWTag        = 0.85 // "#decision"
	rdWCaps       = 0.8  // the word DECISION in capitals
	rdWAgreed     = 0.7  // "Agreed:" at line start
	rdWConsensus  = 0.7  // "Consensus:" at line start
	rdWApproved   = 0.65 // "Approved:", "Voted:" at line start
	rdWOutcome    = 0.6  // "Outcome:", "Conclusion:" at line start
	rdWTenant     = 0.75 // a tenant's own phrase
	rdWReaction   = 0.8  // the tenant's decision reaction
	rdWLabel      = 0.9  // Linear label "decision"
	rdWADRFile    = 0.9  // a PR touching an ADR record
	rdWADRTitle   = 0.85 // a PR titled "ADR 7: …"
	rdWItIs       = 0.6  // "Postgres it is."
	rdFComment    = 0.8  // comments are context, the item's own text weighs most
	rdFNegated    = 0.1
	rdFQuestion   = 0.25
	rdFHedged     = 0.35
	rdFPersonal   = 0.2
	rdFProposal   = 0.45 // "Proposal:" at line start
	rdFSeeking    = 0.6  // "Thoughts?", "any objections"
	rdFClosed     = 0.3  // a PR closed without merging, a canceled issue
	rdMaxTitle    = 120
	rdMaxSummary  = 400
	rdMaxGap      = 3        // filler words allowed inside a phrase
	rdNegWindow   = 3        // words before a phrase searched for a negation
	rdCondWindow  = 2        // words before a phrase searched for a condition
	rdMaxMarkerQ  = 5        // words allowed between a marker word and its colon
	rdMaxSegments = 64       // comments considered
	rdMaxSignals  = 64       // distinct text signals kept per segment
	rdMaxText     = 64 << 10 // bytes of one text considered
)

// Lowering flags, reported as signals in this order.
const (
	rdNegated uint8 = 1 << iota
	rdQuestion
	rdHedged
	rdPersonal
	rdClosed
	rdCanceled
)

var rdFlagNames = [...]string{"negated", "question", "hedged", "personal", "closed", "canceled"}

// ---------------------------------------------------------------------------
// Word lists and phrases, compiled once.

type rdSet map[string]struct{}

func rdWords(s string) rdSet {
	m := rdSet{}
	for _, w := range strings.Fields(s) {
		m[w] = struct{}{}
	}
	return m
}

func (m rdSet) has(b []byte) bool { _, ok := m[string(b)]; return ok }

var (
	// Words allowed inside a phrase without changing it ("we have all agreed").
	rdFillers = rdWords("have has had are is will would be been all both just finally ultimately officially " +
		"collectively unanimously now already eventually formally also then basically effectively really " +
		"actually final jointly indeed definitely together mutually still clearly")
	// Negations just before a phrase ("nobody decided", "not sure we
	// agreed") and inside it ("we haven't decided", "we've yet to agree").
	rdNegators = rdWords("not never haven't havent hasn't hasnt hadn't hadnt didn't didnt don't dont doesn't doesnt " +
		"won't wont can't cant cannot aren't arent weren't werent isn't isnt wasn't wasnt nobody noone none nothing awaiting pending")
	rdGapNeg = rdWords("yet")
	// Conditions just before a phrase ("if we decide", "until we agreed").
	rdConditions = rdWords("if before until till unless whether once when whenever case")
	// Question openers: an auxiliary followed by a subject ("should we …").
	rdAux      = rdWords("should shall did do does can could would will have has are is was were am")
	rdAuxSubj  = rdWords("we you they everyone everybody anyone the team i it this that our")
	rdWh       = rdWords("why what how when where who which")
	rdInterj   = rdWords("ok okay alright so then fine cool right great yes yep sure and but hmm wait also btw q")
	rdHedges   = rdWords("maybe perhaps probably possibly might tentatively tentative proposal propose proposing suggest suggesting suggestion leaning ideally hopefully kinda")
	rdHedge2   = [][2]string{{"what", "if"}, {"how", "about"}, {"i", "think"}, {"i", "guess"}, {"i'd", "suggest"}, {"i'd", "lean"}, {"not", "sure"}, {"i", "suppose"}}
	rdSocial   = rdWords("lunch lunches coffee coffees breakfast brunch dinner snack snacks pizza tacos ramen sushi burger burgers burrito donuts beer beers drinks karaoke gym nap haircut movie")
	rdPrivate  = rdWords("home leave early vacation pto holiday holidays weekend dentist doctor sick walk off conference")
	rdPropose  = rdWords("proposal suggestion rfc idea question q poll draft pitch")
	rdMarkerPf = rdWords("final team product eng engineering design architecture arch tech technical key official our the sales ops my")
	// Words after a marker word that say the decision is still open.
	rdOpenWords = rdWords("needed need needs pending required open tbd wanted outstanding todo undecided unknown time deadline")
	// First words of a marker's rest that say nothing was decided.
	rdRestNeg = rdWords("tbd pending none unknown open undecided")
	rdNotYet  = rdWords("yet decided made final sure")
	rdRestVal = rdWords("true false null nil yes no")
	rdSeeking = []string{"thoughts?", "wdyt", "what do you think", "what do you all think", "what does everyone think",
		"any objections", "objections?", "feedback welcome", "lmk what you", "does that work", "sound good?",
		"sounds good?", "vote ", "vote:", "+1 if"}
	// Nouns that "decision" merely qualifies ("decision log:", "DECISION TREE").
	rdDecisionNouns = rdWords("log logs tree trees matrix framework review reviews making maker makers fatigue meeting meetings doc docs document engine service table point points process criteria model models rights")
)

// rdPhrase is a sequence of word alternatives; gap[k] lets filler words and
// negations stand before word k.
type rdPhrase struct {
	words    []rdSet
	gap      []bool
	w        float64
	single   bool       // first-person singular subject: weak, personal trivia likely
	keep     int        // the title keeps the text from word keep; -1: from after the phrase
	start    bool       // only at the start of a sentence
	end      bool       // only at the end of a clause ("the plan is final.")
	noFollow [][]string // idioms that cancel the phrase ("go with the flow")
}

type rdSpec struct {
	pat      string
	w        float64
	single   bool
	keep     int
	start    bool
	end      bool
	noFollow string // "|"-separated word sequences
}

// Subjects that speak for the team or the company (not "I", not a customer).
const rdTeam = "we|we've|weve|we'd|team|team's|everyone|everyone's|everybody|leadership|leadership's|management|mgmt|y'all|" +
	"finance|legal|security|product|design|eng|engineering|ops|marketing|support|hr|board|execs|founders"

var rdSpecs = []rdSpec{
	{pat: rdTeam + " * decided", w: 0.8, keep: -1},
	{pat: "and i * decided|agreed", w: 0.75, keep: -1},
	{pat: "i|i've * decided", w: 0.3, single: true, keep: -1},
	{pat: "he|she * decided", w: 0.3, single: true, keep: -1},
	{pat: "they * decided|agreed", w: 0.45, keep: -1},
	{pat: rdTeam + " * agreed", w: 0.75, keep: -1, noFollow: "to disagree"},
	{pat: rdTeam + " * settled on", w: 0.75, keep: -1},
	{pat: rdTeam + " * aligned|landed on", w: 0.6, keep: -1},
	{pat: rdTeam + " * chose|chosen|picked", w: 0.55, keep: -1},
	{pat: rdTeam + " * opted for|to", w: 0.6, keep: -1},
	{pat: rdTeam + " * voted to|for", w: 0.55, keep: -1},
	{pat: rdTeam + " * made the|a|our * call|decision", w: 0.65, keep: -1},
	{pat: "i|i've * made the|a|my * call|decision", w: 0.3, single: true, keep: -1},
	{pat: "we're|we * going|sticking with", w: 0.7, keep: 1, noFollow: rdNonCommittal},
	{pat: "we're|we * going to go|stick with", w: 0.7, keep: 1, noFollow: rdNonCommittal},
	{pat: "we'll|we * go|stick with", w: 0.65, keep: 1, noFollow: rdNonCommittal},
	{pat: "we * went with", w: 0.6, keep: 1, noFollow: rdNonCommittal},
	{pat: "let's|lets * go|stick|roll with", w: 0.7, keep: 1, noFollow: rdNonCommittal},
	{pat: "let us * go|stick|roll with", w: 0.7, keep: 2, noFollow: rdNonCommittal},
	{pat: "we're|we'll|we * go|going|move|moving|push|pushing ahead|forward with", w: 0.6, keep: 1},
	{pat: "going|sticking with", w: 0.6, keep: 0, start: true, noFollow: rdNonCommittal},
	{pat: "decided to|on|against", w: 0.6, single: true, keep: -1, start: true}, // "Decided to go with X."
	{pat: "going|moving forward * we|we'll|we're|everyone|all", w: 0.6, keep: 2},
	{pat: "from now on * we|we'll|we're|everyone|all", w: 0.6, keep: 3},
	{pat: "final call", w: 0.6, keep: -1, noFollow: "for"},
	{pat: "is|it's|that's * final", w: 0.55, keep: -1, end: true}, // "the plan is final: …"
	{pat: "it's|that's * official", w: 0.55, keep: -1, end: true}, // "it's official — …"
	{pat: "we're|we|we'll * deprecating|sunsetting|standardizing|standardising|dropping|retiring|adopting|discontinuing|phasing", w: 0.55, keep: 1, noFollow: "the ball"},
	{pat: "final decision", w: 0.65, keep: -1},
	{pat: "decision is|was", w: 0.7, keep: -1, noFollow: "yours|mine|his|hers|theirs|up|pending|open|tbd|hard|tough|difficult|easy|simple|not|still|yet|made by|on hold"},
	{pat: "decision * has|had been made", w: 0.75, keep: -1},
	{pat: "decision * was made", w: 0.7, keep: -1},
	{pat: "decision made", w: 0.6, keep: -1},
	{pat: "it's * decided|settled", w: 0.6, keep: -1},
	{pat: "it * is|was decided|settled", w: 0.6, keep: -1},
	{pat: "it * has|had been decided|settled", w: 0.6, keep: -1},
	{pat: "consensus is|was", w: 0.7, keep: -1},
	{pat: "reached|have|got|had * consensus", w: 0.7, keep: -1},
	{pat: "signed off on", w: 0.55, keep: -1},
	{pat: "as agreed|decided", w: 0.55, keep: -1},
	{pat: "ship it with", w: 0.5, keep: 0},
}

// Objects of "go with" that commit to nothing.
const rdNonCommittal = "the flow|whatever|either|anything|any of|your gut"

var (
	rdPhrases []rdPhrase
	rdFirst   map[string][]int // first word → phrases
	// rdFirstLen[c] has bit n set when a first word starts with byte c and
	// is n bytes long: most words are ruled out without a map lookup.
	rdFirstLen [256]uint64
)

func init() {
	rdFirst = map[string][]int{}
	for _, s := range rdSpecs {
		p := rdPhrase{w: s.w, single: s.single, keep: s.keep, start: s.start, end: s.end}
		gap := false
		for _, f := range strings.Fields(s.pat) {
			if f == "*" {
				gap = true
				continue
			}
			p.words = append(p.words, rdWords(strings.ReplaceAll(f, "|", " ")))
			p.gap = append(p.gap, gap)
			gap = false
		}
		if s.noFollow != "" {
			for _, alt := range strings.Split(s.noFollow, "|") {
				p.noFollow = append(p.noFollow, strings.Fields(alt))
			}
		}
		rdPhrases = append(rdPhrases, p)
		for w := range p.words[0] {
			rdFirst[w] = append(rdFirst[w], len(rdPhrases)-1)
			rdFirstLen[w[0]] |= 1 << len(w)
		}
	}
}

// ---------------------------------------------------------------------------
// Scratch space, reused between calls.

type rdTok struct{ s, e, sent int32 }

type rdSent struct {
	s, e   int32 // bytes [s, e) of the sentence, without its terminator
	t0, t1 int32 // tokens [t0, t1)
	q      bool  // ends with a question mark
	ctx    uint8 // rdCtx* bits, computed on first use
}

// Sentence context bits (rdSent.ctx).
const (
	rdCtxDone uint8 = 1 << iota
	rdCtxQuestion
	rdCtxHedged
	rdCtxSocial
	rdCtxPrivate
)

type rdSig struct {
	name string
	w    float64
}

type rdScan struct {
	buf   []byte // cleaned text
	fold  []byte // buf lower-cased, byte for byte
	toks  []rdTok
	sents []rdSent

	// accumulated over the item's segments
	text    []rdSig // text signals (lowered)
	strct   []rdSig // structural signals (reaction, label, ADR)
	seg     []rdSig // text signals of the current segment
	flags   uint8
	title   rdTitleRef // the strongest title candidate of the primary text
	primary bool       // buf holds the item's own text
}

// rdTitleRef is a title candidate: prefix + buf[s:e].
type rdTitleRef struct {
	s, e   int
	prefix string
	w      float64
	ok     bool
}

var rdPool = sync.Pool{New: func() any {
	return &rdScan{buf: make([]byte, 0, 1024), fold: make([]byte, 0, 1024), toks: make([]rdTok, 0, 256), sents: make([]rdSent, 0, 32)}
}}

// ---------------------------------------------------------------------------

// Detect implements pmassist.Detector.
func (RuleDetector) Detect(item *pmassist.Item, cfg pmassist.DecisionConfig) pmassist.Detection {
	if item == nil {
		return pmassist.Detection{}
	}
	if item.Deleted {
		return pmassist.Detection{Signals: []string{"deleted"}}
	}
	if item.Author.Bot {
		return pmassist.Detection{Signals: []string{"bot"}}
	}
	sc := rdPool.Get().(*rdScan)
	defer func() {
		sc.text, sc.strct, sc.seg, sc.flags, sc.title, sc.primary = sc.text[:0], sc.strct[:0], sc.seg[:0], 0, rdTitleRef{}, false
		if cap(sc.buf) <= 1<<16 {
			rdPool.Put(sc)
		}
	}()

	itemFactor := 1.0
	switch item.Type {
	case pmassist.ItemMessage:
		reaction := rdReactionName(cfg.Reaction)
		for _, r := range item.Reactions {
			if r.Count >= 1 && rdReactionName(r.Name) == reaction {
				sc.addStruct("reaction:"+reaction, rdWReaction)
				break
			}
		}
	case pmassist.ItemIssue:
		for _, l := range item.Labels {
			if strings.EqualFold(strings.TrimSpace(l), "decision") {
				sc.addStruct("label:decision", rdWLabel)
				break
			}
		}
		if strings.EqualFold(item.StateType, "canceled") {
			itemFactor *= rdFClosed
			sc.flags |= rdCanceled
		}
	case pmassist.ItemPullRequest:
		for _, f := range item.Files {
			if rdADRPath(f) && !rdMoved(f, item.Files) {
				sc.addStruct("adr:"+f, rdWADRFile)
				break
			}
		}
		if _, ok := rdADRTitle(item.Title); ok {
			sc.addStruct("adr:title", rdWADRTitle)
		}
		if item.State == "closed" && item.MergedAt == nil {
			itemFactor *= rdFClosed
			sc.flags |= rdClosed
		}
	}

	// The item's own text goes last: its cleaned bytes stay in sc.buf for
	// the title and the summary.
	if item.Title != "" {
		sc.segment(item.Title, 1, false, cfg.Phrases)
	}
	n := 0
	for i := range item.Comments {
		c := &item.Comments[i]
		if c.Author.Bot || n >= rdMaxSegments {
			continue
		}
		n++
		sc.segment(c.Body, rdFComment, false, cfg.Phrases)
	}
	sc.segment(item.Text, 1, true, cfg.Phrases)

	textP, structP := 1.0, 1.0
	for _, s := range sc.text {
		textP *= 1 - s.w
	}
	for _, s := range sc.strct {
		structP *= 1 - s.w
	}
	conf := (1 - textP*structP) * itemFactor
	conf = math.Round(conf*1000) / 1000

	d := pmassist.Detection{Confidence: conf, IsDecision: conf >= DecisionThreshold}
	if len(sc.strct)+len(sc.text) == 0 {
		return d // nothing fired: no title or summary needed
	}
	if sc.primary {
		d.Summary = rdTruncate(rdCollapse(sc.buf), rdMaxSummary)
	}
	{
		d.Signals = make([]string, 0, len(sc.strct)+len(sc.text)+2)
		for _, s := range sc.strct {
			d.Signals = append(d.Signals, s.name)
		}
		for _, s := range sc.text {
			d.Signals = append(d.Signals, s.name)
		}
		for i, name := range rdFlagNames {
			if sc.flags&(1<<i) != 0 {
				d.Signals = append(d.Signals, name)
			}
		}
	}
	switch {
	case item.Type != pmassist.ItemMessage && strings.TrimSpace(item.Title) != "":
		d.Title = rdItemTitle(item.Title)
	case sc.title.ok:
		t := sc.title
		d.Title = rdTitle(t.prefix + string(sc.buf[t.s:t.e]))
	}
	if d.Title == "" {
		d.Title = rdTitle(rdFirstSentence(d.Summary))
	}
	if d.Summary == "" && item.Title != "" {
		d.Summary = rdTruncate(strings.Join(strings.Fields(item.Title), " "), rdMaxSummary)
	}
	return d
}

func (sc *rdScan) addStruct(name string, w float64) {
	sc.strct = append(sc.strct, rdSig{name, w})
}

// addText records a text signal of the current segment and, in the primary
// text, its title candidate when it is the strongest so far.
func (sc *rdScan) addText(name string, w float64, wantTitle bool, title func() rdTitleRef) {
	sc.addSeg("", nil, name, w)
	sc.offerTitle(w, wantTitle, title)
}

// addSeg records a segment signal named name, or prefix+string(b) when name
// is empty, keeping the highest weight per name; a name is allocated only
// the first time it is seen.
func (sc *rdScan) addSeg(prefix string, b []byte, name string, w float64) {
	for i := range sc.seg {
		g := &sc.seg[i]
		if name != "" && g.name == name || name == "" && len(g.name) == len(prefix)+len(b) && g.name[:len(prefix)] == prefix && g.name[len(prefix):] == string(b) {
			g.w = max(g.w, w)
			return
		}
	}
	if len(sc.seg) >= rdMaxSignals {
		return
	}
	if name == "" {
		name = prefix + string(b)
	}
	sc.seg = append(sc.seg, rdSig{name, w})
}

func (sc *rdScan) offerTitle(w float64, wantTitle bool, title func() rdTitleRef) {
	if wantTitle && w > sc.title.w {
		if t := title(); t.ok {
			t.w = w
			sc.title = t
		}
	}
}

// mergeSegment moves the segment's signals into the item's, lowered by the
// segment's factor, keeping the highest weight per name.
func (sc *rdScan) mergeSegment(factor float64) {
	for _, g := range sc.seg {
		w := g.w * factor
		found := false
		for i := range sc.text {
			if sc.text[i].name == g.name {
				found = true
				sc.text[i].w = max(sc.text[i].w, w)
			}
		}
		if !found {
			sc.text = append(sc.text, rdSig{g.name, w})
		}
	}
	sc.seg = sc.seg[:0]
}

func rdReactionName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "::"); i > 0 { // skin tones
		s = s[:i]
	}
	s = strings.Trim(s, ":")
	if s == "" {
		return pmassist.DefaultDecisionReaction
	}
	return strings.ToLower(s)
}

// ---------------------------------------------------------------------------
// One segment of text (a title, a text, a comment).

func (sc *rdScan) segment(text string, factor float64, primary bool, tenant []string) {
	if strings.TrimSpace(text) == "" {
		return
	}
	if len(text) > rdMaxText {
		cut := rdMaxText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	sc.clean(text)
	sc.tokenize()
	sc.primary = primary
	sc.markers(primary)
	sc.phrases(primary)
	sc.tenantPhrases(tenant, primary)
	sc.itIs(primary)
	if len(sc.seg) == 0 {
		return
	}
	// A proposal asking for input lowers every text signal of the segment.
	if sc.proposal() {
		factor *= rdFProposal
		sc.flags |= rdHedged
	} else if sc.seeking() {
		factor *= rdFSeeking
		sc.flags |= rdHedged
	}
	sc.mergeSegment(factor)
}

// clean copies text into buf without quoted lines, code and URLs, decodes
// Slack's entities and markup, straightens curly quotes and collapses
// blanks; fold gets the same bytes lower-cased.
func (sc *rdScan) clean(s string) {
	b := sc.buf[:0]
	inFence := false
	lineStart := true
	space := func() {
		if n := len(b); n > 0 && b[n-1] != ' ' && b[n-1] != '\n' {
			b = append(b, ' ')
		}
	}
	for i := 0; i < len(s); {
		if lineStart {
			lineStart = false
			if !inFence {
				j := i
				for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
					j++
				}
				if strings.HasPrefix(s[j:], ">") || strings.HasPrefix(s[j:], "&gt;") {
					k := strings.IndexByte(s[i:], '\n')
					if k < 0 {
						break
					}
					i += k + 1
					lineStart = true
					continue
				}
			}
		}
		c := s[i]
		switch {
		case c == '\n':
			for n := len(b); n > 0 && b[n-1] == ' '; n-- {
				b = b[:n-1]
			}
			if n := len(b); n > 0 && b[n-1] != '\n' {
				b = append(b, '\n')
			}
			i++
			lineStart = true
		case strings.HasPrefix(s[i:], "```"):
			inFence = !inFence
			i += 3
			space()
		case inFence:
			i++
		case c == '`':
			if k := strings.IndexByte(s[i+1:], '`'); k >= 0 && strings.IndexByte(s[i+1:i+1+k], '\n') < 0 {
				i += k + 2
				space()
			} else {
				i++
			}
		case c == '<':
			i = sc.slackMarkup(s, i, &b)
		case c == '&':
			switch {
			case strings.HasPrefix(s[i:], "&amp;"):
				b = append(b, '&')
				i += 5
			case strings.HasPrefix(s[i:], "&lt;"):
				b = append(b, '<')
				i += 4
			case strings.HasPrefix(s[i:], "&gt;"):
				b = append(b, '>')
				i += 4
			case strings.HasPrefix(s[i:], "&quot;"):
				b = append(b, '"')
				i += 6
			default:
				b = append(b, c)
				i++
			}
		case (c == 'h' || c == 'H') && rdURLAt(s, i):
			for i < len(s) && !rdURLEnd(s[i]) {
				i++
			}
			space()
		case c == ' ' || c == '\t' || c == '\r':
			space()
			i++
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0x98 || s[i+2] == 0x99):
			b = append(b, '\'') // ‘ ’
			i += 3
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0x9C || s[i+2] == 0x9D):
			b = append(b, '"') // “ ”
			i += 3
		default:
			b = append(b, c)
			i++
		}
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	sc.buf = b
	f := sc.fold[:0]
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			f = append(f, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if l := unicode.ToLower(r); l != r && utf8.RuneLen(l) == n {
			f = utf8.AppendRune(f, l)
		} else {
			f = append(f, b[i:i+n]...)
		}
		i += n
	}
	sc.fold = f
}

func rdURLAt(s string, i int) bool {
	if i > 0 && rdWordByte(s[i-1]) {
		return false
	}
	r := s[i:]
	return len(r) > 8 && (strings.EqualFold(r[:7], "http://") || strings.EqualFold(r[:8], "https://"))
}

func rdURLEnd(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '>' || c == '|' || c == ')' || c == '"' || c == '\''
}

// slackMarkup handles "<https://…|label>", "<@U123>", "<#C123|name>" and
// "<!here>" at s[i] == '<'; anything else is a literal '<'.
func (sc *rdScan) slackMarkup(s string, i int, b *[]byte) int {
	end := strings.IndexByte(s[i:], '>')
	nl := strings.IndexByte(s[i:], '\n')
	if end < 0 || (nl >= 0 && nl < end) || end < 2 {
		*b = append(*b, '<')
		return i + 1
	}
	inner := s[i+1 : i+end]
	label := ""
	if k := strings.IndexByte(inner, '|'); k >= 0 {
		inner, label = inner[:k], inner[k+1:]
	}
	switch {
	case inner[0] == '@':
		if label == "" {
			label = "@someone"
		} else {
			label = "@" + label
		}
	case inner[0] == '#':
		if label != "" {
			label = "#" + label
		}
	case inner[0] == '!':
		if label == "" {
			label = "@" + strings.TrimPrefix(inner, "!")
		}
	case strings.HasPrefix(inner, "http://") || strings.HasPrefix(inner, "https://") || strings.HasPrefix(inner, "mailto:"):
		// the URL goes, its label stays
	default:
		*b = append(*b, '<')
		return i + 1
	}
	if n := len(*b); n > 0 && (*b)[n-1] != ' ' && (*b)[n-1] != '\n' && label != "" {
		*b = append(*b, ' ')
	}
	*b = append(*b, label...)
	return i + end + 1
}

func rdWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// tokenize splits fold into words and sentences.
func (sc *rdScan) tokenize() {
	f := sc.fold
	toks := sc.toks[:0]
	sents := sc.sents[:0]
	cur := rdSent{}
	// endSent ends the current sentence at byte at; the next starts at next.
	endSent := func(at, next int, q bool) {
		cur.e = int32(at)
		cur.t1 = int32(len(toks))
		cur.q = q
		if cur.t1 > cur.t0 {
			sents = append(sents, cur)
		}
		cur = rdSent{s: int32(next), t0: int32(len(toks))}
	}
	for i := 0; i < len(f); {
		c := f[i]
		if rdWordByte(c) || c >= utf8.RuneSelf && rdLetterAt(f, i) {
			j := i
			for j < len(f) {
				d := f[j]
				if rdWordByte(d) {
					j++
					continue
				}
				if d == '\'' && j+1 < len(f) && rdWordByte(f[j+1]) && j > i {
					j++
					continue
				}
				if d >= utf8.RuneSelf && rdLetterAt(f, j) {
					_, n := utf8.DecodeRune(f[j:])
					j += n
					continue
				}
				break
			}
			toks = append(toks, rdTok{s: int32(i), e: int32(j), sent: int32(len(sents))})
			i = j
			continue
		}
		switch c {
		case '\n':
			endSent(i, i+1, false)
		case '?':
			at := i
			for i+1 < len(f) && (f[i+1] == '?' || f[i+1] == '!') {
				i++
			}
			endSent(at, i+1, true)
		case '.', '!', ';':
			if i+1 == len(f) || f[i+1] == ' ' || f[i+1] == '\n' || f[i+1] == '.' || f[i+1] == '!' || f[i+1] == '"' || f[i+1] == ')' {
				at, q := i, false
				for i+1 < len(f) && (f[i+1] == '.' || f[i+1] == '!' || f[i+1] == '?') {
					i++
					q = q || f[i] == '?'
				}
				endSent(at, i+1, q)
			}
		case 0xE2:
			if i+2 < len(f) && f[i+1] == 0x80 && f[i+2] == 0xA6 { // …
				endSent(i, i+3, false)
			}
		}
		if c < utf8.RuneSelf {
			i++
		} else {
			_, n := utf8.DecodeRune(f[i:])
			i += n
		}
	}
	endSent(len(f), len(f), false)
	sc.toks, sc.sents = toks, sents
}

func rdLetterAt(b []byte, i int) bool {
	r, _ := utf8.DecodeRune(b[i:])
	return unicode.IsLetter(r)
}

func (sc *rdScan) word(i int) []byte {
	t := sc.toks[i]
	return sc.fold[t.s:t.e]
}

func (sc *rdScan) wordIs(i int, w string) bool {
	return i >= 0 && i < len(sc.toks) && string(sc.word(i)) == w
}

// ---------------------------------------------------------------------------
// Context of a match: negation, condition, question, hedge, personal.

// lower returns the factor for a match starting at token m0 in sentence
// si; neg says a negation stood inside the match, single that its subject
// is first-person singular.
func (sc *rdScan) lower(si, m0 int, neg, single bool) float64 {
	s := sc.sents[si]
	for k := max(int(s.t0), m0-rdNegWindow); k < m0; k++ {
		if rdNegators.has(sc.word(k)) {
			neg = true
		}
	}
	// "no decision", but not "no, we decided"
	if m0 > int(s.t0) && sc.wordIs(m0-1, "no") && sc.toks[m0-1].e+1 == sc.toks[m0].s {
		neg = true
	}
	for k := max(int(s.t0), m0-rdCondWindow); k < m0; k++ {
		if rdConditions.has(sc.word(k)) {
			neg = true
		}
	}
	// "Once legal signs off we'll go with …": a condition opening the
	// sentence reaches the phrase unless a comma closes it first.
	t := int(s.t0)
	for t < m0 && rdInterj.has(sc.word(t)) {
		t++
	}
	if t < m0 && rdConditions.has(sc.word(t)) && bytes.IndexByte(sc.fold[sc.toks[t].e:sc.toks[m0].s], ',') < 0 {
		neg = true
	}
	f := 1.0
	if neg {
		f *= rdFNegated
		sc.flags |= rdNegated
	}
	ctx := sc.context(si)
	if ctx&rdCtxQuestion != 0 {
		f *= rdFQuestion
		sc.flags |= rdQuestion
	}
	if ctx&rdCtxHedged != 0 {
		f *= rdFHedged
		sc.flags |= rdHedged
	}
	if ctx&rdCtxSocial != 0 || single && ctx&rdCtxPrivate != 0 {
		f *= rdFPersonal
		sc.flags |= rdPersonal
	}
	return f
}

// question: the sentence ends in "?", or opens like one ("should we …",
// "why did we …").
func (sc *rdScan) question(si int) bool {
	s := sc.sents[si]
	if s.q {
		return true
	}
	t := int(s.t0)
	for t < int(s.t1) && rdInterj.has(sc.word(t)) {
		t++
	}
	if t >= int(s.t1) {
		return false
	}
	w := sc.word(t)
	if rdAux.has(w) {
		for k := t + 1; k < min(t+3, int(s.t1)); k++ {
			if rdAuxSubj.has(sc.word(k)) {
				return true
			}
		}
		return false
	}
	if rdWh.has(w) {
		for k := t + 1; k < min(t+3, int(s.t1)); k++ {
			if rdAux.has(sc.word(k)) {
				return true
			}
		}
	}
	return false
}

func (sc *rdScan) hedged(si int) bool {
	s := sc.sents[si]
	for k := int(s.t0); k < int(s.t1); k++ {
		w := sc.word(k)
		if rdHedges.has(w) {
			return true
		}
		if k+1 < int(s.t1) {
			for _, h := range rdHedge2 {
				if string(w) == h[0] && string(sc.word(k+1)) == h[1] {
					return true
				}
			}
		}
	}
	return false
}

// context returns the sentence's context bits, computing them once.
func (sc *rdScan) context(si int) uint8 {
	s := &sc.sents[si]
	if s.ctx&rdCtxDone == 0 {
		s.ctx = rdCtxDone
		if sc.question(si) {
			s.ctx |= rdCtxQuestion
		}
		if sc.hedged(si) {
			s.ctx |= rdCtxHedged
		}
		for k := int(s.t0); k < int(s.t1); k++ {
			w := sc.word(k)
			if rdSocial.has(w) {
				s.ctx |= rdCtxSocial
			}
			if rdPrivate.has(w) {
				s.ctx |= rdCtxPrivate
			}
		}
	}
	return s.ctx
}

// proposal: a line that starts "Proposal:", "RFC:", "Idea:", …
func (sc *rdScan) proposal() bool {
	f := sc.fold
	for i := 0; i < len(f); {
		j := bytes.IndexByte(f[i:], '\n')
		line := f[i:]
		if j >= 0 {
			line = f[i : i+j]
		}
		p := rdSkipDecor(line, 0)
		k := p
		for k < len(line) && ('a' <= line[k] && line[k] <= 'z') {
			k++
		}
		if k > p && k < len(line) && line[k] == ':' && rdPropose.has(line[p:k]) {
			return true
		}
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

func (sc *rdScan) seeking() bool {
	for _, s := range rdSeeking {
		if rdContains(sc.fold, s) {
			return true
		}
	}
	return false
}

func rdContains(b []byte, s string) bool {
	for i := 0; ; {
		k := bytes.IndexByte(b[i:], s[0])
		if k < 0 {
			return false
		}
		i += k
		if len(b)-i < len(s) {
			return false
		}
		if string(b[i:i+len(s)]) == s && (i == 0 || !rdWordByte(b[i-1])) {
			return true
		}
		i++
	}
}

// ---------------------------------------------------------------------------
// Markers.

// rdSkipDecor skips what may stand before a marker at a line start: blanks,
// bullets, list numbers, emphasis, headings, emoji and :emoji: codes.
func rdSkipDecor(line []byte, p int) int {
	for p < len(line) {
		c := line[p]
		switch {
		case c == ' ' || c == '\t' || c == '-' || c == '*' || c == '+' || c == '_' || c == '~' || c == '#' || c == '>' || c == '[' || c == ']':
			p++
		case '0' <= c && c <= '9':
			q := p
			for q < len(line) && '0' <= line[q] && line[q] <= '9' {
				q++
			}
			if q < len(line) && (line[q] == '.' || line[q] == ')') {
				p = q + 1
				continue
			}
			return p
		case c == ':':
			q := p + 1
			for q < len(line) && (rdWordByte(line[q]) || line[q] == '-' || line[q] == '+') {
				q++
			}
			if q < len(line) && line[q] == ':' && q > p+1 {
				p = q + 1
				continue
			}
			return p
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(line[p:])
			if unicode.IsLetter(r) {
				return p
			}
			p += n
		default:
			return p
		}
	}
	return p
}

// markers finds line-start markers ("Decision:", "Decided:", "Agreed:",
// "## Decision", "Decisions from the sync:"), "#decision" tags and the
// word DECISION in capitals.
func (sc *rdScan) markers(wantTitle bool) {
	f, b := sc.fold, sc.buf
	for ls := 0; ls <= len(f); {
		le := len(f)
		if j := bytes.IndexByte(f[ls:], '\n'); j >= 0 {
			le = ls + j
		}
		marked := sc.lineMarker(ls, le, wantTitle)
		// #decision tags
		for i := ls; ; {
			k := bytes.Index(f[i:le], rdTagBytes)
			if k < 0 {
				break
			}
			at := i + k
			i = at + len(rdTagBytes)
			if at > 0 && rdWordByte(f[at-1]) || i < len(f) && (rdWordByte(f[i]) || f[i] == '-') {
				continue
			}
			sc.wordMarker(at+1, i, "marker:#decision", rdWTag, wantTitle)
		}
		// DECISION in capitals, away from a line-start marker
		for i := ls; !marked; {
			k := bytes.Index(b[i:le], rdCapsBytes)
			if k < 0 {
				break
			}
			at := i + k
			i = at + len(rdCapsBytes)
			if at > 0 && (rdWordByte(b[at-1]) || b[at-1] == '#') || i < len(b) && rdWordByte(b[i]) {
				continue
			}
			if nw, _ := rdLetters(f, rdSkipSpace(f, i)); rdDecisionNouns.has(nw) {
				continue
			}
			sc.wordMarker(at, i, "marker:DECISION", rdWCaps, wantTitle)
		}
		if le == len(f) {
			break
		}
		ls = le + 1
	}
}

var (
	rdTagBytes  = []byte("#decision")
	rdCapsBytes = []byte("DECISION")
)

// tokenAt returns the index of the first token starting at or after byte p.
func (sc *rdScan) tokenAt(p int) int {
	lo, hi := 0, len(sc.toks)
	for lo < hi {
		m := (lo + hi) / 2
		if int(sc.toks[m].s) < p {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lineMarker scores a marker at the start of line [ls, le) and reports
// whether there was one.
func (sc *rdScan) lineMarker(ls, le int, wantTitle bool) bool {
	line := sc.fold[ls:le]
	heading := bytes.HasPrefix(bytes.TrimLeft(line, " "), []byte("#"))
	p := rdSkipDecor(line, 0)
	w0, p2 := rdLetters(line, p)
	if rdMarkerPf.has(w0) {
		if w1, p3 := rdLetters(line, rdSkipSpace(line, p2)); len(w1) > 0 {
			w0, p2 = w1, p3
		}
	}
	var name string
	var w float64
	switch string(w0) {
	case "decision", "decisions":
		name, w = "marker:decision:", rdWMarker
	case "decided":
		name, w = "marker:decided:", rdWMarker
	case "agreed":
		name, w = "phrase:agreed:", rdWAgreed
	case "consensus":
		name, w = "marker:consensus:", rdWConsensus
	case "approved":
		name, w = "marker:approved:", rdWApproved
	case "settled":
		name, w = "marker:settled:", rdWConsensus
	case "voted":
		name, w = "marker:voted:", rdWApproved
	case "outcome", "outcomes", "conclusion", "verdict":
		name, w = "marker:outcome:", rdWOutcome
	default:
		return false
	}
	if w0[0] == 'd' && w0[len(w0)-1] != 'd' { // decision(s)
		if nw, _ := rdLetters(line, rdSkipSpace(line, p2)); rdDecisionNouns.has(nw) {
			return false // "Decision log: add filters"
		}
	}
	wordStart := p2 - len(w0)
	q := p2
	for q < len(line) && (line[q] == '*' || line[q] == '_') {
		q++
	}
	q = rdSkipSpace(line, q)
	open := false
	rest := -1
	switch {
	case q < len(line) && line[q] == ':' && (q+1 == len(line) || line[q+1] != '=' && line[q+1] != ':'):
		rest = q + 1
	case q < len(line) && q > p2 && line[q] == '-', rdDashAt(line, q):
		rest = q + 1
		if line[q] != '-' {
			rest = q + 3
		}
	case q == len(line) && heading:
		rest = q
	default:
		// "Decision needed by Friday:", "Agreed in standup:"
		words := 0
		for r := q; r < len(line); {
			wd, e := rdLetters(line, r)
			if len(wd) == 0 {
				c := line[r]
				if c == ':' && (r+1 == len(line) || line[r+1] != '=') {
					if words > 0 && words <= rdMaxMarkerQ {
						rest = r + 1
					}
					break
				}
				if c == '.' || c == '?' || c == '!' || c == ',' || c == ';' || c == '=' || c == '(' || c == '"' {
					if c != '(' || words == 0 {
						break
					}
				}
				if rdDashAt(line, r) && words > 0 && words <= rdMaxMarkerQ {
					rest = r + 3
					break
				}
				_, n := utf8.DecodeRune(line[r:])
				r += n
				continue
			}
			words++
			if rdOpenWords.has(wd) {
				open = true
			}
			r = e
			if r == len(line) && heading && words <= 2 {
				rest = r // "## Decision outcome": the next line says what
			}
		}
		if rest < 0 {
			return false
		}
	}
	// "Decision needed:" / "DECISION PENDING —"
	if q < len(line) && !open {
		if wd, _ := rdLetters(line, q); rdOpenWords.has(wd) {
			open = true
		}
	}
	// The rest of the line, or the next line when the marker heads a list.
	rs, re := ls+rdSkipSpace(line, rest), le
	for rs < re && (sc.fold[rs] == '*' || sc.fold[rs] == '_') {
		rs++
	}
	if rs >= re {
		nl := le + 1
		for nl < len(sc.fold) {
			e := bytes.IndexByte(sc.fold[nl:], '\n')
			ne := len(sc.fold)
			if e >= 0 {
				ne = nl + e
			}
			if s := nl + rdSkipDecor(sc.fold[nl:ne], 0); s < ne {
				rs, re = s, ne
				break
			}
			nl = ne + 1
		}
		if rs >= re {
			return false
		}
	}
	rt := sc.tokenAt(rs)
	if rt >= len(sc.toks) {
		return false
	}
	restWords := 0
	for k := rt; k < len(sc.toks) && int(sc.toks[k].s) < re; k++ {
		restWords++
	}
	if restWords < 2 && rdRestVal.has(sc.word(rt)) || rs < len(sc.fold) && sc.fold[rs] == '=' {
		return false // "decision: true", "decision = …"
	}
	neg := open || rdRestNeg.has(sc.word(rt)) || sc.wordIs(rt, "not") && rt+1 < len(sc.toks) && rdNotYet.has(sc.word(rt+1))
	si := int(sc.toks[rt].sent)
	wt := sc.tokenAt(ls + wordStart)
	if wt < len(sc.toks) && int(sc.toks[wt].sent) != si {
		// marker heading a list: judge the list item, but a question in
		// the heading still counts
		if sc.context(int(sc.toks[wt].sent))&rdCtxQuestion != 0 {
			neg = true
		}
	}
	sc.addText(name, w*sc.lower(si, rt, neg, false), wantTitle, func() rdTitleRef {
		end := re
		if s := sc.sents[si]; int(s.e) < end && int(s.e) > rs {
			end = int(s.e)
		}
		return rdTitleRef{s: rs, e: end, ok: end > rs}
	})
	return true
}

func rdDashAt(line []byte, q int) bool {
	return q+2 < len(line) && line[q] == 0xE2 && line[q+1] == 0x80 && (line[q+2] == 0x93 || line[q+2] == 0x94)
}

func rdLetters(b []byte, p int) ([]byte, int) {
	q := p
	for q < len(b) && 'a' <= b[q] && b[q] <= 'z' {
		q++
	}
	return b[p:q], q
}

func rdSkipSpace(b []byte, p int) int {
	for p < len(b) && b[p] == ' ' {
		p++
	}
	return p
}

// wordMarker scores a marker word in running text (a tag, DECISION) at
// bytes [at, end).
func (sc *rdScan) wordMarker(at, end int, name string, w float64, wantTitle bool) {
	ti := sc.tokenAt(at)
	if ti >= len(sc.toks) {
		return
	}
	si := int(sc.toks[ti].sent)
	s := sc.sents[si]
	neg := false
	if ti+1 < int(s.t1) && rdOpenWords.has(sc.word(ti+1)) || ti > int(s.t0) && (rdOpenWords.has(sc.word(ti-1)) || sc.wordIs(ti-1, "no") || sc.wordIs(ti-1, "any")) {
		neg = true
	}
	sc.addText(name, w*sc.lower(si, ti, neg, false), wantTitle, func() rdTitleRef {
		if sc.words(end, int(s.e)) >= 2 { // "#decision we pin Go to 1.26"
			return rdTitleRef{s: end, e: int(s.e), ok: true}
		}
		e := int(sc.toks[ti].s) // "We pin Go to 1.26 #decision"
		if e > 0 && sc.buf[e-1] == '#' {
			e--
		}
		if sc.words(int(s.s), e) >= 2 {
			return rdTitleRef{s: int(s.s), e: e, ok: true}
		}
		return rdTitleRef{s: int(s.s), e: int(s.e), ok: s.e > s.s}
	})
}

// words counts the tokens starting in bytes [a, e).
func (sc *rdScan) words(a, e int) int {
	n := 0
	for k := sc.tokenAt(a); k < len(sc.toks) && int(sc.toks[k].s) < e; k++ {
		n++
	}
	return n
}

// ---------------------------------------------------------------------------
// Phrases.

func (sc *rdScan) phrases(wantTitle bool) {
	for i := range sc.toks {
		w := sc.word(i)
		if len(w) > 63 || rdFirstLen[w[0]]&(1<<len(w)) == 0 {
			continue
		}
		ids, ok := rdFirst[string(w)]
		if !ok {
			continue
		}
		for _, id := range ids {
			p := &rdPhrases[id]
			end, keepTok, neg, ok := sc.match(p, i)
			if !ok {
				continue
			}
			si := int(sc.toks[i].sent)
			if p.start && !sc.atStart(si, i) {
				continue
			}
			if sc.followedBy(p.noFollow, end) || p.end && !sc.clauseEnd(end-1) {
				continue
			}
			w := p.w * sc.lower(si, i, neg, p.single)
			sc.addSeg("phrase:", sc.fold[sc.toks[i].s:sc.toks[end-1].e], "", w)
			sc.offerTitle(w, wantTitle, func() rdTitleRef { return sc.phraseTitle(si, keepTok, end) })
		}
	}
}

// match matches phrase p at token i: it returns the token after the match,
// the token the title keeps from, and whether a negation stood inside.
func (sc *rdScan) match(p *rdPhrase, i int) (end, keepTok int, neg, ok bool) {
	sent := sc.toks[i].sent
	keepTok = -1
	if p.keep == 0 {
		keepTok = i
	}
	j := i + 1
	for k := 1; k < len(p.words); k++ {
		skipped := 0
		for {
			if j >= len(sc.toks) || sc.toks[j].sent != sent {
				return 0, 0, false, false
			}
			w := sc.word(j)
			if p.words[k].has(w) {
				break
			}
			if !p.gap[k] || skipped >= rdMaxGap {
				return 0, 0, false, false
			}
			switch {
			case rdNegators.has(w) || rdGapNeg.has(w):
				neg = true
			case rdFillers.has(w) || rdHedges.has(w):
			default:
				return 0, 0, false, false
			}
			skipped++
			j++
		}
		if k == p.keep {
			keepTok = j
		}
		j++
	}
	return j, keepTok, neg, true
}

// clauseEnd: token i ends its sentence or is followed by a colon, a dash or
// a comma.
func (sc *rdScan) clauseEnd(i int) bool {
	s := sc.sents[sc.toks[i].sent]
	p := int(sc.toks[i].e)
	for p < int(s.e) && sc.fold[p] == ' ' {
		p++
	}
	return p >= int(s.e) || strings.IndexByte(":,;-", sc.fold[p]) >= 0 || rdDashAt(sc.fold, p)
}

func (sc *rdScan) atStart(si, i int) bool {
	for k := int(sc.sents[si].t0); k < i; k++ {
		if !rdInterj.has(sc.word(k)) {
			return false
		}
	}
	return true
}

func (sc *rdScan) followedBy(seqs [][]string, end int) bool {
	if end >= len(sc.toks) {
		return false
	}
	sent := sc.toks[end-1].sent
	for _, seq := range seqs {
		ok := true
		for k, w := range seq {
			j := end + k
			if j >= len(sc.toks) || sc.toks[j].sent != sent || string(sc.word(j)) != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

var rdLeadIns = []string{"to ", "that ", "on ", "upon ", "is ", "was ", "we'd ", "for "}

// phraseTitle is the sentence of a phrase without its lead-in: "we decided
// to use Postgres" → "Use Postgres".
func (sc *rdScan) phraseTitle(si, keepTok, end int) rdTitleRef {
	s := sc.sents[si]
	var a int
	e := int(s.e)
	prefix := ""
	if keepTok >= 0 {
		a = int(sc.toks[keepTok].s)
	} else {
		a = int(sc.toks[end-1].e)
		for a < e && strings.IndexByte(" ,:;-*_", sc.fold[a]) >= 0 || rdDashAt(sc.fold[:e], a) {
			if rdDashAt(sc.fold[:e], a) {
				a += 3
			} else {
				a++
			}
		}
		for n := 0; n < 2; n++ {
			for _, l := range rdLeadIns {
				if bytes.HasPrefix(sc.fold[a:e], []byte(l)) {
					a += len(l)
					break
				}
			}
		}
		if bytes.HasPrefix(sc.fold[a:e], []byte("against ")) {
			prefix = "Decided "
		}
	}
	if sc.words(a, e) < 2 {
		a, prefix = int(s.s), ""
	}
	return rdTitleRef{s: a, e: e, prefix: prefix, ok: e > a}
}

// tenantPhrases matches the tenant's own phrases word by word, like the
// built-in ones (case-insensitive, curly apostrophes folded).
func (sc *rdScan) tenantPhrases(phrases []string, wantTitle bool) {
	var buf [128]byte
	for _, ph := range phrases {
		first, rest := rdNextWord(ph, 0)
		if first == "" {
			continue
		}
		fw := rdFoldWord(buf[:0], first)
		name := ""
		for i := range sc.toks {
			if !bytes.Equal(sc.word(i), fw) {
				continue
			}
			j, p, ok := i+1, rest, true
			for {
				w, np := rdNextWord(ph, p)
				if w == "" {
					break
				}
				if j >= len(sc.toks) || sc.toks[j].sent != sc.toks[i].sent || !rdWordEq(sc.word(j), w) {
					ok = false
					break
				}
				j, p = j+1, np
			}
			if !ok {
				continue
			}
			si := int(sc.toks[i].sent)
			end := j
			if name == "" {
				name = "phrase:" + strings.ToLower(strings.Join(strings.Fields(ph), " "))
			}
			sc.addText(name, rdWTenant*sc.lower(si, i, false, false), wantTitle, func() rdTitleRef {
				return sc.phraseTitle(si, -1, end)
			})
		}
	}
}

// rdNextWord returns the next word of s from byte p (letters, digits and
// inner apostrophes, curly or straight) and the position after it.
func rdNextWord(s string, p int) (string, int) {
	for p < len(s) {
		r, n := utf8.DecodeRuneInString(s[p:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			break
		}
		p += n
	}
	q := p
	for q < len(s) {
		r, n := utf8.DecodeRuneInString(s[q:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			q += n
			continue
		}
		if (r == '\'' || r == '’') && q > p && q+n < len(s) {
			if r2, _ := utf8.DecodeRuneInString(s[q+n:]); unicode.IsLetter(r2) {
				q += n
				continue
			}
		}
		break
	}
	return s[p:q], q
}

// rdFoldWord appends w folded like the text: lower case where the byte
// length stays, curly apostrophes straightened.
func rdFoldWord(dst []byte, w string) []byte {
	for _, r := range w {
		if r == '’' || r == '‘' {
			r = '\''
		}
		if l := unicode.ToLower(r); utf8.RuneLen(l) == utf8.RuneLen(r) {
			r = l
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// rdWordEq compares a folded token with a word of a tenant phrase.
func rdWordEq(tok []byte, w string) bool {
	i := 0
	for _, r := range w {
		if r == '’' || r == '‘' {
			r = '\''
		}
		if l := unicode.ToLower(r); utf8.RuneLen(l) == utf8.RuneLen(r) {
			r = l
		}
		if i >= len(tok) {
			return false
		}
		t, n := utf8.DecodeRune(tok[i:])
		if t != r {
			return false
		}
		i += n
	}
	return i == len(tok)
}

// itIs: "Postgres it is." — a short sentence ending "it is".
func (sc *rdScan) itIs(wantTitle bool) {
	for si, s := range sc.sents {
		n := int(s.t1 - s.t0)
		if n < 3 || n > 6 || s.q || !sc.wordIs(int(s.t1)-2, "it") || !sc.wordIs(int(s.t1)-1, "is") {
			continue
		}
		skip := false
		for k := int(s.t0); k < int(s.t1)-2; k++ {
			w := sc.word(k)
			if rdWh.has(w) || rdNegators.has(w) || string(w) == "whatever" || string(w) == "that's" || string(w) == "as" {
				skip = true
			}
		}
		if skip {
			continue
		}
		st, e := int(s.s), int(sc.toks[s.t1-2].s)
		sc.addText("phrase:it is", rdWItIs*sc.lower(si, int(s.t1)-2, false, false), wantTitle, func() rdTitleRef {
			return rdTitleRef{s: st, e: e, ok: e > st}
		})
	}
}

// ---------------------------------------------------------------------------
// ADRs, titles, summaries.

// rdADRPath: a Markdown/RST record in an ADR or decisions folder, not its
// README, index or template.
func rdADRPath(p string) bool {
	p = strings.TrimPrefix(strings.TrimSpace(p), "./")
	slash := strings.LastIndexByte(p, '/')
	if slash < 0 {
		return false
	}
	dir, base := p[:slash], strings.ToLower(p[slash+1:])
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 {
		return false
	}
	switch base[dot:] {
	case ".md", ".markdown", ".rst", ".adoc", ".txt":
	default:
		return false
	}
	name := base[:dot]
	if name == "readme" || name == "index" || name == "toc" || strings.Contains(name, "template") {
		return false
	}
	for dir != "" {
		seg := dir
		if k := strings.IndexByte(dir, '/'); k >= 0 {
			seg, dir = dir[:k], dir[k+1:]
		} else {
			dir = ""
		}
		switch strings.ToLower(seg) {
		case "adr", "adrs", "decisions", "decision-records", "architecture-decisions":
			return true
		}
	}
	return false
}

// rdMoved: the same file name also appears under another folder, as when a
// pull request moves records without deciding anything.
func rdMoved(p string, files []string) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	for _, q := range files {
		if q != p && strings.HasSuffix(q, "/"+base) {
			return true
		}
	}
	return false
}

// rdADRTitle recognises "ADR 7: …", "ADR-0012 …", "ADR: …", "[ADR] …" and
// returns the title without that prefix.
func rdADRTitle(t string) (string, bool) {
	t = strings.TrimSpace(t)
	if len(t) < 4 {
		return "", false
	}
	bracket := t[0] == '['
	s := t
	if bracket {
		s = t[1:]
	}
	if len(s) < 4 || !strings.EqualFold(s[:3], "adr") {
		return "", false
	}
	s = s[3:]
	switch {
	case bracket:
		k := strings.IndexByte(s, ']')
		if k < 0 || strings.TrimLeft(s[:k], " -#0123456789") != "" {
			return "", false
		}
		s = s[k+1:]
	case s[0] == ':':
	default:
		s2 := strings.TrimLeft(s, " -_#")
		d := 0
		for d < len(s2) && '0' <= s2[d] && s2[d] <= '9' {
			d++
		}
		if d == 0 {
			return "", false
		}
		s = s2[d:]
	}
	s = strings.TrimLeft(s, " :.-–—#")
	if d := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); d > 0 {
		s = strings.TrimLeft(s[d:], " :.-–—") // "adr: 0022 rate limits"
	}
	return s, true
}

// rdItemTitle is an issue's or PR's own title without "ADR 7:" or
// "Decision:" in front.
func rdItemTitle(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	if r, ok := rdADRTitle(t); ok && strings.TrimSpace(r) != "" {
		return rdTitle(r)
	}
	lt := strings.ToLower(t)
	for _, p := range []string{"decision:", "decided:", "[decision]", "decision -", "decision —"} {
		if strings.HasPrefix(lt, p) && len(strings.TrimSpace(t[len(p):])) > 0 {
			return rdTitle(t[len(p):])
		}
	}
	return rdTitle(t)
}

// rdTitle trims a title, drops trailing punctuation and :emoji: codes,
// capitalises it and cuts it to rdMaxTitle runes.
func rdTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimLeft(s, " -–—:;,*_•")
	for {
		before := s
		if k := strings.LastIndexByte(s, ' '); k >= 0 {
			if last := s[k+1:]; len(last) > 2 && last[0] == ':' && last[len(last)-1] == ':' && !strings.Contains(last[1:len(last)-1], ":") {
				s = s[:k] // a trailing :emoji:
			}
		}
		s = strings.TrimRight(s, " .,;:!*_—–-")
		if s == before {
			break
		}
	}
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	if u := unicode.ToUpper(r); u != r {
		s = string(u) + s[n:]
	}
	return rdTruncate(s, rdMaxTitle)
}

// rdTruncate cuts s to at most n runes at a word boundary, ending in "…".
func rdTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, runes := 0, 0
	for i := range s {
		if runes == n-1 {
			cut = i
			break
		}
		runes++
	}
	head := s[:cut]
	if k := strings.LastIndexByte(head, ' '); k > len(head)/2 {
		head = head[:k]
	}
	return strings.TrimRight(head, " ,;:.-") + "…"
}

// rdCollapse joins the lines of a cleaned text with single spaces.
func rdCollapse(b []byte) string {
	var sb strings.Builder
	sb.Grow(min(len(b), rdMaxSummary*4))
	for i, c := range b {
		if sb.Len() >= rdMaxSummary*4 && utf8.RuneStart(c) {
			break
		}
		if c == '\n' {
			if i > 0 && b[i-1] != ' ' {
				sb.WriteByte(' ')
			}
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func rdFirstSentence(s string) string {
	for i, r := range s {
		if (r == '.' || r == '!' || r == '?') && (i+1 == len(s) || s[i+1] == ' ') {
			return s[:i+1]
		}
	}
	return s
}
