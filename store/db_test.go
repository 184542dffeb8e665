package store

import (
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

// MustOpen opens a fresh data file in a temporary folder, with a freshly
// generated key ring, and closes it when the test ends.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "pmassist.db"), Options{NoSync: true, Keys: mustKeyring(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// mustKeyring returns a new key ring of one random key.
func mustKeyring(tb testing.TB) *Keyring {
	tb.Helper()
	k, err := GenerateKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// wantCode fails the test unless err carries the application error code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := pmassist.ErrorCode(err); got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// indexed reports whether a global hash index still has key, which the
// public API cannot tell apart from a dangling entry.
func indexed(tb testing.TB, db *DB, bucket []byte, key string) bool {
	tb.Helper()
	var found bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucket).Get([]byte(key)) != nil
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return found
}

func newUser(email string) *pmassist.User {
	return &pmassist.User{Email: email, Name: "Name of " + email, PasswordHash: "$argon2id$test"}
}

// mustTenant creates a tenant owned by a new user with the given email.
func mustTenant(tb testing.TB, db *DB, name, ownerEmail string) (*pmassist.Tenant, *pmassist.User) {
	tb.Helper()
	t := &pmassist.Tenant{Name: name, Tier: pmassist.TierFree}
	owner := newUser(ownerEmail)
	if err := db.CreateTenant(context.Background(), t, owner); err != nil {
		tb.Fatal(err)
	}
	return t, owner
}

func tenantCtx(tenantID string) context.Context {
	return pmassist.NewContextWithTenant(context.Background(), tenantID)
}

// addMemberVia invites email into the context's tenant with role and accepts
// as a new user, the way members join in the product.
func addMemberVia(tb testing.TB, db *DB, ctx context.Context, email string, role pmassist.Role) *pmassist.User {
	tb.Helper()
	inv := &pmassist.Invitation{Email: email, Role: role, TokenHash: "inv-" + email}
	if err := db.CreateInvitation(ctx, inv); err != nil {
		tb.Fatal(err)
	}
	u := newUser(email)
	if _, err := db.AcceptInvitation(context.Background(), inv.TokenHash, u, time.Now()); err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestOpen_InUse(t *testing.T) {
	db := MustOpen(t)
	start := time.Now()
	second, err := Open(db.Path(), Options{Timeout: 100 * time.Millisecond})
	if err == nil {
		second.Close()
		t.Fatal("second Open of a held data file succeeded")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("second Open took %v, want about the 100ms timeout", elapsed)
	}
	want := "data file " + db.Path() + " is in use by another process (is another pmassist running?)"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestOpen_CreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "pmassist.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestOpen_NotABoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not bolt ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a non-bbolt file: %v, want an error naming the file", err)
	}
}

func TestPing(t *testing.T) {
	db := MustOpen(t)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with a cancelled context: %v", err)
	}
}

func TestPing_Closed(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "pmassist.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(context.Background()); err == nil {
		t.Error("Ping on a closed data file succeeded")
	}
}

// TestReopen checks that every kind of record survives a restart.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pmassist.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	tctx := tenantCtx(tenant.ID)
	member := addMemberVia(t, db, tctx, "member@example.com", pmassist.RoleAdmin)
	token := &pmassist.APIToken{UserID: member.ID, Name: "ci", Hash: "token-hash"}
	if err := db.CreateAPIToken(tctx, token); err != nil {
		t.Fatal(err)
	}
	event := &pmassist.AuditEvent{Actor: owner.Email, Action: pmassist.AuditTenantCreated, Target: tenant.ID}
	if err := db.CreateAuditEvent(tctx, event); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.FindTenantByID(ctx, tenant.ID); err != nil || got.Name != "Acme" || !got.CreatedAt.Equal(tenant.CreatedAt) {
		t.Errorf("tenant after reopen: %+v, %v", got, err)
	}
	if got, err := db.FindUserByEmail(ctx, "owner@example.com"); err != nil || got.ID != owner.ID {
		t.Errorf("user after reopen: %+v, %v", got, err)
	}
	if got, err := db.FindMember(tctx, member.ID); err != nil || got.Role != pmassist.RoleAdmin || got.Email != member.Email {
		t.Errorf("member after reopen: %+v, %v", got, err)
	}
	if got, err := db.FindAPITokenByHash(ctx, "token-hash"); err != nil || got.ID != token.ID || got.TenantID != tenant.ID {
		t.Errorf("token after reopen: %+v, %v", got, err)
	}
	events, _, err := db.ListAuditEvents(tctx, pmassist.AuditFilter{})
	if err != nil || len(events) != 1 || events[0].ID != event.ID || !events[0].At.Equal(event.At) {
		t.Errorf("audit after reopen: %+v, %v", events, err)
	}
}
