// Package mail sends email over SMTP (PMASSIST_SMTP_URL, PMASSIST_SMTP_FROM
// in spec/config.md): smtp:// upgrades with STARTTLS when the server offers
// it, smtps:// speaks TLS from the first byte, and credentials (AUTH PLAIN)
// only ever travel over TLS. Messages are MIME: multipart/alternative with
// a text/plain and a text/html part in UTF-8, quoted-printable, CRLF line
// endings, headers RFC 2047-encoded when not ASCII.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// DefaultTimeout bounds one Send (dial, TLS and the whole SMTP exchange)
// when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Default ports: submission with STARTTLS, and implicit TLS.
const (
	DefaultSMTPPort  = "587"
	DefaultSMTPSPort = "465"
)

// Config is an SMTP relay and the sender. Build it with Parse.
type Config struct {
	// URL is PMASSIST_SMTP_URL: smtp://[user:pass@]host[:port] (port 587,
	// STARTTLS when offered) or smtps://[user:pass@]host[:port] (port 465,
	// implicit TLS). User and password are percent-encoded.
	URL string
	// From is the sender (PMASSIST_SMTP_FROM): an address, optionally with
	// a display name ("PM Assistant <pm@example.com>").
	From string
	// Timeout bounds one Send; 0 means DefaultTimeout.
	Timeout time.Duration
	// LocalName is the name sent with EHLO; empty means "localhost".
	LocalName string
	// TLSConfig, optional, is used for STARTTLS and smtps (tests give a
	// private CA here). Its ServerName defaults to the URL's host.
	TLSConfig *tls.Config
}

// Message is one email. Text, HTML or both (then multipart/alternative)
// must be given; HTML must already be escaped by the caller.
type Message struct {
	To      []string // addresses, optionally with display names
	Subject string
	Text    string
	HTML    string
	// Headers are extra header fields (such as Reply-To or
	// Auto-Submitted); the structural ones are set by Send and refused here.
	Headers map[string]string
}

var _ pmassist.Mailer = Config{}

// endpoint is a parsed PMASSIST_SMTP_URL.
type endpoint struct {
	implicitTLS    bool
	host, port     string
	user, password string
}

func (e endpoint) addr() string { return net.JoinHostPort(e.host, e.port) }

// Parse validates PMASSIST_SMTP_URL and PMASSIST_SMTP_FROM and returns the
// Config. An empty from defaults to pmassist@<host of baseURL>
// (PMASSIST_BASE_URL). Errors name the setting and never contain the
// password.
func Parse(rawURL, from, baseURL string) (Config, error) {
	rawURL = strings.TrimSpace(rawURL)
	if _, err := parseEndpoint(rawURL); err != nil {
		return Config{}, err
	}
	baseHost := ""
	if u, err := url.Parse(strings.TrimSpace(baseURL)); err == nil {
		baseHost = u.Hostname()
	}
	from = strings.TrimSpace(from)
	if from == "" {
		if baseHost == "" {
			return Config{}, errors.New("PMASSIST_SMTP_FROM: not set, and PMASSIST_BASE_URL has no host to derive pmassist@<host> from")
		}
		domain := baseHost
		if strings.Contains(domain, ":") { // an IPv6 literal
			domain = "[" + domain + "]"
		}
		from = "pmassist@" + domain
	}
	if _, err := parseAddress(from); err != nil {
		return Config{}, fmt.Errorf("PMASSIST_SMTP_FROM: %v", err)
	}
	local := "localhost"
	if baseHost != "" && !strings.Contains(baseHost, ":") {
		local = baseHost
	}
	return Config{URL: rawURL, From: from, Timeout: DefaultTimeout, LocalName: local}, nil
}

// parseEndpoint reads PMASSIST_SMTP_URL. Its errors never contain the
// password: what they quote comes from a copy with the password masked.
func parseEndpoint(raw string) (endpoint, error) {
	const setting = "PMASSIST_SMTP_URL"
	if raw == "" {
		return endpoint{}, errors.New(setting + ": empty; want smtp://user:pass@host:port or smtps://user:pass@host:port")
	}
	masked, secrets := maskPassword(raw)
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if _, err2 := url.Parse(masked); err2 != nil && errors.As(err2, &ue) {
			return endpoint{}, fmt.Errorf("%s: not a valid URL: %s", setting, scrub(ue.Err.Error(), secrets))
		}
		return endpoint{}, errors.New(setting + ": the user or password is not validly percent-encoded (write @ as %40, : as %3A, / as %2F)")
	}
	var e endpoint
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		e.port = DefaultSMTPPort
	case "smtps":
		e.implicitTLS, e.port = true, DefaultSMTPSPort
	default:
		return endpoint{}, fmt.Errorf("%s: the scheme must be smtp or smtps, not %q", setting, scrub(u.Scheme, secrets))
	}
	if u.Opaque != "" {
		return endpoint{}, fmt.Errorf("%s: want %s://host, with two slashes", setting, strings.ToLower(u.Scheme))
	}
	e.host = u.Hostname()
	if e.host == "" {
		return endpoint{}, errors.New(setting + ": no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return endpoint{}, fmt.Errorf("%s: invalid port %q", setting, scrub(p, secrets))
		}
		e.port = strconv.Itoa(n)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, errors.New(setting + ": unexpected path, query or fragment; want only scheme://user:pass@host:port (a password with / ? or # must be percent-encoded)")
	}
	if u.User != nil {
		e.user = u.User.Username()
		e.password, _ = u.User.Password()
		switch {
		case e.user == "" && e.password != "":
			return endpoint{}, errors.New(setting + ": a password without a user")
		case e.user != "" && e.password == "":
			return endpoint{}, errors.New(setting + ": a user without a password")
		}
	}
	return e, nil
}

