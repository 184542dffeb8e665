// Package store keeps all of PM Assistant's records in one bbolt file and
// implements the pmassist service interfaces on top of it. It is the only
// package that opens the data file; everyone else sees the interfaces.
//
// The data file holds this bucket tree ("/" ends a bucket, the rest are keys):
//
//	meta/                        "schema_version" -> 8-byte big-endian uint64; "app" -> "pmassist"
//	                             "file_id" -> 32 hex digits (16 random bytes, made once per file)
//	   key_checks/               <4-byte BE master key id> -> sealed "pmassist key check"
//	users/                       <user id> -> User JSON
//	users_by_email/              <normalized email> -> user id
//	user_tenants/<user id>/      <tenant id> -> role          (nested bucket per user)
//	sessions/                    <id hash> -> Session JSON
//	api_token_hashes/            <hash> -> "<tenant id>/<token id>"
//	invitation_hashes/           <hash> -> "<tenant id>/<invitation id>"
//	webhook_deliveries/          <service> ":" <delivery id> -> 8-byte BE unix seconds first seen
//	webhook_delivery_times/      <8-byte BE unix seconds><service> ":" <delivery id> -> nil   (pruning order)
//	billing_events/              <Stripe event id> -> 8-byte BE unix seconds first seen   (kept 30 days)
//	billing_event_times/         <8-byte BE unix seconds><Stripe event id> -> nil   (pruning order)
//	stripe_customers/            <Stripe customer id> -> tenant id
//	t/<tenant id>                (one TOP-LEVEL bucket per tenant; bucket name is "t/" + id)
//	   "tenant" (key)            -> Tenant JSON
//	   members/                  <user id> -> Membership JSON
//	   api_tokens/               <token id> -> APIToken JSON
//	   invitations/              <invitation id> -> Invitation JSON
//	   audit/                    <8-byte BE unix nanos><8-byte BE sequence> -> AuditEvent JSON
//	   connections/              <connection id> -> Connection JSON
//	   connection_workspaces/    <service> "\x00" <workspace id> -> connection id
//	   connection_tokens/        <connection id> -> sealed JSON {access_token, refresh_token, expiry}
//	   oauth_apps/               <service> -> sealed JSON {client_id, client_secret, signing_secret, updated_at}
//	   items/                    <item id> -> Item JSON
//	   items_by_external/        <service> "\x00" <external id> -> item id
//	   items_by_time/            <8-byte BE created unix nanos><item id> -> 1 byte service code (slack=1, linear=2, github=3)
//	   items_by_updated/         <8-byte BE unix nanos of max(updated, created)><item id> -> nil   (activity windows)
//	   watermarks/               <connection id> "\x00" <resource> -> Watermark JSON
//	   usage/                    <period "2006-01"> -> 8-byte BE count of new items
//	   jobs/                     <job id> -> Job JSON   (job ids from pmassist.NewID sort by creation)
//	   jobs_active/              <connection id> -> job id (queued or running)
//	   decisions/                <decision id> -> Decision JSON
//	   decisions_by_time/        <8-byte BE decided unix nanos><decision id> -> nil   (newest decided first listing)
//	   decisions_by_thread/      <thread key> -> decision id
//	   teammates/                <teammate id> -> Teammate JSON
//	   teammate_identities/      <service> "\x00" <external id> -> teammate id
//	   teammate_emails/          <normalized email> -> teammate id   (an email belongs to one teammate)
//	   standups/                 <standup id> -> Standup JSON
//	   standups_by_date/         <date "2006-01-02"> -> standup id   (one standup per date; newest first listing)
//	   notifications/            <event key> -> 8-byte BE unix seconds   (emails already sent, once per event)
//	   "config" (key)            -> TenantConfig JSON
//	   "billing" (key)           -> BillingState JSON   (absent until billing first touches the tenant)
//
// items_by_time lets the item list, the per-day chart and the cursor of a
// page work from keys alone: the chart and the service filter never decode
// an item. items_by_updated orders the same items by their last activity
// (the updated time, or the created time when that is later or the item
// has none), so that a day's activity is a range of keys.
//
// The teammate indexes hold exactly what the Teammate records say: an
// identity key leads to the one teammate listing that identity, an email
// key to the one teammate listing that email.
//
// meta/file_id names the file, not its state: it survives copies, so a
// restored older copy has the same id but a smaller bbolt transaction id.
// Together they are the DataVersion the search index checks itself against.
// A compaction (Compact) writes a new file whose bbolt transaction ids start
// again from 1, so it gives the file a new id as well: no state of the file
// before the compaction (a backup of it, restored) can have the version of
// one after it.
//
// Every transaction passes DB.gate for reading; Compact holds it for
// writing while it replaces the file (operations.go).
//
// "Sealed" values are encrypted with NaCl secretbox under a master key that
// never enters the file (see vault.go for the format). They are bound to the
// tenant and record they are stored at, so one copied elsewhere does not
// open. The key checks let Open refuse a wrong master key up front.
//
// stripe_customers leads the customer id a Stripe event names to the tenant
// whose billing state last named it. UpdateBilling maintains it in the
// transaction that changes the state, dropping an id the tenant no longer
// names (unless another tenant has taken it since).
//
// Each tenant gets its own top-level bucket so that a tenant-scoped call can
// only reach its tenant's records by construction: it resolves "t/<id>" from
// the context's tenant once and never looks anywhere else. The global buckets
// hold what must be found before a tenant is known (users, sessions, and the
// secret hashes that lead a request to its tenant).
package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names and fixed keys of the tree drawn in the package comment.
var (
	bucketMeta             = []byte("meta")
	bucketUsers            = []byte("users")
	bucketUsersByEmail     = []byte("users_by_email")
	bucketUserTenants      = []byte("user_tenants")
	bucketSessions         = []byte("sessions")
	bucketAPITokenHashes   = []byte("api_token_hashes")
	bucketInvitationHashes = []byte("invitation_hashes")

	bucketMembers     = []byte("members")
	bucketAPITokens   = []byte("api_tokens")
	bucketInvitations = []byte("invitations")
	bucketAudit       = []byte("audit")

	bucketKeyChecks            = []byte("key_checks")
	bucketConnections          = []byte("connections")
	bucketConnectionWorkspaces = []byte("connection_workspaces")
	bucketConnectionTokens     = []byte("connection_tokens")
	bucketOAuthApps            = []byte("oauth_apps")

	bucketItems           = []byte("items")
	bucketItemsByExternal = []byte("items_by_external")
	bucketItemsByTime     = []byte("items_by_time")
	bucketWatermarks      = []byte("watermarks")
	bucketUsage           = []byte("usage")
	bucketJobs            = []byte("jobs")
	bucketJobsActive      = []byte("jobs_active")

	bucketDecisions         = []byte("decisions")
	bucketDecisionsByTime   = []byte("decisions_by_time")
	bucketDecisionsByThread = []byte("decisions_by_thread")

	bucketItemsByUpdated     = []byte("items_by_updated")
	bucketTeammates          = []byte("teammates")
	bucketNotifications      = []byte("notifications")
	bucketTeammateIdentities = []byte("teammate_identities")
	bucketTeammateEmails     = []byte("teammate_emails")
	bucketStandups           = []byte("standups")
	bucketStandupsByDate     = []byte("standups_by_date")

	bucketWebhookDeliveries    = []byte("webhook_deliveries")
	bucketWebhookDeliveryTimes = []byte("webhook_delivery_times")

	keySchemaVersion = []byte("schema_version")
	keyApp           = []byte("app")
	keyTenant        = []byte("tenant")
	keyConfig        = []byte("config")
	keyFileID        = []byte("file_id")
)

