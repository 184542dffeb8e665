package store

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

func slackID(ext, handle, name, email string) pmassist.Identity {
	return pmassist.Identity{Service: pmassist.ServiceSlack, ExternalID: ext, Handle: handle, Name: name, Email: email}
}

func linearID(ext, name, email string) pmassist.Identity {
	return pmassist.Identity{Service: pmassist.ServiceLinear, ExternalID: ext, Handle: name, Name: name, Email: email}
}

func githubID(login, email string) pmassist.Identity {
	return pmassist.Identity{Service: pmassist.ServiceGitHub, ExternalID: login, Handle: login, Email: email}
}

func mustObserve(tb testing.TB, db *DB, ctx context.Context, ids ...pmassist.Identity) {
	tb.Helper()
	if err := db.ObserveIdentities(ctx, ids); err != nil {
		tb.Fatal(err)
	}
}

func mustTeammates(tb testing.TB, db *DB, ctx context.Context) []*pmassist.Teammate {
	tb.Helper()
	list, err := db.ListTeammates(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return list
}

// teammateOf returns the teammate that has an identity.
func teammateOf(tb testing.TB, db *DB, ctx context.Context, s pmassist.Service, ext string) *pmassist.Teammate {
	tb.Helper()
	for _, t := range mustTeammates(tb, db, ctx) {
		if identityIndex(t, s, ext) >= 0 {
			return t
		}
	}
	tb.Fatalf("no teammate has %s identity %s", s, ext)
	return nil
}

// identityKeys lists the identities of a teammate as "service:external id".
func identityKeys(t *pmassist.Teammate) []string {
	var out []string
	for _, id := range t.Identities {
		out = append(out, string(id.Service)+":"+id.ExternalID)
	}
	return out
}

// wantIndexes checks that the teammate indexes of a tenant say exactly what
// its teammates list, entry for entry.
func wantIndexes(tb testing.TB, db *DB, ctx context.Context, tenantID string) {
	tb.Helper()
	idents, emails := 0, 0
	for _, t := range mustTeammates(tb, db, ctx) {
		for _, id := range t.Identities {
			idents++
			if got := indexValue(tb, db, tenantID, bucketTeammateIdentities, string(identityKey(id.Service, id.ExternalID))); got != t.ID {
				tb.Errorf("identity %s:%s indexed to %q, listed under %s", id.Service, id.ExternalID, got, t.ID)
			}
		}
		for _, e := range t.Emails {
			emails++
			if got := indexValue(tb, db, tenantID, bucketTeammateEmails, e); got != t.ID {
				tb.Errorf("email %s indexed to %q, listed under %s", e, got, t.ID)
			}
		}
	}
	if n := bucketLen(tb, db, tenantID, bucketTeammateIdentities); n != idents {
		tb.Errorf("teammate_identities has %d entries, teammates list %d identities", n, idents)
	}
	if n := bucketLen(tb, db, tenantID, bucketTeammateEmails); n != emails {
		tb.Errorf("teammate_emails has %d entries, teammates list %d emails", n, emails)
	}
}

func indexValue(tb testing.TB, db *DB, tenantID string, coll []byte, key string) string {
	tb.Helper()
	var v string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(tenantBucketName(tenantID)).Bucket(coll).Get([]byte(key)))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestObserveIdentities_MergesByEmail(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	batch := []pmassist.Identity{
		slackID("U1", "ada", "Ada Lovelace", " Ada@Example.com "),
		linearID("lin-ada", "Ada L.", "ada@example.com"),
		{Service: pmassist.ServiceSlack, ExternalID: "B1", Handle: "deploybot", Email: "ada@example.com", Bot: true},
		slackID("", "ghost", "No Id", "ghost@example.com"),
		slackID("U2", "grace", "Grace Hopper", "grace@example.com"),
		githubID("bob", ""),
		slackID("U3", "carol", "Carol", "carol@example.com"),
		githubID("carol-gh", ""), // no email: a person of its own until linked
	}
	mustObserve(t, db, ctx, batch...)
	// A later page brings Ada's GitHub login with the same email.
	mustObserve(t, db, ctx, githubID("ada-gh", "ADA@example.com"))

	list := mustTeammates(t, db, ctx)
	var names []string
	for _, tm := range list {
		names = append(names, tm.Name)
	}
	// By name ignoring case: "bob" before "Carol".
	if want := []string{"Ada Lovelace", "bob", "Carol", "carol-gh", "Grace Hopper"}; !slices.Equal(names, want) {
		t.Fatalf("teammates %q, want %q", names, want)
	}
	ada := list[0]
	if got, want := identityKeys(ada), []string{"slack:U1", "linear:lin-ada", "github:ada-gh"}; !slices.Equal(got, want) {
		t.Errorf("Ada's identities %v, want %v", got, want)
	}
	if !slices.Equal(ada.Emails, []string{"ada@example.com"}) {
		t.Errorf("Ada's emails %v", ada.Emails)
	}
	if ada.Identities[0].Email != "ada@example.com" || ada.Identities[0].Name != "Ada Lovelace" || ada.Identities[0].Handle != "ada" {
		t.Errorf("Ada's Slack identity %+v", ada.Identities[0])
	}
	if ada.ID == "" || ada.CreatedAt.IsZero() {
		t.Errorf("Ada lacks an id or a created time: %+v", ada)
	}
	bob := list[1]
	if bob.Emails == nil || len(bob.Emails) != 0 || len(bob.Identities) != 1 {
		t.Errorf("bob %+v", bob)
	}
	for _, tm := range list {
		for _, id := range tm.Identities {
			if id.ExternalID == "B1" || id.ExternalID == "" {
				t.Errorf("recorded %+v", id)
			}
		}
	}
	wantIndexes(t, db, ctx, tenant.ID)

	// Observing everything again changes nothing.
	mustObserve(t, db, ctx, batch...)
	mustObserve(t, db, ctx, githubID("ada-gh", "ADA@example.com"))
	if again := mustTeammates(t, db, ctx); !reflect.DeepEqual(again, list) {
		t.Errorf("teammates changed on a second observation:\n%+v\nwant\n%+v", again, list)
	}
	if got, err := db.FindTeammate(ctx, ada.ID); err != nil || !reflect.DeepEqual(got, ada) {
		t.Errorf("FindTeammate = %+v, %v; want %+v", got, err, ada)
	}
	if _, err := db.FindTeammate(ctx, "nobody"); pmassist.ErrorMessage(err) != "person not found" {
		t.Errorf("FindTeammate of nobody: %v", err)
	}
	wantCode(t, db.ObserveIdentities(ctx, []pmassist.Identity{{Service: "myspace", ExternalID: "x"}}), pmassist.EINVALID)
	if err := db.ObserveIdentities(ctx, nil); err != nil {
		t.Errorf("observing nothing: %v", err)
	}
}

func TestObserveIdentities_Updates(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	// The first name seen sticks: a nameless identity gets the first one.
	mustObserve(t, db, ctx, pmassist.Identity{Service: pmassist.ServiceLinear, ExternalID: "lin-1", Email: "ada@example.com"})
	if tm := teammateOf(t, db, ctx, pmassist.ServiceLinear, "lin-1"); tm.Name != "" {
		t.Fatalf("nameless identity named %q", tm.Name)
	}
	mustObserve(t, db, ctx, slackID("U1", "ada", "Ada Lovelace", "ada@example.com"))
	mustObserve(t, db, ctx, githubID("ada-gh", "ada@example.com"))
	ada := teammateOf(t, db, ctx, pmassist.ServiceLinear, "lin-1")
	if ada.Name != "Ada Lovelace" || len(ada.Identities) != 3 {
		t.Errorf("Ada %+v", ada)
	}

	// A known identity takes new fields; an empty one keeps the stored.
	mustObserve(t, db, ctx, slackID("U1", "ada.l", "", ""))
	ada = teammateOf(t, db, ctx, pmassist.ServiceSlack, "U1")
	if id := ada.Identities[identityIndex(ada, pmassist.ServiceSlack, "U1")]; id.Handle != "ada.l" || id.Name != "Ada Lovelace" || id.Email != "ada@example.com" {
		t.Errorf("updated identity %+v", id)
	}
	if ada.Name != "Ada Lovelace" {
		t.Errorf("Ada renamed to %q", ada.Name)
	}

	// A new free email joins the identity's teammate.
	mustObserve(t, db, ctx, slackID("U1", "ada.l", "", "ada@work.example"))
	ada = teammateOf(t, db, ctx, pmassist.ServiceSlack, "U1")
	if !slices.Equal(ada.Emails, []string{"ada@example.com", "ada@work.example"}) {
		t.Errorf("Ada's emails %v", ada.Emails)
	}
	mustObserve(t, db, ctx, linearID("lin-2", "Ada W", "ada@work.example"))
	if tm := teammateOf(t, db, ctx, pmassist.ServiceLinear, "lin-2"); tm.ID != ada.ID {
		t.Errorf("identity of Ada's second email went to %+v", tm)
	}

	// An email another teammate owns stays there: the identity stays too.
	mustObserve(t, db, ctx, slackID("U2", "grace", "Grace Hopper", "grace@example.com"))
	mustObserve(t, db, ctx, githubID("ada-gh", "grace@example.com"))
	ada2 := teammateOf(t, db, ctx, pmassist.ServiceGitHub, "ada-gh")
	grace := teammateOf(t, db, ctx, pmassist.ServiceSlack, "U2")
	if ada2.ID != ada.ID || slices.Contains(ada2.Emails, "grace@example.com") || !slices.Equal(grace.Emails, []string{"grace@example.com"}) {
		t.Errorf("Ada %+v, Grace %+v", ada2, grace)
	}
	if id := ada2.Identities[identityIndex(ada2, pmassist.ServiceGitHub, "ada-gh")]; id.Email != "grace@example.com" {
		t.Errorf("stored identity %+v", id)
	}
	if n := len(mustTeammates(t, db, ctx)); n != 2 {
		t.Errorf("%d teammates, want 2", n)
	}
	wantIndexes(t, db, ctx, tenant.ID)
}

func TestLinkIdentity(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	mustObserve(t, db, ctx,
		slackID("U1", "ada", "Ada Lovelace", "ada@example.com"),
		githubID("ada-gh", ""),
		linearID("lin-ada", "Ada", "ada@personal.example"),
		slackID("U2", "grace", "Grace Hopper", "grace@example.com"),
	)
	// The Linear teammate gains a second email, which its identity no
	// longer carries.
	mustObserve(t, db, ctx, linearID("lin-ada", "Ada", "ada@home.example"))
	ada := teammateOf(t, db, ctx, pmassist.ServiceSlack, "U1")
	gh := teammateOf(t, db, ctx, pmassist.ServiceGitHub, "ada-gh")
	lin := teammateOf(t, db, ctx, pmassist.ServiceLinear, "lin-ada")
	if !slices.Equal(lin.Emails, []string{"ada@personal.example", "ada@home.example"}) {
		t.Fatalf("Linear teammate's emails %v", lin.Emails)
	}

	got, err := db.LinkIdentity(ctx, ada.ID, pmassist.ServiceGitHub, "ada-gh")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ada.ID || !slices.Equal(identityKeys(got), []string{"slack:U1", "github:ada-gh"}) || got.Name != "Ada Lovelace" {
		t.Errorf("after linking GitHub: %+v", got)
	}
	if _, err := db.FindTeammate(ctx, gh.ID); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		t.Errorf("the emptied teammate is still there: %v", err)
	}

	got, err = db.LinkIdentity(ctx, ada.ID, pmassist.ServiceLinear, "lin-ada")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Emails, []string{"ada@example.com", "ada@home.example", "ada@personal.example"}) {
		t.Errorf("Ada's emails after linking Linear: %v", got.Emails)
	}
	if len(got.Identities) != 3 {
		t.Errorf("Ada's identities %v", identityKeys(got))
	}
	if _, err := db.FindTeammate(ctx, lin.ID); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		t.Errorf("the emptied Linear teammate is still there: %v", err)
	}
	if found, err := db.FindTeammate(ctx, ada.ID); err != nil || !reflect.DeepEqual(found, got) {
		t.Errorf("FindTeammate = %+v, %v; want %+v", found, err, got)
	}
	// A new identity of a moved email now joins Ada.
	mustObserve(t, db, ctx, githubID("ada-home", "ada@home.example"))
	if tm := teammateOf(t, db, ctx, pmassist.ServiceGitHub, "ada-home"); tm.ID != ada.ID {
		t.Errorf("identity of a moved email went to %s", tm.Name)
	}

	// Moving an identity out of a teammate that keeps others: it takes
	// its email, the rest stays.
	mustObserve(t, db, ctx, slackID("U3", "ada2", "Ada Two", "ada2@example.com"))
	two := teammateOf(t, db, ctx, pmassist.ServiceSlack, "U3")
	got, err = db.LinkIdentity(ctx, two.ID, pmassist.ServiceGitHub, "ada-home")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(identityKeys(got), []string{"slack:U3", "github:ada-home"}) || !slices.Equal(got.Emails, []string{"ada2@example.com", "ada@home.example"}) {
		t.Errorf("target %+v", got)
	}
	ada = teammateOf(t, db, ctx, pmassist.ServiceSlack, "U1")
	if len(ada.Identities) != 3 || slices.Contains(ada.Emails, "ada@home.example") {
		t.Errorf("source %+v", ada)
	}
	wantIndexes(t, db, ctx, tenant.ID)

	// Linking an identity where it already is changes nothing.
	before := mustTeammates(t, db, ctx)
	if got, err := db.LinkIdentity(ctx, ada.ID, pmassist.ServiceSlack, "U1"); err != nil || !reflect.DeepEqual(got, ada) {
		t.Errorf("linking in place: %+v, %v", got, err)
	}
	if after := mustTeammates(t, db, ctx); !reflect.DeepEqual(after, before) {
		t.Errorf("linking in place changed the teammates")
	}

	// Errors.
	_, err = db.LinkIdentity(ctx, "nobody", pmassist.ServiceSlack, "U1")
	if pmassist.ErrorMessage(err) != "person not found" {
		t.Errorf("unknown teammate: %v", err)
	}
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.LinkIdentity(ctx, ada.ID, pmassist.ServiceSlack, "U404")
	if pmassist.ErrorMessage(err) != "identity not found" {
		t.Errorf("unknown identity: %v", err)
	}
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.LinkIdentity(ctx, ada.ID, pmassist.ServiceGitHub, "U1") // right id, wrong service
	wantCode(t, err, pmassist.ENOTFOUND)

	// Another tenant's teammate and identities are not found.
	other, _ := mustTenant(t, db, "Other", "other@example.com")
	octx := tenantCtx(other.ID)
	mustObserve(t, db, octx, slackID("U9", "zed", "Zed", "zed@example.com"))
	zed := teammateOf(t, db, octx, pmassist.ServiceSlack, "U9")
	_, err = db.LinkIdentity(ctx, zed.ID, pmassist.ServiceSlack, "U1")
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.LinkIdentity(ctx, ada.ID, pmassist.ServiceSlack, "U9")
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.LinkIdentity(octx, zed.ID, pmassist.ServiceSlack, "U1")
	wantCode(t, err, pmassist.ENOTFOUND)
	if after := mustTeammates(t, db, ctx); !reflect.DeepEqual(after, before) {
		t.Errorf("failed links changed the teammates")
	}
	wantIndexes(t, db, octx, other.ID)
}

