package server

import (
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

// publicRoutes need no credentials; every other API route must refuse an
// anonymous caller with 401 and a cookie caller without CSRF token with 403.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /api/v1/openapi.json": true,
	"POST /api/v1/setup": true, "POST /api/v1/auth/signup": true, "POST /api/v1/auth/login": true,
	"POST /api/v1/invitations/{token}/accept": true,
	// Webhooks carry no session: their signature is the credential (tested
	// in webhook_test.go).
	"POST /api/v1/webhooks/{service}": true,
	"POST /api/v1/webhooks/stripe":    true,
}

// apiRoutes lists every API route of the router as "METHOD template".
func apiRoutes(t *testing.T, s *Server) []string {
	var out []string
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, "/api/") {
			return nil
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			out = append(out, m+" "+tpl)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fillPath puts a well-formed id into every path parameter.
func fillPath(tpl string) string {
	id := pmassist.NewID()
	for {
		i := strings.Index(tpl, "{")
		if i < 0 {
			return tpl
		}
		j := strings.Index(tpl[i:], "}")
		tpl = tpl[:i] + id + tpl[i+j+1:]
	}
}

func TestEveryEndpointRefusesAnonymousAndCSRFlessCallers(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	csrf := op.csrf
	routes := apiRoutes(t, e.srv)
	if len(routes) < 20 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		method, tpl, _ := strings.Cut(rt, " ")
		path := fillPath(tpl)
		var body any
		if method != "GET" && method != "DELETE" {
			body = map[string]any{}
		}
		if publicRoutes[rt] {
			continue
		}
		if method == "GET" && strings.HasPrefix(tpl, v1+"/oauth/") {
			// The browser flow sends anonymous people to the login page.
			if r := e.client().do(method, path, body); r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
				t.Errorf("%s anonymous: %d %s", rt, r.StatusCode, r.Header.Get("Location"))
			}
		} else if r := e.client().do(method, path, body); r.StatusCode != 401 || r.errCode(t) != "unauthorized" {
			t.Errorf("%s anonymous: %d %s", rt, r.StatusCode, r.body)
		}
		if method == "GET" {
			continue
		}
		op.csrf = ""
		if r := op.do(method, path, body); r.StatusCode != 403 || !strings.Contains(string(r.body), "CSRF") {
			t.Errorf("%s without CSRF: %d %s", rt, r.StatusCode, r.body)
		}
		op.csrf = csrf
	}
	// The session still works: the refusals changed nothing.
	op.expect(200, "GET", "/api/v1/me", nil)
}
