package workflows

import (
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// FuzzDetectItem runs RuleDetector.Detect on whole items — a Slack
// message, a Linear issue or a GitHub pull request built from the inputs,
// with comments, labels, files, a reaction and a tenant phrase — where
// FuzzDetect varies the text alone (seeds in testdata/fuzz/FuzzDetectItem:
// decisions and near misses of the three services, and hostile text).
// Properties:
//   - the confidence is in [0,1] and IsDecision ⇔ confidence ≥
//     DecisionThreshold; bots' and deleted items are never decisions;
//   - nothing fired means confidence 0 and no title or summary;
//   - the title has at most 120 runes, the summary 400, both valid UTF-8
//     out of valid input;
//   - Detect is deterministic, also after other items went through the
//     pooled scratch space;
//   - the tenant's reaction (messages) and the label "decision" (issues)
//     never lower the confidence.
func FuzzDetectItem(f *testing.F) {
	f.Add(uint8(0), "", "Decision: we ship on Friday", "+1", "locked in")
	f.Add(uint8(1), "Decision: use Postgres", "We agreed in the sync.", "Thoughts?", "decision")
	f.Add(uint8(2), "ADR 7: rate limits", "Adds docs/adr/0007-rate-limits.md", "LGTM", "docs/adr/0007-rate-limits.md")
	other := &pmassist.Item{Type: pmassist.ItemIssue, Title: "Decision: " + string(make([]byte, 300)), Text: "we decided to go with Go. Postgres it is.",
		Labels: []string{"decision"}, Comments: []pmassist.Comment{{Body: "final call: yes"}}}
	f.Fuzz(func(t *testing.T, kind uint8, title, text, comment, extra string) {
		it, cfg := fuzzItem(kind, title, text, comment, extra)
		d := RuleDetector{}.Detect(it, cfg)
		if d.Confidence < 0 || d.Confidence > 1 || d.IsDecision != (d.Confidence >= DecisionThreshold) {
			t.Fatalf("confidence %v, decision %v", d.Confidence, d.IsDecision)
		}
		if (it.Deleted || it.Author.Bot) && (d.IsDecision || d.Confidence != 0) {
			t.Fatalf("bot %v, deleted %v: %+v", it.Author.Bot, it.Deleted, d)
		}
		if len(d.Signals) == 0 && (d.Confidence != 0 || d.Title != "" || d.Summary != "") {
			t.Fatalf("no signals: %+v", d)
		}
		if n := utf8.RuneCountInString(d.Title); n > rdMaxTitle {
			t.Fatalf("title of %d runes", n)
		}
		if n := utf8.RuneCountInString(d.Summary); n > rdMaxSummary {
			t.Fatalf("summary of %d runes", n)
		}
		valid := utf8.ValidString(title) && utf8.ValidString(text) && utf8.ValidString(comment) && utf8.ValidString(extra)
		if valid && (!utf8.ValidString(d.Title) || !utf8.ValidString(d.Summary)) {
			t.Fatalf("invalid UTF-8 out of valid input: %q / %q", d.Title, d.Summary)
		}
		for _, s := range d.Signals {
			if s == "" {
				t.Fatalf("an empty signal in %q", d.Signals)
			}
		}
		RuleDetector{}.Detect(other, cfg)
		RuleDetector{}.Detect(slackMsg(text+" "+comment), cfg)
		if d2 := (RuleDetector{}).Detect(it, cfg); !reflect.DeepEqual(d, d2) {
			t.Fatalf("not deterministic:\n%+v\n%+v", d, d2)
		}
		switch it.Type {
		case pmassist.ItemMessage:
			if slices.ContainsFunc(it.Reactions, func(r pmassist.Reaction) bool { return r.Name == cfg.Reaction }) {
				return
			}
			it.Reactions = append(it.Reactions, pmassist.Reaction{Name: cfg.Reaction, Count: 1, Users: []string{"U2"}})
		case pmassist.ItemIssue:
			it.Labels = append(it.Labels, "decision")
		default:
			return
		}
		if up := (RuleDetector{}).Detect(it, cfg); up.Confidence < d.Confidence {
			t.Fatalf("adding a decision signal lowered the confidence from %v to %v", d.Confidence, up.Confidence)
		}
	})
}

// fuzzItem builds an item of the service kind%3 names; the other bits of
// kind make it a bot's, deleted, canceled or closed, give it the tenant's
// reaction, and make the comment a bot's. extra is a label, a changed file
// or the tenant's own phrase.
func fuzzItem(kind uint8, title, text, comment, extra string) (*pmassist.Item, pmassist.DecisionConfig) {
	cfg := pmassist.DecisionConfig{Reaction: "white_check_mark"}
	if kind&0x80 != 0 {
		cfg.Phrases = []string{extra}
	}
	at := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	it := &pmassist.Item{Title: title, Text: text, CreatedAt: at, UpdatedAt: at,
		Author:   pmassist.Person{Name: "Priya", ExternalID: "U1", Bot: kind&0x04 != 0},
		Deleted:  kind&0x08 != 0,
		Comments: []pmassist.Comment{{ID: "c1", Body: comment, Author: pmassist.Person{Name: "Bob", Bot: kind&0x40 != 0}, CreatedAt: at}},
	}
	switch kind % 3 {
	case 0:
		it.Type, it.Service, it.Title, it.Comments = pmassist.ItemMessage, pmassist.ServiceSlack, "", nil
		it.Text = title + text
		if kind&0x20 != 0 {
			it.Reactions = []pmassist.Reaction{{Name: "white_check_mark", Count: 2, Users: []string{"U2", "U3"}}}
		}
		if extra != "" {
			it.Reactions = append(it.Reactions, pmassist.Reaction{Name: extra, Count: 1})
		}
	case 1:
		it.Type, it.Service, it.Labels = pmassist.ItemIssue, pmassist.ServiceLinear, []string{extra}
		if kind&0x10 != 0 {
			it.StateType = "canceled"
		}
	default:
		it.Type, it.Service, it.Files = pmassist.ItemPullRequest, pmassist.ServiceGitHub, []string{extra, "README.md"}
		it.State = "open"
		if kind&0x10 != 0 {
			it.State = "closed"
		} else if kind&0x20 != 0 {
			it.State, it.MergedAt = "merged", &at
		}
	}
	return it, cfg
}
