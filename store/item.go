package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var (
	_ pmassist.ItemService  = (*DB)(nil)
	_ pmassist.ItemsUpdated = (*DB)(nil)
)

// Page sizes of ListItems (api.md: default 50, max 200).
const (
	defaultItemLimit = 50
	maxItemLimit     = 200
)

// timePrefixLen is the length of the time before the item id in an
// items_by_time key.
const timePrefixLen = 8

// periodLayout is the layout of a usage period.
const periodLayout = "2006-01"

// Service codes, the values of items_by_time. They are part of the file
// format: never renumber one.
const (
	codeSlack  byte = 1
	codeLinear byte = 2
	codeGitHub byte = 3
)

// serviceCode returns the code of s, 0 for an unknown service.
func serviceCode(s pmassist.Service) byte {
	switch s {
	case pmassist.ServiceSlack:
		return codeSlack
	case pmassist.ServiceLinear:
		return codeLinear
	case pmassist.ServiceGitHub:
		return codeGitHub
	}
	return 0
}

// codeService returns the service of a code, "" for an unknown one.
func codeService(c byte) pmassist.Service {
	switch c {
	case codeSlack:
		return pmassist.ServiceSlack
	case codeLinear:
		return pmassist.ServiceLinear
	case codeGitHub:
		return pmassist.ServiceGitHub
	}
	return ""
}

// The times an 8-byte key can hold: unix nanoseconds from 1970 to 2262.
var (
	minKeyTime = time.Unix(0, 0)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

// keyNanos returns t as unsigned unix nanoseconds for a time key, clamped
// to the range a key can hold: a zero or otherwise absurd time sorts first
// (or last) instead of wrapping around.
func keyNanos(t time.Time) uint64 {
	switch {
	case t.Before(minKeyTime):
		return 0
	case t.After(maxKeyTime):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// itemTimeKey is the key of an item in items_by_time.
func itemTimeKey(created time.Time, id string) []byte {
	return append(u64(keyNanos(created)), id...)
}

// itemActivity is the time an item is filed under in items_by_updated: its
// updated time, or its created time when that is later (an item that never
// reported an update has a zero updated time).
func itemActivity(created, updated time.Time) time.Time {
	if updated.After(created) {
		return updated
	}
	return created
}

// itemUpdatedKey is the key of an item in items_by_updated.
func itemUpdatedKey(created, updated time.Time, id string) []byte {
	return itemTimeKey(itemActivity(created, updated), id)
}

// externalKey is the key of an item in items_by_external. No service name
// contains a zero byte, so keys of different services cannot collide.
func externalKey(s pmassist.Service, externalID string) []byte {
	return []byte(string(s) + "\x00" + externalID)
}

// watermarkKey is the key of a watermark; watermarkPrefix starts the keys
// of all of a connection's watermarks.
func watermarkKey(connectionID, resource string) []byte {
	return []byte(connectionID + "\x00" + resource)
}

func watermarkPrefix(connectionID string) []byte { return []byte(connectionID + "\x00") }

// UpsertItems stores a page of items in the context's tenant and, when wm
// is not nil and the quota did not stop the page, the watermark, all in one
// transaction. An invalid item refuses the whole page. An item already
// stored under its (service, external id) keeps its id and ingested time and
// takes everything else from the page; a new one counts against the usage
// of period, and with quota >= 0 the page stops at the first new item the
// quota has no room for. The ids of the stored items (and the tenant) are
// written back into items. items_by_time and items_by_updated follow each
// item in the same transaction.
func (db *DB) UpsertItems(ctx context.Context, items []*pmassist.Item, wm *pmassist.Watermark, period string, quota int) (pmassist.UpsertResult, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return pmassist.UpsertResult{}, err
	}
	if err := validatePage(items, wm, period); err != nil {
		return pmassist.UpsertResult{}, err
	}
	now := time.Now().UTC()
	var res pmassist.UpsertResult
	ids := make([]string, 0, len(items))
	err = db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		records := tb.Bucket(bucketItems)
		byExternal := tb.Bucket(bucketItemsByExternal)
		byTime := tb.Bucket(bucketItemsByTime)
		byUpdated := tb.Bucket(bucketItemsByUpdated)
		usage := tb.Bucket(bucketUsage)
		used, err := readCount(usage, []byte(period))
		if err != nil {
			return err
		}
		for _, it := range items {
			s := normalizeItem(it, tenantID)
			ekey := externalKey(s.Service, s.ExternalID)
			var old pmassist.Item
			found := false
			if id := byExternal.Get(ekey); id != nil {
				// A dangling entry (a damaged file) is overwritten below as
				// if the item were new.
				if found, err = getJSON(records, id, &old); err != nil {
					return err
				}
			}
			if found {
				s.ID, s.IngestedAt = old.ID, old.IngestedAt
				if oldKey, newKey := itemTimeKey(old.CreatedAt, s.ID), itemTimeKey(s.CreatedAt, s.ID); !bytes.Equal(oldKey, newKey) {
					if err := byTime.Delete(oldKey); err != nil {
						return err
					}
					if err := byTime.Put(newKey, []byte{serviceCode(s.Service)}); err != nil {
						return err
					}
				}
				newKey := itemUpdatedKey(s.CreatedAt, s.UpdatedAt, s.ID)
				if oldKey := itemUpdatedKey(old.CreatedAt, old.UpdatedAt, s.ID); !bytes.Equal(oldKey, newKey) {
					if err := byUpdated.Delete(oldKey); err != nil {
						return err
					}
				}
				// Put even when the key did not move: it costs little
				// beside rewriting the item, and heals a missing entry.
				if err := byUpdated.Put(newKey, nil); err != nil {
					return err
				}
				if err := putJSON(records, []byte(s.ID), s); err != nil {
					return err
				}
				res.Updated++
				ids = append(ids, s.ID)
				continue
			}
			if quota >= 0 && used+uint64(res.New) >= uint64(quota) {
				res.QuotaReached = true
				break
			}
			if s.ID == "" {
				s.ID = pmassist.NewID()
			} else if records.Get([]byte(s.ID)) != nil {
				return pmassist.Errorf(pmassist.ECONFLICT, "item already exists")
			}
			s.IngestedAt = now
			if err := putJSON(records, []byte(s.ID), s); err != nil {
				return err
			}
			if err := byExternal.Put(ekey, []byte(s.ID)); err != nil {
				return err
			}
			if err := byTime.Put(itemTimeKey(s.CreatedAt, s.ID), []byte{serviceCode(s.Service)}); err != nil {
				return err
			}
			if err := byUpdated.Put(itemUpdatedKey(s.CreatedAt, s.UpdatedAt, s.ID), nil); err != nil {
				return err
			}
			res.New++
			ids = append(ids, s.ID)
		}
		if res.New > 0 {
			if err := usage.Put([]byte(period), u64(used+uint64(res.New))); err != nil {
				return err
			}
		}
		if wm != nil && !res.QuotaReached {
			return putJSON(tb.Bucket(bucketWatermarks), watermarkKey(wm.ConnectionID, wm.Resource), wm)
		}
		return nil
	})
	if err != nil {
		return pmassist.UpsertResult{}, err
	}
	for i, id := range ids {
		items[i].ID, items[i].TenantID = id, tenantID
	}
	return res, nil
}

