package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// markerDetector calls anything starting with "Decision:" a decision.
type markerDetector struct{}

func (markerDetector) Detect(it *pmassist.Item, _ pmassist.DecisionConfig) pmassist.Detection {
	if rest, ok := strings.CutPrefix(it.Text, "Decision:"); ok {
		return pmassist.Detection{IsDecision: true, Confidence: 0.9, Signals: []string{"marker:decision:"}, Title: strings.TrimSpace(rest), Summary: it.Text}
	}
	return pmassist.Detection{}
}

func TestDecisionsOnePerThreadAndUserEditsSurvive(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	finder := NewDecisions(DecisionsConfig{Detector: markerDetector{}, Decisions: w.db, Configs: w.db})
	msg := func(ts, thread, author, text string) *pmassist.Item {
		return &pmassist.Item{ID: "it" + ts, Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:" + ts,
			ThreadID: thread, Text: text, Author: pmassist.Person{Name: author}, URL: "https://acme.slack.com/archives/C1/p" + ts,
			CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	}
	parent := msg("100.1", "100.1", "Ada", "Decision: use Postgres")
	if err := finder.Process(w.ctx, []*pmassist.Item{parent}); err != nil {
		t.Fatal(err)
	}
	list := func() []*pmassist.Decision {
		ds, _, err := w.db.ListDecisions(w.ctx, pmassist.DecisionFilter{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	ds := list()
	if len(ds) != 1 || ds[0].Title != "use Postgres" || ds[0].Origin != pmassist.OriginDetected || ds[0].ThreadKey != "slack:C1:100.1" ||
		ds[0].Status != pmassist.DecisionProposed || len(ds[0].Sources) != 1 {
		t.Fatalf("detected: %+v", ds)
	}
	// Running again changes nothing; a reply joins the thread's decision.
	before := ds[0].UpdatedAt
	_ = finder.Process(w.ctx, []*pmassist.Item{parent})
	reply := msg("100.2", "100.1", "Lin", "sounds good to me")
	_ = finder.Process(w.ctx, []*pmassist.Item{reply})
	ds = list()
	if len(ds) != 1 || len(ds[0].Sources) != 2 || strings.Join(ds[0].Participants, ",") != "Ada,Lin" {
		t.Fatalf("after reply: %+v", ds[0])
	}
	if !ds[0].UpdatedAt.After(before) && ds[0].UpdatedAt != before {
		t.Fatal("updated time went back")
	}
	// A second decision phrase in the same thread refines it, not a new one.
	_ = finder.Process(w.ctx, []*pmassist.Item{msg("100.3", "100.1", "Grace", "Decision: use Postgres 16")})
	if ds = list(); len(ds) != 1 || ds[0].Title != "use Postgres 16" {
		t.Fatalf("refined: %+v", ds)
	}
	// An edited source message updates the detected decision.
	parent.Text = "Decision: use Postgres 17"
	_ = finder.Process(w.ctx, []*pmassist.Item{parent})
	if ds = list(); ds[0].Title != "use Postgres 17" {
		t.Fatalf("edit: %q", ds[0].Title)
	}
	// Once a person edits it, detection only adds sources.
	title := "Postgres 17 for analytics"
	if _, err := w.db.UpdateDecision(w.ctx, ds[0].ID, pmassist.DecisionUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	parent.Text = "Decision: use MySQL"
	_ = finder.Process(w.ctx, []*pmassist.Item{parent, msg("100.4", "100.1", "Alan", "ok")})
	if ds = list(); ds[0].Title != title || !strings.Contains(strings.Join(ds[0].Participants, ","), "Alan") {
		t.Fatalf("user edit overwritten: %+v", ds[0])
	}
	// Bots and items without a thread never make decisions.
	bot := msg("200.1", "", "deploybot", "Decision: deploy passed")
	bot.Author.Bot = true
	_ = finder.Process(w.ctx, []*pmassist.Item{bot})
	if len(list()) != 1 {
		t.Fatal("a bot made a decision")
	}
	// Another thread is another decision; Linear and GitHub key by item.
	_ = finder.Process(w.ctx, []*pmassist.Item{msg("300.1", "", "Ada", "Decision: weekly demos on Friday"),
		{ID: "lin1", Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, ExternalID: "issue-1", Title: "Pick a queue", Text: "Decision: NATS", Author: pmassist.Person{Name: "Lin"}}})
	if ds = list(); len(ds) != 3 {
		t.Fatalf("decisions: %d", len(ds))
	}
	if k := ThreadKey(&pmassist.Item{Service: pmassist.ServiceGitHub, ExternalID: "acme/api#12"}); k != "github:acme/api#12" {
		t.Fatalf("github key %q", k)
	}
}
