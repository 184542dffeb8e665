package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// b64 returns the base64 of n bytes of value fill: a recognisable key.
func b64(n int, fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n))
}

// wantNoKeyMaterial fails if s contains any of the secrets (or a long enough
// piece of one to identify it).
func wantNoKeyMaterial(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		for _, piece := range []string{secret, secret[:min(len(secret), 8)]} {
			if piece != "" && strings.Contains(s, piece) {
				t.Errorf("%s %q contains key material %q", what, s, piece)
			}
		}
	}
}

func TestKeyring_EncodeParseRoundTrip(t *testing.T) {
	ring := mustKeyring(t)
	ring2, err := ring.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	ring3, err := ring2.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := ring3.IDs(); !slices.Equal(got, []uint32{3, 2, 1}) || ring3.ActiveID() != 3 {
		t.Errorf("IDs() = %v, ActiveID() = %d", got, ring3.ActiveID())
	}
	if got := ring.IDs(); !slices.Equal(got, []uint32{1}) {
		t.Errorf("WithNewKey changed the original ring: %v", got)
	}

	enc := ring3.Encode()
	items := strings.Split(enc, ",")
	if len(items) != 3 || !strings.HasPrefix(items[0], "3:") || !strings.HasPrefix(items[2], "1:") {
		t.Fatalf("Encode() has items %d, want 3 highest id first", len(items))
	}
	// The original key 1 stays key 1 in every ring built from it.
	if items[2] != ring.Encode() {
		t.Error("key 1 changed when keys were added")
	}
	parsed, err := ParseKeyring(enc)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Encode() != enc {
		t.Error("ParseKeyring(Encode()) does not encode back to the same text")
	}

	// The hand-written forms: a lone key, and items over several lines.
	one, err := ParseKeyring("  " + b64(32, 7) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if one.Encode() != "1:"+b64(32, 7) {
		t.Errorf("a lone key did not become key 1")
	}
	multi, err := ParseKeyring(" 1:" + b64(32, 1) + " ,\r\n\n2 : " + b64(32, 2) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if multi.Encode() != "2:"+b64(32, 2)+",1:"+b64(32, 1) {
		t.Errorf("multi-line ring did not parse to keys 2 and 1")
	}
}

func TestParseKeyring_Bad(t *testing.T) {
	short, long, good := b64(31, 9), b64(33, 9), b64(32, 9)
	for _, c := range []struct {
		name, in, want string
	}{
		{"empty", "", "no master key given"},
		{"blank lines", " \n ,\n", "no master key given"},
		{"short key", "1:" + short, "master key 1: decodes to 31 bytes, want 32"},
		{"long key", "2:" + long, "master key 2: decodes to 33 bytes, want 32"},
		{"lone short key", short, "master key 1: decodes to 31 bytes, want 32"},
		{"bad base64", "1:" + good[:20] + "!!" + good[22:], "master key 1: not valid standard base64"},
		{"url base64", "1:" + strings.Repeat("_", 43) + "=", "master key 1: not valid standard base64"},
		{"duplicate id", "1:" + good + ",1:" + b64(32, 8), "master key id 1 appears more than once"},
		{"id 0", "0:" + good, "master key item 1: id 0 is not allowed; ids start at 1"},
		{"id not a number", "x" + good[:6] + ":" + good, "master key item 1: the id before ':' must be a whole number"},
		{"id too large", "4294967296:" + good, "master key item 1: the id before ':' must be a whole number"},
		{"several without ids", good + "," + b64(32, 8), "master key item 1 has no \"ID:\" prefix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseKeyring(c.in)
			if err == nil {
				t.Fatalf("ParseKeyring accepted it: %v", k)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			wantNoKeyMaterial(t, "error", err.Error(), short, long, good, b64(32, 8), good[:6])
		})
	}
}

func TestKeyring_PrintsNoKeyMaterial(t *testing.T) {
	ring, err := mustKeyring(t).WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, item := range strings.Split(ring.Encode(), ",") {
		_, key, _ := strings.Cut(item, ":")
		raw, _ := base64.StdEncoding.DecodeString(key)
		// How fmt would print the bytes, were they reachable.
		secrets = append(secrets, key, fmt.Sprint(raw)[1:20], fmt.Sprintf("%x", raw)[:16])
	}
	want := "store.Keyring{active: 2, ids: [2 1]}"
	if ring.String() != want || ring.GoString() != want {
		t.Errorf("String() = %q, GoString() = %q, want %q", ring.String(), ring.GoString(), want)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		wantNoKeyMaterial(t, format+" of the ring", fmt.Sprintf(format, ring), secrets...)
		wantNoKeyMaterial(t, format+" of the ring value", fmt.Sprintf(format, *ring), secrets...)
	}
}

func TestKeyring_Without(t *testing.T) {
	ring := mustKeyring(t)
	ring2, _ := ring.WithNewKey()
	ring3, _ := ring2.WithNewKey()

	less, err := ring3.Without(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(less.IDs(), []uint32{3}) || !slices.Equal(ring3.IDs(), []uint32{3, 2, 1}) {
		t.Errorf("Without(1, 2) = %v, original now %v", less.IDs(), ring3.IDs())
	}
	if less.Encode() != strings.Split(ring3.Encode(), ",")[0] {
		t.Error("Without changed the remaining key")
	}
	for _, c := range []struct {
		ring *Keyring
		ids  []uint32
		want string
	}{
		{ring3, []uint32{3}, "master key 3 is the active key and cannot be removed"},
		{ring3, []uint32{1, 3}, "master key 3 is the active key"},
		{ring, []uint32{1}, "master key 1 is the active key"},
		{ring3, []uint32{4}, "the key ring has no master key 4"},
	} {
		if _, err := c.ring.Without(c.ids...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Without(%v) of %v: %v, want %q", c.ids, c.ring, err, c.want)
		}
	}
}

func TestGenerateKeyring_Random(t *testing.T) {
	a, b := mustKeyring(t), mustKeyring(t)
	if a.Encode() == b.Encode() {
		t.Error("two generated rings have the same key")
	}
	if !slices.Equal(a.IDs(), []uint32{1}) {
		t.Errorf("generated ring has ids %v, want [1]", a.IDs())
	}
	c, _ := a.WithNewKey()
	d, _ := a.WithNewKey()
	if c.Encode() == d.Encode() {
		t.Error("WithNewKey added the same key twice")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	ring := mustKeyring(t)
	if err := WriteKeyFile(path, ring); err != nil {
		t.Fatal(err)
	}
	ring2, _ := ring.WithNewKey()
	// Replacing an existing file works the same way.
	if err := WriteKeyFile(path, ring2); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d files after writing, want only the key file", len(entries))
	}
	got, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Encode() != ring2.Encode() {
		t.Error("ReadKeyFile does not return the ring written")
	}

	// A damaged file: the error names the file, never its contents.
	bad := "1:" + b64(30, 5)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReadKeyFile of a bad key: %v, want an error naming %s", err, path)
	}
	wantNoKeyMaterial(t, "error", err.Error(), b64(30, 5))

	_, err = ReadKeyFile(filepath.Join(dir, "missing.key"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("ReadKeyFile of a missing file: %v", err)
	}

	if err := WriteKeyFile(filepath.Join(dir, "no-such-dir", "master.key"), ring); err == nil {
		t.Error("WriteKeyFile into a missing folder succeeded")
	}
}
