package store

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func mustAudit(tb testing.TB, db *DB, ctx context.Context, at time.Time, target string) *pmassist.AuditEvent {
	tb.Helper()
	e := &pmassist.AuditEvent{At: at, Actor: "system", Action: pmassist.AuditMemberJoined, Target: target}
	if err := db.CreateAuditEvent(ctx, e); err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestListAuditEvents_Pages(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Two events share a time: the sequence must still order them.
	ats := []time.Time{base, base.Add(time.Second), base.Add(time.Second), base.Add(2 * time.Second), base.Add(3 * time.Second)}
	var events []*pmassist.AuditEvent
	for i, at := range ats {
		events = append(events, mustAudit(t, db, ctx, at, string(rune('a'+i))))
	}

	var got []*pmassist.AuditEvent
	cursor := ""
	for page, wantLen := range []int{2, 2, 1} {
		list, next, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != wantLen {
			t.Fatalf("page %d has %d events, want %d", page, len(list), wantLen)
		}
		if last := page == 2; last != (next == "") {
			t.Fatalf("page %d: next cursor %q", page, next)
		}
		got = append(got, list...)
		cursor = next
	}
	for i, e := range got {
		if want := events[len(events)-1-i]; e.ID != want.ID {
			t.Errorf("event %d is %s (%s), want %s (%s)", i, e.ID, e.Target, want.ID, want.Target)
		}
	}
}

func TestListAuditEvents_FullLastPage(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for range 4 {
		mustAudit(t, db, ctx, time.Time{}, "x")
	}
	_, next, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{Limit: 2})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	list, next, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{Limit: 2, Cursor: next})
	if err != nil || len(list) != 2 || next != "" {
		t.Errorf("last page: %d events, next %q, %v; want 2 and no cursor", len(list), next, err)
	}
}

func TestListAuditEvents_Limits(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for range maxAuditLimit + 1 {
		mustAudit(t, db, ctx, time.Time{}, "x")
	}
	for limit, want := range map[int]int{0: 50, -1: 50, 7: 7, 1000: 200} {
		list, next, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{Limit: limit})
		if err != nil || len(list) != want || next == "" {
			t.Errorf("limit %d: %d events, next %q, %v; want %d", limit, len(list), next, err, want)
		}
	}
}

func TestListAuditEvents_BadCursor(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for _, cursor := range []string{"!!!", base64.RawURLEncoding.EncodeToString([]byte("short")), "AAAAAAAAAAAAAAAAAAAAAA=="} {
		_, _, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{Cursor: cursor})
		wantCode(t, err, pmassist.EINVALID)
		if msg := pmassist.ErrorMessage(err); msg != "invalid cursor" {
			t.Errorf("cursor %q: message %q", cursor, msg)
		}
	}
}

func TestCreateAuditEvent_Defaults(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	e := mustAudit(t, db, ctx, time.Time{}, "x")
	if !pmassist.ValidID(e.ID) || e.At.IsZero() || e.At.Location() != time.UTC {
		t.Errorf("event defaults %+v", e)
	}
}
