package fake

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authorizeSpec is what differs between the providers' authorize pages.
type authorizeSpec struct {
	service   string // display name: "Slack"
	workspace string // the workspace or account shown on the consent page
	// scopeSep separates scopes within one parameter: "," for Slack and
	// Linear, " " for GitHub. Scopes joined otherwise are one unknown scope.
	scopeSep string
	// userScope also validates Slack's user_scope parameter (user tokens
	// are not issued).
	userScope bool
	// known lists the accepted scopes; nil ignores the scope parameter
	// altogether (GitHub Apps) and grants none.
	known         map[string]bool
	defaultScopes []string // granted when scope is empty
	requireScope  bool     // empty scope (and user_scope) is invalid_scope
	pkce          bool     // accept code_challenge / code_challenge_method
	// check refuses provider-specific bad parameters with an error code
	// redirected to the client ("" to proceed).
	check func(q url.Values) string
}

func set(scopes ...string) map[string]bool {
	m := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		m[s] = true
	}
	return m
}

// authorize serves GET (consent page or, with AutoApprove, an immediate
// redirect with a code) and POST (the consent form's decision) of the
// provider's authorize path.
func (a *oauthServer) authorize(spec authorizeSpec) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var q url.Values
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				errorPage(w, http.StatusBadRequest, spec.service, "The request could not be read.")
				return
			}
			q = r.PostForm
		} else {
			q = r.URL.Query()
		}
		if q.Get("client_id") == "" || q.Get("client_id") != a.opts.ClientID {
			errorPage(w, http.StatusBadRequest, spec.service, "Invalid client_id parameter.")
			return
		}
		redirect := q.Get("redirect_uri")
		if u, err := url.Parse(redirect); err != nil || !u.IsAbs() || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
			errorPage(w, http.StatusBadRequest, spec.service, "Invalid redirect_uri parameter.")
			return
		}
		state := q.Get("state")
		refuse := func(code string) {
			v := url.Values{"error": {code}}
			if state != "" {
				v.Set("state", state)
			}
			redirectTo(w, r, redirect, v)
		}
		if spec.check != nil {
			if code := spec.check(q); code != "" {
				refuse(code)
				return
			}
		}
		scopes, ok := spec.scopes(q.Get("scope"))
		requested := len(scopes)
		if ok && spec.userScope {
			var user []string
			user, ok = spec.scopes(q.Get("user_scope"))
			requested += len(user)
		}
		if ok && spec.requireScope && requested == 0 {
			ok = false
		}
		if !ok {
			refuse("invalid_scope")
			return
		}
		if len(scopes) == 0 && spec.known != nil {
			scopes = spec.defaultScopes
		}
		var challenge, method string
		if spec.pkce {
			challenge, method = q.Get("code_challenge"), q.Get("code_challenge_method")
			switch {
			case challenge == "":
				method = ""
			case method == "":
				method = "plain"
			case method != "plain" && method != "S256":
				refuse("invalid_request")
				return
			}
		}
		switch {
		case r.Method == http.MethodPost:
			switch q.Get("decision") {
			case "allow":
			case "deny":
				refuse("access_denied")
				return
			default:
				errorPage(w, http.StatusBadRequest, spec.service, "Choose Allow or Deny.")
				return
			}
		case !a.opts.AutoApprove:
			consentPage(w, r, spec, q, scopes)
			return
		}
		code := a.issueCode(q.Get("client_id"), redirect, scopes, challenge, method)
		v := url.Values{"code": {code}}
		if state != "" {
			v.Set("state", state)
		}
		redirectTo(w, r, redirect, v)
	}
}

// scopes splits and checks one scope parameter.
func (spec authorizeSpec) scopes(param string) ([]string, bool) {
	if spec.known == nil {
		return nil, true
	}
	var out []string
	for s := range strings.SplitSeq(param, spec.scopeSep) {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !spec.known[s] {
			return nil, false
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, true
}

// redirectTo answers 302 to target with params added to its query.
func redirectTo(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, _ := url.Parse(target) // checked by the caller
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Service}} – Authorize {{.ClientID}}</title></head>
<body>
<h1>{{.ClientID}} is requesting permission to access {{.Workspace}} on {{.Service}}</h1>
{{if .Scopes}}<p>It will be able to:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>{{else}}<p>No particular permissions are requested.</p>{{end}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow">Allow</button>
</form>
</body></html>
`))

type hiddenField struct{ Name, Value string }

func consentPage(w http.ResponseWriter, r *http.Request, spec authorizeSpec, q url.Values, scopes []string) {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "decision" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var hidden []hiddenField
	for _, k := range keys {
		for _, v := range q[k] {
			hidden = append(hidden, hiddenField{k, v})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTmpl.Execute(w, map[string]any{
		"Service":   spec.service,
		"Workspace": spec.workspace,
		"ClientID":  q.Get("client_id"),
		"Scopes":    scopes,
		"Action":    r.URL.Path,
		"Hidden":    hidden,
	})
}

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Service}} – Error</title></head>
<body><h1>Something went wrong</h1><p>{{.Message}}</p></body></html>
`))

// errorPage is the HTML error shown instead of redirecting, when the client
// or its redirect_uri cannot be trusted.
func errorPage(w http.ResponseWriter, status int, service, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorTmpl.Execute(w, map[string]string{"Service": service, "Message": msg})
}
