package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

const testPeriod = "2026-03"

// itemBase is the created time of the test items.
var itemBase = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// newItem returns a valid item of a service, of the type that service
// yields, created at itemBase plus hours.
func newItem(service pmassist.Service, ext string, hours int) *pmassist.Item {
	typ := map[pmassist.Service]pmassist.ItemType{
		pmassist.ServiceSlack: pmassist.ItemMessage, pmassist.ServiceLinear: pmassist.ItemIssue,
		pmassist.ServiceGitHub: pmassist.ItemPullRequest,
	}[service]
	return &pmassist.Item{
		ConnectionID: "conn-1", Type: typ, Service: service, ExternalID: ext,
		Text: "text of " + ext, Channel: "general", CreatedAt: itemBase.Add(time.Duration(hours) * time.Hour),
	}
}

func slackItems(prefix string, n int) []*pmassist.Item {
	var list []*pmassist.Item
	for i := range n {
		list = append(list, newItem(pmassist.ServiceSlack, fmt.Sprintf("%s%d", prefix, i), i))
	}
	return list
}

func mustUpsert(tb testing.TB, db *DB, ctx context.Context, items []*pmassist.Item, wm *pmassist.Watermark, quota int) pmassist.UpsertResult {
	tb.Helper()
	res, err := db.UpsertItems(ctx, items, wm, testPeriod, quota)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// bucketLen counts the keys of a collection of a tenant, bypassing the API.
func bucketLen(tb testing.TB, db *DB, tenantID string, coll []byte) int {
	tb.Helper()
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = countKeys(tx.Bucket(tenantBucketName(tenantID)).Bucket(coll))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func wantIngested(tb testing.TB, db *DB, ctx context.Context, period string, want int) {
	tb.Helper()
	if n, err := db.ItemsIngested(ctx, period); err != nil || n != want {
		tb.Errorf("ItemsIngested(%s) = %d, %v; want %d", period, n, err, want)
	}
}

func TestUpsertItems_Idempotent(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	first := slackItems("C1:", 3)
	first[0].TenantID = "someone-else"
	res := mustUpsert(t, db, ctx, first, nil, pmassist.Unlimited)
	if res != (pmassist.UpsertResult{New: 3}) {
		t.Fatalf("first upsert: %+v", res)
	}
	for _, it := range first {
		if !pmassist.ValidID(it.ID) || it.TenantID != tenant.ID {
			t.Errorf("item %s not filled in: id %q tenant %q", it.ExternalID, it.ID, it.TenantID)
		}
	}
	stored, err := db.FindItem(ctx, first[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	ingestedAt := stored.IngestedAt
	if ingestedAt.IsZero() || stored.Text != "text of C1:1" {
		t.Errorf("stored item %+v", stored)
	}

	// The same items again, fetched afresh: one has a new text, one a new
	// created time.
	again := slackItems("C1:", 3)
	again[1].Text = "edited"
	again[2].CreatedAt = itemBase.Add(-24 * time.Hour)
	res = mustUpsert(t, db, ctx, again, nil, pmassist.Unlimited)
	if res != (pmassist.UpsertResult{Updated: 3}) {
		t.Fatalf("second upsert: %+v, want 0 new and 3 updated", res)
	}
	for i := range again {
		if again[i].ID != first[i].ID {
			t.Errorf("item %d has id %s on update, %s before", i, again[i].ID, first[i].ID)
		}
	}
	for _, coll := range [][]byte{bucketItems, bucketItemsByExternal, bucketItemsByTime} {
		if n := bucketLen(t, db, tenant.ID, coll); n != 3 {
			t.Errorf("%s has %d entries, want 3", coll, n)
		}
	}
	got, err := db.FindItemByExternalID(ctx, pmassist.ServiceSlack, "C1:1")
	if err != nil || got.ID != first[1].ID || got.Text != "edited" || !got.IngestedAt.Equal(ingestedAt) || got.TenantID != tenant.ID {
		t.Errorf("updated item %+v, %v", got, err)
	}
	// The moved item now sorts last: its old time entry is gone.
	list, _, err := db.ListItems(ctx, pmassist.ItemFilter{})
	if err != nil || len(list) != 3 || list[2].ID != first[2].ID || !list[2].CreatedAt.Equal(again[2].CreatedAt) {
		t.Errorf("list after moving an item: %v", err)
	}
	// Updates never count against usage.
	wantIngested(t, db, ctx, testPeriod, 3)

	_, err = db.FindItem(ctx, "no-such-item")
	wantCode(t, err, pmassist.ENOTFOUND)
	if msg := pmassist.ErrorMessage(err); msg != "item not found" {
		t.Errorf("missing item: %q", msg)
	}
	_, err = db.FindItemByExternalID(ctx, pmassist.ServiceLinear, "C1:1")
	wantCode(t, err, pmassist.ENOTFOUND)
}

func TestUpsertItems_Watermark(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	if wm, err := db.Watermark(ctx, "conn-1", "channel:C1"); err != nil || wm != (pmassist.Watermark{}) {
		t.Fatalf("watermark before any run: %+v, %v", wm, err)
	}

	wm1 := &pmassist.Watermark{ConnectionID: "conn-1", Resource: "channel:C1", Value: "100", ETag: `"e1"`}
	mustUpsert(t, db, ctx, slackItems("C1:", 2), wm1, pmassist.Unlimited)
	if wm, err := db.Watermark(ctx, "conn-1", "channel:C1"); err != nil || wm != *wm1 {
		t.Fatalf("watermark after a page: %+v, %v", wm, err)
	}

	wm2 := &pmassist.Watermark{ConnectionID: "conn-1", Resource: "channel:C1", Value: "200"}
	for name, page := range map[string][]*pmassist.Item{
		// Refused before anything is written.
		"invalid item": {newItem(pmassist.ServiceSlack, "C1:new", 5), {Service: pmassist.ServiceSlack, ExternalID: "C1:x"}},
		// Refused midway: the first item was already written in the
		// transaction that the conflict rolls back.
		"conflicting id": {newItem(pmassist.ServiceSlack, "C1:new", 5), func() *pmassist.Item {
			it := newItem(pmassist.ServiceSlack, "C1:other", 6)
			existing, err := db.FindItemByExternalID(ctx, pmassist.ServiceSlack, "C1:0")
			if err != nil {
				t.Fatal(err)
			}
			it.ID = existing.ID
			return it
		}()},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := db.UpsertItems(ctx, page, wm2, testPeriod, pmassist.Unlimited)
			if err == nil {
				t.Fatalf("page with an %s stored: %+v", name, res)
			}
			if res != (pmassist.UpsertResult{}) {
				t.Errorf("failed page reports %+v", res)
			}
			if _, err := db.FindItemByExternalID(ctx, pmassist.ServiceSlack, "C1:new"); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
				t.Errorf("the valid item of the failed page: %v", err)
			}
			if wm, err := db.Watermark(ctx, "conn-1", "channel:C1"); err != nil || wm != *wm1 {
				t.Errorf("watermark after a failed page: %+v, %v", wm, err)
			}
			wantIngested(t, db, ctx, testPeriod, 2)
			if n := bucketLen(t, db, tenant.ID, bucketItemsByTime); n != 2 {
				t.Errorf("items_by_time has %d entries, want 2", n)
			}
		})
	}
	// A good page advances it.
	mustUpsert(t, db, ctx, []*pmassist.Item{newItem(pmassist.ServiceSlack, "C1:new", 5)}, wm2, pmassist.Unlimited)
	if wm, err := db.Watermark(ctx, "conn-1", "channel:C1"); err != nil || wm != *wm2 {
		t.Errorf("watermark after a good page: %+v, %v", wm, err)
	}
}

func TestUpsertItems_Invalid(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for name, tc := range map[string]struct {
		item   *pmassist.Item
		wm     *pmassist.Watermark
		period string
		field  string
	}{
		"type":        {&pmassist.Item{Type: "tweet", Service: pmassist.ServiceSlack, ExternalID: "x"}, nil, testPeriod, "items[0].type"},
		"service":     {&pmassist.Item{Type: pmassist.ItemMessage, Service: "jira", ExternalID: "x"}, nil, testPeriod, "items[0].service"},
		"external id": {&pmassist.Item{Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack}, nil, testPeriod, "items[0].external_id"},
		"period":      {newItem(pmassist.ServiceSlack, "x", 0), nil, "March", "period"},
		"watermark":   {newItem(pmassist.ServiceSlack, "x", 0), &pmassist.Watermark{Value: "1"}, testPeriod, "watermark.resource"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := db.UpsertItems(ctx, []*pmassist.Item{tc.item}, tc.wm, tc.period, pmassist.Unlimited)
			wantCode(t, err, pmassist.EINVALID)
			if _, ok := pmassist.ErrorFields(err)[tc.field]; !ok {
				t.Errorf("fields %v lack %s", pmassist.ErrorFields(err), tc.field)
			}
		})
	}
	if n := bucketLen(t, db, tenant.ID, bucketItems); n != 0 {
		t.Errorf("%d items stored from invalid pages", n)
	}
}

