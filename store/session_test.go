package store

import (
	"context"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestSessions(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	s := &pmassist.Session{IDHash: "hash", UserID: pmassist.NewID(), CSRFToken: "csrf"}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.CreatedAt.IsZero() || !s.LastSeenAt.Equal(s.CreatedAt) {
		t.Errorf("times not defaulted: %+v", s)
	}
	wantCode(t, db.CreateSession(ctx, &pmassist.Session{IDHash: "hash"}), pmassist.ECONFLICT)
	wantCode(t, db.CreateSession(ctx, &pmassist.Session{}), pmassist.EINVALID)

	tenantID := pmassist.NewID()
	seen := time.Now().Add(time.Minute)
	if err := db.UpdateSession(ctx, "hash", pmassist.SessionUpdate{TenantID: &tenantID, LastSeenAt: &seen}); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindSessionByHash(ctx, "hash")
	if err != nil {
		t.Fatal(err)
	}
	if got.TenantID != tenantID || !got.LastSeenAt.Equal(seen) || got.CSRFToken != "csrf" || got.UserID != s.UserID {
		t.Errorf("updated session %+v", got)
	}
	wantCode(t, db.UpdateSession(ctx, "other", pmassist.SessionUpdate{TenantID: &tenantID}), pmassist.ENOTFOUND)

	if err := db.DeleteSession(ctx, "hash"); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindSessionByHash(ctx, "hash")
	wantCode(t, err, pmassist.ENOTFOUND)
	if err := db.DeleteSession(ctx, "hash"); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	now := time.Now()
	cutoff := now.Add(-pmassist.SessionIdleTimeout)
	for hash, lastSeen := range map[string]time.Time{
		"old1":   cutoff.Add(-time.Hour),
		"old2":   cutoff.Add(-time.Nanosecond),
		"edge":   cutoff,
		"recent": now,
	} {
		if err := db.CreateSession(ctx, &pmassist.Session{IDHash: hash, CreatedAt: lastSeen}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.DeleteExpiredSessions(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d sessions, want 2", n)
	}
	for _, hash := range []string{"old1", "old2"} {
		_, err := db.FindSessionByHash(ctx, hash)
		wantCode(t, err, pmassist.ENOTFOUND)
	}
	for _, hash := range []string{"edge", "recent"} {
		if _, err := db.FindSessionByHash(ctx, hash); err != nil {
			t.Errorf("session %s: %v", hash, err)
		}
	}
	if n, err := db.DeleteExpiredSessions(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second sweep deleted %d, %v", n, err)
	}
}