// validatePage checks a whole page before anything is written.
func validatePage(items []*pmassist.Item, wm *pmassist.Watermark, period string) error {
	f := map[string]string{}
	if _, err := time.Parse(periodLayout, period); err != nil {
		f["period"] = "must be a month as 2006-01"
	}
	for i, it := range items {
		if it == nil {
			f[fmt.Sprintf("items[%d]", i)] = "required"
			continue
		}
		if !it.Type.Valid() {
			f[fmt.Sprintf("items[%d].type", i)] = "must be message, issue or pull_request"
		}
		if !it.Service.Valid() {
			f[fmt.Sprintf("items[%d].service", i)] = "must be slack, linear or github"
		}
		if it.ExternalID == "" {
			f[fmt.Sprintf("items[%d].external_id", i)] = "required"
		}
	}
	if wm != nil {
		if wm.ConnectionID == "" {
			f["watermark.connection_id"] = "required"
		}
		if wm.Resource == "" {
			f["watermark.resource"] = "required"
		}
	}
	if len(f) > 0 {
		return pmassist.FieldError(f)
	}
	return nil
}

// normalizeItem returns the copy of it to store: in the tenant, times in UTC.
func normalizeItem(it *pmassist.Item, tenantID string) *pmassist.Item {
	s := *it
	s.TenantID = tenantID
	s.CreatedAt = s.CreatedAt.UTC()
	s.UpdatedAt = s.UpdatedAt.UTC()
	s.MergedAt = utcPtr(s.MergedAt)
	s.ClosedAt = utcPtr(s.ClosedAt)
	s.CompletedAt = utcPtr(s.CompletedAt)
	return &s
}

// readCount reads an 8-byte big-endian counter; a missing one is 0.
func readCount(b *bolt.Bucket, key []byte) (uint64, error) {
	v := b.Get(key)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("counter %q has %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// FindItem returns an item of the context's tenant.
func (db *DB) FindItem(ctx context.Context, id string) (*pmassist.Item, error) {
	var it *pmassist.Item
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		it, err = readItem(tb, []byte(id))
		return err
	})
	return it, err
}

