package store

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/nacl/secretbox"
)

// ErrNoMasterKey is returned by every call that seals or opens a secret on a
// DB opened without Options.Keys.
var ErrNoMasterKey = errors.New("no master key configured")

// A sealed value is
//
//	0x01 (format version) | key id (4 bytes big-endian) | nonce (24 bytes) | secretbox.Seal output
//
// The key id says which master key of the ring opens it, so that keys can be
// rotated value by value. The secretbox key is not the master key itself but
// one derived from it for the record the value belongs to (tenant, kind and
// record id), so a value copied into another tenant's or another record's
// place does not open there.
const (
	sealFormat    = 0x01
	nonceSize     = 24
	sealHeaderLen = 1 + 4 + nonceSize
	sealMinLen    = sealHeaderLen + secretbox.Overhead
)

// hkdfSalt separates our derived keys from any other use of the master key.
const hkdfSalt = "pmassist vault v1"

// Kinds of sealed record: the middle part of what a sealed value is bound to.
const (
	kindConnectionToken = "connection_token"
	kindOAuthApp        = "oauth_app"
	kindKeyCheck        = "key_check"
)

// keyCheckText is what each key check seals.
const keyCheckText = "pmassist key check"

// vault seals and opens secrets with the master keys of a ring. A nil ring
// makes every call fail with ErrNoMasterKey.
type vault struct {
	keys *Keyring
}

// seal seals plaintext with the ring's active key, bound to its record.
func (v *vault) seal(tenantID, kind, recordID string, plaintext []byte) ([]byte, error) {
	if v.keys == nil || v.keys.ActiveID() == 0 {
		return nil, ErrNoMasterKey
	}
	return v.sealWith(v.keys.ActiveID(), tenantID, kind, recordID, plaintext)
}

// sealWith seals with the key of a given id (key checks need each key).
func (v *vault) sealWith(id uint32, tenantID, kind, recordID string, plaintext []byte) ([]byte, error) {
	if v.keys == nil {
		return nil, ErrNoMasterKey
	}
	master := v.keys.key(id)
	if master == nil {
		return nil, fmt.Errorf("master key %d is not in the key ring", id)
	}
	key, err := recordKey(master, tenantID, kind, recordID)
	if err != nil {
		return nil, err
	}
	out := make([]byte, sealHeaderLen, sealHeaderLen+len(plaintext)+secretbox.Overhead)
	out[0] = sealFormat
	binary.BigEndian.PutUint32(out[1:5], id)
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("seal %s: %w", kind, err)
	}
	copy(out[5:], nonce[:])
	return secretbox.Seal(out, plaintext, &nonce, key), nil
}

// open returns the plaintext of a value sealed for its record. Its errors
// name the record, never its contents, and are internal (not *pmassist.Error)
// because a value that does not open is a fault of the installation, not of
// the request.
func (v *vault) open(tenantID, kind, recordID string, sealed []byte) ([]byte, error) {
	if v.keys == nil {
		return nil, ErrNoMasterKey
	}
	id, err := sealedKeyID(sealed)
	if err != nil {
		return nil, fmt.Errorf("sealed %s of %s: %w", kind, recordID, err)
	}
	master := v.keys.key(id)
	if master == nil {
		return nil, fmt.Errorf("sealed %s of %s needs master key %d, which is not in the key ring", kind, recordID, id)
	}
	if !separable(tenantID, kind, recordID) {
		// recordKey refuses such ids: nothing was sealed for them.
		return nil, fmt.Errorf("sealed %s of %s does not open: wrong key or moved value", kind, recordID)
	}
	key, err := recordKey(master, tenantID, kind, recordID)
	if err != nil {
		return nil, err
	}
	var nonce [nonceSize]byte
	copy(nonce[:], sealed[5:sealHeaderLen])
	plain, ok := secretbox.Open(nil, sealed[sealHeaderLen:], &nonce, key)
	if !ok {
		return nil, fmt.Errorf("sealed %s of %s does not open: wrong key or moved value", kind, recordID)
	}
	return plain, nil
}