// maskPassword returns raw with the password of its userinfo replaced by
// "xxxxx", and the password's spellings (as written and percent-decoded).
// The userinfo ends at the last "@", the way a person reads it even when
// the password has an unencoded / ? or #.
func maskPassword(raw string) (masked string, secrets []string) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw, nil
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw, nil
	}
	user, pass, ok := strings.Cut(rest[:at], ":")
	if !ok || pass == "" {
		return raw, nil
	}
	secrets = []string{pass}
	if p, err := url.PathUnescape(pass); err == nil && p != pass && p != "" {
		secrets = append(secrets, p)
	}
	return scheme + "://" + user + ":xxxxx@" + rest[at+1:], secrets
}

// scrub replaces every spelling of the password in s.
func scrub(s string, secrets []string) string {
	for _, p := range secrets {
		s = strings.ReplaceAll(s, p, "xxxxx")
	}
	return s
}

// parseAddress reads one address (net/mail syntax) and refuses line
// breaks.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%q contains a line break", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address: %v", s, err)
	}
	return a, nil
}

// formatAddress writes an address for a header: the bare address without
// a display name, else the name (quoted or RFC 2047-encoded as needed)
// and the address in angle brackets.
func formatAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// reservedHeaders are set by Send and may not come in Message.Headers.
var reservedHeaders = []string{
	"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-Id", "Mime-Version",
	"Content-Type", "Content-Transfer-Encoding",
}

// addressHeaders hold address lists: their display names are encoded
// word by word, not the whole field.
var addressHeaders = map[string]bool{"Reply-To": true, "Sender": true}

// composed is a message ready for the wire.
type composed struct {
	from string   // envelope sender
	to   []string // envelope recipients
	data []byte   // RFC 5322 message, CRLF line endings
}