func TestUpsertItems_Quota(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	quota := pmassist.PlanFor(pmassist.TierFree).ItemsPerMonth
	if quota != 100 {
		t.Fatalf("free quota is %d; the test expects 100", quota)
	}
	old := slackItems("old:", 98)
	if res := mustUpsert(t, db, ctx, old, nil, quota); res != (pmassist.UpsertResult{New: 98}) {
		t.Fatalf("98 items under the quota: %+v", res)
	}
	wantIngested(t, db, ctx, testPeriod, 98)

	page := slackItems("new:", 5)
	wm := &pmassist.Watermark{ConnectionID: "conn-1", Resource: "channel:C1", Value: "500"}
	res := mustUpsert(t, db, ctx, page, wm, quota)
	if res != (pmassist.UpsertResult{New: 2, QuotaReached: true}) {
		t.Fatalf("page of 5 at 98 of 100: %+v, want 2 new and the quota reached", res)
	}
	for i, it := range page {
		_, err := db.FindItemByExternalID(ctx, it.Service, it.ExternalID)
		if stored := i < 2; stored != (err == nil) || stored != (it.ID != "") {
			t.Errorf("item %d: stored %v, id %q, find: %v", i, stored, it.ID, err)
		}
	}
	if got, err := db.Watermark(ctx, wm.ConnectionID, wm.Resource); err != nil || got != (pmassist.Watermark{}) {
		t.Errorf("watermark advanced past the quota: %+v, %v", got, err)
	}
	wantIngested(t, db, ctx, testPeriod, 100)
	wantIngested(t, db, ctx, "2026-04", 0)

	// At the limit, updates still go through, count nothing, and advance
	// the watermark; a new item does not.
	updates := slackItems("old:", 10)
	res = mustUpsert(t, db, ctx, updates, wm, quota)
	if res != (pmassist.UpsertResult{Updated: 10}) {
		t.Errorf("updates at the limit: %+v", res)
	}
	if got, _ := db.Watermark(ctx, wm.ConnectionID, wm.Resource); got != *wm {
		t.Errorf("watermark after updates only: %+v", got)
	}
	res = mustUpsert(t, db, ctx, append(slackItems("old:", 1), newItem(pmassist.ServiceSlack, "another", 0)), nil, quota)
	if res != (pmassist.UpsertResult{Updated: 1, QuotaReached: true}) {
		t.Errorf("update and new item at the limit: %+v", res)
	}
	wantIngested(t, db, ctx, testPeriod, 100)

	// A new month has room again.
	res, err := db.UpsertItems(ctx, []*pmassist.Item{newItem(pmassist.ServiceSlack, "april", 0)}, nil, "2026-04", quota)
	if err != nil || res != (pmassist.UpsertResult{New: 1}) {
		t.Errorf("first item of a new month: %+v, %v", res, err)
	}
	wantIngested(t, db, ctx, "2026-04", 1)
	// A quota of 0 stores nothing new.
	res = mustUpsert(t, db, ctx, []*pmassist.Item{newItem(pmassist.ServiceSlack, "zero", 0)}, nil, 0)
	if res != (pmassist.UpsertResult{QuotaReached: true}) {
		t.Errorf("quota 0: %+v", res)
	}
}

