package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// decisionBase is the decided time of the test decisions.
var decisionBase = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// newDecision returns a valid manual decision decided at decisionBase plus
// hours.
func newDecision(title string, hours int) *pmassist.Decision {
	return &pmassist.Decision{Title: title, Summary: "summary of " + title,
		DecidedAt: decisionBase.Add(time.Duration(hours) * time.Hour)}
}

func mustDecision(tb testing.TB, db *DB, ctx context.Context, d *pmassist.Decision) *pmassist.Decision {
	tb.Helper()
	if err := db.CreateDecision(ctx, d); err != nil {
		tb.Fatal(err)
	}
	return d
}

func slackSource(ext string) pmassist.DecisionSource {
	return pmassist.DecisionSource{Service: pmassist.ServiceSlack, Kind: "message", ExternalID: ext,
		URL: "https://acme.slack.com/archives/" + ext, Excerpt: "excerpt of " + ext}
}

// detected returns what detection might find in a Slack thread.
func detected(thread, title string, hours int, sources ...string) *pmassist.Decision {
	d := newDecision(title, hours)
	d.ThreadKey = thread
	d.Status = pmassist.DecisionProposed
	d.Confidence = 0.8
	d.Signals = []string{"phrase:we decided"}
	d.DecidedBy = pmassist.Person{Name: "Ada", Email: "ada@acme.test"}
	d.Participants = []string{"Ada"}
	for _, s := range sources {
		d.Sources = append(d.Sources, slackSource(s))
	}
	return d
}