// compose validates m and renders it. Invalid input is an EINVALID
// *pmassist.Error.
func (c Config) compose(m Message, now time.Time) (*composed, error) {
	from, err := parseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("mail: the sender (PMASSIST_SMTP_FROM): %v", err)
	}
	if len(m.To) == 0 {
		return nil, pmassist.Errorf(pmassist.EINVALID, "an email needs at least one recipient")
	}
	out := &composed{from: from.Address}
	var toHeader []string
	for _, s := range m.To {
		a, err := parseAddress(strings.TrimSpace(s))
		if err != nil {
			return nil, pmassist.Errorf(pmassist.EINVALID, "recipient %v", err)
		}
		if !slices.Contains(out.to, a.Address) {
			out.to = append(out.to, a.Address)
			toHeader = append(toHeader, formatAddress(a))
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, pmassist.Errorf(pmassist.EINVALID, "the email subject contains a line break")
	}
	if m.Text == "" && m.HTML == "" {
		return nil, pmassist.Errorf(pmassist.EINVALID, "an email needs a text or an HTML body")
	}
	extra := make([]string, 0, len(m.Headers))
	extraHeaders := map[string]string{}
	for k, v := range m.Headers {
		if !validFieldName(k) {
			return nil, pmassist.Errorf(pmassist.EINVALID, "invalid email header name %q", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, pmassist.Errorf(pmassist.EINVALID, "the email header %s contains a line break", k)
		}
		if slices.Contains(reservedHeaders, textproto.CanonicalMIMEHeaderKey(k)) {
			return nil, pmassist.Errorf(pmassist.EINVALID, "the email header %s is set by the mailer", k)
		}
		if addressHeaders[textproto.CanonicalMIMEHeaderKey(k)] {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				return nil, pmassist.Errorf(pmassist.EINVALID, "the email header %s: %v", k, err)
			}
			formatted := make([]string, len(list))
			for i, a := range list {
				formatted[i] = formatAddress(a)
			}
			v = strings.Join(formatted, ", ")
		} else {
			v = mime.QEncoding.Encode("utf-8", v)
		}
		extra = append(extra, k)
		extraHeaders[k] = v
	}
	slices.Sort(extra)

	domain := from.Address[strings.LastIndex(from.Address, "@")+1:]
	var b bytes.Buffer
	header(&b, "From", formatAddress(from))
	header(&b, "To", strings.Join(toHeader, ", "))
	header(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header(&b, "Date", now.Format(time.RFC1123Z))
	header(&b, "Message-ID", "<"+randomID()+"@"+domain+">")
	for _, k := range extra {
		header(&b, k, extraHeaders[k])
	}
	header(&b, "MIME-Version", "1.0")
	switch {
	case m.Text != "" && m.HTML != "":
		mw := multipart.NewWriter(&b)
		header(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		b.WriteString("\r\n")
		for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			w, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.typ + "; charset=utf-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(w, p.body); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	default:
		typ, body := "text/plain", m.Text
		if body == "" {
			typ, body = "text/html", m.HTML
		}
		header(&b, "Content-Type", typ+"; charset=utf-8")
		header(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, body); err != nil {
			return nil, err
		}
	}
	out.data = b.Bytes()
	return out, nil
}

// writeQP writes body quoted-printable with CRLF line endings, ending
// with a line break.
func writeQP(w io.Writer, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, body); err != nil {
		return err
	}
	if !strings.HasSuffix(body, "\n") {
		if _, err := io.WriteString(qp, "\r\n"); err != nil {
			return err
		}
	}
	return qp.Close()
}

// header writes one header field, folded at spaces to keep lines near 78
// characters (a word longer than that stays whole).
func header(b *bytes.Buffer, name, value string) {
	line := name + ":"
	for i, word := range strings.Split(value, " ") {
		switch {
		case i == 0:
			line += " " + word
		case word != "" && strings.TrimSpace(line) != "" && len(line)+1+len(word) > 78:
			b.WriteString(line + "\r\n")
			line = " " + word
		default:
			line += " " + word
		}
	}
	b.WriteString(line + "\r\n")
}

// validFieldName reports whether s is a header field name: printable
// ASCII without colon (RFC 5322 ftext).
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SendMail sends a message with a text and an HTML body; it implements
// pmassist.Mailer.
func (c Config) SendMail(ctx context.Context, to []string, subject, text, html string) error {
	return c.Send(ctx, Message{To: to, Subject: subject, Text: text, HTML: html})
}

// ErrCleartextAuth is returned when credentials would cross a connection
// that is not encrypted: an smtp:// server that does not offer STARTTLS.
var ErrCleartextAuth = errors.New("refusing to send the SMTP password over an unencrypted connection")

// Send delivers m through the relay: dial (within Timeout and ctx), EHLO,
// STARTTLS when offered (smtp://), AUTH PLAIN when the URL has
// credentials (over TLS only), then MAIL, RCPT and DATA. A message that
// cannot be sent as given is an EINVALID *pmassist.Error, checked before
// any connection is made.
func (c Config) Send(ctx context.Context, m Message) error {
	ep, err := parseEndpoint(strings.TrimSpace(c.URL))
	if err != nil {
		return err
	}
	msg, err := c.compose(m, time.Now())
	if err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.send(ctx, ep, msg); err != nil {
		// The connection's deadline is the context's: when it fired, the
		// context's own timer may not have yet — wait for it (it is due),
		// so a timeout is always reported as the context's.
		if dl, ok := ctx.Deadline(); ok && ctx.Err() == nil && !time.Now().Before(dl) {
			<-ctx.Done()
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("smtp %s: %w", ep.addr(), err)
	}
	return nil
}

func (c Config) send(ctx context.Context, ep endpoint, msg *composed) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	// The deadline bounds every read and write; cancelling ctx cuts
	// the exchange short at once.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsConf := c.tlsConfig(ep.host)
	if ep.implicitTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	client, err := smtp.NewClient(conn, ep.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer client.Close()
	local := c.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := client.Hello(local); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if !ep.implicitTLS {
		if ok, _ := client.Extension("STARTTLS"); ok {
			if err := client.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		}
	}
	if ep.user != "" {
		if _, isTLS := client.TLSConnectionState(); !isTLS {
			_ = client.Quit()
			return fmt.Errorf("%w: the server does not offer STARTTLS; use smtps:// or a server that offers STARTTLS", ErrCleartextAuth)
		}
		if ok, _ := client.Extension("AUTH"); !ok {
			_ = client.Quit()
			return errors.New("the server does not accept authentication (no AUTH), but PMASSIST_SMTP_URL has credentials")
		}
		if err := client.Auth(smtp.PlainAuth("", ep.user, ep.password, ep.host)); err != nil {
			return fmt.Errorf("AUTH PLAIN as %s: %w", ep.user, err)
		}
	}
	if err := client.Mail(msg.from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, rcpt := range msg.to {
		if err := client.Rcpt(rcpt); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", rcpt, err)
		}
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg.data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted once DATA ends with 250: a failed QUIT
	// does not unsend it.
	_ = client.Quit()
	return nil
}

func (c Config) tlsConfig(host string) *tls.Config {
	var conf *tls.Config
	if c.TLSConfig != nil {
		conf = c.TLSConfig.Clone()
	} else {
		conf = &tls.Config{}
	}
	if conf.ServerName == "" {
		conf.ServerName = host
	}
	if conf.MinVersion == 0 {
		conf.MinVersion = tls.VersionTLS12
	}
	return conf
}
