package store

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// fuzzKeyText is the base64 of a fixed key, bytes first, first+1, …: the
// vault fuzz target's key 1 is fuzzKeyText(0), so that the values sealed
// in its seeds open.
func fuzzKeyText(first byte) string {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = first + byte(i)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// FuzzVaultOpen feeds the vault arbitrary sealed bytes and arbitrary
// records (seeds in testdata/fuzz/FuzzVaultOpen: values sealed with the
// fixed key, truncated and foreign ones, ids with NUL bytes). Properties:
//   - open returns an error, never panics, for any bytes, and a value that
//     opens for one record does not open for another;
//   - seal then open gives the plaintext back, for any plaintext and ids;
//   - any change of a sealed value — a flipped byte, a cut, an extra byte —
//     makes it fail to open;
//   - a value sealed for one record (tenant, kind, record id) does not open
//     for any other;
//   - a ring that kept the sealing key opens it after a rotation; a ring
//     without it, or no ring, refuses it.
func FuzzVaultOpen(f *testing.F) {
	f.Add([]byte{}, []byte("xoxe-1-secret"), "t_acme", "conn_slack", "t_other", "conn_slack", uint32(7))
	ring, err := ParseKeyring("1:" + fuzzKeyText(0))
	if err != nil {
		f.Fatal(err)
	}
	rotated, err := ParseKeyring("1:" + fuzzKeyText(0) + ",2:" + fuzzKeyText(100))
	if err != nil {
		f.Fatal(err)
	}
	onlyNew, err := ParseKeyring("2:" + fuzzKeyText(100))
	if err != nil {
		f.Fatal(err)
	}
	v, v2, vNew := &vault{keys: ring}, &vault{keys: rotated}, &vault{keys: onlyNew}
	kinds := []string{kindConnectionToken, kindOAuthApp, kindKeyCheck}
	f.Fuzz(func(t *testing.T, blob, plain []byte, tenantID, recordID, otherTenant, otherRecord string, mut uint32) {
		kind, otherKind := kinds[mut%3], kinds[(mut+1)%3]
		same := func(t2, k2, r2 string) bool { return t2 == tenantID && k2 == kind && r2 == recordID }

		// Arbitrary bytes.
		if _, err := v.open(tenantID, kind, recordID, blob); err == nil {
			for _, o := range [][3]string{{otherTenant, kind, recordID}, {tenantID, kind, otherRecord}, {tenantID, otherKind, recordID}} {
				if _, err := v.open(o[0], o[1], o[2], blob); err == nil && !same(o[0], o[1], o[2]) {
					t.Fatalf("a value of (%q %s %q) opens as (%q %s %q)", tenantID, kind, recordID, o[0], o[1], o[2])
				}
			}
		} else if msg := strings.NewReplacer(recordID, "", kind, "").Replace(err.Error()); len(blob) >= 8 &&
			strings.ContainsFunc(string(blob), func(r rune) bool { return r < ' ' || r > '~' }) && strings.Contains(msg, string(blob)) {
			t.Fatalf("the error quotes the sealed value: %v", err)
		}
		if _, err := (&vault{}).open(tenantID, kind, recordID, blob); err != ErrNoMasterKey {
			t.Fatalf("no ring: %v", err)
		}

		// Seal and open.
		sealed, err := v.seal(tenantID, kind, recordID, plain)
		if err != nil {
			if separable(tenantID, kind, recordID) {
				t.Fatalf("seal: %v", err)
			}
			return
		}
		if len(sealed) != sealMinLen+len(plain) || sealed[0] != sealFormat {
			t.Fatalf("sealed %d bytes of %d", len(sealed), len(plain))
		}
		got, err := v.open(tenantID, kind, recordID, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, plain)
		}
		if got, err := v2.open(tenantID, kind, recordID, sealed); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("after a rotation: %q, %v", got, err)
		}
		if _, err := vNew.open(tenantID, kind, recordID, sealed); err == nil {
			t.Fatal("a ring without the sealing key opened the value")
		}

		// Another record.
		for _, o := range [][3]string{{otherTenant, kind, recordID}, {tenantID, kind, otherRecord}, {otherTenant, kind, otherRecord},
			{tenantID, otherKind, recordID}, {recordID, kind, tenantID}} {
			if same(o[0], o[1], o[2]) {
				continue
			}
			if _, err := v.open(o[0], o[1], o[2], sealed); err == nil {
				t.Fatalf("a value sealed for (%q %s %q) opens as (%q %s %q)", tenantID, kind, recordID, o[0], o[1], o[2])
			}
		}

		// Changed values.
		i := int(mut % uint32(len(sealed)))
		flipped := bytes.Clone(sealed)
		flipped[i] ^= byte(mut>>8) | 1
		if _, err := v2.open(tenantID, kind, recordID, flipped); err == nil {
			t.Fatalf("byte %d flipped: opened", i)
		}
		if _, err := v.open(tenantID, kind, recordID, sealed[:i]); err == nil {
			t.Fatalf("cut to %d bytes: opened", i)
		}
		if _, err := v.open(tenantID, kind, recordID, append(bytes.Clone(sealed), byte(mut))); err == nil {
			t.Fatal("an extra byte: opened")
		}
	})
}
