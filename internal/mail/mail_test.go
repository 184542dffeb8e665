package mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

const secretPassword = "s3cr3t-Pw!"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		url, from, base string
		want            endpoint
		wantFrom        string
	}{
		{url: "smtp://mail.example.com", base: "https://pm.acme.example:8443/app",
			want: endpoint{host: "mail.example.com", port: "587"}, wantFrom: "pmassist@pm.acme.example"},
		{url: "smtps://mail.example.com", base: "http://localhost:8080",
			want: endpoint{implicitTLS: true, host: "mail.example.com", port: "465"}, wantFrom: "pmassist@localhost"},
		{url: "SMTP://u:p@mail.example.com:2525/", from: "PM Assistant <pm@acme.example>",
			want: endpoint{host: "mail.example.com", port: "2525", user: "u", password: "p"}, wantFrom: "PM Assistant <pm@acme.example>"},
		{url: "smtps://pm%40acme.example:p%3As%2Fs%40w%25rd%20x@[::1]:4650", base: "http://[::1]:8080",
			want:     endpoint{implicitTLS: true, host: "::1", port: "4650", user: "pm@acme.example", password: "p:s/s@w%rd x"},
			wantFrom: "pmassist@[::1]"},
	} {
		c, err := Parse(tc.url, tc.from, tc.base)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.url, err)
			continue
		}
		ep, err := parseEndpoint(c.URL)
		if err != nil || ep != tc.want {
			t.Errorf("Parse(%q): endpoint %+v, %v; want %+v", tc.url, ep, err, tc.want)
		}
		if c.From != tc.wantFrom || c.Timeout != DefaultTimeout {
			t.Errorf("Parse(%q): from %q, timeout %v; want %q", tc.url, c.From, c.Timeout, tc.wantFrom)
		}
	}

	pw := escape(secretPassword)
	for _, tc := range []struct{ url, from, base, want string }{
		{"", "", "http://localhost", "PMASSIST_SMTP_URL: empty"},
		{"http://u:" + pw + "@mail.example.com", "", "http://localhost", `scheme must be smtp or smtps, not "http"`},
		{"mail.example.com:587", "", "http://localhost", "scheme must be smtp or smtps"},
		{"smtp:mail.example.com", "", "http://localhost", "two slashes"},
		{"smtp://u:" + pw + "@", "", "http://localhost", "no host"},
		{"smtp://u:" + pw + "@mail.example.com:0", "", "http://localhost", `invalid port "0"`},
		{"smtp://u:" + pw + "@mail.example.com:70000", "", "http://localhost", `invalid port "70000"`},
		{"smtp://u:" + pw + "@mail.example.com:smtp", "", "http://localhost", "PMASSIST_SMTP_URL: not a valid URL"},
		{"smtp://u:" + pw + "@mail.example.com/relay", "", "http://localhost", "unexpected path"},
		{"smtp://u:" + pw + "@mail.example.com?tls=1", "", "http://localhost", "unexpected path"},
		{"smtp://:" + pw + "@mail.example.com", "", "http://localhost", "a password without a user"},
		{"smtp://u@mail.example.com", "", "http://localhost", "a user without a password"},
		{"smtp://u:" + secretPassword + "%zz@mail.example.com", "", "http://localhost", "not validly percent-encoded"},
		{"smtp://u:s3cr3t/Pw@mail.example.com", "", "http://localhost", "PMASSIST_SMTP_URL"},
		{"smtp://u:s3cr3t:Pw@mail.example.com:x1", "", "http://localhost", "PMASSIST_SMTP_URL"},
		{"smtp://mail.example.com", "", "", "PMASSIST_SMTP_FROM: not set"},
		{"smtp://mail.example.com", "not an address", "", "PMASSIST_SMTP_FROM"},
		{"smtp://mail.example.com", "pm@acme.example\r\nBcc: x@evil.example", "", "line break"},
	} {
		_, err := Parse(tc.url, tc.from, tc.base)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q): %v, want %q", tc.url, tc.from, err, tc.want)
			continue
		}
		for _, leak := range []string{secretPassword, pw, "s3cr3t", "Pw"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("Parse(%q): the error shows the password: %v", tc.url, err)
			}
		}
	}
}

