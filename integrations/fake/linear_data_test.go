package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gql posts a query with variables and decodes the answer.
func gql(t *testing.T, l *Linear, query string, vars map[string]any) (int, http.Header, map[string]any) {
	t.Helper()
	srv := serve(t, l)
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+l.IssueToken())
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, resp.Header, m
}

func gqlErrorMessage(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func TestLinearSeedIsDeterministic(t *testing.T) {
	a, b := NewLinear(Options{Now: newClock().Now}), NewLinear(Options{Now: newClock().Now})
	if !reflect.DeepEqual(a.Issues(), b.Issues()) {
		t.Fatal("two stand-ins with the same clock hold different issues")
	}
	issues := a.Issues()
	if len(issues) < 35 || len(a.Teams()) != 3 {
		t.Fatalf("%d issues, %d teams", len(issues), len(a.Teams()))
	}
	end := newClock().Now()
	for _, i := range issues {
		if i.UpdatedAt.Before(i.CreatedAt) || i.UpdatedAt.After(end) || i.CreatedAt.Before(end.Add(-8*24*time.Hour)) {
			t.Fatalf("%s: created %s updated %s (now %s)", i.Identifier, i.CreatedAt, i.UpdatedAt, end)
		}
		if LinearStateType(i.StateName) != i.StateType || !strings.HasPrefix(i.URL, "https://linear.app/acme/issue/"+i.Identifier+"/") {
			t.Fatalf("%s: state %q/%q url %s", i.Identifier, i.StateName, i.StateType, i.URL)
		}
	}
}

func TestLinearUpsertIssueBumpsUpdatedAt(t *testing.T) {
	l := NewLinear(Options{Now: newClock().Now}) // the clock never moves
	newest := l.Issues()[len(l.Issues())-1]
	edited := l.Issues()[0]
	edited.StateName = "Done"
	got := l.UpsertIssue(edited)
	if !got.UpdatedAt.After(newest.UpdatedAt) || got.Identifier != edited.Identifier || got.CompletedAt == nil || got.StateType != "completed" {
		t.Fatalf("upserted %+v (newest before %s)", got, newest.UpdatedAt)
	}
	created := l.UpsertIssue(LinearIssue{Team: LinearTeam{ID: LinearTeamDES.ID}, Title: "New"})
	if created.ID == "" || created.Identifier != "DES-107" || created.Team != LinearTeamDES || created.StateType != "unstarted" || !created.UpdatedAt.After(got.UpdatedAt) {
		t.Fatalf("created %+v", created)
	}
	if _, ok := l.Issue(created.ID); !ok {
		t.Fatal("created issue not stored")
	}
}

func TestLinearIssuesQuery(t *testing.T) {
	l := NewLinear(Options{Now: newClock().Now})
	all := l.Issues()
	since := all[9].UpdatedAt

	// Literal arguments around a variable, and an alias.
	q := `query Recent($since: DateTime!, $team: [ID!]) {
	  recent: issues(filter: {updatedAt: {gt: $since}, team: {id: {in: $team}}}, first: 250, orderBy: updatedAt) {
	    nodes { id identifier updatedAt labels { nodes { name } } }
	    pageInfo { hasNextPage }
	  }
	}`
	status, _, m := gql(t, l, q, map[string]any{"since": since.Format(linearTime), "team": []string{LinearTeamENG.ID}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, m)
	}
	conn := m["data"].(map[string]any)["recent"].(map[string]any)
	var want []string
	for _, i := range all[10:] {
		if i.Team == LinearTeamENG {
			want = append(want, i.ID)
		}
	}
	var got []string
	for _, n := range conn["nodes"].([]any) {
		node := n.(map[string]any)
		if len(node) != 4 {
			t.Fatalf("node has fields that were not asked for: %v", node)
		}
		got = append(got, node["id"].(string))
	}
	if !reflect.DeepEqual(got, want) || conn["pageInfo"].(map[string]any)["hasNextPage"] != false {
		t.Fatalf("got %v\nwant %v", got, want)
	}

	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		msg         string
	}{
		{"unknown field", `{ issues { nodes { id estimate } } }`, nil, `Cannot query field "estimate" on type "Issue".`},
		{"undeclared variable", `{ issues(first: $n) { nodes { id } } }`, map[string]any{"n": 5}, `variable "$n" is not defined`},
		{"first too large", `query($n: Int) { issues(first: $n) { nodes { id } } }`, map[string]any{"n": 251}, "first must be between 1 and 250"},
		{"unsupported filter", `{ issues(filter: {assignee: {email: {eq: "ada@acme.test"}}}) { nodes { id } } }`, nil, "unsupported argument or filter"},
		{"bad cursor", `{ issues(after: "nope") { nodes { id } } }`, nil, "invalid cursor"},
		{"bad date", `{ issues(filter: {updatedAt: {gt: "yesterday"}}) { nodes { id } } }`, nil, "is not a DateTime"},
		{"fragment", `{ issues { nodes { ...F } } }`, nil, "fragments are not supported"},
		{"mutation", `mutation { issueCreate { success } }`, nil, "only query operations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, m := gql(t, l, tc.query, tc.vars)
			if status != http.StatusBadRequest || !strings.Contains(gqlErrorMessage(m), tc.msg) {
				t.Fatalf("status %d, %v; want 400 with %q", status, m, tc.msg)
			}
		})
	}
}

