package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.DecisionService = (*DB)(nil)

// Page sizes of ListDecisions (api.md: default 50, max 200).
const (
	defaultDecisionLimit = 50
	maxDecisionLimit     = 200
)

// maxDecisionSources is the number of sources Decision.Validate accepts;
// merging detected sources stops there so that a stored decision stays valid.
const maxDecisionSources = 100

const (
	decisionStatusRule = "must be proposed, accepted, rejected or superseded"
	decisionOriginRule = "must be detected or manual"
)

func validDecisionOrigin(o string) bool {
	return o == pmassist.OriginDetected || o == pmassist.OriginManual
}

// decisionTimeKey is the key of a decision in decisions_by_time: the time it
// was decided, then its id, as for items.
func decisionTimeKey(decided time.Time, id string) []byte { return itemTimeKey(decided, id) }

// prepareDecision returns the copy of d to store in tenantID: validated and
// normalized, with the defaults of a new decision filled in. The copy shares
// no slice with d, so normalizing never changes the caller's decision.
func prepareDecision(d *pmassist.Decision, tenantID string, now time.Time) (*pmassist.Decision, error) {
	s := *d
	s.Signals = nonNil(slices.Clone(s.Signals))
	s.Participants = nonNil(slices.Clone(s.Participants))
	s.Tags = nonNil(slices.Clone(s.Tags))
	s.Sources = nonNil(slices.Clone(s.Sources))
	s.TenantID = tenantID
	if s.Origin == "" {
		s.Origin = pmassist.OriginManual
	}
	f := map[string]string{}
	if err := s.Validate(); err != nil {
		fields := pmassist.ErrorFields(err)
		if fields == nil {
			return nil, err
		}
		for k, v := range fields {
			f[k] = v
		}
	}
	if !validDecisionOrigin(s.Origin) {
		f["origin"] = decisionOriginRule
	}
	if math.IsNaN(s.Confidence) || s.Confidence < 0 || s.Confidence > 1 {
		f["confidence"] = "must be between 0 and 1"
	}
	if len(f) > 0 {
		return nil, pmassist.FieldError(f)
	}
	if s.ID == "" {
		s.ID = pmassist.NewID()
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.CreatedAt = s.CreatedAt.UTC()
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.CreatedAt
	}
	s.UpdatedAt = s.UpdatedAt.UTC()
	if s.DecidedAt.IsZero() {
		s.DecidedAt = s.CreatedAt
	}
	s.DecidedAt = s.DecidedAt.UTC()
	return &s, nil
}

// nonNil turns a nil slice into an empty one, so that it is stored (and
// served) as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CreateDecision stores a decision in the context's tenant. A decision that
// names a thread another decision of the tenant already has is ECONFLICT.
// On success *d is the stored record.
func (db *DB) CreateDecision(ctx context.Context, d *pmassist.Decision) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	s, err := prepareDecision(d, tenantID, time.Now().UTC())
	if err != nil {
		return err
	}
	err = db.updateDecisions(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		if s.SupersededBy != "" {
			// Created already replaced: the same rules as an update.
			if err := checkSuperseding(tb, s.ID, s.SupersededBy); err != nil {
				return err
			}
			s.Status = pmassist.DecisionSuperseded
		}
		return insertDecision(tb, s)
	})
	if err != nil {
		return err
	}
	*d = *s
	return nil
}

// insertDecision stores a prepared new decision with its index entries.
func insertDecision(tb *bolt.Bucket, s *pmassist.Decision) error {
	records := tb.Bucket(bucketDecisions)
	if records.Get([]byte(s.ID)) != nil {
		return pmassist.Errorf(pmassist.ECONFLICT, "decision already exists")
	}
	if s.ThreadKey != "" {
		existing, err := threadDecision(tb, s.ThreadKey)
		if err != nil {
			return err
		}
		if existing != nil {
			return pmassist.Errorf(pmassist.ECONFLICT, "the thread already has a decision")
		}
		if err := tb.Bucket(bucketDecisionsByThread).Put([]byte(s.ThreadKey), []byte(s.ID)); err != nil {
			return err
		}
	}
	if err := putJSON(records, []byte(s.ID), s); err != nil {
		return err
	}
	return tb.Bucket(bucketDecisionsByTime).Put(decisionTimeKey(s.DecidedAt, s.ID), nil)
}

// threadDecision returns the decision of a thread, nil when it has none. An
// entry that leads to no decision (a damaged file) counts as none.
func threadDecision(tb *bolt.Bucket, threadKey string) (*pmassist.Decision, error) {
	id := tb.Bucket(bucketDecisionsByThread).Get([]byte(threadKey))
	if id == nil {
		return nil, nil
	}
	var d pmassist.Decision
	found, err := getJSON(tb.Bucket(bucketDecisions), id, &d)
	if err != nil || !found {
		return nil, err
	}
	return &d, nil
}