// escape percent-encodes a password for a URL's userinfo.
func escape(s string) string { return strings.TrimPrefix(url.UserPassword("x", s).String(), "x:") }

// testConfig is a Config of an address nothing listens on.
func testConfig(t *testing.T) Config {
	t.Helper()
	c, err := Parse("smtp://127.0.0.1:1", "PM Assistant <pmassist@acme.example>", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	standupSubject = "Standup — mardi 4 nov. : ✅ 3 done, 1 blocked (Zoë)"
	standupText    = "Standup for Tuesday\n\n" +
		"Zoë Müller\n  Done: merged #412 “Retry loop for provider clients”, a line long enough to need a soft line break in quoted-printable\n" +
		".a line that starts with a dot\n" +
		"From here on, a line that starts with From\n" +
		"trailing spaces   \n" +
		"= signs = stay\n"
	standupHTML = "<h1>Standup</h1>\n<p>&lt;script&gt;x&lt;/script&gt; — décision prise</p>\n<p><a href=\"https://github.example/acme/app/pull/412?a=1&amp;b=2\">#412</a></p>"
)

func standupMessage(to ...string) Message {
	return Message{To: to, Subject: standupSubject, Text: standupText, HTML: standupHTML,
		Headers: map[string]string{"X-PMAssist-Standup": "2026-11-04", "Auto-Submitted": "auto-generated",
			"Reply-To": "Zoë Müller <zoe@acme.example>"}}
}

var messageIDPattern = regexp.MustCompile(`^<[0-9a-f]{32}@acme\.example>$`)

func TestComposeMIME(t *testing.T) {
	c := testConfig(t)
	now := time.Date(2026, 11, 4, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	out, err := c.compose(standupMessage("Zoë Müller <zoe@acme.example>", "bob@acme.example", "BOB <bob@acme.example>"), now)
	if err != nil {
		t.Fatal(err)
	}
	if out.from != "pmassist@acme.example" || strings.Join(out.to, ",") != "zoe@acme.example,bob@acme.example" {
		t.Fatalf("envelope %q → %q", out.from, out.to)
	}
	checkWire(t, out.data)

	msg, err := mail.ReadMessage(bytes.NewReader(out.data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subject != standupSubject {
		t.Errorf("Subject %q decodes to %q, %v", h.Get("Subject"), subject, err)
	}
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Name != "PM Assistant" || from.Address != "pmassist@acme.example" {
		t.Errorf("From %q: %+v %v", h.Get("From"), from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Zoë Müller" || to[0].Address != "zoe@acme.example" || to[1].Address != "bob@acme.example" {
		t.Errorf("To %q: %v %v", h.Get("To"), to, err)
	}
	if rt, err := h.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Name != "Zoë Müller" {
		t.Errorf("Reply-To %q: %v %v", h.Get("Reply-To"), rt, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date %q: %v %v", h.Get("Date"), d, err)
	}
	if id := h.Get("Message-ID"); !messageIDPattern.MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("X-PMAssist-Standup") != "2026-11-04" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers %v", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for i, want := range []struct{ typ, body string }{{"text/plain", standupText}, {"text/html", standupHTML}} {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if ct := p.Header.Get("Content-Type"); ct != want.typ+"; charset=utf-8" {
			t.Errorf("part %d Content-Type %q", i, ct)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %d Content-Transfer-Encoding %q", i, cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); strings.TrimSuffix(got, "\n") != strings.TrimSuffix(want.body, "\n") {
			t.Errorf("part %d body %q, want %q", i, got, want.body)
		}
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		t.Errorf("more than two parts: %v", err)
	}

	// One body: a single part, no multipart.
	for _, m := range []Message{
		{To: []string{"bob@acme.example"}, Subject: "plain", Text: "only text"},
		{To: []string{"bob@acme.example"}, Subject: "html", HTML: "<p>only html</p>"},
	} {
		out, err := c.compose(m, now)
		if err != nil {
			t.Fatal(err)
		}
		checkWire(t, out.data)
		msg, _ := mail.ReadMessage(bytes.NewReader(out.data))
		want := "text/plain; charset=utf-8"
		if m.Text == "" {
			want = "text/html; charset=utf-8"
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if msg.Header.Get("Content-Type") != want || msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" ||
			strings.TrimSpace(string(body)) != m.Text+m.HTML {
			t.Errorf("single part %v: %q", msg.Header, body)
		}
	}
}

// checkWire checks a message's bytes: CRLF line endings only, 7-bit, no
// line over 998 characters.
func checkWire(t *testing.T, data []byte) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Error("the message does not end with CRLF")
	}
	for i, line := range bytes.Split(data, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Errorf("line %d is %d characters long", i+1, len(line))
		}
		for _, b := range line {
			if b >= 0x80 {
				t.Errorf("line %d is not 7-bit: %q", i+1, line)
				break
			}
		}
	}
}

func TestComposeRefusesInjection(t *testing.T) {
	c := testConfig(t)
	ok := Message{To: []string{"bob@acme.example"}, Subject: "Standup", Text: "hi"}
	for _, tc := range []struct {
		name   string
		change func(m *Message)
		want   string
	}{
		{"subject CRLF", func(m *Message) { m.Subject = "Standup\r\nBcc: all@evil.example" }, "subject contains a line break"},
		{"subject LF", func(m *Message) { m.Subject = "Standup\nBcc: all@evil.example" }, "subject contains a line break"},
		{"recipient CRLF", func(m *Message) { m.To = []string{"bob@acme.example\r\nBcc: all@evil.example"} }, "line break"},
		{"recipient LF", func(m *Message) { m.To = []string{"bob@acme.example>\nBcc: <all@evil.example"} }, "line break"},
		{"recipient not an address", func(m *Message) { m.To = []string{"bob"} }, "not an email address"},
		{"recipients list", func(m *Message) { m.To = []string{"bob@acme.example, eve@evil.example"} }, "not an email address"},
		{"no recipient", func(m *Message) { m.To = nil }, "at least one recipient"},
		{"header value CRLF", func(m *Message) { m.Headers = map[string]string{"X-Tag": "a\r\nBcc: all@evil.example"} }, "line break"},
		{"header name colon", func(m *Message) { m.Headers = map[string]string{"Bcc: x\r\nX-Tag": "a"} }, "invalid email header name"},
		{"header name space", func(m *Message) { m.Headers = map[string]string{"X Tag": "a"} }, "invalid email header name"},
		{"reserved header", func(m *Message) { m.Headers = map[string]string{"content-type": "text/html"} }, "set by the mailer"},
		{"bcc header", func(m *Message) { m.Headers = map[string]string{"BCC": "all@evil.example"} }, "set by the mailer"},
		{"bad reply-to", func(m *Message) { m.Headers = map[string]string{"Reply-To": "nobody"} }, "Reply-To"},
		{"no body", func(m *Message) { m.Text = "" }, "text or an HTML body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.change(&m)
			_, err := c.compose(m, time.Now())
			if pmassist.ErrorCode(err) != pmassist.EINVALID || !strings.Contains(pmassist.ErrorMessage(err), tc.want) {
				t.Fatalf("compose: %v, want EINVALID %q", err, tc.want)
			}
			// Send refuses before any connection (127.0.0.1:1 would fail
			// to connect).
			if err := c.Send(context.Background(), m); pmassist.ErrorCode(err) != pmassist.EINVALID {
				t.Fatalf("Send: %v, want EINVALID", err)
			}
		})
	}
	if _, err := c.compose(ok, time.Now()); err != nil {
		t.Fatalf("the base message: %v", err)
	}
}

// testCert is a self-signed certificate for 127.0.0.1 and localhost.
type testCert struct {
	cert              tls.Certificate
	pool              *x509.CertPool
	certFile, keyFile string
}

func newTestCert(t *testing.T) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pmassist test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	dir := t.TempDir()
	tc := &testCert{cert: cert, pool: pool, certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem")}
	if err := os.WriteFile(tc.certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tc.keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return tc
}

// fakeSMTP is a small SMTP server: it offers STARTTLS when it has a TLS
// config, AUTH PLAIN always, accepts every message and records what it
// received.
type fakeSMTP struct {
	ln         net.Listener
	tls        *tls.Config
	user, pass string
	silent     bool // accept connections but never greet

	mu    sync.Mutex
	lines []string     // commands, in order
	raw   bytes.Buffer // every byte received, after TLS decryption
	data  []string     // message bodies
}

func newFakeSMTP(t *testing.T, f *fakeSMTP) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(conn)
			}()
		}
	}()
	return f
}

