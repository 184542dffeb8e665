package workflows

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// detectCase is one line of testdata/decisions/corpus.jsonl.
type detectCase struct {
	ID     string        `json:"id"`
	Note   string        `json:"note"`
	Expect bool          `json:"expect"`
	Item   pmassist.Item `json:"item"`
}

func loadDetectCorpus(t testing.TB) []detectCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "decisions", "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []detectCase
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var c detectCase
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("corpus line %d: %v", n, err)
		}
		if c.ID == "" || seen[c.ID] {
			t.Fatalf("corpus line %d: missing or repeated id %q", n, c.ID)
		}
		if !c.Item.Type.Valid() || !c.Item.Service.Valid() {
			t.Fatalf("corpus %s: bad type/service %q/%q", c.ID, c.Item.Type, c.Item.Service)
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDetectionQualityOnCorpus(t *testing.T) {
	corpus := loadDetectCorpus(t)
	cfg := pmassist.DecisionConfig{Reaction: "white_check_mark"}
	var tp, fp, fn, tn int
	var fps, fns []string
	perService := map[pmassist.Service][4]int{}
	for _, c := range corpus {
		d := RuleDetector{}.Detect(&c.Item, cfg)
		s := perService[c.Item.Service]
		switch {
		case d.IsDecision && c.Expect:
			tp++
			s[0]++
		case d.IsDecision && !c.Expect:
			fp++
			s[1]++
			fps = append(fps, c.ID)
			t.Logf("FP %s (%s) conf=%.2f signals=%v: %s", c.ID, c.Note, d.Confidence, d.Signals, detectSnippet(&c.Item))
		case !d.IsDecision && c.Expect:
			fn++
			s[2]++
			fns = append(fns, c.ID)
			t.Logf("FN %s (%s) conf=%.2f signals=%v: %s", c.ID, c.Note, d.Confidence, d.Signals, detectSnippet(&c.Item))
		default:
			tn++
			s[3]++
		}
		perService[c.Item.Service] = s
	}
	positives := tp + fn
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	t.Logf("corpus: %d items, %d positive (%.0f%%)", len(corpus), positives, 100*float64(positives)/float64(max(len(corpus), 1)))
	t.Logf("TP=%d FP=%d FN=%d TN=%d precision=%.3f recall=%.3f", tp, fp, fn, tn, precision, recall)
	for _, svc := range pmassist.Services {
		s := perService[svc]
		t.Logf("  %-6s TP=%d FP=%d FN=%d TN=%d", svc, s[0], s[1], s[2], s[3])
	}
	t.Logf("false positives: %v", fps)
	t.Logf("false negatives: %v", fns)
	if len(corpus) < 300 {
		t.Errorf("corpus has %d items, want at least 300", len(corpus))
	}
	if float64(positives) < 0.3*float64(len(corpus)) {
		t.Errorf("corpus has %d positives of %d, want at least 30%%", positives, len(corpus))
	}
	if precision < 0.90 {
		t.Errorf("precision %.3f < 0.90", precision)
	}
	if recall < 0.80 {
		t.Errorf("recall %.3f < 0.80", recall)
	}
}

func detectSnippet(it *pmassist.Item) string {
	s := strings.Join(strings.Fields(it.Title+" "+it.Text), " ")
	if utf8.RuneCountInString(s) > 90 {
		s = string([]rune(s)[:90]) + "…"
	}
	return s
}

func BenchmarkDetect(b *testing.B) {
	corpus := loadDetectCorpus(b)
	cfg := pmassist.DecisionConfig{Reaction: "white_check_mark", Phrases: []string{"ship it", "locked in"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := &corpus[i%len(corpus)]
		_ = RuleDetector{}.Detect(&c.Item, cfg)
	}
}

// ---------------------------------------------------------------------------
// Unit tests per rule.

var detectCfg = pmassist.DecisionConfig{Reaction: "white_check_mark"}

func slackMsg(text string) *pmassist.Item {
	return &pmassist.Item{Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:1.1",
		Text: text, Author: pmassist.Person{Name: "Priya", ExternalID: "U1"}, Channel: "eng"}
}

func detectText(text string) pmassist.Detection {
	return RuleDetector{}.Detect(slackMsg(text), detectCfg)
}

func hasSignal(d pmassist.Detection, name string) bool { return slices.Contains(d.Signals, name) }

// detectExpect checks the verdict and that each named signal fired.
func detectExpect(t *testing.T, d pmassist.Detection, text string, want bool, signals ...string) {
	t.Helper()
	if d.IsDecision != want {
		t.Errorf("%q: IsDecision = %v (confidence %.2f, signals %v), want %v", text, d.IsDecision, d.Confidence, d.Signals, want)
	}
	if d.IsDecision != (d.Confidence >= DecisionThreshold) || d.Confidence < 0 || d.Confidence > 1 {
		t.Errorf("%q: confidence %.3f inconsistent with IsDecision %v", text, d.Confidence, d.IsDecision)
	}
	for _, s := range signals {
		if !hasSignal(d, s) {
			t.Errorf("%q: signal %q missing from %v", text, s, d.Signals)
		}
	}
}

func TestDetectPositiveSignals(t *testing.T) {
	cases := []struct {
		text   string
		signal string
	}{
		{"Decision: Use Postgres for analytics", "marker:decision:"},
		{"DECISION: staging is wiped every Sunday night.", "marker:decision:"},
		{"Sync notes\n- Decision: we keep the free tier at 3 projects\n- Open: seat pricing", "marker:decision:"},
		{"*Decision:* we migrate to Vite in sprint 14", "marker:decision:"},
		{":pushpin: Decision — icons come from Phosphor", "marker:decision:"},
		{"Decisions from the planning sync:\n1. Search v2 is the Q2 priority", "marker:decision:"},
		{"#decision we pin Go to 1.26 across services", "marker:#decision"},
		{"We pin Go to 1.26 across services #decision", "marker:#decision"},
		{"Decided: trials are 30 days, not 14", "marker:decided:"},
		{"After the review — DECISION — we keep the monolith for billing", "marker:DECISION"},
		{"we decided to go with Kafka for the event bus", "phrase:we decided"},
		{"We’ve decided to move the status page to Instatus", "phrase:we've decided"},
		{"we have decided to deprecate the CSV export", "phrase:we have decided"},
		{"We've agreed to push the redesign to July", "phrase:we've agreed"},
		{"we agreed that destructive actions need a confirm dialog", "phrase:we agreed"},
		{"we all agreed to switch the monorepo to pnpm", "phrase:we all agreed"},
		{"Agreed: we use the native share sheet", "phrase:agreed:"},
		{"let's go with react-query for the data layer", "phrase:let's go with"},
		{"lets go with the flat file cache for now", "phrase:lets go with"},
		{"Going forward we will rotate on-call on Mondays", "phrase:going forward we"},
		{"going forward, we'll squash-merge into main", "phrase:going forward, we'll"},
		{"final call: we ship 3.2 on Thursday", "phrase:final call"},
		{"The decision is to keep MySQL 8 for the legacy app", "phrase:decision is"},
		{"We're going with Temporal for workflows", "phrase:we're going with"},
		{"We are going with Sentry for errors", "phrase:we are going with"},
		{"we will go with gRPC internally", "phrase:we will go with"},
		{"the team decided to go with Playwright", "phrase:team decided"},
		{"Consensus is we drop iOS 15 in 4.0", "phrase:consensus is"},
		{"FYI we settled on semver for the SDKs", "phrase:we settled on"},
		{"we decided against building the Gantt view", "phrase:we decided"},
		{"Postgres it is. Migration branch tonight.", "phrase:it is"},
	}
	for _, c := range cases {
		detectExpect(t, detectText(c.text), c.text, true, c.signal)
	}
}

func TestDetectOrdinaryTextIsNotADecision(t *testing.T) {
	for _, text := range []string{
		"",
		"deployed 3.1.4 to prod, migrations ran clean",
		"the decision tree model is overfitting on Q1 data",
		"decisions decisions… tacos or ramen?",
		"let's go with the flow and see what customers ask for",
		"We agreed to disagree on tabs 😂",
		"final call for lunch orders! closing the basket in 10",
		"Reminder: we need to decide by Friday on the venue",
		"The decision is yours, Laura",
		"Decision log: add filters by tag",
		"decision: true",
		"see https://acme.io/blog/we-decided-to-go-with-kafka for background",
		"old notes: <https://acme.io/we-decided-to-move|link>",
	} {
		d := detectText(text)
		detectExpect(t, d, text, false)
	}
}

func TestDetectQuotedAndCodeTextDoesNotCount(t *testing.T) {
	cases := []string{
		"&gt; we decided to go with Kafka\nwait, when was this decided?",
		"> Decision: we move to Postgres 16\nnice 🎉",
		"   &gt; Agreed: native share sheet\ndoes that include Android?",
		"```\nDecision: use Redis\n```\nwhy does this config say that?",
		"the fixture says `we decided to go with X` and ```Decision: Y```, ignore it",
	}
	for _, text := range cases {
		d := detectText(text)
		detectExpect(t, d, text, false)
		if len(d.Signals) != 0 {
			t.Errorf("%q: signals %v from quoted or code text", text, d.Signals)
		}
	}
	// the reply's own words still count
	text := "&gt; should we use Kafka?\nDecision: yes, Kafka with 7-day retention"
	detectExpect(t, detectText(text), text, true, "marker:decision:")
}

func TestDetectNegationLowers(t *testing.T) {
	for _, text := range []string{
		"we haven't decided yet whether to use Kafka or SQS",
		"We have not decided on the auth provider",
		"We never agreed to ship the mobile app in Q2",
		"Let's not go with the custom auth",
		"If we agreed on 99.9 the error budget is 43 minutes",
		"once we've agreed on the schema I'll write the migration",
		"until we've decided on a queue, keep the cron job",
		"Kenji asked whether we decided to use the new runner",
		"Once legal signs off we'll go with the new DPA template",
		"no decision yet on the auth provider. DECISION pending on Auth0",
		"Decision needed: Frankfurt or Dublin for the EU cluster",
		"DECISION NEEDED by Wed: the onboarding email cadence",
		"Decision: TBD after the load test",
		"I'm not sure we agreed on that",
	} {
		detectExpect(t, detectText(text), text, false, "negated")
	}
	// a negated action is still a decision
	text := "We decided to NOT support IE11 in the new dashboard."
	detectExpect(t, detectText(text), text, true)
	// "no, …" answers; it does not negate
	text = "no, we decided to keep the monolith for billing"
	detectExpect(t, detectText(text), text, true)
	// things that never match a phrase at all
	for _, text := range []string{"didn't decide anything today", "still undecided on the laptops", "if we decide to go with Kafka we need on-call", "before we decide, benchmark sqlc"} {
		detectExpect(t, detectText(text), text, false)
	}
}

func TestDetectQuestionLowers(t *testing.T) {
	for _, text := range []string{
		"have we decided on the retention period for logs?",
		"we decided? I missed that meeting",
		"are we going with blue-green or canary",
		"Should we go with Kafka",
		"do we have consensus on the freeze",
		"Last quarter we decided to focus on enterprise — how did that work out?",
		"Which one should we go with?",
		"Decision: should we cap pagination at 200?",
	} {
		detectExpect(t, detectText(text), text, false, "question")
	}
	for _, text := range []string{"did we decide?", "should we decide on X today?", "why did we decide that?"} {
		detectExpect(t, detectText(text), text, false)
	}
}

func TestDetectHedgeLowers(t *testing.T) {
	for _, text := range []string{
		"maybe we go with the managed Redis",
		"I think we're going with Kafka but let me check",
		"what if we went with a darker sidebar",
		"I'd suggest we go with the 3-year term",
		"we'll probably go with Hetzner for the runners",
		"Proposal: we're going with weekly releases",
		"Let's go with Redis for sessions. Thoughts?",
		"Let's go with Redis for sessions — any objections?",
	} {
		detectExpect(t, detectText(text), text, false, "hedged")
	}
	// an explicit marker survives a request for objections
	text := "Decision: Redis for sessions. Any objections, shout by EOD."
	detectExpect(t, detectText(text), text, true, "marker:decision:", "hedged")
}

func TestDetectPersonalTrivia(t *testing.T) {
	for _, text := range []string{
		"I decided to take lunch early today",
		"i decided to grab coffee before standup",
		"I decided to go home early, not feeling great",
		"decided to take Friday off for a long weekend",
		"we decided to get pizza for the release party",
	} {
		detectExpect(t, detectText(text), text, false, "personal")
	}
	// "I decided" alone is weak: the team is "we"
	text := "I decided to rewrite the importer in Go"
	d := detectText(text)
	detectExpect(t, d, text, false, "phrase:i decided")
	if d.Confidence == 0 || d.Confidence >= DecisionThreshold {
		t.Errorf("%q: confidence %.2f, want weak but non-zero", text, d.Confidence)
	}
	// "leave" is personal for "I", not for the team
	text = "we decided to leave the public API as it is until v3"
	detectExpect(t, detectText(text), text, true)
}

func TestDetectBotsAndDeletedNeverDecide(t *testing.T) {
	bot := slackMsg("Decision: build passed ✅ — we decided to deploy")
	bot.Author = pmassist.Person{Name: "Jenkins", ExternalID: "B1", Bot: true}
	bot.Reactions = []pmassist.Reaction{{Name: "white_check_mark", Count: 3}}
	d := RuleDetector{}.Detect(bot, detectCfg)
	if d.IsDecision || d.Confidence != 0 || !reflect.DeepEqual(d.Signals, []string{"bot"}) {
		t.Errorf("bot message: %+v", d)
	}
	pr := &pmassist.Item{Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, Title: "ADR 19: Update dependency policy",
		Files: []string{"docs/adr/0019-dependency-policy.md"}, State: "open", Author: pmassist.Person{Name: "renovate[bot]", Bot: true}}
	if d := (RuleDetector{}).Detect(pr, detectCfg); d.IsDecision || d.Confidence != 0 || !hasSignal(d, "bot") {
		t.Errorf("ADR PR by a bot: %+v", d)
	}
	del := slackMsg("Decision: we're dropping Python 3.8")
	del.Deleted = true
	if d := (RuleDetector{}).Detect(del, detectCfg); d.IsDecision || d.Confidence != 0 || !hasSignal(d, "deleted") {
		t.Errorf("deleted message: %+v", d)
	}
	if d := (RuleDetector{}).Detect(nil, detectCfg); d.IsDecision {
		t.Errorf("nil item: %+v", d)
	}
}

func TestDetectReactionFromConfig(t *testing.T) {
	msg := func(reactions ...pmassist.Reaction) *pmassist.Item {
		it := slackMsg("Ship the onboarding checklist behind a flag, then GA")
		it.Reactions = reactions
		return it
	}
	check := pmassist.Reaction{Name: "white_check_mark", Count: 2}
	rocket := pmassist.Reaction{Name: "rocket", Count: 1}

	if d := (RuleDetector{}).Detect(msg(), detectCfg); d.IsDecision {
		t.Errorf("no reaction: %+v", d)
	}
	d := RuleDetector{}.Detect(msg(check), pmassist.DecisionConfig{})
	detectExpect(t, d, "default reaction", true, "reaction:white_check_mark")
	if d.Title != "Ship the onboarding checklist behind a flag, then GA" {
		t.Errorf("title %q", d.Title)
	}
	d = RuleDetector{}.Detect(msg(rocket), pmassist.DecisionConfig{Reaction: ":rocket:"})
	detectExpect(t, d, "tenant reaction", true, "reaction:rocket")
	d = RuleDetector{}.Detect(msg(check), pmassist.DecisionConfig{Reaction: "rocket"})
	detectExpect(t, d, "other tenant's reaction", false)
	d = RuleDetector{}.Detect(msg(pmassist.Reaction{Name: "rocket", Count: 0}), pmassist.DecisionConfig{Reaction: "rocket"})
	detectExpect(t, d, "zero count", false)
	d = RuleDetector{}.Detect(msg(pmassist.Reaction{Name: "white_check_mark::skin-tone-2", Count: 1}), detectCfg)
	detectExpect(t, d, "skin tone", true, "reaction:white_check_mark")
	// a reaction on a question still marks the team's answer
	q := slackMsg("should we cap pagination at 200?")
	q.Reactions = []pmassist.Reaction{check}
	detectExpect(t, RuleDetector{}.Detect(q, detectCfg), "reacted question", true, "reaction:white_check_mark")
}

func TestDetectTenantPhrases(t *testing.T) {
	cfg := pmassist.DecisionConfig{Reaction: "white_check_mark", Phrases: []string{"Locked in", "we’re locking", "🚀 shipped"}}
	text := "ok, LOCKED IN: v2 pricing starts May 1"
	d := RuleDetector{}.Detect(slackMsg(text), cfg)
	detectExpect(t, d, text, true, "phrase:locked in")
	if d := detectText(text); d.IsDecision {
		t.Errorf("%q is a decision without the tenant phrase: %+v", text, d)
	}
	text = "we're locking the Q3 scope today"
	detectExpect(t, RuleDetector{}.Detect(slackMsg(text), cfg), text, true, "phrase:we’re locking")
	// matched the same way: whole words, lowered by negation and questions
	for _, text := range []string{"is it locked in?", "nothing is locked in yet, not locked in at all", "unlocked instance"} {
		detectExpect(t, RuleDetector{}.Detect(slackMsg(text), cfg), text, false)
	}
	text = "the lockedin field"
	if d := (RuleDetector{}).Detect(slackMsg(text), cfg); len(d.Signals) != 0 {
		t.Errorf("%q: phrase matched inside a word: %v", text, d.Signals)
	}
}

func TestDetectLinearIssues(t *testing.T) {
	issue := func(title, text string, labels ...string) *pmassist.Item {
		return &pmassist.Item{Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, Title: title, Text: text,
			Labels: labels, State: "Todo", StateType: "unstarted", Author: pmassist.Person{Name: "Laura"}}
	}
	d := RuleDetector{}.Detect(issue("Terraform state in S3", "", "infra", "Decision"), detectCfg)
	detectExpect(t, d, "label", true, "label:decision")
	if d.Title != "Terraform state in S3" {
		t.Errorf("title %q", d.Title)
	}
	detectExpect(t, RuleDetector{}.Detect(issue("Choose analytics vendor", "Amplitude vs PostHog", "decision-needed"), detectCfg), "decision-needed", false)

	canceled := issue("Move docs to Docusaurus", "", "decision")
	canceled.State, canceled.StateType = "Canceled", "canceled"
	detectExpect(t, RuleDetector{}.Detect(canceled, detectCfg), "canceled", false, "label:decision", "canceled")

	withComments := issue("Pick a charting library", "Options: Recharts, ECharts, Visx.")
	withComments.Comments = []pmassist.Comment{
		{Author: pmassist.Person{Name: "GitHub", Bot: true}, Body: "Decision: linked PR merged"},
		{Author: pmassist.Person{Name: "Aisha"}, Body: "ECharts is heaviest but most complete"},
	}
	detectExpect(t, RuleDetector{}.Detect(withComments, detectCfg), "bot comment", false)
	withComments.Comments = append(withComments.Comments, pmassist.Comment{Author: pmassist.Person{Name: "Laura"}, Body: "We agreed in the sync: Recharts."})
	d = RuleDetector{}.Detect(withComments, detectCfg)
	detectExpect(t, d, "comment", true, "phrase:we agreed")
	// comments are context: they weigh less than the issue's own text
	own := RuleDetector{}.Detect(issue("Charts", "We agreed in the sync: Recharts."), detectCfg)
	if d.Confidence >= own.Confidence {
		t.Errorf("comment confidence %.2f >= own text %.2f", d.Confidence, own.Confidence)
	}
	if d.Title != "Pick a charting library" || d.Summary != "Options: Recharts, ECharts, Visx." {
		t.Errorf("title %q summary %q", d.Title, d.Summary)
	}
	d = RuleDetector{}.Detect(issue("Decision: adopt trunk-based development", "Merge to main daily."), detectCfg)
	detectExpect(t, d, "title marker", true, "marker:decision:")
	if d.Title != "Adopt trunk-based development" {
		t.Errorf("title %q", d.Title)
	}
}

func TestDetectGitHubADRs(t *testing.T) {
	merged := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	pr := func(title string, files ...string) *pmassist.Item {
		return &pmassist.Item{Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, Title: title, Files: files,
			State: "merged", MergedAt: &merged, Author: pmassist.Person{Name: "jonas"}}
	}
	cases := []struct {
		it      *pmassist.Item
		want    bool
		signals []string
		title   string
	}{
		{pr("Add ADR for the event bus", "docs/adr/0012-event-bus.md", "docs/adr/README.md"), true, []string{"adr:docs/adr/0012-event-bus.md"}, "Add ADR for the event bus"},
		{pr("Record feature flag decision", "docs/decisions/2025-03-flags.md"), true, []string{"adr:docs/decisions/2025-03-flags.md"}, ""},
		{pr("billing idempotency", "services/billing/doc/adr/0002-keys.md"), true, []string{"adr:services/billing/doc/adr/0002-keys.md"}, ""},
		{pr("ADR 7: Adopt gRPC"), true, []string{"adr:title"}, "Adopt gRPC"},
		{pr("ADR-0012 Use UUIDv7 keys"), true, []string{"adr:title"}, "Use UUIDv7 keys"},
		{pr("[ADR] mTLS between services"), true, []string{"adr:title"}, "MTLS between services"},
		{pr("adr: 0022 rate limits per tenant"), true, []string{"adr:title"}, "Rate limits per tenant"},
		{pr("Fix typo in ADR README", "docs/adr/README.md"), false, nil, ""},
		{pr("ADR template: add consequences", "docs/adr/template.md"), false, nil, ""},
		{pr("ADRs index", "docs/adr/index.md"), false, nil, ""},
		{pr("Adrenaline mode for tests", "test/adrenaline.go"), false, nil, ""},
		{pr("docs: how decisions are detected", "docs/guide/decisions.md"), false, nil, ""},
		{pr("Add decision tree classifier", "ml/decision_tree.py"), false, nil, ""},
		{pr("chore: move ADRs", "docs/adr/0001-x.md", "docs/architecture/adr/0001-x.md"), false, nil, ""},
	}
	for _, c := range cases {
		d := RuleDetector{}.Detect(c.it, detectCfg)
		detectExpect(t, d, c.it.Title, c.want, c.signals...)
		if c.title != "" && d.Title != c.title {
			t.Errorf("%q: title %q, want %q", c.it.Title, d.Title, c.title)
		}
	}
	closed := pr("ADR 16: Use MongoDB change streams", "docs/adr/0016-change-streams.md")
	closed.State, closed.MergedAt = "closed", nil
	detectExpect(t, RuleDetector{}.Detect(closed, detectCfg), "closed ADR", false, "adr:title", "closed")
	open := pr("ADR 21: Move search to Bleve", "docs/adr/0021-bleve.md")
	open.State, open.MergedAt, open.Draft = "open", nil, true
	detectExpect(t, RuleDetector{}.Detect(open, detectCfg), "open ADR", true, "adr:title")
	body := pr("Drop Node 16 support", ".github/workflows/ci.yml")
	body.Text = "We decided in #eng-platform to drop Node 16 now that it's EOL."
	detectExpect(t, RuleDetector{}.Detect(body, detectCfg), "PR body", true, "phrase:we decided")
}

func TestDetectTitles(t *testing.T) {
	cases := []struct{ text, title string }{
		{"Decision: Use Postgres for analytics", "Use Postgres for analytics"},
		{"decision: all new buckets are private by default. Public access via CloudFront only.", "All new buckets are private by default"},
		{"Roadmap sync:\n• Decision: mobile offline mode moves to Q4 :rocket:\n• Open: seats", "Mobile offline mode moves to Q4"},
		{"Decisions:\n- Search v2 is the Q2 priority\n- Reports move to Q3", "Search v2 is the Q2 priority"},
		{"ok after all that we decided to use Postgres for analytics. Migration next week", "Use Postgres for analytics"},
		{"We’ve agreed on weekly releases :tada:", "Weekly releases"},
		{"we decided that all services log JSON via slog", "All services log JSON via slog"},
		{"after 6 interviews we've decided against building the Gantt view", "Decided against building the Gantt view"},
		{"Agreed — let's go with option B (flag per tenant). I'll open the ticket.", "Let's go with option B (flag per tenant)"},
		{"ok let's go with option B (flag per tenant). I'll open the ticket.", "Go with option B (flag per tenant)"},
		{"We're going with Temporal for the workflow engine.", "Going with Temporal for the workflow engine"},
		{"#decision we pin Go to 1.26", "We pin Go to 1.26"},
		{"we pin Go to 1.26 across services #decision", "We pin Go to 1.26 across services"},
		{"Postgres it is.", "Postgres"},
		{"we've decided.", "We've decided"},
	}
	for _, c := range cases {
		d := detectText(c.text)
		if !d.IsDecision || d.Title != c.title {
			t.Errorf("%q: title %q (decision %v), want %q", c.text, d.Title, d.IsDecision, c.title)
		}
	}
	long := "Decision: " + strings.Repeat("we standardise every service on structured logging ", 6)
	d := detectText(long)
	if n := utf8.RuneCountInString(d.Title); n > 120 || !strings.HasSuffix(d.Title, "…") || strings.HasSuffix(d.Title, " …") {
		t.Errorf("long title (%d runes): %q", n, d.Title)
	}
	if !strings.HasPrefix(long[len("Decision: "):], strings.ToLower(d.Title[:1])+strings.TrimSuffix(d.Title[1:], "…")) {
		t.Errorf("long title not cut at a word boundary: %q", d.Title)
	}
	// summary: the cleaned text, at most ~400 runes
	text := "&gt; quoted earlier message\nDecision: use Redis, see <https://wiki.acme.io/redis|the wiki> and `cfg.redis`\n" + strings.Repeat("more context here ", 40)
	d = detectText(text)
	if strings.Contains(d.Summary, "quoted") || strings.Contains(d.Summary, "https://") || strings.Contains(d.Summary, "cfg.redis") ||
		!strings.HasPrefix(d.Summary, "Decision: use Redis, see the wiki and") || utf8.RuneCountInString(d.Summary) > 400 || !strings.HasSuffix(d.Summary, "…") {
		t.Errorf("summary %q", d.Summary)
	}
}

func TestDetectIsDeterministic(t *testing.T) {
	corpus := loadDetectCorpus(t)
	cfg := pmassist.DecisionConfig{Reaction: "white_check_mark", Phrases: []string{"locked in"}}
	first := make([]pmassist.Detection, len(corpus))
	for i := range corpus {
		first[i] = RuleDetector{}.Detect(&corpus[i].Item, cfg)
	}
	// again, backwards (pooled scratch space must not leak between items)
	// and from several goroutines at once
	for i := len(corpus) - 1; i >= 0; i-- {
		if d := (RuleDetector{}).Detect(&corpus[i].Item, cfg); !reflect.DeepEqual(d, first[i]) {
			t.Fatalf("%s: second run %+v, first %+v", corpus[i].ID, d, first[i])
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range corpus {
				i := (k*7 + g*13) % len(corpus)
				if d := (RuleDetector{}).Detect(&corpus[i].Item, cfg); !reflect.DeepEqual(d, first[i]) {
					errs <- corpus[i].ID
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for id := range errs {
		t.Errorf("%s: concurrent run differs", id)
	}
	// the item is not modified
	it := slackMsg("Decision: use Redis")
	before := *it
	RuleDetector{}.Detect(it, cfg)
	if !reflect.DeepEqual(*it, before) {
		t.Error("Detect changed its item")
	}
}

func TestDetectIsFast(t *testing.T) {
	if testing.Short() || raceEnabled() {
		t.Skip("timing")
	}
	it := slackMsg("ok after all that back and forth we decided to go with Kafka over SQS for the event bus. main reasons: ordering per key + replay. I'll write it up in the wiki")
	res := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			RuleDetector{}.Detect(it, detectCfg)
		}
	})
	if per := time.Duration(res.NsPerOp()); per > 20*time.Microsecond {
		t.Errorf("Detect takes %v per typical message, want well under 20µs", per)
	}
	plain := slackMsg("deployed 3.1.4 to prod, migrations ran clean; watching the dashboards for a bit")
	if n := testing.AllocsPerRun(100, func() { RuleDetector{}.Detect(plain, detectCfg) }); n > 0 {
		t.Errorf("%v allocations for a message without signals, want 0", n)
	}
}

// raceEnabled reports whether the test binary was built with -race, which
// slows code down and makes sync.Pool drop entries.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func BenchmarkDetectPlainMessage(b *testing.B) {
	it := slackMsg("Getting 502s from the EU cluster since 10:40, looking into it with <@U01GRACE> — status page updated")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		RuleDetector{}.Detect(it, detectCfg)
	}
}

// FuzzDetect checks invariants on arbitrary text: no panic, valid UTF-8,
// bounded title and summary, a confidence consistent with the verdict.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{
		"", "<", "&", "&gt;", "`", "```", "Decision:", "decision:\n", "## Decision\n", "Decisions from x:\n\n",
		"DECISION", "#decision", "we decided", "let's go with", "<https://x|", "<@U1", "…", "we’ve agreed…?",
		"Decision — ", "final call", "Postgres it is", "\xff\xfe", "Decision: " + strings.Repeat("é", 500),
		"we decided to " + strings.Repeat("a ", 300), "Agreed:\n- \n- x", "ADR 7:", "[ADR]",
	} {
		f.Add(s, "")
	}
	f.Add("ok, LOCKED IN: v2", "locked in")
	f.Fuzz(func(t *testing.T, text, phrase string) {
		cfg := pmassist.DecisionConfig{Reaction: "white_check_mark", Phrases: []string{phrase}}
		for _, it := range []*pmassist.Item{
			slackMsg(text),
			{Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, Title: text, Text: text, Comments: []pmassist.Comment{{Body: text}}},
			{Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, Title: text, Text: text, Files: []string{text}},
		} {
			d := RuleDetector{}.Detect(it, cfg)
			if d.Confidence < 0 || d.Confidence > 1 || d.IsDecision != (d.Confidence >= DecisionThreshold) {
				t.Fatalf("confidence %v, decision %v", d.Confidence, d.IsDecision)
			}
			if utf8.RuneCountInString(d.Title) > 120 || utf8.RuneCountInString(d.Summary) > 400 {
				t.Fatalf("title %d runes, summary %d runes", utf8.RuneCountInString(d.Title), utf8.RuneCountInString(d.Summary))
			}
			if utf8.ValidString(text) && (!utf8.ValidString(d.Title) || !utf8.ValidString(d.Summary)) {
				t.Fatalf("invalid UTF-8 out of valid input: %q / %q", d.Title, d.Summary)
			}
		}
	})
}
