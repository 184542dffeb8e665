package store

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// A memoized decode gives what json.Unmarshal gives, for the first and the
// repeated read, copies that callers may change, and merges into a
// non-zero destination as json.Unmarshal does.
func TestRecordMemo(t *testing.T) {
	var memo recordMemo[pmassist.User]
	raw := []byte(`{"id":"u1","email":"a@example.com","name":"A \u003cb\u003e","operator":true,"created_at":"2026-11-28T10:00:00.123+01:00"}`)
	var want pmassist.User
	if err := decode(nil, raw, &want); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		var got pmassist.User
		if err := memo.decode(nil, raw, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read %d: %+v, want %+v", i, got, want)
		}
		got.Name = "changed"
	}
	if len(memo.m) != 1 {
		t.Fatalf("%d entries", len(memo.m))
	}
	// The key is a copy: the caller's buffer (the file's map) may change.
	buf := append([]byte(nil), raw...)
	var other recordMemo[pmassist.User]
	var u pmassist.User
	if err := other.decode(nil, buf, &u); err != nil {
		t.Fatal(err)
	}
	copy(buf, `{"id":"u9"`)
	if _, ok := other.m[string(raw)]; !ok {
		t.Fatal("the memo's key changed with the caller's buffer")
	}
	// Bad bytes are an error, and are not remembered.
	if err := memo.decode([]byte("k"), []byte(`{"id":`), &u); err == nil {
		t.Fatal("bad JSON decoded")
	}
	if len(memo.m) != 1 {
		t.Fatalf("%d entries after a bad record", len(memo.m))
	}
	// A non-zero destination is merged into, as json.Unmarshal does.
	merged := pmassist.User{PasswordHash: "kept"}
	if err := memo.decode(nil, raw, &merged); err != nil || merged.PasswordHash != "kept" || merged.ID != "u1" {
		t.Fatalf("merge: %+v %v", merged, err)
	}
}

// A token's LastUsedAt is a pointer: each caller gets its own.
func TestTokenMemoCopies(t *testing.T) {
	raw := []byte(`{"id":"t1","tenant_id":"x","user_id":"u","name":"ci","hash":"h","created_at":"2026-11-28T10:00:00Z","last_used_at":"2026-11-28T11:00:00Z"}`)
	var a, b pmassist.APIToken
	if err := decodeRecord(nil, raw, &a); err != nil {
		t.Fatal(err)
	}
	*a.LastUsedAt = time.Time{}
	if err := decodeRecord(nil, raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.LastUsedAt == nil || b.LastUsedAt.IsZero() || b.LastUsedAt == a.LastUsedAt {
		t.Fatalf("a caller's change reached the memo: %v", b.LastUsedAt)
	}
}

func TestRecordMemoBounded(t *testing.T) {
	var memo recordMemo[pmassist.Tenant]
	for i := range memoSize + 100 {
		var tn pmassist.Tenant
		if err := memo.decode(nil, []byte(`{"id":"t`+strconv.Itoa(i)+`"}`), &tn); err != nil || tn.ID != "t"+strconv.Itoa(i) {
			t.Fatalf("%d: %+v %v", i, tn, err)
		}
	}
	if len(memo.m) > memoSize {
		t.Fatalf("%d entries", len(memo.m))
	}
}

// The memoized kinds hold no memory a plain copy would share, except the
// pointers their clone handles: a new field that does fails this test.
func TestMemoizedKindsCopySafely(t *testing.T) {
	handled := map[string]bool{"APIToken.LastUsedAt": true}
	timeType := reflect.TypeOf(time.Time{})
	var check func(name string, tp reflect.Type)
	check = func(name string, tp reflect.Type) {
		for i := range tp.NumField() {
			f := tp.Field(i)
			path := name + "." + f.Name
			switch {
			case f.Type == timeType:
			case f.Type.Kind() == reflect.Struct:
				check(name, f.Type)
			case handled[path]:
			case f.Type.Kind() == reflect.Pointer, f.Type.Kind() == reflect.Slice, f.Type.Kind() == reflect.Map,
				f.Type.Kind() == reflect.Interface, f.Type.Kind() == reflect.Array, f.Type.Kind() == reflect.Chan:
				t.Errorf("%s is a %s: a plain copy shares it; give the memo a clone", path, f.Type.Kind())
			}
		}
	}
	for _, v := range []any{pmassist.User{}, pmassist.Tenant{}, pmassist.Membership{}, pmassist.Session{}, pmassist.APIToken{}} {
		tp := reflect.TypeOf(v)
		check(tp.Name(), tp)
	}
}
