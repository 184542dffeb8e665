package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
)

// pending is a connect flow between authorize and callback.
type pending struct {
	service  pmassist.Service
	caller   pmassist.OAuthCaller
	verifier string // PKCE code verifier
	ownApp   bool   // which app the flow was started with
	expires  time.Time
}

// stateStore keeps pending flows in memory, keyed by the SHA-256 of the
// state: the state itself never rests anywhere, and a flow started before a
// restart simply has to be started again.
type stateStore struct {
	mu      sync.Mutex
	pending map[[32]byte]pending
}

// maxPending bounds the flows one appliance keeps open at once.
const maxPending = 10_000

func newStateStore() *stateStore { return &stateStore{pending: map[[32]byte]pending{}} }

// add stores p under a new random state and returns the state.
func (s *stateStore) add(p pending, now time.Time) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	state := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.pending {
		if now.After(v.expires) {
			delete(s.pending, k)
		}
	}
	if len(s.pending) >= maxPending {
		return "", pmassist.Errorf(pmassist.ERATELIMITED, "too many connection attempts in progress; try again in a few minutes")
	}
	s.pending[sha256.Sum256([]byte(state))] = p
	return state, nil
}

// take removes and returns the flow of state if it is unexpired and bound
// to caller. A state is single-use: any presentation consumes it.
func (s *stateStore) take(state string, service pmassist.Service, caller pmassist.OAuthCaller, now time.Time) (pending, error) {
	key := sha256.Sum256([]byte(state))
	s.mu.Lock()
	p, ok := s.pending[key]
	delete(s.pending, key)
	s.mu.Unlock()
	if !ok || state == "" || now.After(p.expires) || p.service != service || !sameCaller(p.caller, caller) {
		return pending{}, pmassist.ErrOAuthState
	}
	return p, nil
}

// sameCaller compares bindings in constant time.
func sameCaller(a, b pmassist.OAuthCaller) bool {
	eq := subtle.ConstantTimeCompare([]byte(a.TenantID), []byte(b.TenantID)) &
		subtle.ConstantTimeCompare([]byte(a.UserID), []byte(b.UserID)) &
		subtle.ConstantTimeCompare([]byte(a.SessionKey), []byte(b.SessionKey))
	return eq == 1 && a.SessionKey != ""
}
