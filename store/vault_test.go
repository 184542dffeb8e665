package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// openAt opens the data file at path with a key ring (nil for none).
func openAt(t *testing.T, path string, keys *Keyring) (*DB, error) {
	t.Helper()
	return Open(path, Options{NoSync: true, Keys: keys})
}

// mustOpenAt is openAt that fails the test on error; the caller closes.
func mustOpenAt(t *testing.T, path string, keys *Keyring) *DB {
	t.Helper()
	db, err := openAt(t, path, keys)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustClose(t *testing.T, db *DB) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawUpdate writes to the data file behind the store's back.
func rawUpdate(t *testing.T, db *DB, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := db.bolt.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// mustConnection saves a connection of service and workspace in the
// context's tenant.
func mustConnection(t *testing.T, db *DB, ctx context.Context, service pmassist.Service, workspace string, tok pmassist.Token) *pmassist.Connection {
	t.Helper()
	c := &pmassist.Connection{Service: service, WorkspaceID: workspace, WorkspaceName: "Name of " + workspace}
	if _, err := db.SaveConnection(ctx, c, tok); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVault_SealOpen(t *testing.T) {
	v := &vault{keys: mustKeyring(t)}
	plain := []byte("xoxe-secret-token")
	a, err := v.seal("tenant", kindConnectionToken, "conn", plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.seal("tenant", kindConnectionToken, "conn", plain)
	if err != nil {
		t.Fatal(err)
	}
	if a[0] != 0x01 || !bytes.Equal(a[1:5], []byte{0, 0, 0, 1}) {
		t.Errorf("header %x, want format 01 and key id 00000001", a[:5])
	}
	if len(a) != 1+4+24+len(plain)+16 {
		t.Errorf("sealed length %d", len(a))
	}
	if bytes.Equal(a[5:29], b[5:29]) || bytes.Equal(a, b) {
		t.Error("two seals of one plaintext share a nonce")
	}
	if bytes.Contains(a, plain) {
		t.Error("sealed value contains the plaintext")
	}
	for _, sealed := range [][]byte{a, b} {
		got, err := v.open("tenant", kindConnectionToken, "conn", sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("open = %q, %v", got, err)
		}
	}
}

func TestVault_TamperedValueDoesNotOpen(t *testing.T) {
	v := &vault{keys: mustKeyring(t)}
	plain := []byte("refresh-secret")
	sealed, err := v.seal("tenant", kindConnectionToken, "conn", plain)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		got, err := v.open("tenant", kindConnectionToken, "conn", bad)
		if err == nil {
			t.Fatalf("value with byte %d flipped opened to %q", i, got)
		}
		if strings.Contains(err.Error(), string(plain)) {
			t.Errorf("error %q contains the plaintext", err)
		}
	}
	if _, err := v.open("tenant", kindConnectionToken, "conn", sealed[:20]); err == nil {
		t.Error("a truncated value opened")
	}
}

// TestVault_BoundToRecord: the same value under another tenant, kind or
// record does not open.
func TestVault_BoundToRecord(t *testing.T) {
	v := &vault{keys: mustKeyring(t)}
	sealed, err := v.seal("tenant", kindConnectionToken, "conn", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tenant, kind, record string }{
		{"other", kindConnectionToken, "conn"},
		{"tenant", kindOAuthApp, "conn"},
		{"tenant", kindConnectionToken, "other"},
		// The separators keep the parts apart.
		{"tenant\x00connection_token", "", "conn"},
	} {
		_, err := v.open(c.tenant, c.kind, c.record, sealed)
		want := "sealed " + c.kind + " of " + c.record + " does not open: wrong key or moved value"
		if err == nil || err.Error() != want {
			t.Errorf("open as %q: %v, want %q", c, err, want)
		}
	}
}

func TestVault_KeyIDNotInRing(t *testing.T) {
	ring1 := mustKeyring(t)
	ring2, err := ring1.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := (&vault{keys: ring2}).seal("t", kindOAuthApp, "slack", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&vault{keys: ring1}).open("t", kindOAuthApp, "slack", sealed)
	want := "sealed oauth_app of slack needs master key 2, which is not in the key ring"
	if err == nil || err.Error() != want {
		t.Errorf("open without key 2: %v, want %q", err, want)
	}
	// The old key still opens what it sealed after a key is added.
	old, err := (&vault{keys: ring1}).seal("t", kindOAuthApp, "slack", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := (&vault{keys: ring2}).open("t", kindOAuthApp, "slack", old); err != nil || string(got) != "secret" {
		t.Errorf("ring 2 opening a key-1 value: %q, %v", got, err)
	}
}

// TestSecrets_NotInDataFile reads the raw file: no token or secret may be
// there in plaintext, while the connection's plain fields are.
func TestSecrets_NotInDataFile(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	tok := pmassist.Token{AccessToken: "xoxb-ACCESS-7f3a9c", RefreshToken: "xoxe-REFRESH-51d2e8", Expiry: time.Now().Add(time.Hour)}
	mustConnection(t, db, ctx, pmassist.ServiceSlack, "T-WORKSPACE-PLAIN", tok)
	app := pmassist.OAuthApp{Service: pmassist.ServiceSlack, ClientID: "client-PLAIN-1", ClientSecret: "app-SECRET-c0ffee", SigningSecret: "signing-SECRET-beef"}
	if err := db.SaveOAuthApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Sync(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	// The file is read correctly: what is not secret is there.
	if !bytes.Contains(raw, []byte("T-WORKSPACE-PLAIN")) {
		t.Fatal("the raw file does not show the workspace id; the check below proves nothing")
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, app.ClientSecret, app.SigningSecret, app.ClientID} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("data file contains %q in plaintext", secret)
		}
	}
}

// TestSecrets_MovedValueDoesNotOpen copies sealed values between records
// with raw writes, as someone with write access to the file might.
func TestSecrets_MovedValueDoesNotOpen(t *testing.T) {
	db := MustOpen(t)
	a, _ := mustTenant(t, db, "A", "a@example.com")
	b, _ := mustTenant(t, db, "B", "b@example.com")
	actx, bctx := tenantCtx(a.ID), tenantCtx(b.ID)
	aTok := pmassist.Token{AccessToken: "a-access-secret"}
	a1 := mustConnection(t, db, actx, pmassist.ServiceSlack, "T1", aTok)
	a2 := mustConnection(t, db, actx, pmassist.ServiceSlack, "T2", pmassist.Token{AccessToken: "a2-access"})
	b1 := mustConnection(t, db, bctx, pmassist.ServiceSlack, "T3", pmassist.Token{AccessToken: "b-access"})
	if err := db.SaveOAuthApp(actx, pmassist.OAuthApp{Service: pmassist.ServiceSlack, ClientID: "c", ClientSecret: "app-secret"}); err != nil {
		t.Fatal(err)
	}

	// copyValue copies bucket/key of tenant from into bucket/key of tenant to.
	copyValue := func(bucket []byte, fromTenant, fromKey, toTenant, toKey string) {
		rawUpdate(t, db, func(tx *bolt.Tx) error {
			v := bytes.Clone(tx.Bucket(tenantBucketName(fromTenant)).Bucket(bucket).Get([]byte(fromKey)))
			if v == nil {
				t.Fatalf("no %s/%s in tenant %s", bucket, fromKey, fromTenant)
			}
			return tx.Bucket(tenantBucketName(toTenant)).Bucket(bucket).Put([]byte(toKey), v)
		})
	}
	wantNotOpen := func(err error, what, id string) {
		t.Helper()
		want := "sealed " + what + " of " + id + " does not open: wrong key or moved value"
		if err == nil || err.Error() != want {
			t.Errorf("moved value: %v, want %q", err, want)
		}
		if pmassist.ErrorCode(err) != pmassist.EINTERNAL {
			t.Errorf("moved value: code %q, want internal", pmassist.ErrorCode(err))
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q shows the secret", err)
		}
	}

	// A's token into B's connection record.
	copyValue(bucketConnectionTokens, a.ID, a1.ID, b.ID, b1.ID)
	_, err := db.ConnectionToken(bctx, b1.ID)
	wantNotOpen(err, kindConnectionToken, b1.ID)

	// A's token into A's other connection.
	copyValue(bucketConnectionTokens, a.ID, a1.ID, a.ID, a2.ID)
	_, err = db.ConnectionToken(actx, a2.ID)
	wantNotOpen(err, kindConnectionToken, a2.ID)

	// A's token into B's record under the same connection id.
	copyValue(bucketConnections, a.ID, a1.ID, b.ID, a1.ID)
	copyValue(bucketConnectionTokens, a.ID, a1.ID, b.ID, a1.ID)
	_, err = db.ConnectionToken(bctx, a1.ID)
	wantNotOpen(err, kindConnectionToken, a1.ID)

	// A's Slack app as B's Slack app, and as A's GitHub app.
	copyValue(bucketOAuthApps, a.ID, "slack", b.ID, "slack")
	_, err = db.FindOAuthApp(bctx, pmassist.ServiceSlack)
	wantNotOpen(err, kindOAuthApp, "slack")
	copyValue(bucketOAuthApps, a.ID, "slack", a.ID, "github")
	_, err = db.FindOAuthApp(actx, pmassist.ServiceGitHub)
	wantNotOpen(err, kindOAuthApp, "github")

	// The originals still open.
	if got, err := db.ConnectionToken(actx, a1.ID); err != nil || got != aTok {
		t.Errorf("A's own token: %v", err)
	}
	if got, err := db.FindOAuthApp(actx, pmassist.ServiceSlack); err != nil || got.ClientSecret != "app-secret" {
		t.Errorf("A's own app: %v", err)
	}

	// A flipped byte in the stored value does not open either.
	rawUpdate(t, db, func(tx *bolt.Tx) error {
		tokens := tx.Bucket(tenantBucketName(a.ID)).Bucket(bucketConnectionTokens)
		v := bytes.Clone(tokens.Get([]byte(a1.ID)))
		v[len(v)-1] ^= 0x80
		return tokens.Put([]byte(a1.ID), v)
	})
	_, err = db.ConnectionToken(actx, a1.ID)
	wantNotOpen(err, kindConnectionToken, a1.ID)
}

func TestNoMasterKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	db := mustOpenAt(t, path, nil)
	defer db.Close()
	// Everything but secrets works.
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	c := &pmassist.Connection{Service: pmassist.ServiceLinear, WorkspaceID: "W"}
	if _, err := db.SaveConnection(ctx, c, pmassist.Token{AccessToken: "x"}); !errors.Is(err, ErrNoMasterKey) || err.Error() != "no master key configured" {
		t.Errorf("SaveConnection without keys: %v", err)
	}
	if list, err := db.ListConnections(ctx); err != nil || len(list) != 0 {
		t.Errorf("a failed SaveConnection left %v, %v", list, err)
	}
	if err := db.SaveOAuthApp(ctx, pmassist.OAuthApp{Service: pmassist.ServiceLinear, ClientID: "c", ClientSecret: "s"}); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("SaveOAuthApp without keys: %v", err)
	}
	if _, err := db.Reseal(context.Background()); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("Reseal without keys: %v", err)
	}
	mustClose(t, db)

	// A file with secrets, opened without keys: they do not open, the rest works.
	db = mustOpenAt(t, path, mustKeyring(t))
	mustConnection(t, db, ctx, pmassist.ServiceLinear, "W", pmassist.Token{AccessToken: "x"})
	mustClose(t, db)
	db = mustOpenAt(t, path, nil)
	list, err := db.ListConnections(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListConnections without keys: %v, %v", list, err)
	}
	if _, err := db.ConnectionToken(ctx, list[0].ID); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("ConnectionToken without keys: %v", err)
	}
	if _, err := db.SealedKeyIDs(context.Background()); err != nil {
		t.Errorf("SealedKeyIDs without keys: %v", err)
	}
}