// timeKeys returns the decisions_by_time keys of a tenant, bypassing the API.
func timeKeys(tb testing.TB, db *DB, tenantID string) [][]byte {
	tb.Helper()
	var keys [][]byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(tenantBucketName(tenantID)).Bucket(bucketDecisionsByTime).ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

func TestCreateDecision_Defaults(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	before := time.Now()
	d := &pmassist.Decision{TenantID: "someone-else", Title: "  Use Postgres  ", Tags: []string{"#Infra", "infra"}}
	if err := db.CreateDecision(ctx, d); err != nil {
		t.Fatal(err)
	}
	if !pmassist.ValidID(d.ID) || d.TenantID != tenant.ID || d.Title != "Use Postgres" || d.Origin != pmassist.OriginManual ||
		d.Status != pmassist.DecisionAccepted || d.CreatedAt.Before(before) || d.CreatedAt.Location() != time.UTC ||
		!d.UpdatedAt.Equal(d.CreatedAt) || !d.DecidedAt.Equal(d.CreatedAt) || !slices.Equal(d.Tags, []string{"infra"}) {
		t.Errorf("created %+v", d)
	}
	got, err := db.FindDecision(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Participants == nil || got.Tags == nil || got.Sources == nil || got.Signals == nil {
		t.Errorf("stored nil slices: %+v", got)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("found %+v, want %+v", got, d)
	}

	// Given times are kept, in UTC.
	berlin := time.FixedZone("CET", 3600)
	decided := time.Date(2026, 2, 1, 10, 0, 0, 0, berlin)
	d2 := &pmassist.Decision{Title: "Old call", DecidedAt: decided, Origin: pmassist.OriginDetected, Confidence: 0.5}
	mustDecision(t, db, ctx, d2)
	if !d2.DecidedAt.Equal(decided) || d2.DecidedAt.Location() != time.UTC || d2.Origin != pmassist.OriginDetected {
		t.Errorf("created %+v", d2)
	}

	_, err = db.FindDecision(ctx, "nope")
	wantCode(t, err, pmassist.ENOTFOUND)
	if msg := pmassist.ErrorMessage(err); msg != "decision not found" {
		t.Errorf("message %q", msg)
	}
	wantCode(t, db.CreateDecision(ctx, &pmassist.Decision{ID: d.ID, Title: "again"}), pmassist.ECONFLICT)
}

func TestCreateDecision_Invalid(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	manyTags := make([]string, 21)
	for i := range manyTags {
		manyTags[i] = fmt.Sprint("t", i)
	}
	for field, d := range map[string]*pmassist.Decision{
		"title":      {Title: "   "},
		"status":     {Title: "x", Status: "maybe"},
		"origin":     {Title: "x", Origin: "guessed"},
		"confidence": {Title: "x", Confidence: 1.5},
		"tags":       {Title: "x", Tags: manyTags},
		"sources":    {Title: "x", Sources: []pmassist.DecisionSource{{URL: "javascript:alert(1)"}}},
	} {
		err := db.CreateDecision(ctx, d)
		wantCode(t, err, pmassist.EINVALID)
		if _, ok := pmassist.ErrorFields(err)[field]; !ok {
			t.Errorf("%s: fields %v", field, pmassist.ErrorFields(err))
		}
	}
	if n := bucketLen(t, db, tenant.ID, bucketDecisions); n != 0 {
		t.Errorf("%d invalid decisions stored", n)
	}
	_, _, err := db.UpsertDetected(ctx, &pmassist.Decision{Title: "no thread"})
	wantCode(t, err, pmassist.EINVALID)
	if _, ok := pmassist.ErrorFields(err)["thread_key"]; !ok {
		t.Errorf("fields %v", pmassist.ErrorFields(err))
	}
	_, _, err = db.UpsertDetected(ctx, &pmassist.Decision{ThreadKey: "th", Title: ""})
	wantCode(t, err, pmassist.EINVALID)
}

func TestListDecisions(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	// Twelve decisions an hour apart, created in a shuffled order so that
	// neither creation order nor id order matches decided order.
	statuses := []string{pmassist.DecisionProposed, pmassist.DecisionAccepted, pmassist.DecisionRejected, pmassist.DecisionSuperseded}
	all := make([]*pmassist.Decision, 12)
	for _, i := range []int{5, 0, 11, 3, 8, 1, 10, 6, 2, 9, 4, 7} {
		d := newDecision(fmt.Sprint("Decision ", i), i)
		d.Status = statuses[i%4]
		if i%3 == 0 {
			d.Origin = pmassist.OriginDetected
		}
		if i%2 == 0 {
			d.Sources = append(d.Sources, slackSource(fmt.Sprint("C1:", i)))
		}
		if i%3 == 0 {
			d.Sources = append(d.Sources, pmassist.DecisionSource{Service: pmassist.ServiceGitHub, Kind: "pull_request", ExternalID: fmt.Sprint("acme/app#", i)})
		}
		if i%4 == 0 {
			d.Tags = []string{"Infra"}
		}
		if i%5 == 0 {
			d.Summary = "We use Postgres for ANALYTICS"
		}
		all[i] = mustDecision(t, db, ctx, d)
	}

	// pages lists all pages of a filter as decision numbers.
	pages := func(f pmassist.DecisionFilter) [][]int {
		t.Helper()
		var out [][]int
		for range 20 {
			list, next, err := db.ListDecisions(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var page []int
			for _, d := range list {
				page = append(page, slices.IndexFunc(all, func(x *pmassist.Decision) bool { return x.ID == d.ID }))
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
	from, to := decisionBase.Add(3*time.Hour), decisionBase.Add(8*time.Hour)
	for _, tc := range []struct {
		name string
		f    pmassist.DecisionFilter
		want [][]int
	}{
		{"all", pmassist.DecisionFilter{}, [][]int{{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}},
		{"three pages", pmassist.DecisionFilter{Limit: 4}, [][]int{{11, 10, 9, 8}, {7, 6, 5, 4}, {3, 2, 1, 0}}},
		{"uneven pages", pmassist.DecisionFilter{Limit: 5}, [][]int{{11, 10, 9, 8, 7}, {6, 5, 4, 3, 2}, {1, 0}}},
		{"status", pmassist.DecisionFilter{Status: pmassist.DecisionRejected}, [][]int{{10, 6, 2}}},
		{"status in pages", pmassist.DecisionFilter{Status: pmassist.DecisionRejected, Limit: 1}, [][]int{{10}, {6}, {2}}},
		{"origin", pmassist.DecisionFilter{Origin: pmassist.OriginDetected}, [][]int{{9, 6, 3, 0}}},
		{"manual", pmassist.DecisionFilter{Origin: pmassist.OriginManual, Limit: 3}, [][]int{{11, 10, 8}, {7, 5, 4}, {2, 1}}},
		{"service github", pmassist.DecisionFilter{Service: pmassist.ServiceGitHub}, [][]int{{9, 6, 3, 0}}},
		{"service slack", pmassist.DecisionFilter{Service: pmassist.ServiceSlack, Limit: 2}, [][]int{{10, 8}, {6, 4}, {2, 0}}},
		{"service linear", pmassist.DecisionFilter{Service: pmassist.ServiceLinear}, [][]int{nil}},
		{"tag", pmassist.DecisionFilter{Tag: "infra"}, [][]int{{8, 4, 0}}},
		{"tag given upper-case", pmassist.DecisionFilter{Tag: "INFRA"}, [][]int{{8, 4, 0}}},
		{"tag is exact", pmassist.DecisionFilter{Tag: "infr"}, [][]int{nil}},
		{"q in summary", pmassist.DecisionFilter{Q: "postgres analytics"}, [][]int{{10, 5, 0}}},
		{"q across title and summary", pmassist.DecisionFilter{Q: "DECISION  postgres"}, [][]int{{10, 5, 0}}},
		{"q substring of a word", pmassist.DecisionFilter{Q: "gres"}, [][]int{{10, 5, 0}}},
		{"q every word", pmassist.DecisionFilter{Q: "postgres mysql"}, [][]int{nil}},
		{"q in title", pmassist.DecisionFilter{Q: "decision 1"}, [][]int{{11, 10, 1}}},
		{"from", pmassist.DecisionFilter{From: &from}, [][]int{{11, 10, 9, 8, 7, 6, 5, 4, 3}}},
		{"to", pmassist.DecisionFilter{To: &to}, [][]int{{7, 6, 5, 4, 3, 2, 1, 0}}},
		{"from and to in pages", pmassist.DecisionFilter{From: &from, To: &to, Limit: 2}, [][]int{{7, 6}, {5, 4}, {3}}},
		{"to and origin", pmassist.DecisionFilter{To: &to, Origin: pmassist.OriginDetected}, [][]int{{6, 3, 0}}},
		{"everything", pmassist.DecisionFilter{Status: pmassist.DecisionProposed, Origin: pmassist.OriginDetected,
			Service: pmassist.ServiceSlack, Tag: "infra", Q: "decision", From: &from}, [][]int{nil}},
		{"everything matching", pmassist.DecisionFilter{Status: pmassist.DecisionProposed, Origin: pmassist.OriginDetected,
			Service: pmassist.ServiceSlack, Tag: "infra", Q: "postgres", To: &to}, [][]int{{0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
		})
	}

	list, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{Limit: 1})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], all[11]) {
		t.Errorf("listed %+v, %v; want %+v", list, err, all[11])
	}
	for _, cursor := range []string{"not base64!", base64.RawURLEncoding.EncodeToString([]byte("short"))} {
		_, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{Cursor: cursor})
		wantCode(t, err, pmassist.EINVALID)
		if msg := pmassist.ErrorMessage(err); msg != "invalid cursor" {
			t.Errorf("cursor %q: %q", cursor, msg)
		}
	}
	for field, f := range map[string]pmassist.DecisionFilter{
		"status":  {Status: "maybe"},
		"origin":  {Origin: "guessed"},
		"service": {Service: "jira"},
	} {
		_, _, err := db.ListDecisions(ctx, f)
		wantCode(t, err, pmassist.EINVALID)
		if _, ok := pmassist.ErrorFields(err)[field]; !ok {
			t.Errorf("%s: fields %v", field, pmassist.ErrorFields(err))
		}
	}
}

func TestListDecisions_Limits(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for i := range maxDecisionLimit + 1 {
		mustDecision(t, db, ctx, newDecision(fmt.Sprint("d", i), i))
	}
	for limit, want := range map[int]int{0: 50, -1: 50, 7: 7, 1000: 200} {
		list, next, err := db.ListDecisions(ctx, pmassist.DecisionFilter{Limit: limit})
		if err != nil || len(list) != want || next == "" {
			t.Errorf("limit %d: %d decisions, next %q, %v; want %d and a cursor", limit, len(list), next, err, want)
		}
	}
}

func TestUpdateDecision(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	d := mustDecision(t, db, ctx, newDecision("Use MySQL", 1))
	keys := timeKeys(t, db, tenant.ID)

	got, err := db.UpdateDecision(ctx, d.ID, pmassist.DecisionUpdate{
		Title: ptr(" Use Postgres "), Summary: ptr("new summary"), Tags: &[]string{"DB", "infra"}, Status: ptr(pmassist.DecisionProposed)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Use Postgres" || got.Summary != "new summary" || !slices.Equal(got.Tags, []string{"db", "infra"}) ||
		got.Status != pmassist.DecisionProposed || !got.UserEdited || !got.UpdatedAt.After(d.UpdatedAt) ||
		!got.DecidedAt.Equal(d.DecidedAt) || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("updated %+v", got)
	}
	if found, err := db.FindDecision(ctx, d.ID); err != nil || !reflect.DeepEqual(found, got) {
		t.Errorf("stored %+v, %v", found, err)
	}
	if !reflect.DeepEqual(timeKeys(t, db, tenant.ID), keys) {
		t.Error("an update moved the time index")
	}

	for field, upd := range map[string]pmassist.DecisionUpdate{
		"title":  {Title: ptr("")},
		"status": {Status: ptr("")},
		"tags":   {Tags: &[]string{"a,b"}},
	} {
		_, err := db.UpdateDecision(ctx, d.ID, upd)
		wantCode(t, err, pmassist.EINVALID)
		if _, ok := pmassist.ErrorFields(err)[field]; !ok {
			t.Errorf("%s: fields %v", field, pmassist.ErrorFields(err))
		}
	}
	if found, _ := db.FindDecision(ctx, d.ID); !reflect.DeepEqual(found, got) {
		t.Errorf("a refused update changed %+v", found)
	}
	_, err = db.UpdateDecision(ctx, "nope", pmassist.DecisionUpdate{Title: ptr("x")})
	wantCode(t, err, pmassist.ENOTFOUND)
}

func TestUpdateDecision_Supersede(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	other, _ := mustTenant(t, db, "Other", "other@example.com")
	ctx := tenantCtx(tenant.ID)
	old := mustDecision(t, db, ctx, newDecision("Use MySQL", 1))
	newer := mustDecision(t, db, ctx, newDecision("Use Postgres", 2))
	foreign := mustDecision(t, db, tenantCtx(other.ID), newDecision("Theirs", 3))

	_, err := db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{SupersededBy: &foreign.ID})
	wantCode(t, err, pmassist.ENOTFOUND)
	if msg := pmassist.ErrorMessage(err); msg != "superseding decision not found" {
		t.Errorf("message %q", msg)
	}
	_, err = db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{SupersededBy: &old.ID})
	wantCode(t, err, pmassist.EINVALID)
	_, err = db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{SupersededBy: &newer.ID, Status: ptr(pmassist.DecisionAccepted)})
	wantCode(t, err, pmassist.EINVALID)
	if found, _ := db.FindDecision(ctx, old.ID); found.SupersededBy != "" || found.Status != pmassist.DecisionAccepted || found.UserEdited {
		t.Errorf("refused supersede changed %+v", found)
	}

	got, err := db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{SupersededBy: &newer.ID})
	if err != nil || got.SupersededBy != newer.ID || got.Status != pmassist.DecisionSuperseded || !got.UserEdited {
		t.Fatalf("superseded %+v, %v", got, err)
	}
	// A change of anything else keeps the link.
	if got, err = db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{Title: ptr("Use MySQL (old)")}); err != nil || got.SupersededBy != newer.ID {
		t.Errorf("after title change %+v, %v", got, err)
	}
	// Leaving status superseded drops the link.
	if got, err = db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{Status: ptr(pmassist.DecisionAccepted)}); err != nil ||
		got.SupersededBy != "" || got.Status != pmassist.DecisionAccepted {
		t.Errorf("after status change %+v, %v", got, err)
	}
	// "" clears the link and leaves the status.
	if _, err = db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{SupersededBy: &newer.ID}); err != nil {
		t.Fatal(err)
	}
	if got, err = db.UpdateDecision(ctx, old.ID, pmassist.DecisionUpdate{SupersededBy: ptr("")}); err != nil ||
		got.SupersededBy != "" || got.Status != pmassist.DecisionSuperseded {
		t.Errorf("after clearing %+v, %v", got, err)
	}
}

