package store

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

// Keyring holds master keys by id (uint32 > 0); the highest id is active and
// seals new values, the others only open what they sealed before a rotation.
// A Keyring never changes after it is made, so a DB may share it freely.
//
// String and GoString show ids only. The keys sit two pointers deep so that
// even printing a Keyring value (which fmt does by reflection, with any verb)
// ends at an address rather than at key bytes.
type Keyring struct {
	r *ring
}

type ring struct {
	keys []masterKey // by id, highest first
}

type masterKey struct {
	id  uint32
	key *[KeySize]byte
}

// GenerateKeyring returns a ring of one fresh random key with id 1.
func GenerateKeyring() (*Keyring, error) {
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	return newKeyring([]masterKey{{id: 1, key: key}}), nil
}

func randomKey() (*[KeySize]byte, error) {
	var key [KeySize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return &key, nil
}

// ParseKeyring reads a ring in the form Encode writes: items "ID:BASE64"
// separated by commas and/or newlines. A lone "BASE64" is a single key with
// id 1, the form an operator writes by hand into PMASSIST_MASTER_KEY. Each
// key is standard base64 of exactly 32 bytes and ids are unique and positive.
// Errors name items by position and id, never by their text.
func ParseKeyring(s string) (*Keyring, error) {
	var items []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	var keys []masterKey
	seen := map[uint32]bool{}
	for i, item := range items {
		n := i + 1
		id, keyText := uint32(1), item
		if idText, rest, hasID := strings.Cut(item, ":"); hasID {
			keyText = rest
			v, err := strconv.ParseUint(strings.TrimSpace(idText), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("master key item %d: the id before ':' must be a whole number from 1 to %d", n, uint32(math.MaxUint32))
			}
			id = uint32(v)
			if id == 0 {
				return nil, fmt.Errorf("master key item %d: id 0 is not allowed; ids start at 1", n)
			}
		} else if len(items) > 1 {
			return nil, fmt.Errorf("master key item %d has no \"ID:\" prefix; with several keys every item needs one", n)
		}
		key, err := decodeKey(strings.TrimSpace(keyText))
		if err != nil {
			return nil, fmt.Errorf("master key %d: %w", id, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("master key id %d appears more than once", id)
		}
		seen[id] = true
		keys = append(keys, masterKey{id: id, key: key})
	}
	if len(keys) == 0 {
		return nil, errors.New("no master key given")
	}
	return newKeyring(keys), nil
}

// decodeKey decodes one base64 key. Its errors say what is wrong without
// quoting the input: a half-pasted key is still mostly a key.
func decodeKey(s string) (*[KeySize]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not valid standard base64")
	}
	defer clear(raw)
	if len(raw) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(raw), KeySize)
	}
	var key [KeySize]byte
	copy(key[:], raw)
	return &key, nil
}

// newKeyring sorts keys (which must have unique ids) into a ring.
func newKeyring(keys []masterKey) *Keyring {
	slices.SortFunc(keys, func(a, b masterKey) int { return cmp.Compare(b.id, a.id) })
	return &Keyring{r: &ring{keys: keys}}
}

// keys returns the ring's keys, highest id first; none for a zero Keyring.
func (k *Keyring) keys() []masterKey {
	if k == nil || k.r == nil {
		return nil
	}
	return k.r.keys
}

// Encode returns the canonical text of the ring, "ID:BASE64" items highest
// id first joined by ",": what goes in the key file or PMASSIST_MASTER_KEY.
// It is the only method that reveals key material.
func (k *Keyring) Encode() string {
	items := make([]string, len(k.keys()))
	for i, mk := range k.keys() {
		items[i] = strconv.FormatUint(uint64(mk.id), 10) + ":" + base64.StdEncoding.EncodeToString(mk.key[:])
	}
	return strings.Join(items, ",")
}

// String describes the ring without any key material.
func (k *Keyring) String() string {
	if k == nil {
		return "store.Keyring(nil)"
	}
	return fmt.Sprintf("store.Keyring{active: %d, ids: %v}", k.ActiveID(), k.IDs())
}

// GoString keeps key material out of %#v.
func (k *Keyring) GoString() string { return k.String() }

// ActiveID returns the id of the key that seals new values (the highest), or
// 0 for an empty ring.
func (k *Keyring) ActiveID() uint32 {
	if len(k.keys()) == 0 {
		return 0
	}
	return k.keys()[0].id
}

// IDs returns the ids of the ring's keys, highest first.
func (k *Keyring) IDs() []uint32 {
	ids := make([]uint32, len(k.keys()))
	for i, mk := range k.keys() {
		ids[i] = mk.id
	}
	return ids
}

// key returns the master key with an id, or nil.
func (k *Keyring) key(id uint32) *[KeySize]byte {
	for _, mk := range k.keys() {
		if mk.id == id {
			return mk.key
		}
	}
	return nil
}

// WithNewKey returns a copy of the ring plus a new random key whose id is one
// above the highest, which therefore becomes the active key.
func (k *Keyring) WithNewKey() (*Keyring, error) {
	next := uint64(k.ActiveID()) + 1
	if next > math.MaxUint32 {
		return nil, errors.New("master key ids are exhausted")
	}
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	return newKeyring(append([]masterKey{{id: uint32(next), key: key}}, k.keys()...)), nil
}

// Without returns a copy of the ring without the keys of ids. It refuses to
// drop the active key (new values would have nothing to seal them), and ids
// the ring does not hold, which are more likely typos than intent.
func (k *Keyring) Without(ids ...uint32) (*Keyring, error) {
	drop := map[uint32]bool{}
	for _, id := range ids {
		if k.key(id) == nil {
			return nil, fmt.Errorf("the key ring has no master key %d", id)
		}
		if id == k.ActiveID() {
			return nil, fmt.Errorf("master key %d is the active key and cannot be removed", id)
		}
		drop[id] = true
	}
	var keys []masterKey
	for _, mk := range k.keys() {
		if !drop[mk.id] {
			keys = append(keys, mk)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("removing those keys would leave the key ring empty")
	}
	return newKeyring(keys), nil
}

// ReadKeyFile reads a ring written by WriteKeyFile (or by hand in either
// form ParseKeyring accepts). Its errors name the file, never the key; a
// missing file still satisfies errors.Is(err, fs.ErrNotExist).
func ReadKeyFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(data)
	k, err := ParseKeyring(string(data))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// WriteKeyFile replaces the file at path with the ring, readable by its
// owner only. It writes a temporary file in the same folder, syncs it and
// renames it over path, then syncs the folder, so that a crash leaves either
// the old ring or the new one and never half a key.
func WriteKeyFile(path string, k *Keyring) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write master key file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write master key file %s: %w", path, err)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.WriteString(k.Encode() + "\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