// keyCheckIDs lists the ids of the key checks in the data file.
func keyCheckIDs(t *testing.T, db *DB) []uint32 {
	t.Helper()
	var ids []uint32
	err := db.bolt.View(func(tx *bolt.Tx) error {
		checks := tx.Bucket(bucketMeta).Bucket(bucketKeyChecks)
		if checks == nil {
			return nil
		}
		return checks.ForEach(func(k, _ []byte) error {
			ids = append(ids, uint32(k[0])<<24|uint32(k[1])<<16|uint32(k[2])<<8|uint32(k[3]))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestKeyChecks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	ring1 := mustKeyring(t)
	db := mustOpenAt(t, path, ring1)
	if got := keyCheckIDs(t, db); len(got) != 1 || got[0] != 1 {
		t.Errorf("fresh file has key checks %v, want [1]", got)
	}
	mustClose(t, db)

	// Another key 1: refused before anything is read.
	other := mustKeyring(t)
	_, err := openAt(t, path, other)
	want := "master key 1 does not match this data file (is PMASSIST_MASTER_KEY or master.key the key this data file was created with?)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open with another key: %v, want %q", err, want)
	}
	if err != nil {
		wantNoKeyMaterial(t, "error", err.Error(), strings.TrimPrefix(other.Encode(), "1:"), strings.TrimPrefix(ring1.Encode(), "1:"))
	}

	// Adding a key adds its check.
	ring2, err := ring1.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	db = mustOpenAt(t, path, ring2)
	if got := keyCheckIDs(t, db); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("key checks after adding key 2: %v", got)
	}
	mustClose(t, db)

	// The old ring now lacks key 2.
	_, err = openAt(t, path, ring1)
	want = "this data file needs master key 2, which is not in the key ring"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open without key 2: %v, want %q", err, want)
	}
	// A ring with the right key 1 but a wrong key 2.
	wrong2, _ := ring1.WithNewKey()
	_, err = openAt(t, path, wrong2)
	if err == nil || !strings.Contains(err.Error(), "master key 2 does not match this data file") {
		t.Errorf("Open with a wrong key 2: %v", err)
	}
	// Without keys the file still opens.
	db = mustOpenAt(t, path, nil)
	mustClose(t, db)
	db = mustOpenAt(t, path, ring2)
	mustClose(t, db)

	if _, err := openAt(t, path, &Keyring{}); err == nil {
		t.Error("Open with an empty key ring succeeded")
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pmassist.db")
	ring1 := mustKeyring(t)
	db := mustOpenAt(t, path, ring1)
	a, _ := mustTenant(t, db, "A", "a@example.com")
	b, _ := mustTenant(t, db, "B", "b@example.com")
	actx, bctx := tenantCtx(a.ID), tenantCtx(b.ID)
	tokens := map[string]pmassist.Token{}
	conns := map[string]context.Context{}
	for i, ctx := range []context.Context{actx, actx, bctx} {
		tok := pmassist.Token{AccessToken: "access-" + string(rune('a'+i)), RefreshToken: "refresh", Expiry: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
		c := mustConnection(t, db, ctx, pmassist.ServiceGitHub, string(rune('A'+i)), tok)
		tokens[c.ID], conns[c.ID] = tok, ctx
	}
	app := pmassist.OAuthApp{Service: pmassist.ServiceSlack, ClientID: "cid", ClientSecret: "csecret", SigningSecret: "ssecret"}
	if err := db.SaveOAuthApp(bctx, app); err != nil {
		t.Fatal(err)
	}
	if got, err := db.SealedKeyIDs(ctx); err != nil || len(got) != 1 || got[1] != 4 {
		t.Fatalf("SealedKeyIDs before rotation = %v, %v; want 4 values under key 1", got, err)
	}
	mustClose(t, db)

	ring2, err := ring1.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	db = mustOpenAt(t, path, ring2)
	if err := db.RetireKeys(ctx, 1); err == nil || !strings.Contains(err.Error(), "master key 1 still seals 4 values") {
		t.Errorf("RetireKeys(1) before Reseal: %v", err)
	}
	if err := db.RetireKeys(ctx, 2); err == nil || !strings.Contains(err.Error(), "master key 2 is the active key") {
		t.Errorf("RetireKeys(2): %v", err)
	}
	n, err := db.Reseal(ctx)
	if err != nil || n != 4 {
		t.Fatalf("Reseal = %d, %v; want 4", n, err)
	}
	if got, err := db.SealedKeyIDs(ctx); err != nil || len(got) != 1 || got[2] != 4 {
		t.Errorf("SealedKeyIDs after Reseal = %v, %v; want 4 values under key 2 only", got, err)
	}
	checkSecrets := func(db *DB) {
		t.Helper()
		for id, want := range tokens {
			if got, err := db.ConnectionToken(conns[id], id); err != nil || got != want {
				t.Errorf("token of %s after rotation differs (err %v)", id, err)
			}
		}
		got, err := db.FindOAuthApp(bctx, pmassist.ServiceSlack)
		if err != nil || got.ClientID != app.ClientID || got.ClientSecret != app.ClientSecret || got.SigningSecret != app.SigningSecret {
			t.Errorf("own app after rotation differs (err %v)", err)
		}
	}
	checkSecrets(db)
	if err := db.RetireKeys(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := keyCheckIDs(t, db); len(got) != 1 || got[0] != 2 {
		t.Errorf("key checks after RetireKeys(1): %v, want [2]", got)
	}
	mustClose(t, db)

	ring2only, err := ring2.Without(1)
	if err != nil {
		t.Fatal(err)
	}
	db = mustOpenAt(t, path, ring2only)
	defer db.Close()
	checkSecrets(db)
}

// TestReseal_AllOrNothing: one value that does not open stops Reseal, and
// every other value keeps its old key.
func TestReseal_AllOrNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pmassist.db")
	ring1 := mustKeyring(t)
	db := mustOpenAt(t, path, ring1)
	tenant, _ := mustTenant(t, db, "A", "a@example.com")
	tctx := tenantCtx(tenant.ID)
	c1 := mustConnection(t, db, tctx, pmassist.ServiceSlack, "T1", pmassist.Token{AccessToken: "one"})
	c2 := mustConnection(t, db, tctx, pmassist.ServiceSlack, "T2", pmassist.Token{AccessToken: "two"})
	rawUpdate(t, db, func(tx *bolt.Tx) error {
		tokens := tx.Bucket(tenantBucketName(tenant.ID)).Bucket(bucketConnectionTokens)
		return tokens.Put([]byte(c2.ID), bytes.Clone(tokens.Get([]byte(c1.ID))))
	})
	mustClose(t, db)

	ring2, _ := ring1.WithNewKey()
	db = mustOpenAt(t, path, ring2)
	defer db.Close()
	if _, err := db.Reseal(ctx); err == nil || !strings.Contains(err.Error(), "sealed connection_token of "+c2.ID+" does not open") {
		t.Errorf("Reseal with a moved value: %v", err)
	}
	if got, err := db.SealedKeyIDs(ctx); err != nil || got[1] != 2 || got[2] != 0 {
		t.Errorf("SealedKeyIDs after a failed Reseal = %v, %v; want both under key 1", got, err)
	}
}