func TestDeleteDecision(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	a := mustDecision(t, db, ctx, newDecision("A", 1))
	b := mustDecision(t, db, ctx, newDecision("B", 2))
	victimIn := newDecision("Victim", 3)
	victimIn.ThreadKey = "slack:C1:1"
	victim := mustDecision(t, db, ctx, victimIn)
	for _, d := range []*pmassist.Decision{a, b} {
		if _, err := db.UpdateDecision(ctx, d.ID, pmassist.DecisionUpdate{SupersededBy: &victim.ID}); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.DeleteDecision(ctx, victim.ID); err != nil {
		t.Fatal(err)
	}
	_, err := db.FindDecision(ctx, victim.ID)
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.FindDecisionByThread(ctx, victim.ThreadKey)
	wantCode(t, err, pmassist.ENOTFOUND)
	wantCode(t, db.DeleteDecision(ctx, victim.ID), pmassist.ENOTFOUND)
	for coll, want := range map[string]int{"decisions": 2, "decisions_by_time": 2, "decisions_by_thread": 0} {
		if n := bucketLen(t, db, tenant.ID, []byte(coll)); n != want {
			t.Errorf("%s has %d keys, want %d", coll, n, want)
		}
	}
	for _, d := range []*pmassist.Decision{a, b} {
		got, err := db.FindDecision(ctx, d.ID)
		if err != nil || got.SupersededBy != "" || got.Status != pmassist.DecisionSuperseded {
			t.Errorf("after deleting its successor %+v, %v", got, err)
		}
	}
	// The thread is free again.
	again := newDecision("Again", 4)
	again.ThreadKey = victim.ThreadKey
	mustDecision(t, db, ctx, again)
	if list, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{}); err != nil || len(list) != 3 || list[0].ID != again.ID {
		t.Errorf("list after delete %+v, %v", list, err)
	}
}