// checkSuperseding checks that decision id may be superseded by target.
func checkSuperseding(tb *bolt.Bucket, id, target string) error {
	if target == id {
		return pmassist.FieldError(map[string]string{"superseded_by": "a decision cannot supersede itself"})
	}
	if tb.Bucket(bucketDecisions).Get([]byte(target)) == nil {
		return pmassist.Errorf(pmassist.ENOTFOUND, "superseding decision not found")
	}
	return nil
}

// FindDecision returns a decision of the context's tenant.
func (db *DB) FindDecision(ctx context.Context, id string) (*pmassist.Decision, error) {
	var d *pmassist.Decision
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		d, err = readDecision(tb, []byte(id))
		return err
	})
	return d, err
}

// FindDecisionByThread returns the decision of a thread of the context's
// tenant.
func (db *DB) FindDecisionByThread(ctx context.Context, threadKey string) (*pmassist.Decision, error) {
	var d *pmassist.Decision
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if threadKey != "" {
			d, err = threadDecision(tb, threadKey)
		}
		if err == nil && d == nil {
			err = pmassist.Errorf(pmassist.ENOTFOUND, "decision not found")
		}
		return err
	})
	return d, err
}

func readDecision(tb *bolt.Bucket, id []byte) (*pmassist.Decision, error) {
	var d pmassist.Decision
	ok, err := getJSON(tb.Bucket(bucketDecisions), id, &d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "decision not found")
	}
	return &d, nil
}