// tenantPrefix starts the name of every tenant bucket.
const tenantPrefix = "t/"

// appName marks a data file as ours in meta/app.
const appName = "pmassist"

// tenantCollections are the sub-buckets every tenant bucket has. A migration
// that adds a collection appends it here (for tenants created from then on)
// and creates it in every existing tenant, so that code reading a tenant
// bucket may rely on all of them being present.
var tenantCollections = [][]byte{
	bucketMembers, bucketAPITokens, bucketInvitations, bucketAudit,
	bucketConnections, bucketConnectionWorkspaces, bucketConnectionTokens, bucketOAuthApps,
	bucketItems, bucketItemsByExternal, bucketItemsByTime, bucketWatermarks, bucketUsage,
	bucketJobs, bucketJobsActive,
	bucketDecisions, bucketDecisionsByTime, bucketDecisionsByThread,
	bucketItemsByUpdated, bucketTeammates, bucketTeammateIdentities, bucketTeammateEmails,
	bucketStandups, bucketStandupsByDate,
	bucketNotifications,
}

// Options tune Open.
type Options struct {
	// Timeout bounds the wait for the file lock; 0 means 1s. Without a bound
	// a second pmassist on the same folder would hang instead of saying why.
	Timeout time.Duration
	// NoSync skips fsync after each commit. Only tests may set it: a crash
	// would lose committed data.
	NoSync bool
	// Keys seal and open connection tokens and own OAuth apps. Open checks
	// them against the data file and refuses a ring that does not match.
	// Without keys everything else works, but every call that seals or
	// opens a secret fails with ErrNoMasterKey.
	Keys *Keyring
}