func TestUpsertDetected(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	first, changed, err := db.UpsertDetected(ctx, detected("slack:C1:1", "Use Postgres", 1, "C1:1"))
	if err != nil || !changed {
		t.Fatalf("create: %+v, %v, %v", first, changed, err)
	}
	if first.Origin != pmassist.OriginDetected || first.TenantID != tenant.ID || first.Status != pmassist.DecisionProposed ||
		first.UserEdited || len(first.Sources) != 1 {
		t.Errorf("created %+v", first)
	}
	if found, err := db.FindDecisionByThread(ctx, "slack:C1:1"); err != nil || !reflect.DeepEqual(found, first) {
		t.Errorf("by thread %+v, %v", found, err)
	}

	// The same finding again changes nothing.
	again, changed, err := db.UpsertDetected(ctx, detected("slack:C1:1", "Use Postgres", 1, "C1:1"))
	if err != nil || changed || !reflect.DeepEqual(again, first) {
		t.Errorf("re-run: %+v, %v, %v", again, changed, err)
	}

	// Detection refines it: an untouched detected decision follows the
	// detector but keeps its status and tags. (The tags are written
	// directly, as UpdateDecision would mark it edited.)
	stored := first
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		stored.Tags = []string{"db"}
		return putJSON(tx.Bucket(tenantBucketName(tenant.ID)).Bucket(bucketDecisions), []byte(stored.ID), stored)
	})
	if err != nil {
		t.Fatal(err)
	}
	refined := detected("slack:C1:1", "Use Postgres for analytics", 5, "C1:2", "C1:1")
	refined.Participants = []string{"Lin", "Ada"}
	refined.Confidence = 0.95
	refined.Tags = []string{"ignored"}
	refined.Status = pmassist.DecisionAccepted
	up, changed, err := db.UpsertDetected(ctx, refined)
	if err != nil || !changed {
		t.Fatalf("refine: %+v, %v, %v", up, changed, err)
	}
	if up.ID != first.ID || up.Title != "Use Postgres for analytics" || up.Confidence != 0.95 ||
		!up.DecidedAt.Equal(decisionBase.Add(5*time.Hour)) || up.Status != pmassist.DecisionProposed ||
		!slices.Equal(up.Tags, []string{"db"}) || !up.CreatedAt.Equal(first.CreatedAt) || !up.UpdatedAt.After(first.UpdatedAt) ||
		!slices.Equal(up.Participants, []string{"Ada", "Lin"}) || len(up.Sources) != 2 ||
		up.Sources[0].ExternalID != "C1:1" || up.Sources[1].ExternalID != "C1:2" {
		t.Errorf("refined %+v", up)
	}
	if keys := timeKeys(t, db, tenant.ID); len(keys) != 1 || !bytes.Equal(keys[0], decisionTimeKey(up.DecidedAt, up.ID)) {
		t.Errorf("time index %q after the decided time moved", keys)
	}
	at := decisionBase.Add(5 * time.Hour)
	if list, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{From: &at}); err != nil || len(list) != 1 || list[0].ID != up.ID {
		t.Errorf("listed from the new time: %+v, %v", list, err)
	}
	if found, _ := db.FindDecision(ctx, up.ID); !reflect.DeepEqual(found, up) {
		t.Errorf("stored %+v, returned %+v", found, up)
	}

	// Once a person edited it, only new sources and participants get in.
	if _, err := db.UpdateDecision(ctx, up.ID, pmassist.DecisionUpdate{Title: ptr("Postgres, by hand")}); err != nil {
		t.Fatal(err)
	}
	edited, _ := db.FindDecision(ctx, up.ID)
	late := detected("slack:C1:1", "Something else", 9, "C1:3", "C1:1")
	late.Participants = []string{"Kim"}
	got, changed, err := db.UpsertDetected(ctx, late)
	if err != nil || !changed {
		t.Fatalf("edited: %+v, %v, %v", got, changed, err)
	}
	want := *edited
	want.Sources = append(slices.Clone(edited.Sources), slackSource("C1:3"))
	want.Participants = []string{"Ada", "Lin", "Kim"}
	want.UpdatedAt = got.UpdatedAt
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("edited one became %+v, want %+v", got, &want)
	}
	if _, changed, err := db.UpsertDetected(ctx, late); err != nil || changed {
		t.Errorf("edited one re-run: %v, %v", changed, err)
	}

	// A rejected one (never edited: detection itself said rejected) keeps
	// its fields as well.
	rej := detected("slack:C2:1", "Maybe Redis", 2, "C2:1")
	rej.Status = pmassist.DecisionRejected
	rejected, _, err := db.UpsertDetected(ctx, rej)
	if err != nil || rejected.UserEdited {
		t.Fatalf("rejected: %+v, %v", rejected, err)
	}
	got, changed, err = db.UpsertDetected(ctx, detected("slack:C2:1", "Use Redis", 7, "C2:2"))
	if err != nil || !changed || got.Title != "Maybe Redis" || !got.DecidedAt.Equal(rejected.DecidedAt) ||
		got.Status != pmassist.DecisionRejected || len(got.Sources) != 2 {
		t.Errorf("rejected one became %+v, %v, %v", got, changed, err)
	}

	// So does a manual one that names a thread.
	manual := newDecision("Manual call", 3)
	manual.ThreadKey = "linear:ENG-1"
	mustDecision(t, db, ctx, manual)
	got, changed, err = db.UpsertDetected(ctx, detected("linear:ENG-1", "Detected call", 8, "ENG-1"))
	if err != nil || !changed || got.Title != "Manual call" || got.Origin != pmassist.OriginManual || len(got.Sources) != 1 {
		t.Errorf("manual one became %+v, %v, %v", got, changed, err)
	}

	// A thread has one decision.
	dup := newDecision("Duplicate", 1)
	dup.ThreadKey = "slack:C1:1"
	wantCode(t, db.CreateDecision(ctx, dup), pmassist.ECONFLICT)
	if n := bucketLen(t, db, tenant.ID, bucketDecisions); n != 3 {
		t.Errorf("%d decisions, want 3", n)
	}
	if n := bucketLen(t, db, tenant.ID, bucketDecisionsByTime); n != 3 {
		t.Errorf("%d time index entries, want 3", n)
	}
}