// ListDecisions returns a page of the context tenant's decisions, newest
// decided first, and the cursor of the next page ("" when this one is the
// last): the decisions_by_time key of the page's last decision. From and To
// bound the walk of the time index; the other filters look into each
// decision.
func (db *DB) ListDecisions(ctx context.Context, f pmassist.DecisionFilter) ([]*pmassist.Decision, string, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, "", err
	}
	fields := map[string]string{}
	if f.Status != "" && !pmassist.ValidDecisionStatus(f.Status) {
		fields["status"] = decisionStatusRule
	}
	if f.Origin != "" && !validDecisionOrigin(f.Origin) {
		fields["origin"] = decisionOriginRule
	}
	if f.Service != "" && !f.Service.Valid() {
		fields["service"] = "must be slack, linear or github"
	}
	if len(fields) > 0 {
		return nil, "", pmassist.FieldError(fields)
	}
	limit := pageLimit(f.Limit, defaultDecisionLimit, maxDecisionLimit)
	after, err := decodeCursor(f.Cursor, timePrefixLen+1)
	if err != nil {
		return nil, "", err
	}
	// The walk starts before the cursor or before To, whichever is older:
	// every key of a time before To sorts before To's bare time prefix.
	if f.To != nil {
		if to := u64(keyNanos(*f.To)); after == nil || bytes.Compare(to, after) < 0 {
			after = to
		}
	}
	var from uint64
	if f.From != nil {
		from = keyNanos(*f.From)
	}
	tag := strings.ToLower(strings.TrimSpace(f.Tag))
	words := strings.Fields(strings.ToLower(f.Q))
	matches := func(d *pmassist.Decision) bool {
		if (f.Status != "" && d.Status != f.Status) || (f.Origin != "" && d.Origin != f.Origin) {
			return false
		}
		if tag != "" && !slices.Contains(d.Tags, tag) {
			return false
		}
		if f.Service != "" && !slices.ContainsFunc(d.Sources, func(s pmassist.DecisionSource) bool { return s.Service == f.Service }) {
			return false
		}
		if len(words) > 0 {
			title, summary := strings.ToLower(d.Title), strings.ToLower(d.Summary)
			for _, w := range words {
				if !strings.Contains(title, w) && !strings.Contains(summary, w) {
					return false
				}
			}
		}
		return true
	}

	var list []*pmassist.Decision
	var next string
	err = db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		records := tb.Bucket(bucketDecisions)
		c := tb.Bucket(bucketDecisionsByTime).Cursor()
		// match decodes the decision of a time key if it passes the
		// filters; done reports that the walk went below From.
		match := func(k []byte) (d *pmassist.Decision, done bool, err error) {
			if len(k) <= timePrefixLen {
				return nil, false, nil
			}
			if binary.BigEndian.Uint64(k[:timePrefixLen]) < from {
				return nil, true, nil
			}
			data := records.Get(k[timePrefixLen:])
			if data == nil {
				return nil, false, nil
			}
			dec, err := db.decisions.decode(tenantID, k[timePrefixLen:], data)
			if err != nil {
				return nil, false, err
			}
			if !matches(dec) {
				return nil, false, nil
			}
			return dec, false, nil
		}
		var last []byte
		k, _ := seekBefore(c, after)
		for ; k != nil && len(list) < limit; k, _ = c.Prev() {
			d, done, err := match(k)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			if d != nil {
				list = append(list, d)
				last = k
			}
		}
		// Look for one more match so that a full last page says so.
		for ; k != nil; k, _ = c.Prev() {
			d, done, err := match(k)
			if err != nil || done {
				return err
			}
			if d != nil {
				next = base64.RawURLEncoding.EncodeToString(last)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// UpdateDecision applies a person's change to a decision of the context's
// tenant and marks it UserEdited. Superseding needs another decision of the
// tenant and makes the status superseded; leaving status superseded drops
// superseded_by. The decided time never moves here.
func (db *DB) UpdateDecision(ctx context.Context, id string, upd pmassist.DecisionUpdate) (*pmassist.Decision, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, err
	}
	f := map[string]string{}
	if upd.Status != nil && !pmassist.ValidDecisionStatus(*upd.Status) {
		f["status"] = decisionStatusRule
	}
	if upd.Status != nil && *upd.Status != pmassist.DecisionSuperseded && upd.SupersededBy != nil && *upd.SupersededBy != "" {
		f["status"] = "must be superseded when superseded_by is set"
	}
	if len(f) > 0 {
		return nil, pmassist.FieldError(f)
	}
	var d *pmassist.Decision
	err := db.updateDecisions(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if d, err = readDecision(tb, []byte(id)); err != nil {
			return err
		}
		if upd.Title != nil {
			d.Title = *upd.Title
		}
		if upd.Summary != nil {
			d.Summary = *upd.Summary
		}
		if upd.Tags != nil {
			d.Tags = slices.Clone(*upd.Tags)
		}
		if upd.Status != nil {
			d.Status = *upd.Status
			if d.Status != pmassist.DecisionSuperseded {
				d.SupersededBy = ""
			}
		}
		if upd.SupersededBy != nil {
			d.SupersededBy = *upd.SupersededBy
			if d.SupersededBy != "" {
				if err := checkSuperseding(tb, d.ID, d.SupersededBy); err != nil {
					return err
				}
				d.Status = pmassist.DecisionSuperseded
			}
		}
		if err := d.Validate(); err != nil {
			return err
		}
		d.Tags = nonNil(d.Tags)
		d.UserEdited = true
		d.UpdatedAt = time.Now().UTC()
		return putJSON(tb.Bucket(bucketDecisions), []byte(d.ID), d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteDecision removes a decision of the context's tenant with its index
// entries. Decisions it superseded lose the reference but keep their status.
func (db *DB) DeleteDecision(ctx context.Context, id string) error {
	return db.updateDecisions(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		d, err := readDecision(tb, []byte(id))
		if err != nil {
			return err
		}
		records := tb.Bucket(bucketDecisions)
		if err := records.Delete([]byte(id)); err != nil {
			return err
		}
		if err := tb.Bucket(bucketDecisionsByTime).Delete(decisionTimeKey(d.DecidedAt, d.ID)); err != nil {
			return err
		}
		if d.ThreadKey != "" {
			byThread := tb.Bucket(bucketDecisionsByThread)
			if bytes.Equal(byThread.Get([]byte(d.ThreadKey)), []byte(id)) {
				if err := byThread.Delete([]byte(d.ThreadKey)); err != nil {
					return err
				}
			}
		}
		// Keys are collected first: bbolt does not promise a cursor
		// survives writes under it.
		var referring [][]byte
		err = records.ForEach(func(k, v []byte) error {
			var probe struct {
				SupersededBy string `json:"superseded_by"`
			}
			if err := decode(k, v, &probe); err != nil {
				return err
			}
			if probe.SupersededBy == id {
				referring = append(referring, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, k := range referring {
			var r pmassist.Decision
			if _, err := getJSON(records, k, &r); err != nil {
				return err
			}
			r.SupersededBy = ""
			r.UpdatedAt = now
			if err := putJSON(records, k, &r); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpsertDetected stores what detection found for a thread of the context's
// tenant, in one transaction. A thread without a decision gets a new one of
// origin detected. A decision a person edited or rejected, or added by hand,
// only gains the sources and participants it lacks. An untouched detected
// one takes the new title, summary, confidence, signals, decider and decided
// time, and gains the sources and participants it lacks; it keeps its id,
// status, tags and created time. The result says whether anything changed.
func (db *DB) UpsertDetected(ctx context.Context, d *pmassist.Decision) (*pmassist.Decision, bool, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, false, err
	}
	now := time.Now().UTC()
	s, err := prepareDetected(d, tenantID, now)
	if err != nil {
		return nil, false, err
	}
	var out *pmassist.Decision
	var changed bool
	err = db.updateDecisions(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		out, changed, err = upsertDetected(tb, d, s, now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return out, changed, nil
}

// UpsertDetectedMany applies UpsertDetected to each decision in order, in
// one transaction (a page of items is one transaction, not one per
// decision); a decision with JoinOnly only merges its sources and
// participants into its thread's decision and never creates one. It
// returns the ids of the decisions that changed.
func (db *DB) UpsertDetectedMany(ctx context.Context, ds []*pmassist.Decision) ([]string, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	prepared := make([]*pmassist.Decision, len(ds))
	for i, d := range ds {
		if prepared[i], err = prepareDetected(d, tenantID, now); err != nil {
			return nil, err
		}
	}
	var ids []string
	err = db.updateDecisions(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		ids = ids[:0]
		for i, d := range ds {
			out, changed, err := upsertDetected(tb, d, prepared[i], now)
			if err != nil {
				return err
			}
			if changed && !slices.Contains(ids, out.ID) {
				ids = append(ids, out.ID)
			}
		}
		return nil
	})
	return ids, err
}

// prepareDetected normalizes a detected decision for storing; a join-only
// one needs no title.
func prepareDetected(d *pmassist.Decision, tenantID string, now time.Time) (*pmassist.Decision, error) {
	if d == nil || d.ThreadKey == "" {
		return nil, pmassist.FieldError(map[string]string{"thread_key": "required"})
	}
	in := *d
	in.Origin = pmassist.OriginDetected
	in.UserEdited = false
	in.SupersededBy = ""
	if d.JoinOnly {
		in.Sources, in.Participants = nonNil(in.Sources), nonNil(in.Participants)
		return &in, nil
	}
	return prepareDecision(&in, tenantID, now)
}

// upsertDetected is UpsertDetected inside a transaction; d is the caller's
// decision, s its prepared form.
func upsertDetected(tb *bolt.Bucket, d, s *pmassist.Decision, now time.Time) (*pmassist.Decision, bool, error) {
	old, err := threadDecision(tb, s.ThreadKey)
	if err != nil {
		return nil, false, err
	}
	if old == nil {
		if d.JoinOnly {
			return nil, false, nil
		}
		if err := insertDecision(tb, s); err != nil {
			return nil, false, err
		}
		return s, true, nil
	}
	next := *old
	next.Sources = mergeSources(old.Sources, s.Sources)
	next.Participants = mergeNames(old.Participants, s.Participants)
	grew := len(next.Sources) != len(old.Sources) || len(next.Participants) != len(old.Participants)
	var changed bool
	if d.JoinOnly || old.UserEdited || old.Status == pmassist.DecisionRejected || old.Origin == pmassist.OriginManual {
		changed = grew
	} else {
		next.Title, next.Summary, next.Confidence = s.Title, s.Summary, s.Confidence
		next.Signals, next.DecidedBy = s.Signals, s.DecidedBy
		if !d.DecidedAt.IsZero() {
			next.DecidedAt = s.DecidedAt
		}
		changed = grew || next.Title != old.Title || next.Summary != old.Summary ||
			next.Confidence != old.Confidence || !slices.Equal(next.Signals, old.Signals) ||
			next.DecidedBy != old.DecidedBy || !next.DecidedAt.Equal(old.DecidedAt)
	}
	if !changed {
		return old, false, nil
	}
	next.UpdatedAt = now
	if oldKey, newKey := decisionTimeKey(old.DecidedAt, old.ID), decisionTimeKey(next.DecidedAt, next.ID); !bytes.Equal(oldKey, newKey) {
		byTime := tb.Bucket(bucketDecisionsByTime)
		if err := byTime.Delete(oldKey); err != nil {
			return nil, false, err
		}
		if err := byTime.Put(newKey, nil); err != nil {
			return nil, false, err
		}
	}
	if err := putJSON(tb.Bucket(bucketDecisions), []byte(next.ID), &next); err != nil {
		return nil, false, err
	}
	return &next, true, nil
}

// mergeSources returns have followed by the sources of add it lacks, told
// apart by external id (by URL for sources without one), up to
// maxDecisionSources. It never changes have.
func mergeSources(have, add []pmassist.DecisionSource) []pmassist.DecisionSource {
	key := func(s pmassist.DecisionSource) string {
		if s.ExternalID == "" {
			return "url\x00" + s.URL
		}
		return "id\x00" + s.ExternalID
	}
	out := slices.Clone(nonNil(have))
	seen := map[string]bool{}
	for _, s := range out {
		seen[key(s)] = true
	}
	for _, s := range add {
		if len(out) >= maxDecisionSources {
			break
		}
		if k := key(s); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeNames returns have followed by the non-empty names of add it lacks.
// It never changes have.
func mergeNames(have, add []string) []string {
	out := slices.Clone(nonNil(have))
	seen := map[string]bool{}
	for _, n := range out {
		seen[n] = true
	}
	for _, n := range add {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