// DB is the bbolt data file. It implements every pmassist service interface.
type DB struct {
	// gate is held for reading by every transaction (view, update and the
	// few direct uses of bolt) and for writing by Compact while it replaces
	// the file and swaps bolt. Nothing may take it twice in one goroutine:
	// a transaction callback never calls back into the store.
	gate  sync.RWMutex
	bolt  *bolt.DB
	bopts *bolt.Options // what bolt was opened with; Compact reopens with them
	path  string
	vault *vault
	// decisions are the decoded decisions of recent lists.
	decisions decodedDecisions
	// decisionVersions moves a tenant's number on every committed change
	// to its decisions (DecisionsVersion).
	decisionVersions decisionVersions
}

// minMmapSize is the least address space the data file is mapped into.
const minMmapSize = 1 << 30

// initialMmapSize is how much of the address space bbolt maps the data file
// into at Open: at least minMmapSize, or twice the file. bbolt must remap
// the file once it outgrows its map, and a remap waits for every open read
// transaction while new ones queue behind it — a backup streaming the file
// holds one for seconds, and would stop every write and read of the
// appliance meanwhile (docs/benchmarks.md, figure 6). The map is address
// space, not memory: only the pages read are resident.
func initialMmapSize(fileSize int64) int {
	return int(max(minMmapSize, 2*fileSize))
}

// Open opens (creating it if needed) the data file at path and brings its
// schema up to date. With opts.Keys it also checks that the ring holds every
// master key the file was sealed with, and that each is the right one.
func Open(path string, opts Options) (*DB, error) {
	if opts.Keys != nil && opts.Keys.ActiveID() == 0 {
		return nil, errors.New("the master key ring is empty")
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	bopts := &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync, InitialMmapSize: initialMmapSize(0)}
	if fi, err := os.Stat(path); err == nil {
		bopts.InitialMmapSize = initialMmapSize(fi.Size())
	}
	bdb, err := bolt.Open(path, 0o600, bopts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("data file %s is in use by another process (is another pmassist running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open data file %s: %w", path, err)
	}
	if err := migrate(bdb, migrations); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v := &vault{keys: opts.Keys}
	if opts.Keys != nil {
		var done bool
		err := bdb.View(func(tx *bolt.Tx) error {
			var err error
			done, err = v.keysChecked(tx)
			return err
		})
		if err == nil && !done {
			err = bdb.Update(v.checkKeys)
		}
		if err != nil {
			_ = bdb.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &DB{bolt: bdb, bopts: bopts, path: path, vault: v}, nil
}

// Close releases the data file. No call may be made afterwards.
func (db *DB) Close() error {
	db.gate.Lock()
	defer db.gate.Unlock()
	return db.bolt.Close()
}

// Path returns the path of the data file.
func (db *DB) Path() string { return db.path }

// Size returns the size of the data file on disk in bytes, 0 when it cannot
// be read. It takes no lock: a compaction does not hold it up.
func (db *DB) Size() int64 {
	fi, err := os.Stat(db.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// viewBolt runs fn in a read transaction behind the gate, for the callers
// that need no context.
func (db *DB) viewBolt(fn func(*bolt.Tx) error) error {
	db.gate.RLock()
	defer db.gate.RUnlock()
	return db.bolt.View(fn)
}

// SchemaVersion returns the schema version recorded in the data file.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.viewBolt(func(tx *bolt.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	})
	return v, err
}

// Ping checks that the data file is open and readable, cheaply enough for a
// readiness probe.
func (db *DB) Ping(ctx context.Context) error {
	return db.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("data file has no meta bucket")
		}
		return nil
	})
}

// view and update refuse to start a transaction for a caller that has
// already given up; bbolt itself knows nothing of contexts. Both pass the
// gate, so that a compaction waits for them and they wait for it.
func (db *DB) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.viewBolt(fn)
}

func (db *DB) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.gate.RLock()
	defer db.gate.RUnlock()
	return db.bolt.Update(fn)
}

// viewTenant runs fn in a read-only transaction on the context's tenant
// bucket. Every tenant-scoped read goes through it, so none can forget the
// tenant or reach another tenant's bucket.
func (db *DB) viewTenant(ctx context.Context, fn func(tx *bolt.Tx, tb *bolt.Bucket) error) error {
	return db.withTenant(ctx, db.view, fn)
}

