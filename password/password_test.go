package password

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	for _, p := range []Params{Cheap, Default} {
		h, err := p.Hash("correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$") {
			t.Fatalf("not a PHC argon2id string: %s", h)
		}
		if ok, err := Verify(h, "correct horse battery"); err != nil || !ok {
			t.Fatalf("right password refused: %v %v", ok, err)
		}
		if ok, _ := Verify(h, "correct horse batterY"); ok {
			t.Fatal("wrong password accepted")
		}
	}
}

func TestSaltsDiffer(t *testing.T) {
	a, _ := Cheap.Hash("same password")
	b, _ := Cheap.Hash("same password")
	if a == b {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$2a$12$abc", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, err := Verify(h, "x"); err != ErrMalformed {
			t.Errorf("Verify(%q) err = %v, want ErrMalformed", h, err)
		}
	}
}
