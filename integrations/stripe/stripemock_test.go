package stripe

import (
	"bytes"
	"context"
	"errors"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/pmassist/pmassist"
)

// These tests run our requests against stripe-mock, Stripe's own mock
// (go install github.com/stripe/stripe-mock@latest): it checks every
// parameter against Stripe's OpenAPI spec and refuses unknown ones with 400,
// so a pass proves the requests are well-formed. It is stateless and
// answers fixtures, so nothing is read back from it.

// findStripeMock looks for stripe-mock on PATH, then in $(go env GOPATH)/bin.
func findStripeMock() (string, bool) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, true
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.SplitList(strings.TrimSpace(string(out)))...)
	}
	dirs = append(dirs, filepath.SplitList(build.Default.GOPATH)...)
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "bin", "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startStripeMock runs stripe-mock on a free loopback port until the test
// ends and returns its base URL. Without the binary the test is skipped,
// or fails when PMASSIST_REQUIRE_STRIPE_MOCK=1 (CI).
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin, ok := findStripeMock()
	if !ok {
		const msg = "stripe-mock is not on PATH nor in $(go env GOPATH)/bin " +
			"(install it with: go install github.com/stripe/stripe-mock@latest); the stripe-mock tests need it"
		if os.Getenv("PMASSIST_REQUIRE_STRIPE_MOCK") == "1" {
			t.Fatal(msg + " and PMASSIST_REQUIRE_STRIPE_MOCK=1")
		}
		t.Skip(msg)
	}
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		out := &lockedBuffer{}
		// -http-addr alone still opens HTTPS on the fixed default port
		// 12112 (stripe-mock only skips HTTPS for -http, -http-port and
		// -http-unix), which collides between parallel runs: give HTTPS a
		// system-chosen loopback port too.
		cmd := exec.Command(bin, "-http-addr", "127.0.0.1:"+port, "-https-addr", "127.0.0.1:0")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting stripe-mock: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if waitListening(exited, "127.0.0.1:"+port) {
			t.Cleanup(stop)
			return "http://127.0.0.1:" + port
		}
		stop()
		lastOut = out.String()
		if !strings.Contains(lastOut, "address already in use") {
			break
		}
	}
	t.Fatalf("stripe-mock did not start:\n%s", lastOut)
	return ""
}

// waitListening polls addr for up to 20 s.
func waitListening(exited <-chan struct{}, addr string) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return true
		}
	}
	return false
}

// TestStripeMock shares one stripe-mock (it takes about a second to load
// its spec) between its subtests.
func TestStripeMock(t *testing.T) {
	base := startStripeMock(t)
	t.Run("requests", func(t *testing.T) { testStripeMockRequests(t, base) })
	t.Run("refuses unknown parameters", func(t *testing.T) { testStripeMockRefuses(t, base) })
}

func testStripeMockRequests(t *testing.T, base string) {
	c, err := New(Config{
		SecretKey:       "sk_test_123",
		APIURL:          base,
		PricePro:        "price_1ProMonthly",
		PriceEnterprise: "price_1EnterpriseMonthly",
		HTTPClient:      &http.Client{Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	cus, err := c.CreateCustomer(ctx, "ten_1", "Acme Inc.", "owner@acme.test")
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	if cus == "" {
		t.Fatal("CreateCustomer: empty id")
	}
	for _, tier := range []pmassist.Tier{pmassist.TierPro, pmassist.TierEnterprise} {
		u, err := c.CheckoutURL(ctx, pmassist.CheckoutRequest{
			TenantID: "ten_1", CustomerID: cus, Tier: tier,
			SuccessURL: "https://pmassist.test/billing?checkout=success",
			CancelURL:  "https://pmassist.test/billing?checkout=cancel",
		})
		if err != nil {
			t.Fatalf("CheckoutURL(%s): %v", tier, err)
		}
		if u == "" {
			t.Fatalf("CheckoutURL(%s): empty URL", tier)
		}
	}
	u, err := c.PortalURL(ctx, cus, "https://pmassist.test/billing")
	if err != nil {
		t.Fatalf("PortalURL: %v", err)
	}
	if u == "" {
		t.Fatal("PortalURL: empty URL")
	}
	// stripe-mock answers a fixture rendered for its own (latest) API
	// version; only the request's shape is proven here.
	sub, err := c.Subscription(ctx, "sub_123")
	if err != nil {
		t.Fatalf("Subscription: %v", err)
	}
	if sub.ID == "" || sub.Status == "" {
		t.Errorf("Subscription = %+v", sub)
	}
	t.Logf("stripe-mock's subscription fixture reads as %+v", *sub)
}

// stripe-mock does validate: the same client configuration with one unknown
// parameter is refused with 400, top-level and nested alike.
func testStripeMockRefuses(t *testing.T, base string) {
	c, err := New(Config{SecretKey: "sk_test_123", APIURL: base, PricePro: "price_1ProMonthly"})
	if err != nil {
		t.Fatal(err)
	}
	// Control: the request without the extra passes.
	ok := &stripego.CustomerParams{Name: stripego.String("Acme")}
	if _, err := c.api.Customers.New(ok); err != nil {
		t.Fatalf("control request refused: %v", err)
	}

	bad := &stripego.CustomerParams{Name: stripego.String("Acme")}
	bad.AddExtra("tenant", "ten_1") // not a Customer parameter
	_, err = c.api.Customers.New(bad)
	wantStripe400(t, err)
	// Through our error mapping it is internal: our request is at fault.
	wantCode(t, c.fail("create customer", err), pmassist.EINTERNAL)

	// Nested parameters are checked for type and enumeration (though not,
	// in every object, for unknown keys: subscription_data[anything] passes).
	cs := &stripego.CheckoutSessionParams{
		Mode:       stripego.String("subscription"),
		SuccessURL: stripego.String("https://pmassist.test/ok"),
		LineItems:  []*stripego.CheckoutSessionLineItemParams{{Price: stripego.String("price_1")}},
	}
	cs.AddExtra("line_items[0][quantity]", "one")
	_, err = c.api.CheckoutSessions.New(cs)
	wantStripe400(t, err)
	cs = &stripego.CheckoutSessionParams{
		Mode:       stripego.String("subscriptions"),
		SuccessURL: stripego.String("https://pmassist.test/ok"),
		LineItems:  []*stripego.CheckoutSessionLineItemParams{{Price: stripego.String("price_1"), Quantity: stripego.Int64(1)}},
	}
	_, err = c.api.CheckoutSessions.New(cs)
	wantStripe400(t, err)
}

func wantStripe400(t *testing.T, err error) {
	t.Helper()
	var se *stripego.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest {
		t.Fatalf("err = %v, want stripe-mock's 400", err)
	}
	t.Logf("stripe-mock refused: %s", se.Msg)
}