// updateTenant is viewTenant for writes.
func (db *DB) updateTenant(ctx context.Context, fn func(tx *bolt.Tx, tb *bolt.Bucket) error) error {
	return db.withTenant(ctx, db.update, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		packAppended(tb)
		return fn(tx, tb)
	})
}

// appendedBuckets are the tenant buckets whose new keys come after every
// key they hold: records keyed by pmassist.NewID (increasing within a
// process) and the audit log keyed by time.
var appendedBuckets = [][]byte{bucketItems, bucketDecisions, bucketJobs, bucketAudit}

// appendFillPercent is how full bbolt fills a page before it splits one of
// appendedBuckets. bbolt's default, 50%, suits keys that land anywhere; for
// keys that always land at the end it leaves every page half empty for
// good: a million items took 1.9 GB of pages for 0.7 GB of records (37%
// used), and every page read is resident memory. Records that grow later
// (edits, reactions) use the 10% left.
const appendFillPercent = 0.9

// packAppended sets the fill of a write transaction's appendedBuckets
// (bbolt keeps the setting on the bucket handle, which a transaction
// reuses).
func packAppended(tb *bolt.Bucket) {
	for _, name := range appendedBuckets {
		if b := tb.Bucket(name); b != nil {
			b.FillPercent = appendFillPercent
		}
	}
}

// withTenant runs fn through run (db.view or db.update) on the context
// tenant's bucket.
func (db *DB) withTenant(ctx context.Context, run func(context.Context, func(*bolt.Tx) error) error, fn func(tx *bolt.Tx, tb *bolt.Bucket) error) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	return run(ctx, func(tx *bolt.Tx) error {
		tb, err := tenantBucket(tx, tenantID)
		if err != nil {
			return err
		}
		return fn(tx, tb)
	})
}

// tenantBucket returns the bucket of a tenant, the only place a
// tenant-scoped call may read or write.
func tenantBucket(tx *bolt.Tx, tenantID string) (*bolt.Bucket, error) {
	b := tx.Bucket(tenantBucketName(tenantID))
	if b == nil {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "tenant not found")
	}
	return b, nil
}

func tenantBucketName(tenantID string) []byte { return []byte(tenantPrefix + tenantID) }

// getJSON decodes the value at key into v and reports whether it was there.
// Decoding copies, so v stays valid after the transaction ends.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, decodeRecord(key, data, v)
}

// decode unmarshals the value stored at key.
func decode(key, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode record %q: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode record %q: %w", key, err)
	}
	return b.Put(key, data)
}

func countKeys(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// u64 encodes v big-endian so that byte order matches numeric order.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// indexRef is the value of a hash index: the tenant and the id of the record
// inside it.
func indexRef(tenantID, id string) []byte { return []byte(tenantID + "/" + id) }

func parseIndexRef(v []byte) (tenantID, id string, ok bool) {
	tenantID, id, ok = strings.Cut(string(v), "/")
	return tenantID, id, ok && tenantID != "" && id != ""
}

// insertIndexed stores v as record id of the tenant collection coll and
// indexes it in the global bucket index under the hash of its secret. A hash
// or id already taken is ECONFLICT "<what> already exists".
func insertIndexed(tx *bolt.Tx, tb *bolt.Bucket, index, coll []byte, tenantID, id, hash string, v any, what string) error {
	hashes := tx.Bucket(index)
	if hashes.Get([]byte(hash)) != nil {
		return pmassist.Errorf(pmassist.ECONFLICT, "%s already exists", what)
	}
	records := tb.Bucket(coll)
	if records.Get([]byte(id)) != nil {
		return pmassist.Errorf(pmassist.ECONFLICT, "%s already exists", what)
	}
	if err := putJSON(records, []byte(id), v); err != nil {
		return err
	}
	return hashes.Put([]byte(hash), indexRef(tenantID, id))
}

// findIndexed follows the entry of hash in the global bucket index to its
// record in the collection coll of whichever tenant holds it, decodes the
// record into v and returns that tenant's bucket. It returns a nil bucket when
// the hash leads nowhere. The caller still checks that the record carries
// hash: the index is not trusted on its own.
func findIndexed(tx *bolt.Tx, index, coll []byte, hash string, v any) (*bolt.Bucket, error) {
	tenantID, id, ok := parseIndexRef(tx.Bucket(index).Get([]byte(hash)))
	if !ok {
		return nil, nil
	}
	tb := tx.Bucket(tenantBucketName(tenantID))
	if tb == nil {
		return nil, nil
	}
	found, err := getJSON(tb.Bucket(coll), []byte(id), v)
	if err != nil || !found {
		return nil, err
	}
	return tb, nil
}
