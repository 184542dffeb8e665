package workflows

import (
	"sort"
	"strings"
	"unicode"

	"github.com/pmassist/pmassist"
)

// PersonKey is how a person is told apart within a service: the service
// and the external id (a Slack user id, a Linear user id, a GitHub login).
// GitHub logins are case-insensitive and compare lower-cased; the others
// are kept as they are (trimmed). An empty externalID means the person
// cannot be identified in that service.
func PersonKey(p pmassist.Person, service pmassist.Service) (svc, externalID string) {
	return string(service), ppExternalKey(service, p.ExternalID)
}

func ppExternalKey(service pmassist.Service, id string) string {
	id = strings.TrimSpace(id)
	if service == pmassist.ServiceGitHub {
		id = strings.ToLower(id)
	}
	return id
}

// ppIdentityKey is the map key of (service, external id).
func ppIdentityKey(service pmassist.Service, externalID string) string {
	return string(service) + "\x00" + ppExternalKey(service, externalID)
}

// ppIsBot reports whether p, as service names them, is a bot: marked so
// by its provider, or a GitHub login ending in "[bot]" (dependabot[bot],
// github-actions[bot]).
func ppIsBot(p pmassist.Person, service pmassist.Service) bool {
	if p.Bot {
		return true
	}
	if service == pmassist.ServiceGitHub {
		for _, s := range []string{p.ExternalID, p.Name} {
			if strings.HasSuffix(strings.ToLower(strings.TrimSpace(s)), "[bot]") {
				return true
			}
		}
	}
	return false
}

// IdentitiesOf lists every human identity the items name: an item's
// author, a Linear issue's assignee and the authors of its comments. A
// Slack identity is the user id with the display name as handle, a Linear
// one the user id, a GitHub one the login. Bots are left out. Identities
// are de-duplicated by (service, external id) — the first non-empty name
// and email seen, in the items' order, win — and sorted by service (Slack,
// Linear, GitHub) then external id. People named without an external id
// cannot be identities and are skipped.
func IdentitiesOf(items []*pmassist.Item) []pmassist.Identity {
	type acc struct {
		id      pmassist.Identity
		service int
		key     string
	}
	byKey := map[string]*acc{}
	var all []*acc
	add := func(p *pmassist.Person, service pmassist.Service) {
		if p == nil || ppIsBot(*p, service) {
			return
		}
		_, ext := PersonKey(*p, service)
		if ext == "" {
			return
		}
		k := ppIdentityKey(service, ext)
		a := byKey[k]
		if a == nil {
			a = &acc{id: pmassist.Identity{Service: service, ExternalID: strings.TrimSpace(p.ExternalID)},
				service: ppServiceRank(service), key: ext}
			byKey[k] = a
			all = append(all, a)
		}
		if a.id.Name == "" {
			a.id.Name = ppClean(p.Name)
		}
		if a.id.Email == "" {
			a.id.Email = pmassist.NormalizeEmail(p.Email)
		}
	}
	for _, it := range items {
		if it == nil {
			continue
		}
		add(&it.Author, it.Service)
		add(it.Assignee, it.Service)
		for i := range it.Comments {
			add(&it.Comments[i].Author, it.Service)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].service != all[j].service {
			return all[i].service < all[j].service
		}
		if all[i].key != all[j].key {
			return all[i].key < all[j].key
		}
		return all[i].id.ExternalID < all[j].id.ExternalID
	})
	out := make([]pmassist.Identity, 0, len(all))
	for _, a := range all {
		id := a.id
		switch {
		case id.Service == pmassist.ServiceGitHub:
			id.Handle = id.ExternalID // the login
		case id.Name != "":
			id.Handle = id.Name // Slack display name, Linear name
		default:
			id.Handle = id.ExternalID
		}
		out = append(out, id)
	}
	return out
}

// ppServiceRank orders services for display: Slack, Linear, GitHub, then
// anything else.
func ppServiceRank(s pmassist.Service) int {
	for i, x := range pmassist.Services {
		if x == s {
			return i
		}
	}
	return len(pmassist.Services)
}

// ppClean collapses white space (line breaks included) to single spaces and
// drops control and bidirectional-override characters, so that untrusted
// text stays on one line and reads as written.
func ppClean(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f'
	}), " ")
}