// FindItemByExternalID returns the context tenant's item of a service by
// its provider id.
func (db *DB) FindItemByExternalID(ctx context.Context, service pmassist.Service, externalID string) (*pmassist.Item, error) {
	var it *pmassist.Item
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		id := tb.Bucket(bucketItemsByExternal).Get(externalKey(service, externalID))
		if id == nil {
			return pmassist.Errorf(pmassist.ENOTFOUND, "item not found")
		}
		var err error
		it, err = readItem(tb, id)
		return err
	})
	return it, err
}

func readItem(tb *bolt.Bucket, id []byte) (*pmassist.Item, error) {
	var it pmassist.Item
	ok, err := getJSON(tb.Bucket(bucketItems), id, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "item not found")
	}
	return &it, nil
}

// ListItems returns a page of the context tenant's items, newest created
// first, and the cursor of the next page ("" when this one is the last). It
// walks items_by_time backwards, so the service filter costs no decoding.
// The type filter must look into each item; with it, a cursor may lead to
// an empty last page.
func (db *DB) ListItems(ctx context.Context, f pmassist.ItemFilter) ([]*pmassist.Item, string, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, "", err
	}
	fields := map[string]string{}
	if f.Type != "" && !f.Type.Valid() {
		fields["type"] = "must be message, issue or pull_request"
	}
	var code byte
	if f.Service != "" {
		if code = serviceCode(f.Service); code == 0 {
			fields["service"] = "must be slack, linear or github"
		}
	}
	if len(fields) > 0 {
		return nil, "", pmassist.FieldError(fields)
	}
	limit := pageLimit(f.Limit, defaultItemLimit, maxItemLimit)
	after, err := decodeCursor(f.Cursor, timePrefixLen+1)
	if err != nil {
		return nil, "", err
	}
	serviceMatches := func(v []byte) bool { return code == 0 || (len(v) == 1 && v[0] == code) }

	var list []*pmassist.Item
	var next string
	err = db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		records := tb.Bucket(bucketItems)
		c := tb.Bucket(bucketItemsByTime).Cursor()
		var last []byte
		k, v := seekBefore(c, after)
		for ; k != nil && len(list) < limit; k, v = c.Prev() {
			if len(k) <= timePrefixLen || !serviceMatches(v) {
				continue
			}
			data := records.Get(k[timePrefixLen:])
			if data == nil {
				continue
			}
			if f.Type != "" {
				var probe struct {
					Type pmassist.ItemType `json:"type"`
				}
				if err := decode(k[timePrefixLen:], data, &probe); err != nil {
					return err
				}
				if probe.Type != f.Type {
					continue
				}
			}
			var it pmassist.Item
			if err := decode(k[timePrefixLen:], data, &it); err != nil {
				return err
			}
			list = append(list, &it)
			last = k
		}
		// A next page exists if a key the service filter lets through is
		// left; whether it passes the type filter is for that page to find.
		for ; k != nil && !serviceMatches(v); k, v = c.Prev() {
		}
		if k != nil && last != nil {
			next = base64.RawURLEncoding.EncodeToString(last)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// pageLimit applies a list's default and maximum page size.
func pageLimit(limit, def, maxLimit int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, maxLimit)
}

// decodeCursor decodes a page cursor: the base64url of the key of the last
// record of the previous page, at least minLen bytes long. "" is nil.
func decodeCursor(cursor string, minLen int) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	after, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(after) < minLen {
		return nil, pmassist.Errorf(pmassist.EINVALID, "invalid cursor")
	}
	return after, nil
}

// seekBefore positions c on the last key strictly before after, or on the
// last key when after is nil.
func seekBefore(c *bolt.Cursor, after []byte) ([]byte, []byte) {
	if after == nil {
		return c.Last()
	}
	if k, _ := c.Seek(after); k != nil {
		// Seek lands on the first key >= after, so the one before it is
		// the newest strictly older than the cursor.
		return c.Prev()
	}
	return c.Last()
}

