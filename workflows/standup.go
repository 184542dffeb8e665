package workflows

import (
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// Standup composition (product.md §6): for one calendar day in the tenant's
// time zone, what each person got done, has in progress and is blocked on,
// and the decisions of that day. Composition is pure: the caller loads the
// items, decisions and teammates and stores the result.

// StandupInput is what a standup is composed from.
type StandupInput struct {
	// Date is the day reported: its own year, month and day name the
	// calendar day in Location (as time.Parse("2006-01-02", …) or
	// pmassist.DefaultStandupDate gives it).
	Date     time.Time
	Location *time.Location // nil: UTC
	// Items are the items updated in the day's window; more do no harm.
	Items []*pmassist.Item
	// Decisions are the decisions decided in the window; others (and
	// rejected ones) are left out.
	Decisions []*pmassist.Decision
	Teammates []*pmassist.Teammate
	Tenant    string // the tenant's id (the store sets it again when saving)
	// BaseURL is the app's address, for links to decisions.
	BaseURL string
}

// Standup sections and their labels.
const (
	suDone = iota
	suInProgress
	suBlockers
)

var suLabels = [...]string{"Done", "In progress", "Blocker"}

const (
	suMaxMessageTitle = 120 // runes of a Slack message kept as an entry title
	suMaxTitle        = 200 // runes of an issue or pull request title
)

// StandupWindow is the day of date in loc: from local midnight to the next
// local midnight, [from, to). The day is read from date's own year, month
// and day. On days when the clocks change the window is 23 or 25 hours
// long, and where midnight does not exist the day starts when it does.
func StandupWindow(date time.Time, loc *time.Location) (from, to time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := date.Date()
	return pmassist.DayStart(y, m, d, loc), pmassist.DayStart(y, m, d+1, loc)
}

// ComposeStandup composes the standup of in.Date. It is pure and
// deterministic: the same input gives the same standup, byte for byte.
//
// Every item's actor is matched to a teammate by identity (service and
// external id), else by email, else stands as a person of their own; bots
// never appear. Per person:
//
//   - Done: pull requests merged in the window (to their author); issues
//     completed in the window (to their assignee, else their author).
//   - In progress: pull requests opened or updated in the window and still
//     open (drafts with state "draft"); issues in a started state updated in
//     the window, unless blocked.
//   - Blockers: issues updated in the window whose state name says
//     "blocked" or that are labelled blocked/blocker; Slack messages of the
//     window in which their author says they are blocked (not negated, not
//     a question).
//
// Entries are unique per person and section and sorted by service (Slack,
// Linear, GitHub) then title; people are sorted by name. Every teammate
// with an identity is listed once; those without entries have NoActivity.
// ID, CreatedAt and UpdatedAt are left to the store.
func ComposeStandup(in StandupInput) *pmassist.Standup {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	from, to := StandupWindow(in.Date, loc)
	y, m, d := in.Date.Date()

	items := suItems(in.Items)
	c := newSuComposer(in.Teammates, items)
	for _, it := range items {
		c.item(it, from, to)
	}
	decisions := suDayDecisions(in.Decisions, from, to)
	ids := make([]string, 0, len(decisions))
	for _, dc := range decisions {
		ids = append(ids, dc.ID)
	}
	s := &pmassist.Standup{
		TenantID:    in.Tenant,
		Date:        time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02"),
		Timezone:    loc.String(),
		WindowFrom:  from,
		WindowTo:    to,
		People:      c.result(),
		DecisionIDs: ids,
		Deliveries:  []pmassist.Delivery{},
	}
	s.Markdown = StandupMarkdown(s, decisions, in.BaseURL)
	return s
}

// suItems drops nil and deleted items and repeated ids (keeping the latest
// update) and puts the rest in a canonical order, so that the input's order
// never matters.
func suItems(in []*pmassist.Item) []*pmassist.Item {
	out := make([]*pmassist.Item, 0, len(in))
	for _, it := range in {
		if it != nil && !it.Deleted {
			out = append(out, it)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := ppServiceRank(a.Service), ppServiceRank(b.Service); ra != rb {
			return ra < rb
		}
		if a.ExternalID != b.ExternalID {
			return a.ExternalID < b.ExternalID
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.UpdatedAt.After(b.UpdatedAt)
	})
	seen := map[string]bool{}
	n := 0
	for _, it := range out {
		if it.ID != "" {
			if seen[it.ID] {
				continue
			}
			seen[it.ID] = true
		}
		out[n] = it
		n++
	}
	return out[:n]
}

// suDayDecisions: the decisions decided in [from, to), not rejected, once
// each, by decided-at then id.
func suDayDecisions(in []*pmassist.Decision, from, to time.Time) []*pmassist.Decision {
	var out []*pmassist.Decision
	seen := map[string]bool{}
	for _, dc := range in {
		if dc == nil || dc.ID == "" || seen[dc.ID] || dc.Status == pmassist.DecisionRejected || !suIn(&dc.DecidedAt, from, to) {
			continue
		}
		seen[dc.ID] = true
		out = append(out, dc)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].DecidedAt.Equal(out[j].DecidedAt) {
			return out[i].DecidedAt.Before(out[j].DecidedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func suIn(t *time.Time, from, to time.Time) bool {
	return t != nil && !t.IsZero() && !t.Before(from) && t.Before(to)
}

// ---------------------------------------------------------------------------
// People.

type suPerson struct {
	p    pmassist.StandupPerson
	seen map[string]bool
}

type suComposer struct {
	people  map[string]*suPerson
	byKey   map[string]*suPerson // (service, external id) of a teammate
	byEmail map[string]*suPerson // an email of a teammate
	ids     map[string]pmassist.Identity
	names   map[string]string // email → the name of people who are not teammates
}

func newSuComposer(teammates []*pmassist.Teammate, items []*pmassist.Item) *suComposer {
	c := &suComposer{people: map[string]*suPerson{}, byKey: map[string]*suPerson{},
		byEmail: map[string]*suPerson{}, ids: map[string]pmassist.Identity{}, names: map[string]string{}}
	tms := make([]*pmassist.Teammate, 0, len(teammates))
	for _, t := range teammates {
		if t != nil {
			tms = append(tms, t)
		}
	}
	sort.SliceStable(tms, func(i, j int) bool { return tms[i].ID < tms[j].ID })
	for i, t := range tms {
		var idents []pmassist.Identity
		for _, id := range t.Identities {
			if !id.Bot && ppExternalKey(id.Service, id.ExternalID) != "" {
				idents = append(idents, id)
			}
		}
		if len(idents) == 0 {
			continue // a teammate is known by its identities
		}
		key := "t:" + t.ID
		if t.ID == "" || c.people[key] != nil {
			key = "t#" + strconv.Itoa(i)
		}
		sp := c.person(key, t.ID, suTeammateName(t, idents))
		for _, id := range idents {
			k := ppIdentityKey(id.Service, id.ExternalID)
			if c.byKey[k] == nil {
				c.byKey[k] = sp
			}
		}
		emails := append([]string(nil), t.Emails...)
		for _, id := range idents {
			emails = append(emails, id.Email)
		}
		for _, e := range emails {
			if e = pmassist.NormalizeEmail(e); e != "" && c.byEmail[e] == nil {
				c.byEmail[e] = sp
			}
		}
	}
	all := IdentitiesOf(items)
	for _, id := range all {
		c.ids[ppIdentityKey(id.Service, id.ExternalID)] = id
	}
	for pass := 0; pass < 2; pass++ { // a real name first, else a handle
		for _, id := range all {
			n := id.Name
			if pass == 1 {
				n = id.Handle
			}
			if id.Email != "" && n != "" && c.names[id.Email] == "" {
				c.names[id.Email] = n
			}
		}
	}
	return c
}

func suTeammateName(t *pmassist.Teammate, idents []pmassist.Identity) string {
	if n := ppClean(t.Name); n != "" {
		return n
	}
	for _, id := range idents {
		for _, n := range []string{id.Name, id.Handle, id.ExternalID} {
			if n = ppClean(n); n != "" {
				return n
			}
		}
	}
	return ppClean(t.ID)
}

func (c *suComposer) person(key, teammateID, name string) *suPerson {
	if sp := c.people[key]; sp != nil {
		return sp
	}
	sp := &suPerson{p: pmassist.StandupPerson{TeammateID: teammateID, Name: name,
		Done: []pmassist.StandupEntry{}, InProgress: []pmassist.StandupEntry{}, Blockers: []pmassist.StandupEntry{}},
		seen: map[string]bool{}}
	c.people[key] = sp
	return sp
}

// resolve finds the person behind p as service names them: a teammate by
// identity, else by email, else a person of their own; nil for bots and
// people who cannot be told.
func (c *suComposer) resolve(p *pmassist.Person, service pmassist.Service) *suPerson {
	if p == nil || ppIsBot(*p, service) {
		return nil
	}
	_, ext := PersonKey(*p, service)
	k := ppIdentityKey(service, ext)
	if ext != "" {
		if sp := c.byKey[k]; sp != nil {
			return sp
		}
	}
	seen := c.ids[k]
	email := pmassist.NormalizeEmail(p.Email)
	if email == "" && ext != "" {
		email = seen.Email
	}
	if email != "" {
		if sp := c.byEmail[email]; sp != nil {
			return sp
		}
	}
	name := ppClean(p.Name)
	switch {
	case email != "":
		n := c.names[email]
		if n == "" {
			n = email
		}
		return c.person("e:"+email, "", n)
	case ext != "":
		n := ppClean(seen.Handle)
		if n == "" {
			n = name
		}
		if n == "" {
			n = ppClean(p.ExternalID)
		}
		return c.person("i:"+k, "", n)
	case name != "":
		return c.person("n:"+strings.ToLower(name), "", name)
	}
	return nil
}

func (c *suComposer) add(sp *suPerson, section int, e pmassist.StandupEntry) {
	if sp == nil {
		return
	}
	k := e.ItemID
	if k == "" {
		k = string(e.Service) + "\x00" + e.URL + "\x00" + e.Title
	}
	k = strconv.Itoa(section) + k
	if sp.seen[k] {
		return
	}
	sp.seen[k] = true
	switch section {
	case suDone:
		sp.p.Done = append(sp.p.Done, e)
	case suInProgress:
		sp.p.InProgress = append(sp.p.InProgress, e)
	case suBlockers:
		sp.p.Blockers = append(sp.p.Blockers, e)
	}
}

// result lists the people, sorted, with sorted entries.
func (c *suComposer) result() []pmassist.StandupPerson {
	out := make([]pmassist.StandupPerson, 0, len(c.people))
	for _, sp := range c.people {
		p := sp.p
		for _, es := range [][]pmassist.StandupEntry{p.Done, p.InProgress, p.Blockers} {
			suSortEntries(es)
		}
		p.NoActivity = len(p.Done)+len(p.InProgress)+len(p.Blockers) == 0
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if la, lb := strings.ToLower(a.Name), strings.ToLower(b.Name); la != lb {
			return la < lb
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.TeammateID != b.TeammateID {
			return a.TeammateID < b.TeammateID
		}
		return suFirstKey(a) < suFirstKey(b)
	})
	return out
}

func suFirstKey(p pmassist.StandupPerson) string {
	for _, es := range [][]pmassist.StandupEntry{p.Done, p.InProgress, p.Blockers} {
		if len(es) > 0 {
			return es[0].ItemID + "\x00" + es[0].URL
		}
	}
	return ""
}

func suSortEntries(es []pmassist.StandupEntry) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if ra, rb := ppServiceRank(a.Service), ppServiceRank(b.Service); ra != rb {
			return ra < rb
		}
		if la, lb := strings.ToLower(a.Title), strings.ToLower(b.Title); la != lb {
			return la < lb
		}
		if a.Title != b.Title {
			return a.Title < b.Title
		}
		if a.URL != b.URL {
			return a.URL < b.URL
		}
		return a.ItemID < b.ItemID
	})
}

// ---------------------------------------------------------------------------
// Items.

func (c *suComposer) item(it *pmassist.Item, from, to time.Time) {
	switch it.Type {
	case pmassist.ItemPullRequest:
		c.pullRequest(it, from, to)
	case pmassist.ItemIssue:
		c.issue(it, from, to)
	case pmassist.ItemMessage:
		c.message(it, from, to)
	}
}

func (c *suComposer) pullRequest(it *pmassist.Item, from, to time.Time) {
	state := strings.ToLower(strings.TrimSpace(it.State))
	if it.MergedAt != nil || state == "merged" {
		at := it.MergedAt
		if at == nil {
			at = it.ClosedAt
		}
		if suIn(at, from, to) {
			c.add(c.resolve(&it.Author, it.Service), suDone, suEntry(it, "merged"))
		}
		return
	}
	if state == "closed" || state == "" && it.ClosedAt != nil {
		return // closed without merging
	}
	if !suIn(&it.CreatedAt, from, to) && !suIn(&it.UpdatedAt, from, to) {
		return
	}
	st := "open"
	if it.Draft {
		st = "draft"
	}
	c.add(c.resolve(&it.Author, it.Service), suInProgress, suEntry(it, st))
}

func (c *suComposer) issue(it *pmassist.Item, from, to time.Time) {
	actor := &it.Author
	if a := it.Assignee; a != nil && (a.ExternalID != "" || a.Email != "" || a.Name != "") {
		actor = a
	}
	state := ppClean(it.State)
	switch strings.ToLower(strings.TrimSpace(it.StateType)) {
	case "completed":
		at := it.CompletedAt
		if at == nil {
			at = it.ClosedAt
		}
		if suIn(at, from, to) {
			c.add(c.resolve(actor, it.Service), suDone, suEntry(it, state))
		}
		return
	case "canceled", "cancelled":
		return
	case "started":
		if !suIn(&it.UpdatedAt, from, to) {
			return
		}
		if suBlockedIssue(it) {
			c.add(c.resolve(actor, it.Service), suBlockers, suEntry(it, state))
		} else {
			c.add(c.resolve(actor, it.Service), suInProgress, suEntry(it, state))
		}
	default:
		if suIn(&it.UpdatedAt, from, to) && suBlockedIssue(it) {
			c.add(c.resolve(actor, it.Service), suBlockers, suEntry(it, state))
		}
	}
}

// suBlockedIssue: the state's name says blocked, or a label is blocked or
// blocker (any case).
func suBlockedIssue(it *pmassist.Item) bool {
	st := strings.ToLower(it.State)
	if strings.Contains(st, "block") && !strings.Contains(st, "unblock") {
		return true
	}
	for _, l := range it.Labels {
		if l = strings.ToLower(strings.TrimSpace(l)); l == "blocked" || l == "blocker" {
			return true
		}
	}
	return false
}

func (c *suComposer) message(it *pmassist.Item, from, to time.Time) {
	if !suIn(&it.CreatedAt, from, to) {
		return
	}
	text := suSlackPlain(it.Text)
	if text == "" || !suSaysBlocked(text) {
		return
	}
	e := suEntry(it, "")
	e.Title = suCut(text, suMaxMessageTitle)
	c.add(c.resolve(&it.Author, it.Service), suBlockers, e)
}

func suEntry(it *pmassist.Item, state string) pmassist.StandupEntry {
	title := ppClean(it.Title)
	if title == "" {
		title = ppClean(it.ExternalID)
	}
	return pmassist.StandupEntry{Type: it.Type, Title: suCut(title, suMaxTitle), URL: strings.TrimSpace(it.URL),
		Service: it.Service, State: state, ItemID: it.ID}
}

// suCut cuts s to at most n runes, at a word boundary when one is near,
// ending in "…".
func suCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, runes := len(s), 0
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
	return strings.TrimRight(head, " ,;:.-–—") + "…"
}

// suSlackPlain turns a Slack message's text into plain text: mentions,
// channels and links by their labels ("<@U1|ada>" → "@ada", "<!here>" →
// "@here", "<https://x|docs>" → "docs"), Slack's entities decoded, white
// space collapsed.
func suSlackPlain(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteString(suSlackLabel(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	return ppClean(suSlackEntities.Replace(b.String()))
}

var suSlackEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func suSlackLabel(in string) string {
	target, label, hasLabel := strings.Cut(in, "|")
	switch {
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return target[:1] + strings.TrimPrefix(label, target[:1])
		}
		return target
	case strings.HasPrefix(target, "!"):
		if hasLabel && label != "" {
			return label
		}
		w, _, _ := strings.Cut(target[1:], "^")
		return "@" + w
	}
	if hasLabel && label != "" {
		return label
	}
	return strings.TrimPrefix(target, "mailto:")
}

// ---------------------------------------------------------------------------
// Blocked messages.

// suSaysBlocked reports whether a message's author says they are blocked:
// "I'm blocked", "blocked on/by …", "stuck on …", "waiting on … to
// unblock", "Blocker: …", "… is blocking me". A negation just before
// ("not blocked anymore", "no longer blocked", "isn't blocking me"),
// "unblocked" in the same clause or after, a condition ("if you're
// blocked"), someone else as the subject ("they're blocked on") and
// questions ("are you blocked?") do not count. A sentence ending in "?"
// keeps its earlier clauses: "I'm blocked on keys, can someone help?"
// counts.
func suSaysBlocked(text string) bool {
	for _, s := range suSentences(text) {
		if suSentenceBlocked(s) {
			return true
		}
	}
	return false
}

type suWord struct {
	w      string
	clause int
	colon  bool // followed by ':'
}

type suSentence struct {
	words    []suWord
	question bool // ends with '?'
	clauses  int
}

type suSet map[string]bool

func suWords(s string) suSet {
	m := suSet{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func (m suSet) has(w string) bool { return m[w] }

var (
	suNegators = suWords("not no never isn't isnt aren't arent wasn't wasnt weren't werent ain't aint " +
		"don't dont doesn't doesnt didn't didnt nothing nobody none nor without")
	suConditions = suWords("if unless when whenever whether case")
	suFirst      = suWords("i i'm im i've ive i'd am we we're we've me us my our")
	suOthers     = suWords("you you're youre u he he's she she's they they're theyre y'all anyone anybody someone somebody everyone everybody")
	suAux        = suWords("are is am was were do does did have has can could should would will r")
	suEmptyRest  = suWords("none nothing no nope n na nil")
	suUnblocked  = suWords("unblocked unstuck")
	suWaitVerbs  = suWords("waiting wait waits need needs needing")
	suBe         = suWords("i'm im am we're")
	suAdverbs    = suWords("still currently totally completely kinda kind of so really pretty basically a bit fully now again just somewhat hard properly all")
)

// suSentences splits lower-cased text into sentences of words; clauses are
// parted by , ; : — and dashes.
func suSentences(text string) []suSentence {
	var out []suSentence
	var cur suSentence
	var w []rune
	flush := func() {
		if len(w) > 0 {
			cur.words = append(cur.words, suWord{w: strings.Trim(string(w), "'"), clause: cur.clauses})
			w = w[:0]
		}
	}
	end := func(q bool) {
		flush()
		if len(cur.words) > 0 {
			cur.question = q
			out = append(out, cur)
		}
		cur = suSentence{}
	}
	rs := []rune(strings.ToLower(text))
	for i, r := range rs {
		switch {
		case r == '’' || r == '‘' || r == '\'':
			if len(w) > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i+1]) {
				w = append(w, '\'')
			} else {
				flush()
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			w = append(w, r)
		case r == '?':
			end(true)
		case r == '!' || r == '\n':
			end(false)
		case r == '.':
			if len(w) > 0 && i+1 < len(rs) && (unicode.IsLetter(rs[i+1]) || unicode.IsDigit(rs[i+1])) {
				flush() // "v1.2", "e.g": not the end of a sentence
				continue
			}
			end(false)
		case r == ':':
			flush()
			if n := len(cur.words); n > 0 {
				cur.words[n-1].colon = true
			}
			cur.clauses++
		case r == ',' || r == ';' || r == '—' || r == '–' || r == '(' || r == ')':
			flush()
			cur.clauses++
		case r == '-' && (i+1 >= len(rs) || rs[i+1] == ' ') && (i == 0 || rs[i-1] == ' '):
			flush()
			cur.clauses++
		default:
			flush()
		}
	}
	end(false)
	return out
}

func suSentenceBlocked(s suSentence) bool {
	ws := s.words
	word := func(i int) string {
		if i < 0 || i >= len(ws) {
			return ""
		}
		return ws[i].w
	}
	// "Are you blocked on …", "Is anyone stuck": a question by its opening.
	if len(ws) >= 2 && suAux.has(ws[0].w) && (suOthers.has(ws[1].w) || suFirst.has(ws[1].w)) {
		return false
	}
	lastClause := -1
	if s.question {
		lastClause = ws[len(ws)-1].clause
	}
	near := func(i int, set suSet) bool {
		for k := i - 1; k >= 0 && k >= i-3; k-- {
			if set.has(ws[k].w) {
				return true
			}
		}
		return false
	}
	for i, x := range ws {
		trigger := false
		switch x.w {
		case "blocked":
			next := word(i + 1)
			trigger = next == "on" || next == "by" || suPassive(ws, i) || i == 0 && x.colon
		case "stuck":
			next := word(i + 1)
			trigger = next == "on" || next == "with" || suPassive(ws, i)
		case "blocking":
			next := word(i + 1)
			trigger = next == "me" || next == "us"
		case "blocker", "blockers":
			if x.colon {
				trigger = word(i+1) != "" && !suEmptyRest.has(word(i+1))
			}
		case "unblock":
			if word(i-1) == "to" {
				for k := 0; k < i; k++ {
					trigger = trigger || suWaitVerbs.has(ws[k].w)
				}
			}
		}
		if !trigger || x.clause == lastClause {
			continue
		}
		if x.w != "unblock" && (near(i, suNegators) || near(i, suConditions) || near(i, suOthers)) {
			continue
		}
		if w := word(i + 1); w == "anymore" || word(i+2) == "anymore" {
			continue
		}
		undone := false
		for k, y := range ws {
			if suUnblocked.has(y.w) && (k > i || y.clause == x.clause) {
				undone = true
			}
		}
		if undone {
			continue
		}
		return true
	}
	return false
}

// suPassive: "blocked" or "stuck" at i says how the author is — "I'm
// blocked", "I am still stuck", "we are totally blocked", "I've been
// blocked", "got stuck" — rather than what they did ("we blocked the IP").
func suPassive(ws []suWord, i int) bool {
	k := i - 1
	for k >= 0 && suAdverbs.has(ws[k].w) {
		k--
	}
	if k < 0 {
		return false
	}
	switch w := ws[k].w; {
	case suBe.has(w):
		return true
	case w == "are" || w == "was" || w == "were":
		return k > 0 && (ws[k-1].w == "we" || ws[k-1].w == "i")
	case w == "been" || w == "got" || w == "get" || w == "getting" || w == "feel" || w == "feeling":
		for j := k - 1; j >= 0 && j >= k-3; j-- {
			if suFirst.has(ws[j].w) {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Rendering.

// StandupMarkdown renders a standup as posted to Slack (mrkdwn):
//
//	*Standup — Friday 27 November 2026*
//
//	*Ada Lovelace*
//	• Done: <https://github.com/acme/api/pull/7|Add rate limits> — GitHub, merged
//	• In progress: <https://linear.app/acme/issue/ENG-1/x|Importer> — Linear, In Progress
//	• Blocker: <https://acme.slack.com/archives/C1/p1|I'm blocked on keys> — Slack
//
//	*Decisions*
//	• <https://pm.example.com/decisions/d1|Use Postgres> — accepted
//
//	No activity: Bob, Carol
//
// Untrusted text has &, < and > escaped, so that it can neither link nor
// mention (<!channel>, <@U…>); only http(s) URLs become links. decisions
// are looked up for s.DecisionIDs (in that order); baseURL, optional, is
// the app's address for links to them (without it they are not linked).
func StandupMarkdown(s *pmassist.Standup, decisions []*pmassist.Decision, baseURL ...string) string {
	return suRender(s, decisions, baseURL, suSlack{})
}

// StandupText renders a standup as the plain-text part of an email: the
// same lines as StandupMarkdown without markup, URLs in parentheses,
// untrusted text kept on its line (no markup to escape, no line breaks or
// control characters let through). baseURL as for StandupMarkdown.
func StandupText(s *pmassist.Standup, decisions []*pmassist.Decision, baseURL ...string) string {
	return suRender(s, decisions, baseURL, suText{})
}

// StandupHTML renders a standup as a small HTML document for email:
// headings, lists and links, no styles; all untrusted text escaped and
// only http(s) URLs linked. baseURL as for StandupMarkdown.
func StandupHTML(s *pmassist.Standup, decisions []*pmassist.Decision, baseURL ...string) string {
	return suRender(s, decisions, baseURL, suHTML{})
}

// suFormat is one output format.
type suFormat interface {
	begin(b *strings.Builder, title string)
	person(b *strings.Builder, name string)
	section(b *strings.Builder, title string) // the decisions heading
	listStart(b *strings.Builder)
	item(b *strings.Builder, label, text, link, meta string)
	listEnd(b *strings.Builder)
	line(b *strings.Builder, text string)
	end(b *strings.Builder)
}

func suRender(s *pmassist.Standup, decisions []*pmassist.Decision, baseURL []string, f suFormat) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	f.begin(&b, "Standup — "+suDayTitle(s.Date))
	var idle []string
	active := 0
	for _, p := range s.People {
		if len(p.Done)+len(p.InProgress)+len(p.Blockers) == 0 {
			idle = append(idle, ppClean(p.Name))
			continue
		}
		active++
		f.person(&b, ppClean(p.Name))
		f.listStart(&b)
		for sec, es := range [][]pmassist.StandupEntry{p.Done, p.InProgress, p.Blockers} {
			for _, e := range es {
				meta := e.Service.Title()
				if st := ppClean(e.State); st != "" {
					meta += ", " + st
				}
				f.item(&b, suLabels[sec], ppClean(e.Title), suSafeURL(e.URL), meta)
			}
		}
		f.listEnd(&b)
	}
	if active == 0 {
		f.line(&b, "Nothing done, in progress or blocked.")
	}
	if len(s.DecisionIDs) > 0 {
		byID := map[string]*pmassist.Decision{}
		for _, dc := range decisions {
			if dc != nil && byID[dc.ID] == nil {
				byID[dc.ID] = dc
			}
		}
		f.section(&b, "Decisions")
		f.listStart(&b)
		base := ""
		if len(baseURL) > 0 {
			base = strings.TrimRight(strings.TrimSpace(baseURL[0]), "/")
		}
		for _, id := range s.DecisionIDs {
			title, meta := "Decision "+ppClean(id), ""
			if dc := byID[id]; dc != nil {
				if t := ppClean(dc.Title); t != "" {
					title = t
				}
				meta = ppClean(dc.Status)
			}
			link := ""
			if base != "" {
				link = suSafeURL(base + "/decisions/" + url.PathEscape(id))
			}
			f.item(&b, "", title, link, meta)
		}
		f.listEnd(&b)
	}
	if len(idle) > 0 {
		f.line(&b, "No activity: "+strings.Join(idle, ", "))
	}
	f.end(&b)
	return b.String()
}

// suDayTitle: "2026-11-27" → "Friday 27 November 2026".
func suDayTitle(date string) string {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return ppClean(date)
	}
	return d.Format("Monday 2 January 2006")
}

// suSafeURL returns an absolute http(s) URL in a form safe to put inside
// Slack's <…|…> and an HTML attribute, or "".
func suSafeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 2048 || strings.IndexFunc(raw, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return ""
	}
	if sch := strings.ToLower(u.Scheme); sch != "http" && sch != "https" {
		return ""
	}
	return suURLEscaper.Replace(u.String())
}

var suURLEscaper = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C", "\"", "%22", "'", "%27", "`", "%60", "(", "%28", ")", "%29")

// Slack mrkdwn.

type suSlack struct{}

var suSlackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func suJoin(b *strings.Builder, s string) {
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(s)
}

func (suSlack) begin(b *strings.Builder, title string) {
	suJoin(b, "*"+suSlackEscaper.Replace(title)+"*")
}
func (suSlack) person(b *strings.Builder, name string) {
	suJoin(b, "\n*"+suSlackEscaper.Replace(name)+"*")
}
func (suSlack) section(b *strings.Builder, title string) {
	suJoin(b, "\n*"+suSlackEscaper.Replace(title)+"*")
}
func (suSlack) listStart(*strings.Builder) {}
func (suSlack) listEnd(*strings.Builder)   {}
func (suSlack) item(b *strings.Builder, label, text, link, meta string) {
	s := "• "
	if label != "" {
		s += label + ": "
	}
	if link != "" {
		s += "<" + suSlackEscaper.Replace(link) + "|" + suSlackEscaper.Replace(text) + ">"
	} else {
		s += suSlackEscaper.Replace(text)
	}
	if meta != "" {
		s += " — " + suSlackEscaper.Replace(meta)
	}
	suJoin(b, s)
}
func (suSlack) line(b *strings.Builder, text string) {
	suJoin(b, "\n"+suSlackEscaper.Replace(text))
}
func (suSlack) end(*strings.Builder) {}

// Plain text.

type suText struct{}

func (suText) begin(b *strings.Builder, title string)   { suJoin(b, title) }
func (suText) person(b *strings.Builder, name string)   { suJoin(b, "\n"+name) }
func (suText) section(b *strings.Builder, title string) { suJoin(b, "\n"+title) }
func (suText) listStart(*strings.Builder)               {}
func (suText) listEnd(*strings.Builder)                 {}
func (suText) item(b *strings.Builder, label, text, link, meta string) {
	s := "• "
	if label != "" {
		s += label + ": "
	}
	s += text
	if meta != "" {
		s += " — " + meta
	}
	if link != "" {
		s += " (" + link + ")"
	}
	suJoin(b, s)
}
func (suText) line(b *strings.Builder, text string) { suJoin(b, "\n"+text) }
func (suText) end(b *strings.Builder)               { b.WriteByte('\n') }

// HTML.

type suHTML struct{}

func (suHTML) begin(b *strings.Builder, title string) {
	t := html.EscapeString(title)
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + t +
		"</title>\n</head>\n<body>\n<h1>" + t + "</h1>\n")
}
func (suHTML) person(b *strings.Builder, name string) {
	b.WriteString("<h2>" + html.EscapeString(name) + "</h2>\n")
}
func (suHTML) section(b *strings.Builder, title string) {
	b.WriteString("<h2>" + html.EscapeString(title) + "</h2>\n")
}
func (suHTML) listStart(b *strings.Builder) { b.WriteString("<ul>\n") }
func (suHTML) listEnd(b *strings.Builder)   { b.WriteString("</ul>\n") }
func (suHTML) item(b *strings.Builder, label, text, link, meta string) {
	b.WriteString("<li>")
	if label != "" {
		b.WriteString(html.EscapeString(label) + ": ")
	}
	if link != "" {
		b.WriteString("<a href=\"" + html.EscapeString(link) + "\">" + html.EscapeString(text) + "</a>")
	} else {
		b.WriteString(html.EscapeString(text))
	}
	if meta != "" {
		b.WriteString(" — " + html.EscapeString(meta))
	}
	b.WriteString("</li>\n")
}
func (suHTML) line(b *strings.Builder, text string) {
	b.WriteString("<p>" + html.EscapeString(text) + "</p>\n")
}
func (suHTML) end(b *strings.Builder) { b.WriteString("</body>\n</html>\n") }
