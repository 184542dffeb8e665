// Package pmassist is the domain of PM Assistant: the types every other package
// speaks (tenants, users, memberships, sessions, API tokens, invitations, audit
// events, plans), their validation, the error type, the context helpers that
// carry the caller's tenant and user, and the narrow service interfaces that the
// store implements and the server consumes.
//
// It imports only the standard library; the implementations are named after
// their dependency (store for bbolt, server for HTTP).
package pmassist

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Version information, set at build time with -ldflags.
var (
	Version = "dev"
	Commit  = "unknown"
)

// crockford is the alphabet of ids: lower-case Crockford base32 (no i, l, o, u).
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var idState struct {
	sync.Mutex
	last [16]byte
}

// NewID returns a new opaque, globally unique id: 26 characters encoding a
// 48-bit millisecond timestamp followed by 80 random bits. Within one
// millisecond the random part is incremented instead of drawn again, so ids
// made by one process sort in the order they were made. Ids are never
// reused, across tenants or otherwise.
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	idState.Lock()
	defer idState.Unlock()
	if string(b[:6]) <= string(idState.last[:6]) {
		b = idState.last
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else if _, err := rand.Read(b[6:]); err != nil {
		panic("pmassist: no randomness: " + err.Error())
	}
	idState.last = b
	return encode128(b)
}

func encode128(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s has the shape of an id made by NewID. Handlers use
// it to answer 404 for malformed ids without touching the store.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(crockford, rune(s[i])) {
			return false
		}
	}
	return true
}
