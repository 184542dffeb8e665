// Package fuzzcheck holds the properties the integrations' webhook fuzz
// targets check of what a parser made of a hostile body.
package fuzzcheck

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// Stored: the item encodes as the store encodes it, and reads back the
// same.
func Stored(t testing.TB, it *pmassist.Item) {
	t.Helper()
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatalf("the item cannot be stored: %v\n%+v", err, it)
	}
	var back pmassist.Item
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the stored item does not read back: %v", err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Fatalf("the item changes when stored:\n%s\n%s", b, b2)
	}
}

// Bounded: every string in v is valid UTF-8 and at most three times the
// body's n bytes (JSON decoding turns an invalid byte into U+FFFD) plus
// extra (the separators of composed ids, the digits of a number); every
// slice is shorter than the body.
func Bounded(t testing.TB, v reflect.Value, n, extra int, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); len(s) > 3*n+extra || !utf8.ValidString(s) {
			t.Fatalf("%s: %d bytes out of a %d-byte body, valid UTF-8 %v", path, len(s), n, utf8.ValidString(s))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			Bounded(t, v.Elem(), n, extra, path)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				Bounded(t, v.Field(i), n, extra, path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if v.Len() > n {
			t.Fatalf("%s: %d elements out of a %d-byte body", path, v.Len(), n)
		}
		for i := 0; i < v.Len(); i++ {
			Bounded(t, v.Index(i), n, extra, path)
		}
	}
}