func TestUnlinkIdentity(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	mustObserve(t, db, ctx,
		slackID("U1", "ada", "Ada Lovelace", "ada@example.com"),
		githubID("ada-gh", "ada@github.example"),
		linearID("lin-ada", "Ada L", "ada@example.com"),
	)
	gh := teammateOf(t, db, ctx, pmassist.ServiceGitHub, "ada-gh")
	ada := teammateOf(t, db, ctx, pmassist.ServiceSlack, "U1")
	if _, err := db.LinkIdentity(ctx, ada.ID, pmassist.ServiceGitHub, "ada-gh"); err != nil {
		t.Fatal(err)
	}

	n, err := db.UnlinkIdentity(ctx, ada.ID, pmassist.ServiceGitHub, "ada-gh")
	if err != nil {
		t.Fatal(err)
	}
	if n.ID == ada.ID || n.ID == gh.ID || n.Name != "ada-gh" || !slices.Equal(identityKeys(n), []string{"github:ada-gh"}) ||
		!slices.Equal(n.Emails, []string{"ada@github.example"}) || n.CreatedAt.IsZero() {
		t.Errorf("new teammate %+v", n)
	}
	if found, err := db.FindTeammate(ctx, n.ID); err != nil || !reflect.DeepEqual(found, n) {
		t.Errorf("FindTeammate of the new one = %+v, %v", found, err)
	}
	ada = teammateOf(t, db, ctx, pmassist.ServiceSlack, "U1")
	if !slices.Equal(identityKeys(ada), []string{"slack:U1", "linear:lin-ada"}) || !slices.Equal(ada.Emails, []string{"ada@example.com"}) {
		t.Errorf("old teammate %+v", ada)
	}
	// The email went with the identity: a new identity of it joins n.
	mustObserve(t, db, ctx, linearID("lin-gh", "Ada GH", "ada@github.example"))
	if tm := teammateOf(t, db, ctx, pmassist.ServiceLinear, "lin-gh"); tm.ID != n.ID {
		t.Errorf("identity of the unlinked email went to %s", tm.Name)
	}
	wantIndexes(t, db, ctx, tenant.ID)

	// Errors: another teammate's identity, an unknown one, the last one.
	before := mustTeammates(t, db, ctx)
	_, err = db.UnlinkIdentity(ctx, ada.ID, pmassist.ServiceGitHub, "ada-gh")
	if pmassist.ErrorMessage(err) != "identity not found" {
		t.Errorf("unlinking another teammate's identity: %v", err)
	}
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.UnlinkIdentity(ctx, ada.ID, pmassist.ServiceSlack, "U404")
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.UnlinkIdentity(ctx, "nobody", pmassist.ServiceSlack, "U1")
	if pmassist.ErrorMessage(err) != "person not found" {
		t.Errorf("unknown teammate: %v", err)
	}
	wantCode(t, err, pmassist.ENOTFOUND)
	if _, err := db.UnlinkIdentity(ctx, ada.ID, pmassist.ServiceLinear, "lin-ada"); err != nil {
		t.Fatal(err)
	}
	_, err = db.UnlinkIdentity(ctx, ada.ID, pmassist.ServiceSlack, "U1")
	if pmassist.ErrorMessage(err) != "a person needs at least one identity" {
		t.Errorf("unlinking the last identity: %v", err)
	}
	wantCode(t, err, pmassist.EINVALID)
	if got, err := db.FindTeammate(ctx, ada.ID); err != nil || !slices.Equal(identityKeys(got), []string{"slack:U1"}) {
		t.Errorf("Ada after the refused unlink: %+v, %v", got, err)
	}
	if n := len(mustTeammates(t, db, ctx)); n != len(before)+1 {
		t.Errorf("%d teammates, want %d", n, len(before)+1)
	}

	// Another tenant's ids are not found either way.
	other, _ := mustTenant(t, db, "Other", "other@example.com")
	octx := tenantCtx(other.ID)
	mustObserve(t, db, octx, slackID("U9", "zed", "Zed", "zed@example.com"), githubID("zed-gh", "zed@example.com"))
	zed := teammateOf(t, db, octx, pmassist.ServiceSlack, "U9")
	_, err = db.UnlinkIdentity(ctx, zed.ID, pmassist.ServiceSlack, "U9")
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.UnlinkIdentity(octx, n.ID, pmassist.ServiceGitHub, "ada-gh")
	wantCode(t, err, pmassist.ENOTFOUND)
	if got := teammateOf(t, db, octx, pmassist.ServiceGitHub, "zed-gh"); got.ID != zed.ID || len(got.Identities) != 2 {
		t.Errorf("Zed after foreign unlinks: %+v", got)
	}
	wantIndexes(t, db, ctx, tenant.ID)
}
