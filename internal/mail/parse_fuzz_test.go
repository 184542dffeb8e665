package mail

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds PMASSIST_SMTP_URL, PMASSIST_SMTP_FROM and
// PMASSIST_BASE_URL values, and a password put into an smtps URL (seeds
// in testdata/fuzz/FuzzParse: real relay settings and near misses).
// Properties:
//   - Parse never panics and is deterministic;
//   - a Config it returns holds a URL that parses to a host and a port
//     from 1 to 65535, a sender without line breaks, a local name, and it
//     composes a message whose lines all end in CRLF (no header
//     injection through the settings);
//   - an error never shows the password, as written or percent-decoded,
//     unless another setting spells it too.
func FuzzParse(f *testing.F) {
	f.Add("smtps://pm%40acme.example:p%3As%2Fs@mail.example.com:465", "s3cr3t/Pw", "PM Assistant <pm@acme.example>", "https://pm.acme.example")
	now := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, rawURL, password, from, baseURL string) {
		c, err := Parse(rawURL, from, baseURL)
		c2, err2 := Parse(rawURL, from, baseURL)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || c.URL != c2.URL || c.From != c2.From || c.LocalName != c2.LocalName {
			t.Fatalf("not deterministic: %+v, %v then %+v, %v", c, err, c2, err2)
		}
		if err == nil {
			ep, err := parseEndpoint(c.URL)
			if port, perr := strconv.Atoi(ep.port); err != nil || perr != nil || port < 1 || port > 65535 || ep.host == "" {
				t.Fatalf("endpoint %+v, %v of %q", ep, err, c.URL)
			}
			if c.URL != strings.TrimSpace(rawURL) || c.Timeout != DefaultTimeout || c.LocalName == "" || strings.ContainsAny(c.LocalName, ":\r\n") {
				t.Fatalf("config %+v", c)
			}
			if _, err := parseAddress(c.From); err != nil {
				t.Fatalf("sender %q: %v", c.From, err)
			}
			m, err := c.compose(Message{To: []string{"lead@acme.example"}, Subject: "Standup", Text: "Yesterday: shipped.", HTML: "<p>Yesterday</p>"}, now)
			if err != nil {
				t.Fatalf("compose with sender %q: %v", c.From, err)
			}
			if bytes.Count(m.data, []byte("\n")) != bytes.Count(m.data, []byte("\r\n")) || bytes.Count(m.data, []byte("\r")) != bytes.Count(m.data, []byte("\r\n")) {
				t.Fatalf("a bare CR or LF in the message:\n%q", m.data)
			}
			if strings.ContainsAny(m.from, "\r\n<>") {
				t.Fatalf("envelope sender %q", m.from)
			}
		}

		// The password of an smtps URL around rawURL as its host.
		secret := "Zq" + password + "Xj"
		spellings := []string{secret}
		if p, err := url.PathUnescape(secret); err == nil && p != secret {
			spellings = append(spellings, p)
		}
		_, err = Parse("smtps://pm:"+secret+"@"+rawURL, from, baseURL)
		if err == nil {
			return
		}
		for _, s := range spellings {
			if len(s) >= 4 && strings.Contains(err.Error(), s) && !strings.Contains(rawURL+"\x00"+from+"\x00"+baseURL, s) {
				t.Fatalf("the error shows the password %q: %v", s, err)
			}
		}
	})
}
