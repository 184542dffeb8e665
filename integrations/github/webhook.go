package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// errSignature refuses a delivery whose signature is missing or wrong;
// it says no more than that.
var errSignature = pmassist.Errorf(pmassist.EUNAUTHORIZED, "invalid GitHub webhook signature")

// Verify checks X-Hub-Signature-256: "sha256=" + hex(HMAC-SHA256(secret,
// body)), compared in constant time. An empty secret verifies nothing.
//
// GitHub signs no timestamp, so there is no staleness check: a replayed
// delivery carries the same X-GitHub-Delivery id and is caught by the
// delivery-id deduplication upstream. now is unused.
func (c *Client) Verify(header http.Header, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return errSignature
	}
	sig, ok := strings.CutPrefix(header.Get("X-Hub-Signature-256"), "sha256=")
	if !ok {
		return errSignature
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return errSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errSignature
	}
	return nil
}

// Parse converts a verified delivery. ID is X-GitHub-Delivery; the
// workspace is the organization, or else the repository's owner. A
// `pull_request` event yields its pull request (merged when `merged` is
// true); `ping` and every other event yield no items.
func (c *Client) Parse(header http.Header, body []byte) (*pmassist.WebhookDelivery, error) {
	d := &pmassist.WebhookDelivery{ID: header.Get("X-GitHub-Delivery")}
	if d.ID == "" {
		return nil, pmassist.Errorf(pmassist.EINVALID, "GitHub webhook without X-GitHub-Delivery")
	}
	// A webhook set to application/x-www-form-urlencoded sends the JSON
	// as the form field `payload`.
	if bytes.HasPrefix(body, []byte("payload=")) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, pmassist.Errorf(pmassist.EINVALID, "GitHub webhook: unreadable form body")
		}
		body = []byte(form.Get("payload"))
	}
	var ev struct {
		Action       string     `json:"action"`
		PullRequest  *wirePull  `json:"pull_request"`
		Organization *wireOwner `json:"organization"`
		Repository   *struct {
			FullName string    `json:"full_name"`
			Owner    wireOwner `json:"owner"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, pmassist.Errorf(pmassist.EINVALID, "GitHub webhook: the body is not JSON")
	}
	switch {
	case ev.Organization != nil && ev.Organization.Login != "":
		d.WorkspaceLogin, d.WorkspaceID = ev.Organization.Login, strconv.FormatInt(ev.Organization.ID, 10)
	case ev.Repository != nil && ev.Repository.Owner.Login != "":
		d.WorkspaceLogin, d.WorkspaceID = ev.Repository.Owner.Login, strconv.FormatInt(ev.Repository.Owner.ID, 10)
	}
	if header.Get("X-GitHub-Event") != "pull_request" {
		return d, nil
	}
	if ev.PullRequest == nil || ev.Repository == nil || ev.Repository.FullName == "" {
		return nil, pmassist.Errorf(pmassist.EINVALID, "GitHub pull_request webhook without pull_request or repository")
	}
	it := convert(ev.PullRequest, ev.Repository.FullName)
	if !storableTimes(it) {
		return nil, pmassist.Errorf(pmassist.EINVALID, "GitHub pull_request webhook with a time out of range")
	}
	d.Items = []*pmassist.Item{it}
	return d, nil
}

// storableTimes reports whether every time of it has a year from 0 to 9999
// in UTC, as JSON (and so the store) requires.
func storableTimes(it *pmassist.Item) bool {
	ok := func(t *time.Time) bool { return t == nil || t.Year() >= 0 && t.Year() <= 9999 }
	return ok(&it.CreatedAt) && ok(&it.UpdatedAt) && ok(it.MergedAt) && ok(it.ClosedAt)
}
