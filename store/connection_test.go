package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

func ptr[T any](v T) *T { return &v }

func TestSaveConnection_CreateAndReauthorize(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	expires := time.Date(2026, 4, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))

	c := &pmassist.Connection{
		TenantID: "someone-else", Service: pmassist.ServiceSlack, WorkspaceID: "T1", WorkspaceName: "Acme",
		Scopes: []string{"channels:history"}, ConnectedBy: owner.ID, ExpiresAt: &expires, Refreshable: true,
		Status: pmassist.ConnectionError,
	}
	before := time.Now().UTC()
	created, err := db.SaveConnection(ctx, c, pmassist.Token{AccessToken: "first", RefreshToken: "r1", Expiry: expires})
	if err != nil {
		t.Fatal(err)
	}
	if !created || !pmassist.ValidID(c.ID) || c.TenantID != tenant.ID || c.Status != pmassist.ConnectionConnected ||
		c.ConnectedAt.Before(before) || c.ConnectedAt.Location() != time.UTC || !c.ExpiresAt.Equal(expires) || c.ExpiresAt.Location() != time.UTC {
		t.Errorf("created connection %+v (created %v)", c, created)
	}
	first := *c

	// The connection goes bad, then the user reconnects the same workspace.
	_, err = db.UpdateConnection(ctx, c.ID, pmassist.ConnectionUpdate{
		Status: ptr(pmassist.ConnectionNeedsReauth), LastRefreshError: ptr("invalid_grant"),
		RefreshFailures: ptr(3), NextRefreshAt: ptr(ptr(time.Now())), LastError: ptr("token revoked"),
		LastSyncAt: ptr(time.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	again := &pmassist.Connection{
		Service: pmassist.ServiceSlack, WorkspaceID: "T1", WorkspaceName: "Acme Inc",
		Scopes: []string{"channels:history", "users:read"}, ConnectedBy: "another-user", OwnApp: true,
		ConnectedAt: time.Now().Add(time.Hour),
	}
	created, err = db.SaveConnection(ctx, again, pmassist.Token{AccessToken: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Error("reconnecting the same workspace created a connection")
	}
	if again.ID != first.ID || !again.ConnectedAt.Equal(first.ConnectedAt) || again.TenantID != tenant.ID {
		t.Errorf("reconnected connection lost its identity: %+v", again)
	}
	if again.Status != pmassist.ConnectionConnected || again.LastRefreshError != "" || again.RefreshFailures != 0 ||
		again.NextRefreshAt != nil || again.LastError != "" {
		t.Errorf("reconnected connection kept its failures: %+v", again)
	}
	if again.WorkspaceName != "Acme Inc" || !slices.Equal(again.Scopes, []string{"channels:history", "users:read"}) ||
		again.ConnectedBy != "another-user" || !again.OwnApp || again.Refreshable || again.ExpiresAt != nil {
		t.Errorf("reconnected connection did not take the new details: %+v", again)
	}
	if again.LastSyncAt == nil {
		t.Error("reconnecting forgot the last sync")
	}
	stored, err := db.FindConnection(ctx, first.ID)
	if err != nil || stored.Status != pmassist.ConnectionConnected || stored.WorkspaceName != "Acme Inc" {
		t.Errorf("stored after reconnect: %+v, %v", stored, err)
	}
	if tok, err := db.ConnectionToken(ctx, first.ID); err != nil || tok.AccessToken != "second" || tok.RefreshToken != "" || !tok.Expiry.IsZero() {
		t.Errorf("token after reconnect was not replaced (err %v)", err)
	}

	// Another workspace of the same service, and the same workspace id at
	// another service, are new connections.
	for _, c := range []*pmassist.Connection{
		{Service: pmassist.ServiceSlack, WorkspaceID: "T2"},
		{Service: pmassist.ServiceLinear, WorkspaceID: "T1"},
	} {
		created, err := db.SaveConnection(ctx, c, pmassist.Token{AccessToken: "other"})
		if err != nil || !created || c.ID == first.ID {
			t.Errorf("SaveConnection(%s %s) = %v, %v, id %s", c.Service, c.WorkspaceID, created, err, c.ID)
		}
	}
	if list, err := db.ListConnections(ctx); err != nil || len(list) != 3 {
		t.Errorf("ListConnections = %d connections, %v; want 3", len(list), err)
	}
	if tok, err := db.ConnectionToken(ctx, first.ID); err != nil || tok.AccessToken != "second" {
		t.Errorf("another connection's save changed this token (err %v)", err)
	}
}

func TestSaveConnection_Invalid(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for _, c := range []struct {
		conn  pmassist.Connection
		tok   pmassist.Token
		field string
	}{
		{pmassist.Connection{Service: "jira", WorkspaceID: "W"}, pmassist.Token{AccessToken: "x"}, "service"},
		{pmassist.Connection{Service: pmassist.ServiceGitHub}, pmassist.Token{AccessToken: "x"}, "workspace_id"},
		{pmassist.Connection{Service: pmassist.ServiceGitHub, WorkspaceID: "W"}, pmassist.Token{RefreshToken: "x"}, "access_token"},
	} {
		_, err := db.SaveConnection(ctx, &c.conn, c.tok)
		wantCode(t, err, pmassist.EINVALID)
		if _, ok := pmassist.ErrorFields(err)[c.field]; !ok {
			t.Errorf("error %v does not name %s", err, c.field)
		}
	}
	if list, err := db.ListConnections(ctx); err != nil || len(list) != 0 {
		t.Errorf("invalid saves stored %v, %v", list, err)
	}

	// A chosen id that is taken by another workspace's connection.
	c := mustConnection(t, db, ctx, pmassist.ServiceGitHub, "W1", pmassist.Token{AccessToken: "x"})
	_, err := db.SaveConnection(ctx, &pmassist.Connection{ID: c.ID, Service: pmassist.ServiceGitHub, WorkspaceID: "W2"}, pmassist.Token{AccessToken: "y"})
	wantCode(t, err, pmassist.ECONFLICT)
	if tok, err := db.ConnectionToken(ctx, c.ID); err != nil || tok.AccessToken != "x" {
		t.Errorf("a refused save changed the token (err %v)", err)
	}
}

func TestConnections_ListUpdateDelete(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// Saved out of order; listed by service (display order), then time.
	var ids []string
	for _, c := range []struct {
		service pmassist.Service
		ws      string
		at      time.Duration
	}{
		{pmassist.ServiceGitHub, "gh", 0},
		{pmassist.ServiceSlack, "s-late", 2 * time.Hour},
		{pmassist.ServiceLinear, "lin", time.Hour},
		{pmassist.ServiceSlack, "s-early", time.Hour},
	} {
		conn := &pmassist.Connection{Service: c.service, WorkspaceID: c.ws, ConnectedAt: base.Add(c.at)}
		if _, err := db.SaveConnection(ctx, conn, pmassist.Token{AccessToken: c.ws}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, conn.ID)
	}
	list, err := db.ListConnections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list {
		got = append(got, c.WorkspaceID)
	}
	if want := []string{"s-early", "s-late", "lin", "gh"}; !slices.Equal(got, want) {
		t.Errorf("ListConnections order %v, want %v", got, want)
	}

	// UpdateConnection: set, then clear through the double pointers.
	id := ids[0]
	next := base.Add(time.Minute).In(time.FixedZone("X", 7200))
	c, err := db.UpdateConnection(ctx, id, pmassist.ConnectionUpdate{
		Status: ptr(pmassist.ConnectionError), ExpiresAt: ptr(ptr(base)), NextRefreshAt: ptr(&next),
		RefreshFailures: ptr(2), LastRefreshError: ptr("timeout"), LastRefreshAt: ptr(base), LastSyncAt: ptr(base), LastError: ptr("rate limited"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != pmassist.ConnectionError || !c.ExpiresAt.Equal(base) || !c.NextRefreshAt.Equal(next) || c.NextRefreshAt.Location() != time.UTC ||
		c.RefreshFailures != 2 || c.LastRefreshError != "timeout" || !c.LastRefreshAt.Equal(base) || !c.LastSyncAt.Equal(base) || c.LastError != "rate limited" {
		t.Errorf("updated connection %+v", c)
	}
	c, err = db.UpdateConnection(ctx, id, pmassist.ConnectionUpdate{ExpiresAt: ptr[*time.Time](nil), NextRefreshAt: ptr[*time.Time](nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.ExpiresAt != nil || c.NextRefreshAt != nil || c.Status != pmassist.ConnectionError || c.RefreshFailures != 2 {
		t.Errorf("after clearing: %+v", c)
	}
	if stored, err := db.FindConnection(ctx, id); err != nil || stored.ExpiresAt != nil || stored.LastError != "rate limited" {
		t.Errorf("stored after update: %+v, %v", stored, err)
	}
	_, err = db.UpdateConnection(ctx, id, pmassist.ConnectionUpdate{Status: ptr("broken")})
	wantCode(t, err, pmassist.EINVALID)
	_, err = db.UpdateConnection(ctx, "missing", pmassist.ConnectionUpdate{})
	wantCode(t, err, pmassist.ENOTFOUND)

	// DeleteConnection removes record, workspace entry and token.
	if err := db.DeleteConnection(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindConnection(ctx, id)
	wantCode(t, err, pmassist.ENOTFOUND)
	if pmassist.ErrorMessage(err) != "connection not found" {
		t.Errorf("message %q", pmassist.ErrorMessage(err))
	}
	_, err = db.ConnectionToken(ctx, id)
	wantCode(t, err, pmassist.ENOTFOUND)
	wantCode(t, db.DeleteConnection(ctx, id), pmassist.ENOTFOUND)
	err = db.bolt.View(func(tx *bolt.Tx) error {
		tb := tx.Bucket(tenantBucketName(tenant.ID))
		if tb.Bucket(bucketConnectionTokens).Get([]byte(id)) != nil {
			t.Error("the deleted connection's token is still stored")
		}
		if tb.Bucket(bucketConnectionWorkspaces).Get(workspaceKey(pmassist.ServiceGitHub, "gh")) != nil {
			t.Error("the deleted connection's workspace entry is still stored")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Connecting the workspace again makes a new connection.
	again := &pmassist.Connection{Service: pmassist.ServiceGitHub, WorkspaceID: "gh"}
	if created, err := db.SaveConnection(ctx, again, pmassist.Token{AccessToken: "new"}); err != nil || !created || again.ID == id {
		t.Errorf("reconnect after delete: %v, %v, id %s", created, err, again.ID)
	}
}

func TestUpdateConnection_PauseResume(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	c := mustConnection(t, db, ctx, pmassist.ServiceSlack, "T1", pmassist.Token{AccessToken: "first"})
	if c.Paused || c.PausedAt != nil {
		t.Fatalf("new connection paused: %+v", c)
	}
	update := func(upd pmassist.ConnectionUpdate) *pmassist.Connection {
		t.Helper()
		got, err := db.UpdateConnection(ctx, c.ID, upd)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := db.FindConnection(ctx, c.ID)
		if err != nil || stored.Paused != got.Paused || !equalTimePtr(stored.PausedAt, got.PausedAt) {
			t.Fatalf("stored %+v, %v; returned %+v", stored, err, got)
		}
		return got
	}

	before := time.Now().UTC()
	got := update(pmassist.ConnectionUpdate{Paused: ptr(true)})
	if !got.Paused || got.PausedAt == nil || got.PausedAt.Before(before) || got.PausedAt.After(time.Now()) || got.PausedAt.Location() != time.UTC {
		t.Fatalf("paused connection %+v", got)
	}
	pausedAt := *got.PausedAt

	// Pausing again keeps the first time; other updates leave the pause.
	time.Sleep(time.Millisecond)
	if got = update(pmassist.ConnectionUpdate{Paused: ptr(true)}); !got.Paused || !got.PausedAt.Equal(pausedAt) {
		t.Errorf("paused again: %+v, want paused at %v", got, pausedAt)
	}
	if got = update(pmassist.ConnectionUpdate{Status: ptr(pmassist.ConnectionNeedsReauth)}); !got.Paused || !got.PausedAt.Equal(pausedAt) {
		t.Errorf("after a status update: %+v", got)
	}

	// Re-authorizing the workspace keeps the pause.
	again := &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: "T1", WorkspaceName: "Acme"}
	if created, err := db.SaveConnection(ctx, again, pmassist.Token{AccessToken: "second"}); err != nil || created {
		t.Fatalf("re-authorize: %v, %v", created, err)
	}
	if again.ID != c.ID || again.Status != pmassist.ConnectionConnected || !again.Paused || again.PausedAt == nil || !again.PausedAt.Equal(pausedAt) {
		t.Errorf("re-authorized connection %+v, want it paused at %v", again, pausedAt)
	}
	if stored, err := db.FindConnection(ctx, c.ID); err != nil || !stored.Paused || !stored.PausedAt.Equal(pausedAt) {
		t.Errorf("stored after re-authorize %+v, %v", stored, err)
	}

	// Resuming clears the time; resuming again changes nothing.
	for range 2 {
		if got = update(pmassist.ConnectionUpdate{Paused: ptr(false)}); got.Paused || got.PausedAt != nil {
			t.Errorf("resumed connection %+v", got)
		}
	}
	// A re-authorized running connection stays running.
	if _, err := db.SaveConnection(ctx, &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: "T1"}, pmassist.Token{AccessToken: "third"}); err != nil {
		t.Fatal(err)
	}
	if stored, err := db.FindConnection(ctx, c.ID); err != nil || stored.Paused || stored.PausedAt != nil {
		t.Errorf("stored after re-authorizing a running connection %+v, %v", stored, err)
	}
	// Pausing anew takes a new time.
	if got = update(pmassist.ConnectionUpdate{Paused: ptr(true)}); !got.Paused || got.PausedAt == nil || !got.PausedAt.After(pausedAt) {
		t.Errorf("paused anew: %+v, want after %v", got, pausedAt)
	}
}

func equalTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func TestStoreRefreshedToken(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	c := mustConnection(t, db, ctx, pmassist.ServiceLinear, "L", pmassist.Token{AccessToken: "old", RefreshToken: "old-r"})
	_, err := db.UpdateConnection(ctx, c.ID, pmassist.ConnectionUpdate{
		Status: ptr(pmassist.ConnectionError), LastRefreshError: ptr("503"), RefreshFailures: ptr(4),
		NextRefreshAt: ptr(ptr(time.Now())), LastError: ptr("sync failed"),
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.FixedZone("X", -3600))
	expiry := at.Add(24 * time.Hour)
	got, err := db.StoreRefreshedToken(ctx, c.ID, pmassist.Token{AccessToken: "new", RefreshToken: "new-r", Expiry: expiry}, at)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != pmassist.ConnectionConnected || got.LastRefreshError != "" || got.RefreshFailures != 0 || got.NextRefreshAt != nil ||
		got.LastRefreshAt == nil || !got.LastRefreshAt.Equal(at) || got.LastRefreshAt.Location() != time.UTC ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(expiry) {
		t.Errorf("after refresh: %+v", got)
	}
	// A sync error is not the refresh's to clear.
	if got.LastError != "sync failed" {
		t.Errorf("refresh cleared LastError: %q", got.LastError)
	}
	if stored, err := db.FindConnection(ctx, c.ID); err != nil || stored.RefreshFailures != 0 || !stored.ExpiresAt.Equal(expiry) {
		t.Errorf("stored after refresh: %+v, %v", stored, err)
	}
	tok, err := db.ConnectionToken(ctx, c.ID)
	if err != nil || tok.AccessToken != "new" || tok.RefreshToken != "new-r" || !tok.Expiry.Equal(expiry) {
		t.Errorf("token after refresh differs (err %v)", err)
	}

	// A token that does not expire clears ExpiresAt.
	got, err = db.StoreRefreshedToken(ctx, c.ID, pmassist.Token{AccessToken: "forever"}, at)
	if err != nil || got.ExpiresAt != nil {
		t.Errorf("refresh without expiry: %+v, %v", got, err)
	}
	_, err = db.StoreRefreshedToken(ctx, "missing", pmassist.Token{AccessToken: "x"}, at)
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.StoreRefreshedToken(ctx, c.ID, pmassist.Token{}, at)
	wantCode(t, err, pmassist.EINVALID)
}

func TestListAllConnections(t *testing.T) {
	db := MustOpen(t)
	a, _ := mustTenant(t, db, "A", "a@example.com")
	b, _ := mustTenant(t, db, "B", "b@example.com")
	mustTenant(t, db, "C", "c@example.com") // no connections
	ca := mustConnection(t, db, tenantCtx(a.ID), pmassist.ServiceSlack, "T", pmassist.Token{AccessToken: "a"})
	cb1 := mustConnection(t, db, tenantCtx(b.ID), pmassist.ServiceSlack, "T", pmassist.Token{AccessToken: "b"})
	cb2 := mustConnection(t, db, tenantCtx(b.ID), pmassist.ServiceGitHub, "G", pmassist.Token{AccessToken: "b2"})

	list, err := db.ListAllConnections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range list {
		got[c.ID] = c.TenantID
	}
	want := map[string]string{ca.ID: a.ID, cb1.ID: b.ID, cb2.ID: b.ID}
	if len(list) != 3 || len(got) != 3 {
		t.Fatalf("ListAllConnections = %d connections, want 3", len(list))
	}
	for id, tenant := range want {
		if got[id] != tenant {
			t.Errorf("connection %s: tenant %q, want %q", id, got[id], tenant)
		}
	}
}

func TestOAuthApps(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	if list, err := db.ListOAuthAppServices(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListOAuthAppServices of a new tenant = %v, %v", list, err)
	}
	_, err := db.FindOAuthApp(ctx, pmassist.ServiceSlack)
	wantCode(t, err, pmassist.ENOTFOUND)
	if pmassist.ErrorMessage(err) != "no own app for slack" {
		t.Errorf("message %q", pmassist.ErrorMessage(err))
	}

	updated := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	for _, app := range []pmassist.OAuthApp{
		{Service: pmassist.ServiceGitHub, ClientID: "gh-id", ClientSecret: "gh-secret"},
		{Service: pmassist.ServiceSlack, ClientID: "old-id", ClientSecret: "old-secret", SigningSecret: "old-sign"},
		{Service: pmassist.ServiceSlack, ClientID: "s-id", ClientSecret: "s-secret", SigningSecret: "s-sign", UpdatedAt: updated},
	} {
		if err := db.SaveOAuthApp(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	app, err := db.FindOAuthApp(ctx, pmassist.ServiceSlack)
	if err != nil {
		t.Fatal(err)
	}
	if app.Service != pmassist.ServiceSlack || app.ClientID != "s-id" || app.ClientSecret != "s-secret" || app.SigningSecret != "s-sign" ||
		!app.UpdatedAt.Equal(updated) || app.UpdatedAt.Location() != time.UTC {
		t.Errorf("FindOAuthApp did not return the replaced app (updated %v)", app.UpdatedAt)
	}
	gh, err := db.FindOAuthApp(ctx, pmassist.ServiceGitHub)
	if err != nil || gh.ClientSecret != "gh-secret" || gh.UpdatedAt.IsZero() {
		t.Errorf("GitHub app: %v, updated %v", err, gh)
	}
	if list, err := db.ListOAuthAppServices(ctx); err != nil || !slices.Equal(list, []pmassist.Service{pmassist.ServiceSlack, pmassist.ServiceGitHub}) {
		t.Errorf("ListOAuthAppServices = %v, %v", list, err)
	}

	if err := db.DeleteOAuthApp(ctx, pmassist.ServiceSlack); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindOAuthApp(ctx, pmassist.ServiceSlack)
	wantCode(t, err, pmassist.ENOTFOUND)
	wantCode(t, db.DeleteOAuthApp(ctx, pmassist.ServiceSlack), pmassist.ENOTFOUND)
	if list, err := db.ListOAuthAppServices(ctx); err != nil || !slices.Equal(list, []pmassist.Service{pmassist.ServiceGitHub}) {
		t.Errorf("ListOAuthAppServices after delete = %v, %v", list, err)
	}

	for _, c := range []struct {
		app   pmassist.OAuthApp
		field string
	}{
		{pmassist.OAuthApp{Service: "jira", ClientID: "a", ClientSecret: "b"}, "service"},
		{pmassist.OAuthApp{Service: pmassist.ServiceLinear, ClientSecret: "b"}, "client_id"},
		{pmassist.OAuthApp{Service: pmassist.ServiceLinear, ClientID: "a"}, "client_secret"},
	} {
		err := db.SaveOAuthApp(ctx, c.app)
		wantCode(t, err, pmassist.EINVALID)
		if _, ok := pmassist.ErrorFields(err)[c.field]; !ok {
			t.Errorf("error %v does not name %s", err, c.field)
		}
	}
}