func (f *fakeSMTP) port() string { return strconv.Itoa(f.ln.Addr().(*net.TCPAddr).Port) }

func (f *fakeSMTP) record(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raw.Write(p)
}

type recordingReader struct {
	r io.Reader
	f *fakeSMTP
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.f.record(p[:n])
	return n, err
}

func (f *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if f.silent {
		_, _ = io.Copy(io.Discard, conn)
		return
	}
	var c net.Conn = conn
	r := bufio.NewReader(&recordingReader{c, f})
	say := func(lines ...string) { _, _ = io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n") }
	say("220 fake.test ESMTP")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		f.mu.Lock()
		f.lines = append(f.lines, line)
		f.mu.Unlock()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			say("500 empty")
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "EHLO":
			ext := []string{"250-fake.test"}
			if f.tls != nil && !secure {
				ext = append(ext, "250-STARTTLS")
			}
			say(append(ext, "250-AUTH PLAIN", "250 8BITMIME")...)
		case "STARTTLS":
			if f.tls == nil || secure {
				say("502 no")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(conn, f.tls)
			if tc.Handshake() != nil {
				return
			}
			c, secure = tc, true
			r = bufio.NewReader(&recordingReader{c, f})
		case "AUTH":
			raw, _ := base64.StdEncoding.DecodeString(fields[len(fields)-1])
			if len(fields) == 3 && strings.EqualFold(fields[1], "PLAIN") && string(raw) == "\x00"+f.user+"\x00"+f.pass {
				say("235 2.7.0 accepted")
			} else {
				say("535 5.7.8 authentication failed")
			}
		case "MAIL", "RCPT", "RSET", "NOOP":
			say("250 ok")
		case "DATA":
			say("354 go on")
			var body strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(l)
			}
			f.mu.Lock()
			f.data = append(f.data, body.String())
			f.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func (f *fakeSMTP) seen() (lines []string, raw string, data []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...), f.raw.String(), append([]string(nil), f.data...)
}

func commandSeen(lines []string, verb string) bool {
	for _, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), verb) {
			return true
		}
	}
	return false
}

