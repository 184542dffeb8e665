package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pmassist/pmassist/integrations/fake"
)

// farm is one Slack stand-in per tenant behind one URL (the appliance
// knows a single PMASSIST_SLACK_URL). Requests reach their workspace by
// what they carry:
//
//   - the authorize page: the soak fetches it under /ws/{n}/ (it rewrites
//     the appliance's authorize URL), and the code in the redirect is
//     remembered as workspace n's;
//   - the code exchange (oauth.v2.access): by its code, and the access
//     token in the answer is remembered as workspace n's;
//   - every Web API call: by its bearer token.
type farm struct {
	ws []*fake.Slack

	mu      sync.Mutex
	byCode  map[string]int
	byToken map[string]int
	fed     []int // messages added by feed, per workspace
}

// feedChannels are the seeded channels the app's bot is a member of, which
// ingestion reads by default.
var feedChannels = []string{fake.SlackChanEng, fake.SlackChanProduct, fake.SlackChanDesign, fake.SlackChanAnnouncements, fake.SlackChanOps}

var feedPosters = []string{"U0ACME0BOB", "U0ACME0CAR", "U0ACME0DAN", "U0ACME0EVE", "U0ACME0FRK", "U0ACME0GRC"}

// feedMarker is a word in every fed message, and in no seeded one: a
// search for it finds exactly the fed messages of a tenant.
const feedMarker = "soakfeed"

var feedLines = []string{
	"rolled the canary forward, error budget looks fine",
	"the nightly import finished in half the time",
	"reviewing the pagination change for the jobs list",
	"we decided to keep the retry budget at three attempts",
	"customer asked about exporting decisions to CSV",
	"paging threshold tuned after the false alarm",
	"agreed to ship the bulk endpoint behind a flag",
	"staging database failover test passed",
	"the search latency dashboard is back to green",
	"going with the smaller instance size for the workers",
}

func newFarm(n int, clientID, clientSecret string, now time.Time) *farm {
	f := &farm{byCode: map[string]int{}, byToken: map[string]int{}, fed: make([]int, n)}
	for i := range n {
		s := fake.NewSlack(fake.Options{ClientID: clientID, ClientSecret: clientSecret, AutoApprove: true,
			Workspace: fake.Workspace{ID: fmt.Sprintf("T0SOAK%04d", i), Name: fmt.Sprintf("Soak %d", i), Login: fmt.Sprintf("soak%d", i)}})
		s.SetData(fake.NewSlackData(uint64(i+1), now))
		f.ws = append(f.ws, s)
	}
	return f
}

// authorizeURL rewrites the appliance's authorize URL to workspace n's.
func (f *farm) authorizeURL(n int) func(string) string {
	return func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return raw
		}
		u.Path = fmt.Sprintf("/ws/%d%s", n, u.Path)
		return u.String()
	}
}

func (f *farm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/ws/"):
		rest := strings.TrimPrefix(r.URL.Path, "/ws/")
		num, path, _ := strings.Cut(rest, "/")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n >= len(f.ws) {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + path
		rec := httptest.NewRecorder()
		f.ws[n].ServeHTTP(rec, r2)
		if loc, err := url.Parse(rec.Header().Get("Location")); err == nil && loc.Query().Get("code") != "" {
			f.mu.Lock()
			f.byCode[loc.Query().Get("code")] = n
			f.mu.Unlock()
		}
		copyRecorded(w, rec)
	case r.URL.Path == "/api/oauth.v2.access":
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		n, ok := f.byCode[r.Form.Get("code")]
		delete(f.byCode, r.Form.Get("code"))
		f.mu.Unlock()
		if !ok {
			writeSlackError(w, "invalid_code")
			return
		}
		rec := httptest.NewRecorder()
		f.ws[n].ServeHTTP(rec, r)
		var access struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &access) == nil && access.AccessToken != "" {
			f.mu.Lock()
			f.byToken[access.AccessToken] = n
			f.mu.Unlock()
		}
		copyRecorded(w, rec)
	default:
		tok := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		f.mu.Lock()
		n, ok := f.byToken[tok]
		f.mu.Unlock()
		if !ok {
			writeSlackError(w, "invalid_auth")
			return
		}
		f.ws[n].ServeHTTP(w, r)
	}
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func writeSlackError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
}

// feed posts one new message to a random channel of workspace n.
func (f *farm) feed(rng *rand.Rand, n int) error {
	text := feedMarker + ": " + feedLines[rng.IntN(len(feedLines))]
	_, err := f.ws[n].AddMessage(feedChannels[rng.IntN(len(feedChannels))],
		fake.SlackMessage{User: feedPosters[rng.IntN(len(feedPosters))], Text: text})
	if err == nil {
		f.mu.Lock()
		f.fed[n]++
		f.mu.Unlock()
	}
	return err
}

// fedCounts returns how many messages feed added to each workspace.
func (f *farm) fedCounts() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.fed...)
}