func TestLinearIssuesPagination(t *testing.T) {
	l := NewLinear(Options{Now: newClock().Now})
	q := `query($after: String) { issues(first: 6, after: $after, orderBy: updatedAt) { nodes { id updatedAt } pageInfo { hasNextPage endCursor } } }`
	var got []string
	var after any
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatal("pagination does not end")
		}
		_, _, m := gql(t, l, q, map[string]any{"after": after})
		conn := m["data"].(map[string]any)["issues"].(map[string]any)
		for _, n := range conn["nodes"].([]any) {
			got = append(got, n.(map[string]any)["id"].(string))
		}
		pi := conn["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			break
		}
		after = pi["endCursor"]
		if page == 1 { // an issue already passed is edited: it comes again at the end
			l.UpsertIssue(l.Issues()[0])
		}
	}
	var want []string
	for _, i := range l.Issues() {
		want = append(want, i.ID)
	}
	if len(got) != len(want)+1 || !reflect.DeepEqual(dedupe(got), dedupe(want)) {
		t.Fatalf("walked %d ids, want %d (+1 edited mid-walk)", len(got), len(want))
	}
	if last := l.Issues()[len(l.Issues())-1].ID; got[len(got)-1] != last {
		t.Fatalf("the issue edited mid-walk did not come last")
	}
}

func dedupe(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestLinearRateLimitNext(t *testing.T) {
	clk := newClock()
	l := NewLinear(Options{Now: clk.Now})
	l.RateLimitNext(1)
	status, h, m := gql(t, l, `{ teams { nodes { id key name } } }`, nil)
	errs, _ := m["errors"].([]any)
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Requests-Reset"), 10, 64)
	if status != http.StatusBadRequest || ext["type"] != "ratelimited" || ext["code"] != "RATELIMITED" ||
		h.Get("X-RateLimit-Requests-Remaining") != "0" || h.Get("Retry-After") != "1" || reset != clk.Now().Add(time.Second).UnixMilli() {
		t.Fatalf("status %d headers %v body %v", status, h, m)
	}
	status, _, m = gql(t, l, `{ teams { nodes { id key name } } }`, nil)
	if status != http.StatusOK || len(m["data"].(map[string]any)["teams"].(map[string]any)["nodes"].([]any)) != 3 {
		t.Fatalf("after the limit: %d %v", status, m)
	}
	if l.GraphQLRequests() != 2 {
		t.Fatalf("GraphQLRequests = %d", l.GraphQLRequests())
	}
}

func TestLinearWebhookSignature(t *testing.T) {
	l := NewLinear(Options{Now: newClock().Now})
	body := l.IssueWebhook("update", l.Issues()[0])
	h := l.SignWebhook("s3cret", body)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	if h.Get("Linear-Signature") != hex.EncodeToString(mac.Sum(nil)) || h.Get("Linear-Event") != "Issue" || len(h.Get("Linear-Delivery")) != 36 {
		t.Fatalf("headers %v", h)
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if env["webhookTimestamp"] != float64(newClock().Now().UnixMilli()) || env["organizationId"] != LinearOrganizationID || env["type"] != "Issue" || env["action"] != "update" {
		t.Fatalf("body %v", env)
	}
}