// sealedKeyID returns the id of the master key that sealed a value.
func sealedKeyID(sealed []byte) (uint32, error) {
	if len(sealed) < sealMinLen {
		return 0, fmt.Errorf("sealed value is too short (%d bytes)", len(sealed))
	}
	if sealed[0] != sealFormat {
		return 0, fmt.Errorf("sealed value has unknown format %d", sealed[0])
	}
	return binary.BigEndian.Uint32(sealed[1:5]), nil
}

// recordKey derives the secretbox key of one record from a master key. The
// parts are joined with NUL bytes, so none may contain one: tenant "t" with
// record "a\x00kind\x00c" and tenant "t\x00kind\x00a" with record "c"
// would otherwise share a key.
func recordKey(master *[KeySize]byte, tenantID, kind, recordID string) (*[KeySize]byte, error) {
	if !separable(tenantID, kind, recordID) {
		return nil, fmt.Errorf("sealed %s: a tenant or record id contains a NUL byte", kind)
	}
	derived, err := hkdf.Key(sha256.New, master[:], []byte(hkdfSalt), tenantID+"\x00"+kind+"\x00"+recordID, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive key for %s: %w", kind, err)
	}
	var key [KeySize]byte
	copy(key[:], derived)
	clear(derived)
	return &key, nil
}

// separable reports whether the parts a value is bound to can be told
// apart once joined with NUL bytes.
func separable(parts ...string) bool {
	for _, p := range parts {
		if strings.IndexByte(p, 0) >= 0 {
			return false
		}
	}
	return true
}

// Key checks let Open tell a wrong master key from a right one before any
// token is read: meta/key_checks holds, per key id, keyCheckText sealed with
// that key. Without them a wrong PMASSIST_MASTER_KEY would surface only as
// tokens that do not open, one connection at a time.

func keyCheckKey(id uint32) []byte {
	k := make([]byte, 4)
	binary.BigEndian.PutUint32(k, id)
	return k
}

// checkKeys verifies the file's key checks against the ring and adds checks
// for the ring's keys the file does not have yet.
func (v *vault) checkKeys(tx *bolt.Tx) error {
	checks, err := tx.Bucket(bucketMeta).CreateBucketIfNotExists(bucketKeyChecks)
	if err != nil {
		return err
	}
	if err := v.verifyKeyChecks(checks); err != nil {
		return err
	}
	return v.addKeyChecks(checks)
}

// keysChecked verifies the key checks in a read transaction and reports
// whether every key of the ring already has one — then Open writes
// nothing (see migrate).
func (v *vault) keysChecked(tx *bolt.Tx) (bool, error) {
	checks := tx.Bucket(bucketMeta).Bucket(bucketKeyChecks)
	if checks == nil {
		return false, nil
	}
	if err := v.verifyKeyChecks(checks); err != nil {
		return false, err
	}
	for _, id := range v.keys.IDs() {
		if checks.Get(keyCheckKey(id)) == nil {
			return false, nil
		}
	}
	return true, nil
}

func (v *vault) verifyKeyChecks(checks *bolt.Bucket) error {
	return checks.ForEach(func(k, sealed []byte) error {
		if len(k) != 4 {
			return fmt.Errorf("key check %x has a malformed id", k)
		}
		id := binary.BigEndian.Uint32(k)
		if v.keys.key(id) == nil {
			return fmt.Errorf("this data file needs master key %d, which is not in the key ring", id)
		}
		plain, err := v.open("", kindKeyCheck, strconv.FormatUint(uint64(id), 10), sealed)
		if err != nil || !bytes.Equal(plain, []byte(keyCheckText)) {
			return fmt.Errorf("master key %d does not match this data file (is PMASSIST_MASTER_KEY or master.key the key this data file was created with?)", id)
		}
		return nil
	})
}

