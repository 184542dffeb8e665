package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pmassist/pmassist"
)

type recordingMailer struct {
	mu   sync.Mutex
	sent []string // subject|to|html
	fail bool
}

func (m *recordingMailer) SendMail(ctx context.Context, to []string, subject, text, html string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return pmassist.Errorf(pmassist.EUNAVAILABLE, "smtp down")
	}
	m.sent = append(m.sent, subject+"|"+strings.Join(to, ",")+"|"+html)
	return nil
}

func TestNotifierTellsOwnersOncePerEvent(t *testing.T) {
	w := newWorld(t, pmassist.TierFree)
	mailer := &recordingMailer{}
	n := NewNotifier(NotifierConfig{Mailer: mailer, Tenants: w.db, Members: w.db, Connections: w.db, Items: w.db, Configs: w.db,
		Log: w.db, BaseURL: "https://pm.test"})
	n.Pass(context.Background())
	if len(mailer.sent) != 0 {
		t.Fatalf("a healthy tenant got mail: %v", mailer.sent)
	}
	// A connection needs reconnecting: one mail, not one per pass.
	reauth, msg := pmassist.ConnectionNeedsReauth, "Slack: the token was revoked; reconnect (token_revoked) <b>"
	if _, err := w.db.UpdateConnection(w.ctx, w.conn.ID, pmassist.ConnectionUpdate{Status: &reauth, LastRefreshError: &msg}); err != nil {
		t.Fatal(err)
	}
	mailer.fail = true
	n.Pass(context.Background())
	mailer.fail = false
	n.Pass(context.Background())
	n.Pass(context.Background())
	if len(mailer.sent) != 1 || !strings.Contains(mailer.sent[0], "Reconnect Slack") || !strings.Contains(mailer.sent[0], "op@acme.test") ||
		!strings.Contains(mailer.sent[0], "https://pm.test/integrations") || strings.Contains(mailer.sent[0], "<b>") {
		t.Fatalf("reauth mail: %v", mailer.sent)
	}
	// Repaired, then broken again: a new event, a new mail.
	ok := pmassist.ConnectionConnected
	_, _ = w.db.UpdateConnection(w.ctx, w.conn.ID, pmassist.ConnectionUpdate{Status: &ok})
	n.Pass(context.Background())
	_, _ = w.db.UpdateConnection(w.ctx, w.conn.ID, pmassist.ConnectionUpdate{Status: &reauth})
	n.Pass(context.Background())
	if len(mailer.sent) != 2 {
		t.Fatalf("second episode: %d mails", len(mailer.sent))
	}
	// The free quota reached: one mail for the month.
	src := &pagedSource{messages: seq(1, 120), pageSize: 50}
	_, _ = w.db.UpdateConnection(w.ctx, w.conn.ID, pmassist.ConnectionUpdate{Status: &ok})
	in := w.ingestor(src)
	defer in.Close()
	if j, _ := in.Run(w.ctx, w.conn.ID, pmassist.TriggerManual); j.Status != pmassist.JobPartial {
		t.Fatalf("job: %+v", j)
	}
	n.Pass(context.Background())
	n.Pass(context.Background())
	if len(mailer.sent) != 3 || !strings.Contains(mailer.sent[2], "reached its 100 items") || !strings.Contains(mailer.sent[2], "/billing") {
		t.Fatalf("quota mail: %v", mailer.sent)
	}
}
