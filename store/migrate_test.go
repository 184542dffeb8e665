package store

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

func openBolt(t *testing.T, path string) *bolt.DB {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return bdb
}

// counted wraps every migration of list so that calls[version] counts its runs.
func counted(list []migration, calls map[int]int) []migration {
	out := make([]migration, len(list))
	for i, m := range list {
		up := m.up
		m.up = func(tx *bolt.Tx) error {
			calls[m.version]++
			return up(tx)
		}
		out[i] = m
	}
	return out
}

func TestMigrations_Numbered(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migrations[%d] (%s) has version %d, want %d", i, m.name, m.version, i+1)
		}
		if m.name == "" || m.up == nil {
			t.Errorf("migration %d lacks a name or a function", m.version)
		}
	}
	if LatestSchemaVersion() != len(migrations) {
		t.Errorf("LatestSchemaVersion() = %d, want %d", LatestSchemaVersion(), len(migrations))
	}
}

func TestOpen_NewFileAtLatestVersion(t *testing.T) {
	db := MustOpen(t)
	v, err := db.SchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v != LatestSchemaVersion() {
		t.Errorf("schema version %d, want %d", v, LatestSchemaVersion())
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketUsers, bucketUsersByEmail, bucketUserTenants,
			bucketSessions, bucketAPITokenHashes, bucketInvitationHashes,
			bucketWebhookDeliveries, bucketWebhookDeliveryTimes,
			bucketBillingEvents, bucketBillingEventTimes, bucketStripeCustomers} {
			if tx.Bucket(name) == nil {
				t.Errorf("bucket %s missing", name)
			}
		}
		if app := tx.Bucket(bucketMeta).Get(keyApp); string(app) != "pmassist" {
			t.Errorf("meta app = %q", app)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrate_RunsEachMigrationOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A later build appends a migration: only that one runs, and only once.
	calls := map[int]int{}
	next := LatestSchemaVersion() + 1
	list := counted(append(migrations[:len(migrations):len(migrations)], migration{
		version: next,
		name:    "test",
		up:      func(*bolt.Tx) error { return nil },
	}), calls)
	bdb := openBolt(t, path)
	defer bdb.Close()
	for range 2 {
		if err := migrate(bdb, list); err != nil {
			t.Fatal(err)
		}
	}
	for v := 1; v < next; v++ {
		if calls[v] != 0 {
			t.Errorf("migration %d ran %d times on an up-to-date file", v, calls[v])
		}
	}
	if calls[next] != 1 {
		t.Errorf("new migration ran %d times, want 1", calls[next])
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		v, err := schemaVersion(tx)
		if v != next {
			t.Errorf("schema version %d, want %d", v, next)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrate_FreshFileRunsAll(t *testing.T) {
	calls := map[int]int{}
	bdb := openBolt(t, filepath.Join(t.TempDir(), "pmassist.db"))
	defer bdb.Close()
	if err := migrate(bdb, counted(migrations, calls)); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if calls[m.version] != 1 {
			t.Errorf("migration %d ran %d times, want 1", m.version, calls[m.version])
		}
	}
}

func TestReopen_KeepsVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	for range 2 {
		db, err := Open(path, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.SchemaVersion()
		if err != nil || v != LatestSchemaVersion() {
			t.Errorf("schema version %d, %v; want %d", v, err, LatestSchemaVersion())
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpen_NewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	newer := LatestSchemaVersion() + 1
	bdb := openBolt(t, path)
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, u64(uint64(newer)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{NoSync: true})
	if err == nil {
		db.Close()
		t.Fatal("Open of a newer data file succeeded")
	}
	want := fmt.Sprintf("data file schema version %d is newer than this pmassist supports (%d); upgrade pmassist",
		newer, LatestSchemaVersion())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
}

func TestOpen_ForeignFileRefused(t *testing.T) {
	for name, setup := range map[string]func(tx *bolt.Tx) error{
		"other app in meta": func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("meta"))
			if err != nil {
				return err
			}
			return b.Put([]byte("app"), []byte("other"))
		},
		"buckets but no meta": func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("widgets"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			bdb := openBolt(t, path)
			if err := bdb.Update(setup); err != nil {
				t.Fatal(err)
			}
			if err := bdb.Close(); err != nil {
				t.Fatal(err)
			}

			db, err := Open(path, Options{NoSync: true})
			if err == nil {
				db.Close()
				t.Fatal("Open of a foreign file succeeded")
			}
			if !strings.Contains(err.Error(), "not a PM Assistant data file") {
				t.Errorf("error %q", err)
			}
			bdb = openBolt(t, path)
			defer bdb.Close()
			err = bdb.View(func(tx *bolt.Tx) error {
				if tx.Bucket(bucketUsers) != nil {
					t.Error("the foreign file was migrated")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMigration2_ConnectionCollections upgrades a file written at version 1,
// with a tenant in it, and checks that the tenant gains the connection
// collections and can use them.
func TestMigration2_ConnectionCollections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	bdb := openBolt(t, path)
	if err := migrate(bdb, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	tenant := &pmassist.Tenant{ID: pmassist.NewID(), Name: "Old", Tier: pmassist.TierFree, CreatedAt: time.Now().UTC()}
	err := bdb.Update(func(tx *bolt.Tx) error {
		// A tenant as version 1 made it, spelled out.
		tb, err := tx.CreateBucket([]byte("t/" + tenant.ID))
		if err != nil {
			return err
		}
		for _, name := range []string{"members", "api_tokens", "invitations", "audit"} {
			if _, err := tb.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return putJSON(tb, []byte("tenant"), tenant)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		if v, err := schemaVersion(tx); err != nil || v != 1 {
			t.Fatalf("test file at version %d, %v; want 1", v, err)
		}
		if tx.Bucket([]byte("t/"+tenant.ID)).Bucket([]byte("connections")) != nil {
			t.Fatal("the version-1 tenant already has connections")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, Options{NoSync: true, Keys: mustKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v < 2 {
		t.Errorf("schema version %d, %v; want at least 2", v, err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		tb := tx.Bucket([]byte("t/" + tenant.ID))
		for _, name := range []string{"connections", "connection_workspaces", "connection_tokens", "oauth_apps"} {
			if tb.Bucket([]byte(name)) == nil {
				t.Errorf("migrated tenant lacks %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := pmassist.NewContextWithTenant(context.Background(), tenant.ID)
	c := &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: "T1"}
	if _, err := db.SaveConnection(ctx, c, pmassist.Token{AccessToken: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveOAuthApp(ctx, pmassist.OAuthApp{Service: pmassist.ServiceSlack, ClientID: "c", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindTenantByID(context.Background(), tenant.ID); err != nil || got.Name != "Old" {
		t.Errorf("tenant after migration: %+v, %v", got, err)
	}
}

// TestTenantCollections_MatchNewTenant: a tenant created now has exactly the
// collections a migrated one has.
func TestTenantCollections_MatchNewTenant(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "New", "new@example.com")
	err := db.bolt.View(func(tx *bolt.Tx) error {
		tb := tx.Bucket(tenantBucketName(tenant.ID))
		for _, name := range []string{"members", "api_tokens", "invitations", "audit",
			"connections", "connection_workspaces", "connection_tokens", "oauth_apps",
			"items", "items_by_external", "items_by_time", "watermarks", "usage", "jobs", "jobs_active",
			"decisions", "decisions_by_time", "decisions_by_thread",
			"items_by_updated", "teammates", "teammate_identities", "teammate_emails", "standups", "standups_by_date"} {
			if tb.Bucket([]byte(name)) == nil {
				t.Errorf("new tenant lacks %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigration3_ItemsAndJobs upgrades a file written at version 2, with a
// tenant in it, and checks that the tenant gains the item and job
// collections, the file the delivery buckets, and that all of them work.
func TestMigration3_ItemsAndJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	bdb := openBolt(t, path)
	if err := migrate(bdb, migrations[:2]); err != nil {
		t.Fatal(err)
	}
	tenant := &pmassist.Tenant{ID: pmassist.NewID(), Name: "Old", Tier: pmassist.TierFree, CreatedAt: time.Now().UTC()}
	err := bdb.Update(func(tx *bolt.Tx) error {
		// A tenant as version 2 made it, spelled out.
		tb, err := tx.CreateBucket([]byte("t/" + tenant.ID))
		if err != nil {
			return err
		}
		for _, name := range []string{"members", "api_tokens", "invitations", "audit",
			"connections", "connection_workspaces", "connection_tokens", "oauth_apps"} {
			if _, err := tb.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return putJSON(tb, []byte("tenant"), tenant)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		if v, err := schemaVersion(tx); err != nil || v != 2 {
			t.Fatalf("test file at version %d, %v; want 2", v, err)
		}
		if tx.Bucket([]byte("t/"+tenant.ID)).Bucket([]byte("items")) != nil || tx.Bucket([]byte("webhook_deliveries")) != nil {
			t.Fatal("the version-2 file already has version 3's buckets")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, Options{NoSync: true, Keys: mustKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v < 3 {
		t.Errorf("schema version %d, %v; want at least 3", v, err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"webhook_deliveries", "webhook_delivery_times"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("migrated file lacks %s", name)
			}
		}
		tb := tx.Bucket([]byte("t/" + tenant.ID))
		for _, name := range []string{"items", "items_by_external", "items_by_time", "watermarks", "usage", "jobs", "jobs_active"} {
			if tb.Bucket([]byte(name)) == nil {
				t.Errorf("migrated tenant lacks %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := pmassist.NewContextWithTenant(context.Background(), tenant.ID)
	item := &pmassist.Item{ConnectionID: "c1", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:1", CreatedAt: time.Now()}
	wm := &pmassist.Watermark{ConnectionID: "c1", Resource: "channel:C1", Value: "1"}
	if res, err := db.UpsertItems(ctx, []*pmassist.Item{item}, wm, "2026-03", 100); err != nil || res.New != 1 {
		t.Fatalf("upsert into a migrated tenant: %+v, %v", res, err)
	}
	if list, _, err := db.ListItems(ctx, pmassist.ItemFilter{}); err != nil || len(list) != 1 {
		t.Errorf("items of a migrated tenant: %v, %v", list, err)
	}
	job := &pmassist.Job{Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack, ConnectionID: "c1", Status: pmassist.JobQueued}
	if err := db.CreateJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if j, err := db.ActiveJob(ctx, "c1"); err != nil || j.ID != job.ID {
		t.Errorf("active job of a migrated tenant: %+v, %v", j, err)
	}
	if err := db.PutTenantConfig(ctx, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	if s, err := db.SeenDelivery(context.Background(), pmassist.ServiceSlack, "e1", time.Now()); err != nil || s {
		t.Errorf("first delivery in a migrated file: %v, %v", s, err)
	}
	if got, err := db.FindTenantByID(context.Background(), tenant.ID); err != nil || got.Name != "Old" {
		t.Errorf("tenant after migration: %+v, %v", got, err)
	}
}

// TestMigration4_Decisions upgrades a file written at version 3, with a
// tenant in it, and checks that the tenant gains the decision collections,
// the file a file id, and that both work.
func TestMigration4_Decisions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	bdb := openBolt(t, path)
	if err := migrate(bdb, migrations[:3]); err != nil {
		t.Fatal(err)
	}
	tenant := &pmassist.Tenant{ID: pmassist.NewID(), Name: "Old", Tier: pmassist.TierFree, CreatedAt: time.Now().UTC()}
	item := &pmassist.Item{ID: pmassist.NewID(), TenantID: tenant.ID, ConnectionID: "c1", Type: pmassist.ItemMessage,
		Service: pmassist.ServiceSlack, ExternalID: "C1:1", Text: "old item", CreatedAt: time.Now().UTC()}
	err := bdb.Update(func(tx *bolt.Tx) error {
		// A tenant as version 3 made it, spelled out, with an item.
		tb, err := tx.CreateBucket([]byte("t/" + tenant.ID))
		if err != nil {
			return err
		}
		for _, name := range []string{"members", "api_tokens", "invitations", "audit",
			"connections", "connection_workspaces", "connection_tokens", "oauth_apps",
			"items", "items_by_external", "items_by_time", "watermarks", "usage", "jobs", "jobs_active"} {
			if _, err := tb.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := putJSON(tb.Bucket([]byte("items")), []byte(item.ID), item); err != nil {
			return err
		}
		return putJSON(tb, []byte("tenant"), tenant)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		if v, err := schemaVersion(tx); err != nil || v != 3 {
			t.Fatalf("test file at version %d, %v; want 3", v, err)
		}
		if tx.Bucket([]byte("t/"+tenant.ID)).Bucket([]byte("decisions")) != nil || tx.Bucket([]byte("meta")).Get([]byte("file_id")) != nil {
			t.Fatal("the version-3 file already has version 4's buckets or file id")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, Options{NoSync: true, Keys: mustKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(); err != nil || v < 4 {
		t.Errorf("schema version %d, %v; want at least 4", v, err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		tb := tx.Bucket([]byte("t/" + tenant.ID))
		for _, name := range []string{"decisions", "decisions_by_time", "decisions_by_thread"} {
			if tb.Bucket([]byte(name)) == nil {
				t.Errorf("migrated tenant lacks %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fileID, _, err := db.DataVersion()
	if err != nil || len(fileID) != 32 {
		t.Errorf("file id of a migrated file %q, %v", fileID, err)
	}

	ctx := pmassist.NewContextWithTenant(context.Background(), tenant.ID)
	d := &pmassist.Decision{Title: "Use Postgres"}
	if err := db.CreateDecision(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := db.UpsertDetected(ctx, &pmassist.Decision{Title: "Detected", ThreadKey: "slack:C1:1"}); err != nil || !changed {
		t.Fatalf("upsert into a migrated tenant: %v, %v", changed, err)
	}
	if list, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{}); err != nil || len(list) != 2 {
		t.Errorf("decisions of a migrated tenant: %v, %v", list, err)
	}
	var walked []string
	err = db.WalkItems(context.Background(), 10, func(items []*pmassist.Item) error {
		for _, it := range items {
			walked = append(walked, it.Text)
		}
		return nil
	})
	if err != nil || len(walked) != 1 || walked[0] != "old item" {
		t.Errorf("walked %v, %v", walked, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The file id is made once: reopening keeps it.
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if again, _, err := db.DataVersion(); err != nil || again != fileID {
		t.Errorf("file id after reopening %q, %v; want %q", again, err, fileID)
	}
}

// TestMigration5_UpdatedIndexTeammatesStandups upgrades a file written at
// version 4, with two tenants and items in one, and checks that every tenant
// gains the new collections, that items_by_updated holds every old item
// under max(updated, created), and that all of it works afterwards.
func TestMigration5_UpdatedIndexTeammatesStandups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	bdb := openBolt(t, path)
	if err := migrate(bdb, migrations[:4]); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	full := &pmassist.Tenant{ID: pmassist.NewID(), Name: "Old", Tier: pmassist.TierFree, CreatedAt: base}
	empty := &pmassist.Tenant{ID: pmassist.NewID(), Name: "Empty", Tier: pmassist.TierFree, CreatedAt: base}
	item := func(ext string, created, updated time.Duration) *pmassist.Item {
		it := &pmassist.Item{ID: pmassist.NewID(), TenantID: full.ID, ConnectionID: "c1", Type: pmassist.ItemIssue,
			Service: pmassist.ServiceLinear, ExternalID: ext, Text: "old " + ext, CreatedAt: base.Add(created)}
		if updated != 0 {
			it.UpdatedAt = base.Add(updated)
		}
		return it
	}
	items := []*pmassist.Item{
		item("never-updated", 0, 0),                       // filed at its created time, 0h
		item("updated-later", -48*time.Hour, 2*time.Hour), // filed at 2h
		item("updated-before", 5*time.Hour, time.Hour),    // filed at its created time, 5h
		item("yesterday", -24*time.Hour, -23*time.Hour),   // filed at -23h
	}
	err := bdb.Update(func(tx *bolt.Tx) error {
		// Tenants as version 4 made them, spelled out, one with items.
		for _, tenant := range []*pmassist.Tenant{full, empty} {
			tb, err := tx.CreateBucket([]byte("t/" + tenant.ID))
			if err != nil {
				return err
			}
			for _, name := range []string{"members", "api_tokens", "invitations", "audit",
				"connections", "connection_workspaces", "connection_tokens", "oauth_apps",
				"items", "items_by_external", "items_by_time", "watermarks", "usage", "jobs", "jobs_active",
				"decisions", "decisions_by_time", "decisions_by_thread"} {
				if _, err := tb.CreateBucket([]byte(name)); err != nil {
					return err
				}
			}
			if err := putJSON(tb, []byte("tenant"), tenant); err != nil {
				return err
			}
			if tenant != full {
				continue
			}
			for _, it := range items {
				if err := putJSON(tb.Bucket([]byte("items")), []byte(it.ID), it); err != nil {
					return err
				}
				if err := tb.Bucket([]byte("items_by_external")).Put([]byte("linear\x00"+it.ExternalID), []byte(it.ID)); err != nil {
					return err
				}
				if err := tb.Bucket([]byte("items_by_time")).Put(append(u64(uint64(it.CreatedAt.UnixNano())), it.ID...), []byte{2}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		if v, err := schemaVersion(tx); err != nil || v != 4 {
			t.Fatalf("test file at version %d, %v; want 4", v, err)
		}
		if tx.Bucket([]byte("t/"+full.ID)).Bucket([]byte("items_by_updated")) != nil {
			t.Fatal("the version-4 file already has version 5's buckets")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, Options{NoSync: true, Keys: mustKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v < 5 {
		t.Errorf("schema version %d, %v; want at least 5", v, err)
	}
	wantKeys := map[string]bool{}
	for _, it := range items {
		filed := it.CreatedAt
		if it.UpdatedAt.After(filed) {
			filed = it.UpdatedAt
		}
		wantKeys[string(append(u64(uint64(filed.UnixNano())), it.ID...))] = true
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		for _, tenant := range []*pmassist.Tenant{full, empty} {
			tb := tx.Bucket([]byte("t/" + tenant.ID))
			for _, name := range []string{"items_by_updated", "teammates", "teammate_identities", "teammate_emails", "standups", "standups_by_date"} {
				if tb.Bucket([]byte(name)) == nil {
					t.Errorf("migrated tenant %s lacks %s", tenant.Name, name)
				}
			}
		}
		got := map[string]bool{}
		err := tx.Bucket([]byte("t/" + full.ID)).Bucket([]byte("items_by_updated")).ForEach(func(k, v []byte) error {
			got[string(k)] = true
			if v == nil || len(v) != 0 {
				t.Errorf("items_by_updated value %q", v)
			}
			return nil
		})
		if !reflect.DeepEqual(got, wantKeys) {
			t.Errorf("items_by_updated keys %x, want %x", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(wantKeys)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := pmassist.NewContextWithTenant(context.Background(), full.ID)
	window := func(from, to time.Duration) []string {
		t.Helper()
		list, err := db.ItemsUpdatedBetween(ctx, base.Add(from), base.Add(to))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range list {
			out = append(out, it.ExternalID)
		}
		return out
	}
	if got, want := window(0, 24*time.Hour), []string{"never-updated", "updated-later", "updated-before"}; !slices.Equal(got, want) {
		t.Errorf("the day after migration: %v, want %v", got, want)
	}
	if got := window(-24*time.Hour, 0); !slices.Equal(got, []string{"yesterday"}) {
		t.Errorf("the day before: %v", got)
	}
	// An old item updated again moves in the index migration 5 built.
	upd := *items[3]
	upd.ID, upd.UpdatedAt = "", base.Add(3*time.Hour)
	if res, err := db.UpsertItems(ctx, []*pmassist.Item{&upd}, nil, "2026-11", pmassist.Unlimited); err != nil || res.Updated != 1 {
		t.Fatalf("update of an old item: %+v, %v", res, err)
	}
	if got := window(-24*time.Hour, 0); len(got) != 0 {
		t.Errorf("the day before after the update: %v", got)
	}
	if got := window(0, 24*time.Hour); len(got) != 4 {
		t.Errorf("the day after the update: %v", got)
	}

	// The new collections work in both tenants.
	for _, tenant := range []*pmassist.Tenant{full, empty} {
		tctx := pmassist.NewContextWithTenant(context.Background(), tenant.ID)
		if err := db.ObserveIdentities(tctx, []pmassist.Identity{{Service: pmassist.ServiceSlack, ExternalID: "U1", Handle: "ada", Email: "ada@example.com"}}); err != nil {
			t.Fatal(err)
		}
		if list, err := db.ListTeammates(tctx); err != nil || len(list) != 1 {
			t.Errorf("teammates of migrated tenant %s: %v, %v", tenant.Name, list, err)
		}
		s := &pmassist.Standup{Date: "2026-11-27"}
		if err := db.SaveStandup(tctx, s); err != nil {
			t.Fatal(err)
		}
		if list, _, err := db.ListStandups(tctx, "", 0); err != nil || len(list) != 1 || list[0].ID != s.ID {
			t.Errorf("standups of migrated tenant %s: %v, %v", tenant.Name, list, err)
		}
	}
}

func TestMigration6_Notifications(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	bdb := openBolt(t, path)
	if err := migrate(bdb, migrations[:5]); err != nil {
		t.Fatal(err)
	}
	tenant := "t/" + pmassist.NewID()
	if err := bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte(tenant))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := migrate(bdb, migrations); err != nil {
		t.Fatal(err)
	}
	if err := bdb.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(tenant)).Bucket([]byte("notifications")) == nil {
			t.Error("migration 6 did not create notifications in an existing tenant")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMigration7_Billing upgrades a file written at version 6, with a tenant
// in it, and checks that the file gains the billing buckets and that billing
// works in the old tenant, whose state is absent until first written.
func TestMigration7_Billing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	bdb := openBolt(t, path)
	if err := migrate(bdb, migrations[:6]); err != nil {
		t.Fatal(err)
	}
	tenant := &pmassist.Tenant{ID: pmassist.NewID(), Name: "Old", Tier: pmassist.TierFree, CreatedAt: time.Now().UTC()}
	err := bdb.Update(func(tx *bolt.Tx) error {
		// A tenant as version 6 made it, spelled out.
		tb, err := tx.CreateBucket([]byte("t/" + tenant.ID))
		if err != nil {
			return err
		}
		for _, name := range []string{"members", "api_tokens", "invitations", "audit",
			"connections", "connection_workspaces", "connection_tokens", "oauth_apps",
			"items", "items_by_external", "items_by_time", "watermarks", "usage", "jobs", "jobs_active",
			"decisions", "decisions_by_time", "decisions_by_thread",
			"items_by_updated", "teammates", "teammate_identities", "teammate_emails", "standups", "standups_by_date",
			"notifications"} {
			if _, err := tb.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return putJSON(tb, []byte("tenant"), tenant)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		if v, err := schemaVersion(tx); err != nil || v != 6 {
			t.Fatalf("test file at version %d, %v; want 6", v, err)
		}
		for _, name := range []string{"billing_events", "billing_event_times", "stripe_customers"} {
			if tx.Bucket([]byte(name)) != nil {
				t.Fatalf("the version-6 file already has %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, Options{NoSync: true, Keys: mustKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v < 7 {
		t.Errorf("schema version %d, %v; want at least 7", v, err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"billing_events", "billing_event_times", "stripe_customers"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("migrated file lacks %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := pmassist.NewContextWithTenant(context.Background(), tenant.ID)
	if b, err := db.BillingState(ctx); err != nil || !reflect.DeepEqual(*b, pmassist.BillingState{}) {
		t.Errorf("billing state of a migrated tenant %+v, %v", b, err)
	}
	applied, err := db.UpdateBilling(ctx, "evt_1", func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		b.CustomerID, b.SubscriptionID, b.Status, b.SubscribedTier = "cus_1", "sub_1", pmassist.StripeActive, pmassist.TierPro
		t.Tier = pmassist.TierPro
		return &pmassist.AuditEvent{Actor: "system", Action: "billing.test"}, nil
	})
	if err != nil || !applied {
		t.Fatalf("billing update of a migrated tenant: %v, %v", applied, err)
	}
	if id, err := db.TenantByCustomer(context.Background(), "cus_1"); err != nil || id != tenant.ID {
		t.Errorf("customer of a migrated tenant leads to %q, %v", id, err)
	}
	if ids, err := db.ListBilledTenants(context.Background()); err != nil || !slices.Equal(ids, []string{tenant.ID}) {
		t.Errorf("billed tenants %v, %v", ids, err)
	}
	if first, err := db.RecordBillingEvent(context.Background(), "evt_1"); err != nil || first {
		t.Errorf("recording an applied event in a migrated file: %v, %v", first, err)
	}
	if got, err := db.FindTenantByID(context.Background(), tenant.ID); err != nil || got.Name != "Old" || got.Tier != pmassist.TierPro {
		t.Errorf("tenant after migration: %+v, %v", got, err)
	}
}
