package store

import (
	"sync"

	"github.com/pmassist/pmassist"
)

// memoSize bounds each record memo: a few thousand small records (a few
// hundred bytes each) of the kinds every request reads.
const memoSize = 4096

// recordMemo remembers what json.Unmarshal made of a record's stored bytes,
// keyed by the bytes themselves: the same bytes always decode to the same
// value, so an entry can never be stale, whichever path wrote the record.
// Every authenticated request reads a token or session, a user, a tenant
// and a membership; decoding them was about 25 µs of a request's ~40 µs of
// CPU in figure 3 (docs/benchmarks.md). Values are copied out (clone for
// the kinds that hold pointers). When full, an arbitrary entry makes room.
type recordMemo[T comparable] struct {
	mu    sync.RWMutex
	m     map[string]T
	clone func(T) T // nil: a plain copy is a deep one
}

// decode sets *dst to what data decodes to. A dst that is not the zero
// value is decoded into as json.Unmarshal would (merging), without the memo.
func (c *recordMemo[T]) decode(key, data []byte, dst *T) error {
	var zero T
	if *dst != zero {
		return decode(key, data, dst)
	}
	c.mu.RLock()
	v, ok := c.m[string(data)]
	c.mu.RUnlock()
	if ok {
		*dst = c.copyOf(v)
		return nil
	}
	if err := decode(key, data, &v); err != nil {
		return err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]T)
	}
	for k := range c.m {
		if len(c.m) < memoSize {
			break
		}
		delete(c.m, k)
	}
	c.m[string(data)] = c.copyOf(v) // string(data) copies: data is the map of the file
	c.mu.Unlock()
	*dst = v
	return nil
}

func (c *recordMemo[T]) copyOf(v T) T {
	if c.clone == nil {
		return v
	}
	return c.clone(v)
}

// The memos of the records every request reads. They are shared by every
// DB of the process: a memo maps bytes to their decoding, which does not
// depend on the file the bytes came from.
var (
	userMemo       recordMemo[pmassist.User]
	tenantMemo     recordMemo[pmassist.Tenant]
	membershipMemo recordMemo[pmassist.Membership]
	sessionMemo    recordMemo[pmassist.Session]
	tokenMemo      = recordMemo[pmassist.APIToken]{clone: func(t pmassist.APIToken) pmassist.APIToken {
		if t.LastUsedAt != nil {
			at := *t.LastUsedAt
			t.LastUsedAt = &at
		}
		return t
	}}
)

// decodeRecord is decode with the memos of the kinds that have one.
func decodeRecord(key, data []byte, v any) error {
	switch p := v.(type) {
	case *pmassist.User:
		return userMemo.decode(key, data, p)
	case *pmassist.Tenant:
		return tenantMemo.decode(key, data, p)
	case *pmassist.Membership:
		return membershipMemo.decode(key, data, p)
	case *pmassist.Session:
		return sessionMemo.decode(key, data, p)
	case *pmassist.APIToken:
		return tokenMemo.decode(key, data, p)
	}
	return decode(key, data, v)
}