// DeleteConnectionItems removes every item of the context's tenant that
// came through connectionID, with its index entries, and the connection's
// watermarks. It returns how many items it removed. Usage already counted
// stays counted.
func (db *DB) DeleteConnectionItems(ctx context.Context, connectionID string) ([]string, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, err
	}
	if connectionID == "" {
		return nil, pmassist.FieldError(map[string]string{"connection_id": "required"})
	}
	var ids []string
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		ids = nil
		records := tb.Bucket(bucketItems)
		byExternal := tb.Bucket(bucketItemsByExternal)
		byTime := tb.Bucket(bucketItemsByTime)
		byUpdated := tb.Bucket(bucketItemsByUpdated)
		type victim struct {
			id, ekey, tkey, ukey []byte
		}
		var victims []victim
		// Keys are collected first: bbolt does not promise a cursor
		// survives deletes under it.
		err := records.ForEach(func(k, v []byte) error {
			var probe struct {
				ConnectionID string           `json:"connection_id"`
				Service      pmassist.Service `json:"service"`
				ExternalID   string           `json:"external_id"`
				CreatedAt    time.Time        `json:"created_at"`
				UpdatedAt    time.Time        `json:"updated_at"`
			}
			if err := decode(k, v, &probe); err != nil {
				return err
			}
			if probe.ConnectionID == connectionID {
				id := bytes.Clone(k)
				victims = append(victims, victim{id, externalKey(probe.Service, probe.ExternalID),
					itemTimeKey(probe.CreatedAt, string(id)), itemUpdatedKey(probe.CreatedAt, probe.UpdatedAt, string(id))})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, v := range victims {
			if bytes.Equal(byExternal.Get(v.ekey), v.id) {
				if err := byExternal.Delete(v.ekey); err != nil {
					return err
				}
			}
			if err := byTime.Delete(v.tkey); err != nil {
				return err
			}
			if err := byUpdated.Delete(v.ukey); err != nil {
				return err
			}
			if err := records.Delete(v.id); err != nil {
				return err
			}
		}
		for _, v := range victims {
			ids = append(ids, string(v.id))
		}

		watermarks := tb.Bucket(bucketWatermarks)
		prefix := watermarkPrefix(connectionID)
		var keys [][]byte
		c := watermarks.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := watermarks.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// Watermark returns a watermark of the context's tenant, zero when there is
// none yet.
func (db *DB) Watermark(ctx context.Context, connectionID, resource string) (pmassist.Watermark, error) {
	var wm pmassist.Watermark
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		_, err := getJSON(tb.Bucket(bucketWatermarks), watermarkKey(connectionID, resource), &wm)
		return err
	})
	if err != nil {
		return pmassist.Watermark{}, err
	}
	return wm, nil
}

// ItemsIngested returns the context tenant's count of new items in period.
func (db *DB) ItemsIngested(ctx context.Context, period string) (int, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return 0, err
	}
	if _, err := time.Parse(periodLayout, period); err != nil {
		return 0, pmassist.FieldError(map[string]string{"period": "must be a month as 2006-01"})
	}
	var n uint64
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		n, err = readCount(tb.Bucket(bucketUsage), []byte(period))
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// ItemsPerDay counts the context tenant's items created from since on, per
// day in loc ("2006-01-02") and service. It reads only items_by_time keys
// and values, never an item.
func (db *DB) ItemsPerDay(ctx context.Context, since time.Time, loc *time.Location) (map[string]map[pmassist.Service]int, error) {
	if loc == nil {
		loc = time.UTC
	}
	out := map[string]map[pmassist.Service]int{}
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		// Keys come in time order, so the day of the previous key is
		// usually the day of this one too: [start, end) caches it.
		var start, end int64
		var day map[pmassist.Service]int
		c := tb.Bucket(bucketItemsByTime).Cursor()
		for k, v := c.Seek(u64(keyNanos(since))); k != nil; k, v = c.Next() {
			if len(k) <= timePrefixLen || len(v) != 1 {
				continue
			}
			s := codeService(v[0])
			if s == "" {
				continue
			}
			nanos := int64(binary.BigEndian.Uint64(k[:timePrefixLen]))
			if day == nil || nanos < start || nanos >= end {
				y, m, d := time.Unix(0, nanos).In(loc).Date()
				first := time.Date(y, m, d, 0, 0, 0, 0, loc)
				start, end = first.UnixNano(), time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixNano()
				name := first.Format("2006-01-02")
				if day = out[name]; day == nil {
					day = map[pmassist.Service]int{}
					out[name] = day
				}
			}
			day[s]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ItemsUpdatedBetween returns the context tenant's items whose activity
// time (see itemActivity) is in [from, to), oldest first: the items updated
// in the window, and those created in it that report no later update. It
// reads a range of items_by_updated keys and decodes only the items in it.
func (db *DB) ItemsUpdatedBetween(ctx context.Context, from, to time.Time) ([]*pmassist.Item, error) {
	list := []*pmassist.Item{}
	lo, hi := keyNanos(from), keyNanos(to)
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		records := tb.Bucket(bucketItems)
		c := tb.Bucket(bucketItemsByUpdated).Cursor()
		for k, _ := c.Seek(u64(lo)); k != nil; k, _ = c.Next() {
			if len(k) <= timePrefixLen {
				continue
			}
			if binary.BigEndian.Uint64(k[:timePrefixLen]) >= hi {
				break
			}
			id := k[timePrefixLen:]
			data := records.Get(id)
			if data == nil {
				continue
			}
			var it pmassist.Item
			if err := decode(id, data, &it); err != nil {
				return err
			}
			list = append(list, &it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}