func TestCleartextCredentialsRefused(t *testing.T) {
	f := newFakeSMTP(t, &fakeSMTP{user: "pm", pass: secretPassword})
	c, err := Parse("smtp://pm:"+escape(secretPassword)+"@127.0.0.1:"+f.port(), "pmassist@acme.example", "")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Send(context.Background(), standupMessage("bob@acme.example"))
	if !errors.Is(err, ErrCleartextAuth) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send: %v, want a refusal to authenticate in clear", err)
	}
	if strings.Contains(err.Error(), secretPassword) {
		t.Fatalf("the error shows the password: %v", err)
	}
	lines, raw, data := f.seen()
	if commandSeen(lines, "AUTH") || commandSeen(lines, "MAIL") || len(data) != 0 {
		t.Fatalf("the client went on: %q", lines)
	}
	if strings.Contains(raw, secretPassword) || strings.Contains(raw, base64.StdEncoding.EncodeToString([]byte("\x00pm\x00"+secretPassword))) {
		t.Fatal("the password crossed the cleartext connection")
	}

	// Without credentials, a server without STARTTLS is used as it is.
	c.URL = "smtp://127.0.0.1:" + f.port()
	if err := c.Send(context.Background(), standupMessage("bob@acme.example")); err != nil {
		t.Fatal(err)
	}
	if _, _, data := f.seen(); len(data) != 1 {
		t.Fatalf("%d messages received", len(data))
	}
}

