package pmassist

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who signs in with an email and a password. A user may be a
// member of several tenants; the operator is a user with Operator set.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Operator     bool      `json:"operator"`
	CreatedAt    time.Time `json:"created_at"`
}

// Password policy (product.md §1).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 1024
)

// NormalizeEmail lower-cases and trims an address so that lookups by email are
// case-insensitive.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail reports whether s is a plain address (no display name).
func ValidateEmail(s string) bool {
	if len(s) > 254 || s == "" {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// ValidatePassword checks a new password against the policy.
func ValidatePassword(p string) string {
	n := utf8.RuneCountInString(p)
	switch {
	case p == "":
		return "required"
	case n < MinPasswordLength:
		return "at least 10 characters"
	case len(p) > MaxPasswordLength:
		return "at most 1024 bytes"
	}
	return ""
}

// Validate checks a user before it is stored (the password hash is checked by
// its presence only: hashing happens before the store sees it).
func (u *User) Validate() error {
	f := map[string]string{}
	u.Email = NormalizeEmail(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if u.Email == "" {
		f["email"] = "required"
	} else if !ValidateEmail(u.Email) {
		f["email"] = "not a valid email address"
	}
	if u.Name == "" {
		f["name"] = "required"
	} else if utf8.RuneCountInString(u.Name) > MaxNameLength || !utf8.ValidString(u.Name) {
		f["name"] = "at most 100 characters"
	}
	if len(f) > 0 {
		return FieldError(f)
	}
	return nil
}

// UserService stores users. Its calls are not tenant-scoped: a user exists
// across tenants.
type UserService interface {
	// Setup creates the first user (made operator) and the first tenant with
	// that user as owner, in one transaction; ECONFLICT once any user exists.
	Setup(ctx context.Context, u *User, t *Tenant) error
	CountUsers(ctx context.Context) (int, error)
	// CreateUser stores a user with no membership (operator accounts created
	// from the command line); ECONFLICT when the email is taken.
	CreateUser(ctx context.Context, u *User) error
	FindUserByID(ctx context.Context, id string) (*User, error)
	FindUserByEmail(ctx context.Context, email string) (*User, error)
}
