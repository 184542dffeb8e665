package store

import (
	"bytes"
	"slices"
	"sync"

	"github.com/pmassist/pmassist"
)

// decisionCacheSize bounds the decisions decodedDecisions keeps: about
// 3 MB of records and their decoded copies.
const decisionCacheSize = 1024

// decodedDecisions keeps the decisions ListDecisions decoded, by tenant and
// id, beside the stored bytes they were decoded from. An entry serves only
// a record whose bytes are still the same, so it is never stale, whichever
// path wrote the record. Decoding JSON was most of the cost of a list
// (about 35 µs a decision, 1.8 ms for a page of 50; docs/benchmarks.md,
// figure 3). Callers get deep copies: they may change what they get. When
// full, an arbitrary entry makes room.
type decodedDecisions struct {
	mu      sync.RWMutex
	entries map[string]decodedDecision
}

type decodedDecision struct {
	raw []byte
	d   *pmassist.Decision
}

// decode returns the decision stored as data under key in tenantID's
// bucket.
func (c *decodedDecisions) decode(tenantID string, key, data []byte) (*pmassist.Decision, error) {
	ck := make([]byte, 0, len(tenantID)+1+len(key))
	ck = append(append(append(ck, tenantID...), 0), key...)
	c.mu.RLock()
	e, ok := c.entries[string(ck)]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.raw, data) {
		return cloneDecision(e.d), nil
	}
	var d pmassist.Decision
	if err := decode(key, data, &d); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[string]decodedDecision, decisionCacheSize)
	}
	if _, ok := c.entries[string(ck)]; !ok && len(c.entries) >= decisionCacheSize {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[string(ck)] = decodedDecision{raw: bytes.Clone(data), d: cloneDecision(&d)}
	c.mu.Unlock()
	return &d, nil
}

// cloneDecision is a deep copy of d (TestCloneDecisionIsDeep keeps it so).
func cloneDecision(d *pmassist.Decision) *pmassist.Decision {
	c := *d
	c.Signals = slices.Clone(d.Signals)
	c.Participants = slices.Clone(d.Participants)
	c.Tags = slices.Clone(d.Tags)
	c.Sources = slices.Clone(d.Sources)
	return &c
}