// addKeyChecks adds a check for every key of the ring that has none.
func (v *vault) addKeyChecks(checks *bolt.Bucket) error {
	for _, id := range v.keys.IDs() {
		if checks.Get(keyCheckKey(id)) != nil {
			continue
		}
		sealed, err := v.sealWith(id, "", kindKeyCheck, strconv.FormatUint(uint64(id), 10), []byte(keyCheckText))
		if err != nil {
			return err
		}
		if err := checks.Put(keyCheckKey(id), sealed); err != nil {
			return err
		}
	}
	return nil
}

// sealedCollections are the tenant collections whose values are sealed, each
// bound to its tenant, its kind and its key (the record id). Reseal and
// SealedKeyIDs walk exactly these.
var sealedCollections = []struct {
	bucket []byte
	kind   string
}{
	{bucketConnectionTokens, kindConnectionToken},
	{bucketOAuthApps, kindOAuthApp},
}

// Reseal re-seals every sealed value of every tenant with the ring's active
// key, in one transaction so that a failure leaves every value as it was,
// and makes sure each key of the ring has a key check. It returns how many
// values it re-sealed. This is the offline half of `pmassist keys rotate`.
func (db *DB) Reseal(ctx context.Context) (int, error) {
	if db.vault.keys == nil {
		return 0, ErrNoMasterKey
	}
	var n int
	err := db.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		err := forEachTenant(tx, func(tenantID string, tb *bolt.Bucket) error {
			for _, sc := range sealedCollections {
				b := tb.Bucket(sc.bucket)
				// Keys are copied out first: bbolt does not allow writes
				// inside ForEach.
				var ids [][]byte
				if err := b.ForEach(func(k, _ []byte) error {
					ids = append(ids, bytes.Clone(k))
					return nil
				}); err != nil {
					return err
				}
				for _, k := range ids {
					plain, err := db.vault.open(tenantID, sc.kind, string(k), b.Get(k))
					if err != nil {
						return fmt.Errorf("tenant %s: %w", tenantID, err)
					}
					sealed, err := db.vault.seal(tenantID, sc.kind, string(k), plain)
					clear(plain)
					if err != nil {
						return err
					}
					if err := b.Put(k, sealed); err != nil {
						return err
					}
					n++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		checks, err := tx.Bucket(bucketMeta).CreateBucketIfNotExists(bucketKeyChecks)
		if err != nil {
			return err
		}
		return db.vault.addKeyChecks(checks)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RetireKeys forgets master keys in the data file by deleting their key
// checks, after which the file opens with a ring that lacks them. It refuses
// the active key and any key that still seals a value (Reseal first), so
// retiring can never strand a secret.
func (db *DB) RetireKeys(ctx context.Context, ids ...uint32) error {
	if db.vault.keys == nil {
		return ErrNoMasterKey
	}
	for _, id := range ids {
		if id == db.vault.keys.ActiveID() {
			return fmt.Errorf("master key %d is the active key and cannot be retired", id)
		}
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		counts, err := sealedKeyCounts(tx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if n := counts[id]; n > 0 {
				return fmt.Errorf("master key %d still seals %d values; re-seal them with the active key first", id, n)
			}
		}
		checks := tx.Bucket(bucketMeta).Bucket(bucketKeyChecks)
		if checks == nil {
			return nil
		}
		for _, id := range ids {
			if err := checks.Delete(keyCheckKey(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

// SealedKeyIDs reports how many sealed values of all tenants each master key
// id seals (key checks not counted). It reads only the headers, so it works
// without any key.
func (db *DB) SealedKeyIDs(ctx context.Context) (map[uint32]int, error) {
	var counts map[uint32]int
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		counts, err = sealedKeyCounts(tx)
		return err
	})
	return counts, err
}

func sealedKeyCounts(tx *bolt.Tx) (map[uint32]int, error) {
	counts := map[uint32]int{}
	err := forEachTenant(tx, func(tenantID string, tb *bolt.Bucket) error {
		for _, sc := range sealedCollections {
			err := tb.Bucket(sc.bucket).ForEach(func(k, v []byte) error {
				id, err := sealedKeyID(v)
				if err != nil {
					return fmt.Errorf("tenant %s: sealed %s of %s: %w", tenantID, sc.kind, k, err)
				}
				counts[id]++
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return counts, err
}