func TestListItems(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	// Nine items an hour apart, services in turn; stored out of order.
	var items []*pmassist.Item
	for i := range 9 {
		items = append(items, newItem(pmassist.Services[i%3], fmt.Sprint("ext-", i), i))
	}
	shuffled := slices.Clone(items)
	slices.Reverse(shuffled[2:7])
	mustUpsert(t, db, ctx, shuffled, nil, pmassist.Unlimited)

	// pages lists all pages of a filter, each at most limit long.
	pages := func(f pmassist.ItemFilter) [][]int {
		t.Helper()
		var out [][]int
		for range 20 {
			list, next, err := db.ListItems(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var page []int
			for _, it := range list {
				page = append(page, slices.IndexFunc(items, func(x *pmassist.Item) bool { return x.ID == it.ID }))
			}
			out = append(out, page)
			if next == "" {
				return out
			}
			f.Cursor = next
		}
		t.Fatal("the cursor never ends")
		return nil
	}
	for _, tc := range []struct {
		name string
		f    pmassist.ItemFilter
		want [][]int
	}{
		{"all", pmassist.ItemFilter{}, [][]int{{8, 7, 6, 5, 4, 3, 2, 1, 0}}},
		{"all in pages", pmassist.ItemFilter{Limit: 4}, [][]int{{8, 7, 6, 5}, {4, 3, 2, 1}, {0}}},
		{"full last page", pmassist.ItemFilter{Limit: 3}, [][]int{{8, 7, 6}, {5, 4, 3}, {2, 1, 0}}},
		{"service", pmassist.ItemFilter{Service: pmassist.ServiceSlack, Limit: 1}, [][]int{{6}, {3}, {0}}},
		{"service, more after the last match", pmassist.ItemFilter{Service: pmassist.ServiceGitHub, Limit: 1}, [][]int{{8}, {5}, {2}}},
		{"service, pages of 2", pmassist.ItemFilter{Service: pmassist.ServiceGitHub, Limit: 2}, [][]int{{8, 5}, {2}}},
		// The type filter cannot look ahead, so an empty page may end it.
		{"type", pmassist.ItemFilter{Type: pmassist.ItemIssue, Limit: 1}, [][]int{{7}, {4}, {1}, nil}},
		{"type and service", pmassist.ItemFilter{Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, Limit: 2}, [][]int{{7, 4}, {1}}},
		{"type and another service", pmassist.ItemFilter{Type: pmassist.ItemIssue, Service: pmassist.ServiceSlack}, [][]int{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
		})
	}

	list, _, err := db.ListItems(ctx, pmassist.ItemFilter{Limit: 1})
	if err != nil || len(list) != 1 || list[0].Text != items[8].Text || list[0].Channel != "general" {
		t.Errorf("listed item %+v, %v", list, err)
	}
	for _, cursor := range []string{"not base64!", base64.RawURLEncoding.EncodeToString([]byte("short"))} {
		_, _, err := db.ListItems(ctx, pmassist.ItemFilter{Cursor: cursor})
		wantCode(t, err, pmassist.EINVALID)
		if msg := pmassist.ErrorMessage(err); msg != "invalid cursor" {
			t.Errorf("cursor %q: %q", cursor, msg)
		}
	}
	_, _, err = db.ListItems(ctx, pmassist.ItemFilter{Service: "jira"})
	wantCode(t, err, pmassist.EINVALID)
	_, _, err = db.ListItems(ctx, pmassist.ItemFilter{Type: "tweet"})
	wantCode(t, err, pmassist.EINVALID)
}

func TestListItems_Limits(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	mustUpsert(t, db, ctx, slackItems("x:", maxItemLimit+1), nil, pmassist.Unlimited)
	for limit, want := range map[int]int{0: 50, -1: 50, 7: 7, 1000: 200} {
		list, next, err := db.ListItems(ctx, pmassist.ItemFilter{Limit: limit})
		if err != nil || len(list) != want || next == "" {
			t.Errorf("limit %d: %d items, next %q, %v; want %d and a cursor", limit, len(list), next, err, want)
		}
	}
}

func TestItemsPerDay(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	ny, err := time.LoadLocation("America/New_York") // UTC-4 in March 2026 (from the 8th)
	if err != nil {
		t.Skip(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i, tc := range []struct {
		service pmassist.Service
		created string
	}{
		{pmassist.ServiceSlack, "2026-03-09T03:00:00Z"},  // 8 March, 23:00 in New York: before since
		{pmassist.ServiceSlack, "2026-03-10T03:00:00Z"},  // 9 March, 23:00
		{pmassist.ServiceLinear, "2026-03-10T03:30:00Z"}, // 9 March, 23:30
		{pmassist.ServiceSlack, "2026-03-10T05:00:00Z"},  // 10 March, 01:00
		{pmassist.ServiceSlack, "2026-03-10T12:00:00Z"},  // 10 March
		{pmassist.ServiceGitHub, "2026-03-11T02:00:00Z"}, // 10 March, 22:00
		{pmassist.ServiceLinear, "2026-03-12T04:00:00Z"}, // 12 March, 00:00
	} {
		it := newItem(tc.service, fmt.Sprint("ext-", i), 0)
		it.CreatedAt = at(tc.created)
		mustUpsert(t, db, ctx, []*pmassist.Item{it}, nil, pmassist.Unlimited)
	}
	since := time.Date(2026, 3, 9, 0, 0, 0, 0, ny)
	got, err := db.ItemsPerDay(ctx, since, ny)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[pmassist.Service]int{
		"2026-03-09": {pmassist.ServiceSlack: 1, pmassist.ServiceLinear: 1},
		"2026-03-10": {pmassist.ServiceSlack: 2, pmassist.ServiceGitHub: 1},
		"2026-03-12": {pmassist.ServiceLinear: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ItemsPerDay in New York = %v, want %v", got, want)
	}
	// The same items by UTC days.
	got, err = db.ItemsPerDay(ctx, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.UTC)
	want = map[string]map[pmassist.Service]int{
		"2026-03-10": {pmassist.ServiceSlack: 3, pmassist.ServiceLinear: 1},
		"2026-03-11": {pmassist.ServiceGitHub: 1},
		"2026-03-12": {pmassist.ServiceLinear: 1},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ItemsPerDay in UTC = %v, %v; want %v", got, err, want)
	}
	if got, err := db.ItemsPerDay(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ny); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ItemsPerDay with nothing since: %v, %v", got, err)
	}
}

func TestDeleteConnectionItems(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	// "conn-10" starts with "conn-1": its watermarks must survive.
	mine := slackItems("mine:", 3)
	wmMine := []*pmassist.Watermark{
		{ConnectionID: "conn-1", Resource: "channel:C1", Value: "1"},
		{ConnectionID: "conn-1", Resource: "channel:C2", Value: "2"},
	}
	mustUpsert(t, db, ctx, mine[:2], wmMine[0], pmassist.Unlimited)
	mustUpsert(t, db, ctx, mine[2:], wmMine[1], pmassist.Unlimited)
	theirs := []*pmassist.Item{newItem(pmassist.ServiceLinear, "theirs:0", 1), newItem(pmassist.ServiceLinear, "theirs:1", 5)}
	for _, it := range theirs {
		it.ConnectionID = "conn-10"
	}
	wmTheirs := &pmassist.Watermark{ConnectionID: "conn-10", Resource: "issues", Value: "3"}
	mustUpsert(t, db, ctx, theirs, wmTheirs, pmassist.Unlimited)

	ids, err := db.DeleteConnectionItems(ctx, "conn-1")
	if n := len(ids); err != nil || n != 3 {
		t.Fatalf("DeleteConnectionItems = %d, %v; want 3", n, err)
	}
	for _, it := range mine {
		if _, err := db.FindItem(ctx, it.ID); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
			t.Errorf("deleted item %s: %v", it.ExternalID, err)
		}
		if _, err := db.FindItemByExternalID(ctx, it.Service, it.ExternalID); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
			t.Errorf("deleted item %s by external id: %v", it.ExternalID, err)
		}
	}
	for _, wm := range wmMine {
		if got, err := db.Watermark(ctx, wm.ConnectionID, wm.Resource); err != nil || got != (pmassist.Watermark{}) {
			t.Errorf("watermark %s survived: %+v, %v", wm.Resource, got, err)
		}
	}
	if got, err := db.Watermark(ctx, wmTheirs.ConnectionID, wmTheirs.Resource); err != nil || got != *wmTheirs {
		t.Errorf("other connection's watermark: %+v, %v", got, err)
	}
	list, _, err := db.ListItems(ctx, pmassist.ItemFilter{})
	if err != nil || len(list) != 2 || list[0].ID != theirs[1].ID || list[1].ID != theirs[0].ID {
		t.Errorf("items left: %+v, %v", list, err)
	}
	for _, coll := range [][]byte{bucketItems, bucketItemsByExternal, bucketItemsByTime} {
		if n := bucketLen(t, db, tenant.ID, coll); n != 2 {
			t.Errorf("%s has %d entries, want 2", coll, n)
		}
	}
	if days, err := db.ItemsPerDay(ctx, itemBase.Add(-time.Hour), time.UTC); err != nil ||
		!reflect.DeepEqual(days, map[string]map[pmassist.Service]int{"2026-03-10": {pmassist.ServiceLinear: 2}}) {
		t.Errorf("ItemsPerDay after the purge: %v, %v", days, err)
	}
	// Usage stays as counted, and an item ingested again is new.
	wantIngested(t, db, ctx, testPeriod, 5)
	if res := mustUpsert(t, db, ctx, slackItems("mine:", 1), nil, pmassist.Unlimited); res.New != 1 {
		t.Errorf("re-ingesting a purged item: %+v", res)
	}
	if ids, err := db.DeleteConnectionItems(ctx, "conn-unknown"); err != nil || len(ids) != 0 {
		t.Errorf("purging a connection without items: %d, %v", len(ids), err)
	}
}

// updatedIDs lists the external ids ItemsUpdatedBetween returns for
// [itemBase+from hours, itemBase+to hours), in its order.
func updatedIDs(tb testing.TB, db *DB, ctx context.Context, from, to time.Duration) []string {
	tb.Helper()
	list, err := db.ItemsUpdatedBetween(ctx, itemBase.Add(from), itemBase.Add(to))
	if err != nil {
		tb.Fatal(err)
	}
	if list == nil {
		tb.Fatal("ItemsUpdatedBetween returned nil")
	}
	ids := []string{}
	for _, it := range list {
		ids = append(ids, it.ExternalID)
	}
	return ids
}

func TestItemsUpdatedBetween(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	h := time.Hour
	// Activity times: fresh 0h (no update), edited 5h, touched 2h30m,
	// late 3h (no update), skewed 4h (updated before created).
	fresh := newItem(pmassist.ServiceSlack, "fresh", 0)
	edited := newItem(pmassist.ServiceLinear, "edited", 1)
	edited.UpdatedAt = itemBase.Add(5 * h)
	touched := newItem(pmassist.ServiceGitHub, "touched", 2)
	touched.UpdatedAt = itemBase.Add(2*h + 30*time.Minute)
	late := newItem(pmassist.ServiceSlack, "late", 3)
	skewed := newItem(pmassist.ServiceLinear, "skewed", 4)
	skewed.UpdatedAt = itemBase.Add(h)
	mustUpsert(t, db, ctx, []*pmassist.Item{fresh, edited, touched, late, skewed}, nil, pmassist.Unlimited)

	check := func(from, to time.Duration, want ...string) {
		t.Helper()
		if got := updatedIDs(t, db, ctx, from, to); !slices.Equal(got, nonNil(want)) {
			t.Errorf("[%v, %v) = %v, want %v", from, to, got, want)
		}
	}
	check(0, 3*h, "fresh", "touched") // from is in, to (late's time) is out
	check(3*h, 4*h, "late")
	check(0, 24*h, "fresh", "touched", "late", "skewed", "edited")
	check(-24*h, 0)              // just before the first item
	check(h, 2*h+30*time.Minute) // skewed is filed at its created time, touched at to
	check(5*h+time.Nanosecond, 24*h)
	check(5*h, 5*h)               // an empty window
	check(24*h, 0)                // a reversed one
	check(4*h+1, 5*h+1, "edited") // edited's updated time, not its created one
	if n := bucketLen(t, db, tenant.ID, bucketItemsByUpdated); n != 5 {
		t.Errorf("items_by_updated has %d entries, want 5", n)
	}

	// An update moves the item: edited now last touched at 1h30m, fresh
	// reports an update at 6h. touched is ingested again unchanged.
	edited2 := newItem(pmassist.ServiceLinear, "edited", 1)
	edited2.UpdatedAt = itemBase.Add(h + 30*time.Minute)
	fresh2 := newItem(pmassist.ServiceSlack, "fresh", 0)
	fresh2.UpdatedAt = itemBase.Add(6 * h)
	touched2 := *touched
	touched2.ID = ""
	if res := mustUpsert(t, db, ctx, []*pmassist.Item{edited2, fresh2, &touched2}, nil, pmassist.Unlimited); res.Updated != 3 {
		t.Fatalf("update: %+v", res)
	}
	check(0, 3*h, "edited", "touched")
	check(4*h, 24*h, "skewed", "fresh")
	if n := bucketLen(t, db, tenant.ID, bucketItemsByUpdated); n != 5 {
		t.Errorf("items_by_updated has %d entries after updates, want 5", n)
	}
	if list, err := db.ItemsUpdatedBetween(ctx, itemBase, itemBase.Add(h+31*time.Minute)); err != nil || len(list) != 1 ||
		list[0].ID != edited.ID || !list[0].UpdatedAt.Equal(edited2.UpdatedAt) || list[0].TenantID != tenant.ID {
		t.Errorf("the moved item: %+v, %v", list, err)
	}

	// A purge takes the connection's items out of the index too.
	other := newItem(pmassist.ServiceGitHub, "other", 2)
	other.ConnectionID = "conn-2"
	mustUpsert(t, db, ctx, []*pmassist.Item{other}, nil, pmassist.Unlimited)
	if ids, err := db.DeleteConnectionItems(ctx, "conn-1"); err != nil || len(ids) != 5 {
		t.Fatalf("purge: %v, %v", ids, err)
	}
	check(-24*h, 24*h, "other")
	if n := bucketLen(t, db, tenant.ID, bucketItemsByUpdated); n != 1 {
		t.Errorf("items_by_updated has %d entries after the purge, want 1", n)
	}
}