func TestUpsertDetectedManyOneTransactionAndJoinOnly(t *testing.T) {
	db := MustOpen(t)
	tn := &pmassist.Tenant{Name: "A", Tier: pmassist.TierPro}
	if err := db.CreateTenant(context.Background(), tn, &pmassist.User{Email: "a@x.test", Name: "U", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	ctx := pmassist.NewContextWithTenant(context.Background(), tn.ID)
	_, before, _ := db.DataVersion()
	ids, err := db.UpsertDetectedMany(ctx, []*pmassist.Decision{
		{ThreadKey: "slack:C1:1", JoinOnly: true, Participants: []string{"Early"}},
		{ThreadKey: "slack:C1:1", Title: "Use Postgres", Participants: []string{"Ada"}, DecidedAt: time.Now()},
		{ThreadKey: "slack:C1:1", JoinOnly: true, Participants: []string{"Lin"}, Sources: []pmassist.DecisionSource{{ExternalID: "C1:2"}}},
		{ThreadKey: "slack:C1:9", JoinOnly: true, Participants: []string{"Nobody"}},
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("ids %v err %v", ids, err)
	}
	if _, after, _ := db.DataVersion(); after != before+1 {
		t.Fatalf("%d transactions, want 1", after-before)
	}
	d, err := db.FindDecisionByThread(ctx, "slack:C1:1")
	if err != nil || strings.Join(d.Participants, ",") != "Ada,Lin" || len(d.Sources) != 1 || d.Title != "Use Postgres" {
		t.Fatalf("decision %+v %v", d, err)
	}
	if _, err := db.FindDecisionByThread(ctx, "slack:C1:9"); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		t.Fatal("a join-only detection created a decision")
	}
	// Running the same page again changes nothing.
	if ids, _ := db.UpsertDetectedMany(ctx, []*pmassist.Decision{{ThreadKey: "slack:C1:1", JoinOnly: true, Participants: []string{"Lin"},
		Sources: []pmassist.DecisionSource{{ExternalID: "C1:2"}}}}); len(ids) != 0 {
		t.Fatalf("idempotent re-run changed %v", ids)
	}
}
