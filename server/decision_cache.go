package server

import (
	"sync"

	"github.com/pmassist/pmassist"
)

// Bounds of the cache of encoded decision-log pages.
const (
	pageCacheBytes   = 8 << 20   // all entries together
	pageCacheMaxBody = 512 << 10 // larger answers are not kept
)

// pageKey is what an answer of GET /decision-logs depends on besides the
// tenant's decisions: the tenant and the resolved filter.
type pageKey struct {
	tenant, status, origin, q, service, tag, cursor string
	from, to                                        int64
	hasFrom, hasTo                                  bool
	limit                                           int
}

func newPageKey(tenantID string, f pmassist.DecisionFilter) pageKey {
	k := pageKey{tenant: tenantID, status: f.Status, origin: f.Origin, q: f.Q, service: string(f.Service),
		tag: f.Tag, cursor: f.Cursor, limit: f.Limit}
	if f.From != nil {
		k.from, k.hasFrom = f.From.UnixNano(), true
	}
	if f.To != nil {
		k.to, k.hasTo = f.To.UnixNano(), true
	}
	return k
}

type cachedPage struct {
	version uint64
	body    []byte
}

// pageCache keeps encoded answers of GET /decision-logs, each with the
// tenant's decisions version (DecisionService.DecisionsVersion) read before
// the decisions were. An entry answers only while the version is still the
// same, i.e. until the tenant's next committed decision change, whichever
// path makes it. Building a page of 50 cost ~330 µs of CPU, most of it
// reading and encoding (docs/benchmarks.md, figure 3); a repeated list
// (dashboards, the decision log polled by a client) now costs a map lookup.
// When full, arbitrary entries make room.
type pageCache struct {
	mu      sync.Mutex
	entries map[pageKey]cachedPage
	size    int
}

func (c *pageCache) get(k pageKey, version uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.version != version {
		return nil, false
	}
	return e.body, true
}

func (c *pageCache) put(k pageKey, version uint64, body []byte) {
	if len(body) > pageCacheMaxBody {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[pageKey]cachedPage{}
	}
	if old, ok := c.entries[k]; ok {
		c.size -= len(old.body)
		delete(c.entries, k)
	}
	for victim, e := range c.entries {
		if c.size+len(body) <= pageCacheBytes {
			break
		}
		c.size -= len(e.body)
		delete(c.entries, victim)
	}
	c.entries[k] = cachedPage{version: version, body: body}
	c.size += len(body)
}
