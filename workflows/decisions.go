package workflows

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// DecisionsConfig wires a Decisions finder.
type DecisionsConfig struct {
	Detector  pmassist.Detector
	Decisions pmassist.DecisionService
	Configs   pmassist.TenantConfigService
	// Tenants gates the tenant's own phrases by plan (custom detection
	// rules are an enterprise feature); nil applies them unconditionally.
	Tenants pmassist.TenantService
	// Index is told about new and changed decisions; nil: no index.
	Index  pmassist.Indexer
	Logger *slog.Logger
}

// Decisions runs detection on every stored item and keeps the decision log:
// one decision per thread (a Slack thread, a Linear issue, a GitHub PR);
// later replies add participants and sources rather than new decisions;
// re-running on the same item changes nothing; a decision a person edited
// or rejected is never overwritten.
type Decisions struct{ cfg DecisionsConfig }

// NewDecisions returns the decision finder.
func NewDecisions(cfg DecisionsConfig) *Decisions {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Decisions{cfg: cfg}
}

// Process detects decisions in items of the context's tenant and stores
// what it found in one transaction.
func (d *Decisions) Process(ctx context.Context, items []*pmassist.Item) error {
	cfg, err := d.cfg.Configs.TenantConfig(ctx)
	if err != nil {
		return err
	}
	if d.cfg.Tenants != nil && len(cfg.Decisions.Phrases) > 0 {
		t, err := d.cfg.Tenants.FindTenantByID(ctx, pmassist.TenantIDFromContext(ctx))
		if err != nil {
			return err
		}
		// Kept in the settings after a downgrade, applied only while the
		// plan includes them.
		if !pmassist.PlanFor(t.Tier).Has(pmassist.FeatureCustomRules) {
			cfg.Decisions.Phrases = nil
		}
	}
	var found []*pmassist.Decision
	for _, it := range items {
		if dec := d.detect(it, cfg.Decisions); dec != nil {
			found = append(found, dec)
		}
	}
	if len(found) == 0 {
		return nil
	}
	changed, err := d.cfg.Decisions.UpsertDetectedMany(ctx, found)
	if err != nil {
		return err
	}
	if d.cfg.Index != nil && len(changed) > 0 {
		d.cfg.Index.QueueDecisions(ctx, changed...)
	}
	return nil
}

// detect turns one item into what the store should do with it: the
// decision of its thread, a reply that joins its thread's decision, or
// nothing.
func (d *Decisions) detect(it *pmassist.Item, cfg pmassist.DecisionConfig) *pmassist.Decision {
	key := ThreadKey(it)
	if key == "" || it.Author.Bot {
		return nil
	}
	det := d.cfg.Detector.Detect(it, cfg)
	if !det.IsDecision {
		// A reply adds its author and link to the thread's decision, if any.
		if it.Service != pmassist.ServiceSlack || it.ThreadID == "" {
			return nil
		}
		return &pmassist.Decision{ThreadKey: key, JoinOnly: true, Participants: participants(it),
			Sources: []pmassist.DecisionSource{source(it)}}
	}
	dec := &pmassist.Decision{
		ThreadKey: key, Title: det.Title, Summary: det.Summary, Status: pmassist.DecisionProposed,
		Origin: pmassist.OriginDetected, Confidence: det.Confidence, Signals: det.Signals,
		DecidedAt: it.CreatedAt, DecidedBy: it.Author, Participants: participants(it), Sources: []pmassist.DecisionSource{source(it)},
	}
	if dec.Title == "" {
		dec.Title = excerpt(it.Title+" "+it.Text, 120)
	}
	return dec
}

// ThreadKey names the conversation an item belongs to: a Slack thread (or
// a message without replies), a Linear issue, a GitHub pull request.
func ThreadKey(it *pmassist.Item) string {
	switch it.Service {
	case pmassist.ServiceSlack:
		channel, ts, ok := strings.Cut(it.ExternalID, ":")
		if !ok {
			return ""
		}
		if it.ThreadID != "" {
			ts = it.ThreadID
		}
		return "slack:" + channel + ":" + ts
	case pmassist.ServiceLinear, pmassist.ServiceGitHub:
		return string(it.Service) + ":" + it.ExternalID
	}
	return ""
}

func participants(it *pmassist.Item) []string {
	var out []string
	if it.Author.Name != "" && !it.Author.Bot {
		out = append(out, it.Author.Name)
	}
	for _, c := range it.Comments {
		if c.Author.Name != "" && !c.Author.Bot && !contains(out, c.Author.Name) {
			out = append(out, c.Author.Name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func source(it *pmassist.Item) pmassist.DecisionSource {
	text := it.Text
	if it.Title != "" {
		text = it.Title + " — " + text
	}
	return pmassist.DecisionSource{Service: it.Service, Kind: string(it.Type), ExternalID: it.ExternalID, URL: it.URL,
		Excerpt: excerpt(text, 280), ItemID: it.ID}
}

// excerpt shortens text to at most n runes at a word boundary.
func excerpt(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	r := []rune(text)[:n]
	if i := strings.LastIndexByte(string(r), ' '); i > n/2 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}