func TestStartTLS(t *testing.T) {
	cert := newTestCert(t)
	f := newFakeSMTP(t, &fakeSMTP{tls: &tls.Config{Certificates: []tls.Certificate{cert.cert}}, user: "pm@acme.example", pass: secretPassword})
	c, err := Parse("smtp://pm%40acme.example:"+escape(secretPassword)+"@127.0.0.1:"+f.port(), "pmassist@acme.example", "https://pm.acme.example")
	if err != nil {
		t.Fatal(err)
	}
	c.TLSConfig = &tls.Config{RootCAs: cert.pool}
	if err := c.Send(context.Background(), standupMessage("bob@acme.example", "Zoë <zoe@acme.example>")); err != nil {
		t.Fatal(err)
	}
	lines, raw, data := f.seen()
	var verbs []string
	for _, l := range lines {
		verbs = append(verbs, strings.Fields(l)[0])
	}
	if got := strings.Join(verbs, " "); got != "EHLO STARTTLS EHLO AUTH MAIL RCPT RCPT DATA QUIT" {
		t.Fatalf("commands %s", got)
	}
	if lines[0] != "EHLO pm.acme.example" {
		t.Errorf("greeting %q", lines[0])
	}
	if !strings.Contains(raw, "MAIL FROM:<pmassist@acme.example>") || !strings.Contains(raw, "RCPT TO:<zoe@acme.example>") {
		t.Errorf("envelope: %q", lines)
	}
	if len(data) != 1 || !strings.Contains(data[0], "Content-Type: multipart/alternative") {
		t.Fatalf("data %q", data)
	}

	// The certificate is verified against the host.
	c.TLSConfig = nil
	err = c.Send(context.Background(), standupMessage("bob@acme.example"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	c.TLSConfig = &tls.Config{RootCAs: cert.pool, ServerName: "mail.other.example"}
	if err := c.Send(context.Background(), standupMessage("bob@acme.example")); err == nil {
		t.Fatal("a certificate for another name was accepted")
	}
	if _, _, data := f.seen(); len(data) != 1 {
		t.Fatalf("%d messages received", len(data))
	}
}

func TestSendRespectsContextAndTimeout(t *testing.T) {
	f := newFakeSMTP(t, &fakeSMTP{silent: true})
	c, err := Parse("smtp://127.0.0.1:"+f.port(), "pmassist@acme.example", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Send(ctx, standupMessage("bob@acme.example"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("Send with a context deadline: %v after %v", err, time.Since(start))
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if err := c.Send(ctx, standupMessage("bob@acme.example")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context: %v", err)
	}

	// With Timeout, whichever fires first — the context made from it or the
	// connection's deadline — ends the send; both are timeouts.
	c.Timeout = 200 * time.Millisecond
	start = time.Now()
	err = c.Send(context.Background(), standupMessage("bob@acme.example"))
	var ne net.Error
	timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	if !timedOut || time.Since(start) > 5*time.Second {
		t.Fatalf("Send with Timeout: %v after %v", err, time.Since(start))
	}
}

// The tests below run against maildev, a real SMTP server
// (npm install -g maildev@3), read back through its REST API.

type maildev struct {
	smtpPort string
	web      string
	out      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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

// startMaildev runs maildev on free loopback ports with its own mail
// folder until the test ends. Without maildev on PATH the test is skipped,
// or fails when PMASSIST_REQUIRE_SMTP=1 (CI).
func startMaildev(t *testing.T, args ...string) *maildev {
	t.Helper()
	bin, err := exec.LookPath("maildev")
	if err != nil {
		const msg = "maildev is not on PATH (install it with: npm install -g maildev@3); the real-SMTP tests need it"
		if os.Getenv("PMASSIST_REQUIRE_SMTP") == "1" {
			t.Fatal(msg + " and PMASSIST_REQUIRE_SMTP=1")
		}
		t.Skip(msg)
	}
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		md := &maildev{smtpPort: freePort(t), out: &syncBuffer{}}
		webPort := freePort(t)
		md.web = "http://127.0.0.1:" + webPort
		cmd := exec.Command(bin, append([]string{"--smtp", md.smtpPort, "--web", webPort,
			"--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--mail-directory", t.TempDir()}, args...)...)
		cmd.Stdout, cmd.Stderr = md.out, md.out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting maildev: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if md.ready(exited) {
			t.Cleanup(stop)
			return md
		}
		stop()
		lastOut = md.out.String()
		if !strings.Contains(lastOut, "EADDRINUSE") {
			break
		}
	}
	t.Fatalf("maildev did not start:\n%s", lastOut)
	return nil
}

// ready waits up to 30 s for maildev's API and SMTP port.
func (md *maildev) ready(exited <-chan struct{}) bool {
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		case <-time.After(100 * time.Millisecond):
		}
		res, err := client.Get(md.web + "/api/healthz")
		if err != nil {
			continue
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			continue
		}
		if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+md.smtpPort, time.Second); err == nil {
			conn.Close()
			return true
		}
	}
	return false
}

type maildevAddress struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

type maildevEmail struct {
	ID       string           `json:"id"`
	Time     time.Time        `json:"time"`
	Subject  string           `json:"subject"`
	From     []maildevAddress `json:"from"`
	To       []maildevAddress `json:"to"`
	Headers  map[string]any   `json:"headers"`
	Text     string           `json:"text"`
	HTML     string           `json:"html"`
	Envelope struct {
		From maildevAddress   `json:"from"`
		To   []maildevAddress `json:"to"`
	} `json:"envelope"`
}

func (md *maildev) get(t *testing.T, path string) []byte {
	t.Helper()
	res, err := http.Get(md.web + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %v: %s", path, res.StatusCode, err, body)
	}
	return body
}

// emails lists what maildev received.
func (md *maildev) emails(t *testing.T) []maildevEmail {
	t.Helper()
	var list []maildevEmail
	if err := json.Unmarshal(md.get(t, "/api/email"), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// emailTo waits for the message whose envelope has rcpt.
func (md *maildev) emailTo(t *testing.T, rcpt string) maildevEmail {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, e := range md.emails(t) {
			for _, to := range e.Envelope.To {
				if to.Address == rcpt {
					return e
				}
			}
		}
	}
	t.Fatalf("maildev received nothing for %s; its log:\n%s", rcpt, md.out.String())
	return maildevEmail{}
}

func normalize(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

// checkReceived checks a standup message as maildev parsed it.
func (md *maildev) checkReceived(t *testing.T, e maildevEmail, to ...string) {
	t.Helper()
	if e.Subject != standupSubject {
		t.Errorf("subject %q, want %q", e.Subject, standupSubject)
	}
	if len(e.From) != 1 || e.From[0].Address != "pmassist@acme.example" || e.From[0].Name != "PM Assistant" {
		t.Errorf("from %+v", e.From)
	}
	if e.Envelope.From.Address != "pmassist@acme.example" {
		t.Errorf("envelope from %+v", e.Envelope.From)
	}
	var got []string
	for _, a := range e.To {
		got = append(got, a.Address)
	}
	if strings.Join(got, ",") != strings.Join(to, ",") {
		t.Errorf("to %+v, want %v", e.To, to)
	}
	if normalize(e.Text) != normalize(standupText) {
		t.Errorf("text part\n%q\nwant\n%q", e.Text, standupText)
	}
	if normalize(e.HTML) != normalize(standupHTML) {
		t.Errorf("HTML part\n%q\nwant\n%q", e.HTML, standupHTML)
	}
	if !strings.Contains(e.HTML, "&lt;script&gt;x&lt;/script&gt;") || strings.Contains(e.HTML, "<script>") {
		t.Errorf("the escaped title did not stay escaped: %q", e.HTML)
	}
	if id, _ := e.Headers["message-id"].(string); !messageIDPattern.MatchString(id) {
		t.Errorf("Message-ID %q (headers %v)", id, e.Headers)
	}
	if e.Headers["x-pmassist-standup"] != "2026-11-04" {
		t.Errorf("headers %v", e.Headers)
	}
	if d := time.Since(e.Time); d < -time.Minute || d > time.Minute {
		t.Errorf("time (from the Date header) %v", e.Time)
	}
	src := string(md.get(t, "/api/email/"+e.ID+"/source"))
	for _, want := range []string{"\r\nDate: ", "\r\nMessage-ID: <", "\r\nMIME-Version: 1.0\r\n", "multipart/alternative",
		"Content-Type: text/plain; charset=utf-8", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"} {
		if !strings.Contains(src, want) {
			t.Errorf("the source lacks %q:\n%s", want, src)
		}
	}
	if m, err := mail.ReadMessage(strings.NewReader(src)); err != nil {
		t.Errorf("source: %v", err)
	} else if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date %q: %v", m.Header.Get("Date"), err)
	}
}

func TestMaildevSMTP(t *testing.T) {
	md := startMaildev(t)
	c, err := Parse("smtp://127.0.0.1:"+md.smtpPort, "PM Assistant <pmassist@acme.example>", "http://pm.acme.example")
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 20 * time.Second
	if err := c.Send(context.Background(), standupMessage("Zoë Müller <zoe@acme.example>", "bob@acme.example")); err != nil {
		t.Fatalf("%v\nmaildev:\n%s", err, md.out.String())
	}
	e := md.emailTo(t, "zoe@acme.example")
	md.checkReceived(t, e, "zoe@acme.example", "bob@acme.example")
	if e.To[0].Name != "Zoë Müller" {
		t.Errorf("to %+v", e.To)
	}
	if n := len(md.emails(t)); n != 1 {
		t.Errorf("%d messages received, want 1", n)
	}
}

func TestMaildevSMTPS(t *testing.T) {
	cert := newTestCert(t)
	const user, pass = "pm@acme.example", "p:s/s@w0rd x"
	md := startMaildev(t, "--incoming-secure", "--incoming-cert", cert.certFile, "--incoming-key", cert.keyFile,
		"--incoming-user", user, "--incoming-pass", pass)
	smtpsURL := func(password string) string {
		return "smtps://pm%40acme.example:" + password + "@127.0.0.1:" + md.smtpPort
	}
	c, err := Parse(smtpsURL("p%3As%2Fs%40w0rd%20x"), "PM Assistant <pmassist@acme.example>", "http://pm.acme.example")
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 20 * time.Second
	c.TLSConfig = &tls.Config{RootCAs: cert.pool}
	if err := c.Send(context.Background(), standupMessage("zoe@acme.example")); err != nil {
		t.Fatalf("%v\nmaildev:\n%s", err, md.out.String())
	}
	md.checkReceived(t, md.emailTo(t, "zoe@acme.example"), "zoe@acme.example")

	// A wrong password is refused by the server; the error does not
	// show it.
	bad := c
	bad.URL = smtpsURL("wrong-" + escape(secretPassword))
	err = bad.Send(context.Background(), standupMessage("eve@acme.example"))
	if err == nil || !strings.Contains(err.Error(), "AUTH") || strings.Contains(err.Error(), secretPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	// An untrusted certificate stops the exchange before anything is sent.
	untrusted := c
	untrusted.TLSConfig = nil
	if err := untrusted.Send(context.Background(), standupMessage("eve@acme.example")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if n := len(md.emails(t)); n != 1 {
		t.Errorf("%d messages received, want 1", n)
	}
}

func TestMaildevRefusesCleartextCredentials(t *testing.T) {
	md := startMaildev(t, "--incoming-user", "pm", "--incoming-pass", secretPassword)
	c, err := Parse("smtp://pm:"+escape(secretPassword)+"@127.0.0.1:"+md.smtpPort, "pmassist@acme.example", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 20 * time.Second
	if err := c.Send(context.Background(), standupMessage("zoe@acme.example")); !errors.Is(err, ErrCleartextAuth) {
		t.Fatalf("Send: %v, want ErrCleartextAuth", err)
	}
	if n := len(md.emails(t)); n != 0 {
		t.Errorf("%d messages received, want none", n)
	}
}
