package store

import (
	"context"
	"encoding/base64"
	"slices"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.StandupService = (*DB)(nil)

// Page sizes of ListStandups (api.md: default 50, max 200).
const (
	defaultStandupLimit = 50
	maxStandupLimit     = 200
)

// dateLayout is the layout of a standup's date, the key of standups_by_date.
const dateLayout = "2006-01-02"

const dateRule = "must be a day as 2006-01-02"

func validDate(s string) bool {
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

// prepareStandup returns the copy of s to store in tenantID, sharing no
// slice with s: lists never nil, times in UTC. Deliveries stay nil when s
// has none, so that SaveStandup can tell "keep the stored ones".
func prepareStandup(s *pmassist.Standup, tenantID string) *pmassist.Standup {
	n := *s
	n.TenantID = tenantID
	n.WindowFrom = n.WindowFrom.UTC()
	n.WindowTo = n.WindowTo.UTC()
	n.People = make([]pmassist.StandupPerson, len(s.People))
	for i, p := range s.People {
		p.Done = nonNil(slices.Clone(p.Done))
		p.InProgress = nonNil(slices.Clone(p.InProgress))
		p.Blockers = nonNil(slices.Clone(p.Blockers))
		n.People[i] = p
	}
	n.DecisionIDs = nonNil(slices.Clone(s.DecisionIDs))
	if s.Deliveries != nil {
		n.Deliveries = prepareDeliveries(s.Deliveries)
	}
	return &n
}

// prepareDeliveries returns a copy of ds to store: never nil, times in UTC.
func prepareDeliveries(ds []pmassist.Delivery) []pmassist.Delivery {
	out := make([]pmassist.Delivery, len(ds))
	for i, d := range ds {
		d.UpdatedAt = d.UpdatedAt.UTC()
		d.NextTryAt = utcPtr(d.NextTryAt)
		d.SentAt = utcPtr(d.SentAt)
		out[i] = d
	}
	return out
}

func readStandup(tb *bolt.Bucket, id []byte) (*pmassist.Standup, error) {
	var s pmassist.Standup
	ok, err := getJSON(tb.Bucket(bucketStandups), id, &s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "standup not found")
	}
	return &s, nil
}

// SaveStandup stores the standup of s.Date in the context's tenant. A date
// that has a standup keeps its id, created time and deliveries (unless s
// brings deliveries, which then replace them) and takes everything else
// from s; a new date gets a new id. Ids and created times in s are never
// used. On success *s is the stored record.
func (db *DB) SaveStandup(ctx context.Context, s *pmassist.Standup) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		return pmassist.Errorf(pmassist.EINVALID, "standup required")
	}
	if !validDate(s.Date) {
		return pmassist.FieldError(map[string]string{"date": dateRule})
	}
	n := prepareStandup(s, tenantID)
	now := time.Now().UTC()
	err = db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		records := tb.Bucket(bucketStandups)
		byDate := tb.Bucket(bucketStandupsByDate)
		var old pmassist.Standup
		found := false
		if id := byDate.Get([]byte(n.Date)); id != nil {
			// A dangling entry (a damaged file) is overwritten below as
			// if the date were new.
			if found, err = getJSON(records, id, &old); err != nil {
				return err
			}
		}
		if found {
			n.ID, n.CreatedAt = old.ID, old.CreatedAt
			if n.Deliveries == nil {
				n.Deliveries = old.Deliveries
			}
		} else {
			n.ID, n.CreatedAt = pmassist.NewID(), now
		}
		n.Deliveries = nonNil(n.Deliveries)
		n.UpdatedAt = now
		if err := putJSON(records, []byte(n.ID), n); err != nil {
			return err
		}
		return byDate.Put([]byte(n.Date), []byte(n.ID))
	})
	if err != nil {
		return err
	}
	*s = *n
	return nil
}

// FindStandup returns a standup of the context's tenant.
func (db *DB) FindStandup(ctx context.Context, id string) (*pmassist.Standup, error) {
	var s *pmassist.Standup
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		s, err = readStandup(tb, []byte(id))
		return err
	})
	return s, err
}

// FindStandupByDate returns the context tenant's standup of a date.
func (db *DB) FindStandupByDate(ctx context.Context, date string) (*pmassist.Standup, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, err
	}
	if !validDate(date) {
		return nil, pmassist.FieldError(map[string]string{"date": dateRule})
	}
	var s *pmassist.Standup
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		id := tb.Bucket(bucketStandupsByDate).Get([]byte(date))
		if id == nil {
			return pmassist.Errorf(pmassist.ENOTFOUND, "standup not found")
		}
		var err error
		s, err = readStandup(tb, id)
		return err
	})
	return s, err
}

// ListStandups returns a page of the context tenant's standups, newest date
// first, and the cursor of the next page ("" when this one is the last):
// the base64url of the page's last date.
func (db *DB) ListStandups(ctx context.Context, cursor string, limit int) ([]*pmassist.Standup, string, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, "", err
	}
	limit = pageLimit(limit, defaultStandupLimit, maxStandupLimit)
	after, err := decodeCursor(cursor, len(dateLayout))
	if err != nil {
		return nil, "", err
	}
	if after != nil && !validDate(string(after)) {
		return nil, "", pmassist.Errorf(pmassist.EINVALID, "invalid cursor")
	}
	list := []*pmassist.Standup{}
	var next string
	err = db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		records := tb.Bucket(bucketStandups)
		c := tb.Bucket(bucketStandupsByDate).Cursor()
		var last []byte
		k, v := seekBefore(c, after)
		for ; k != nil && len(list) < limit; k, v = c.Prev() {
			data := records.Get(v)
			if data == nil {
				continue
			}
			var s pmassist.Standup
			if err := decode(v, data, &s); err != nil {
				return err
			}
			list = append(list, &s)
			last = k
		}
		// Entries that lead nowhere do not make a next page.
		for ; k != nil && records.Get(v) == nil; k, v = c.Prev() {
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

// UpdateDeliveries replaces the deliveries of a standup of the context's
// tenant and returns the stored standup.
func (db *DB) UpdateDeliveries(ctx context.Context, id string, ds []pmassist.Delivery) (*pmassist.Standup, error) {
	var s *pmassist.Standup
	deliveries := prepareDeliveries(ds)
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if s, err = readStandup(tb, []byte(id)); err != nil {
			return err
		}
		s.Deliveries = deliveries
		s.UpdatedAt = time.Now().UTC()
		return putJSON(tb.Bucket(bucketStandups), []byte(s.ID), s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
