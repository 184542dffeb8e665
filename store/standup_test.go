package store

import (
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func newStandup(date, markdown string) *pmassist.Standup {
	day, _ := time.Parse(dateLayout, date)
	return &pmassist.Standup{
		Date: date, Timezone: "Europe/Berlin", WindowFrom: day, WindowTo: day.Add(24 * time.Hour),
		People: []pmassist.StandupPerson{{TeammateID: "tm-1", Name: "Ada",
			Done: []pmassist.StandupEntry{{Type: pmassist.ItemPullRequest, Title: "Ship it", URL: "https://github.com/acme/api/pull/1", Service: pmassist.ServiceGitHub}}}},
		Markdown: markdown,
	}
}

func TestSaveStandup_OnePerDate(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	first := newStandup("2026-11-27", "first run")
	first.TenantID = "someone-else"
	if err := db.SaveStandup(ctx, first); err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.TenantID != tenant.ID || first.CreatedAt.IsZero() || !first.UpdatedAt.Equal(first.CreatedAt) {
		t.Errorf("saved %+v", first)
	}
	if first.People == nil || first.People[0].InProgress == nil || first.People[0].Blockers == nil ||
		first.DecisionIDs == nil || first.Deliveries == nil || len(first.Deliveries) != 0 {
		t.Errorf("nil lists in %+v", first)
	}
	if got, err := db.FindStandup(ctx, first.ID); err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("FindStandup = %+v, %v; want %+v", got, err, first)
	}

	sent := time.Date(2026, 11, 28, 9, 0, 5, 0, time.UTC)
	ds := []pmassist.Delivery{{Channel: pmassist.DeliverySlack, Target: "#standup", Status: pmassist.DeliverySent, Attempts: 1, SentAt: &sent, UpdatedAt: sent}}
	updated, err := db.UpdateDeliveries(ctx, first.ID, ds)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(updated.Deliveries, ds) || updated.Markdown != "first run" || updated.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("after UpdateDeliveries: %+v", updated)
	}

	// A re-run of the date replaces the content and keeps id, created
	// time and deliveries; an id and a created time in it are ignored.
	time.Sleep(time.Millisecond)
	again := newStandup("2026-11-27", "second run")
	again.ID, again.CreatedAt = "forged", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	again.People = nil
	again.DecisionIDs = []string{"d1"}
	if err := db.SaveStandup(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) || !again.UpdatedAt.After(updated.UpdatedAt) {
		t.Errorf("re-saved %+v", again)
	}
	if again.Markdown != "second run" || again.People == nil || len(again.People) != 0 || len(again.DecisionIDs) != 1 ||
		!reflect.DeepEqual(again.Deliveries, ds) {
		t.Errorf("re-saved content %+v", again)
	}
	if got, err := db.FindStandupByDate(ctx, "2026-11-27"); err != nil || !reflect.DeepEqual(got, again) {
		t.Errorf("FindStandupByDate = %+v, %v; want %+v", got, err, again)
	}

	// Deliveries given with the standup (even none) replace the stored.
	third := newStandup("2026-11-27", "third run")
	third.Deliveries = []pmassist.Delivery{}
	if err := db.SaveStandup(ctx, third); err != nil {
		t.Fatal(err)
	}
	if third.ID != first.ID || third.Deliveries == nil || len(third.Deliveries) != 0 {
		t.Errorf("re-saved with no deliveries: %+v", third)
	}

	// Another date is another standup.
	next := newStandup("2026-11-30", "monday")
	if err := db.SaveStandup(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next.ID == first.ID {
		t.Error("a new date reused the id")
	}
	if n := bucketLen(t, db, tenant.ID, bucketStandups); n != 2 {
		t.Errorf("%d standups stored, want 2", n)
	}
	if n := bucketLen(t, db, tenant.ID, bucketStandupsByDate); n != 2 {
		t.Errorf("%d dates indexed, want 2", n)
	}

	// Bad dates and unknown standups.
	for _, date := range []string{"", "2026-13-01", "27.11.2026", "2026-11-27T00:00:00Z", "2026-1-2"} {
		wantCode(t, db.SaveStandup(ctx, newStandup(date, "x")), pmassist.EINVALID)
		_, err := db.FindStandupByDate(ctx, date)
		wantCode(t, err, pmassist.EINVALID)
	}
	wantCode(t, db.SaveStandup(ctx, nil), pmassist.EINVALID)
	_, err = db.FindStandup(ctx, "nope")
	if pmassist.ErrorMessage(err) != "standup not found" {
		t.Errorf("FindStandup of nothing: %v", err)
	}
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.FindStandupByDate(ctx, "2026-11-28")
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.UpdateDeliveries(ctx, "nope", ds)
	wantCode(t, err, pmassist.ENOTFOUND)
}

func TestListStandups(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	// Saved out of order; one date twice.
	for _, d := range []string{"2026-11-25", "2026-12-01", "2026-11-27", "2025-12-31", "2026-11-26", "2026-11-27"} {
		if err := db.SaveStandup(ctx, newStandup(d, "for "+d)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"2026-12-01", "2026-11-27", "2026-11-26", "2026-11-25", "2025-12-31"}
	dates := func(list []*pmassist.Standup) []string {
		var out []string
		for _, s := range list {
			out = append(out, s.Date)
		}
		return out
	}

	all, next, err := db.ListStandups(ctx, "", 0)
	if err != nil || next != "" || !reflect.DeepEqual(dates(all), want) {
		t.Fatalf("default page: %v, %q, %v", dates(all), next, err)
	}
	for _, limit := range []int{1, 2, 3, 5} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			list, next, err := db.ListStandups(ctx, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) > limit || len(list) == 0 {
				t.Fatalf("limit %d: a page of %d", limit, len(list))
			}
			got = append(got, dates(list)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: paged %v, want %v", limit, got, want)
		}
	}
	// The cursor is the last date of the page.
	if _, next, _ := db.ListStandups(ctx, "", 2); next != base64.RawURLEncoding.EncodeToString([]byte("2026-11-27")) {
		t.Errorf("cursor %q", next)
	}

	for _, bad := range []string{"!!!", base64.RawURLEncoding.EncodeToString([]byte("2026")),
		base64.RawURLEncoding.EncodeToString([]byte("2026-99-99")), base64.StdEncoding.EncodeToString([]byte("2026-11-27"))} {
		_, _, err := db.ListStandups(ctx, bad, 10)
		if pmassist.ErrorMessage(err) != "invalid cursor" {
			t.Errorf("cursor %q: %v", bad, err)
		}
		wantCode(t, err, pmassist.EINVALID)
	}

	// The page size is capped at 200.
	for i := range 205 {
		d := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(dateLayout)
		if err := db.SaveStandup(ctx, newStandup(d, "")); err != nil {
			t.Fatal(err)
		}
	}
	if list, next, err := db.ListStandups(ctx, "", 1000); err != nil || len(list) != 200 || next == "" {
		t.Errorf("a page of 1000 asked: %d, %q, %v", len(list), next, err)
	}
	if list, _, err := db.ListStandups(ctx, "", 0); err != nil || len(list) != 50 {
		t.Errorf("a default page: %d, %v", len(list), err)
	}

	// A tenant without standups lists none.
	other, _ := mustTenant(t, db, "Other", "other@example.com")
	if list, next, err := db.ListStandups(tenantCtx(other.ID), "", 0); err != nil || list == nil || len(list) != 0 || next != "" {
		t.Errorf("empty tenant: %v, %q, %v", list, next, err)
	}
}
