package store

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzParseKeyring feeds master key text as PMASSIST_MASTER_KEY or
// master.key may hold it (seeds in testdata/fuzz/FuzzParseKeyring: one
// key, rotated rings, near misses). "KEY" in the input stands for a valid
// key derived from the input, so that wrong rings around right keys are
// explored too. Properties:
//   - parsing never panics and is deterministic;
//   - an error never quotes a key (nor a 12-character piece of one);
//   - a ring has unique positive ids, highest (active) first, one per
//     item; Encode parses back to the same ring; String, GoString and fmt
//     verbs show no key material.
func FuzzParseKeyring(f *testing.F) {
	f.Add("KEY")
	f.Add("2:KEY,1:KEY")
	f.Fuzz(func(t *testing.T, s string) {
		sum := sha256.Sum256([]byte(s))
		key := base64.StdEncoding.EncodeToString(sum[:])
		s = strings.ReplaceAll(s, "KEY", key)
		k, err := ParseKeyring(s)
		k2, err2 := ParseKeyring(s)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || err == nil && k.Encode() != k2.Encode() {
			t.Fatalf("not deterministic: %v, %v", err, err2)
		}
		if err != nil {
			if k != nil {
				t.Fatal("a ring with an error")
			}
			for i := 0; i+12 <= len(key); i++ {
				if strings.Contains(err.Error(), key[i:i+12]) {
					t.Fatalf("the error quotes the key: %v", err)
				}
			}
			return
		}
		ids := k.IDs()
		if len(ids) == 0 || k.ActiveID() != ids[0] || ids[len(ids)-1] == 0 ||
			!slices.IsSortedFunc(ids, func(a, b uint32) int { return int(int64(b) - int64(a)) }) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("ids %v, active %d", ids, k.ActiveID())
		}
		enc := k.Encode()
		if len(strings.Split(enc, ",")) != len(ids) {
			t.Fatalf("%d ids, encoded %d items", len(ids), len(strings.Split(enc, ",")))
		}
		back, err := ParseKeyring(enc)
		if err != nil || back.Encode() != enc || !slices.Equal(back.IDs(), ids) {
			t.Fatalf("Encode does not parse back: %v", err)
		}
		for _, shown := range []string{k.String(), k.GoString(), fmt.Sprintf("%v %+v %#v %s %x", k, k, k, k, k), fmt.Sprintf("%v %+v", *k, *k)} {
			for _, mk := range k.keys() {
				b64 := base64.StdEncoding.EncodeToString(mk.key[:])
				if strings.Contains(shown, b64[:12]) || strings.Contains(shown, fmt.Sprintf("%x", mk.key[:6])) {
					t.Fatalf("key material shown: %s", shown)
				}
			}
		}
	})
}
