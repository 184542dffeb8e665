package pmassist_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/pmassist/pmassist"
)

// FuzzTenantConfig decodes a PUT /api/v1/tenant/config body the way the
// server does (unknown fields refused) and validates it (seeds in
// testdata/fuzz/FuzzTenantConfig: the defaults, a full configuration, and
// hostile ones). Properties:
//   - Validate never panics, and fails only with EINVALID naming fields of
//     the configuration;
//   - it is idempotent: validating the result again changes nothing and
//     gives the same verdict, so that what PUT returns can be PUT back;
//   - a valid configuration round-trips through JSON unchanged and stays
//     valid, and its lists are never null.
func FuzzTenantConfig(f *testing.F) {
	def, _ := json.Marshal(pmassist.DefaultTenantConfig())
	f.Add(def)
	f.Add([]byte(`{"timezone":"Europe/Berlin","slack_channels":["#eng","C0ACME0ENG"],"decisions":{"phrases":["Locked in"],"reaction":":heavy_check_mark:"},"standup":{"enabled":true,"time":"09:30","weekdays":[1,2,3,4,5],"email_to":["PM@Acme.test"]}}`))
	fields := map[string]bool{"timezone": true, "slack_channels": true, "linear_team_ids": true, "github_orgs": true, "github_repos": true,
		"ingestion_interval_minutes": true, "decisions.phrases": true, "decisions.reaction": true, "standup.time": true,
		"standup.weekdays": true, "standup.slack_channel": true, "standup.email_to": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c pmassist.TenantConfig
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&c) != nil {
			return
		}
		c1 := cloneConfig(c)
		err1 := c1.Validate()
		if err1 != nil {
			if pmassist.ErrorCode(err1) != pmassist.EINVALID || len(pmassist.ErrorFields(err1)) == 0 {
				t.Fatalf("refused with %v", err1)
			}
			for k := range pmassist.ErrorFields(err1) {
				if !fields[k] {
					t.Fatalf("unknown field %q in %v", k, err1)
				}
			}
		}
		_ = c1.Location()
		c2 := cloneConfig(c1)
		err2 := c2.Validate()
		if !reflect.DeepEqual(c2, c1) {
			t.Fatalf("validating again changed the configuration:\n%#v\n%#v", c1, c2)
		}
		if !reflect.DeepEqual(pmassist.ErrorFields(err1), pmassist.ErrorFields(err2)) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("validating again: %v, then %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		for _, l := range [][]string{c1.SlackChannels, c1.LinearTeamIDs, c1.GitHubOrgs, c1.GitHubRepos, c1.Decisions.Phrases, c1.Standup.EmailTo} {
			if l == nil {
				t.Fatalf("a null list in %#v", c1)
			}
		}
		if c1.Standup.Weekdays == nil {
			t.Fatal("null weekdays")
		}
		b, err := json.Marshal(c1)
		if err != nil {
			t.Fatal(err)
		}
		var c3 pmassist.TenantConfig
		dec = json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c3); err != nil {
			t.Fatalf("the encoded configuration does not decode: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(c3, c1) {
			t.Fatalf("JSON round trip:\n%#v\n%#v", c1, c3)
		}
		if err := c3.Validate(); err != nil || !reflect.DeepEqual(c3, c1) {
			t.Fatalf("the round-tripped configuration: %v\n%#v", err, c3)
		}
	})
}

func cloneConfig(c pmassist.TenantConfig) pmassist.TenantConfig {
	c.SlackChannels = slices.Clone(c.SlackChannels)
	c.LinearTeamIDs = slices.Clone(c.LinearTeamIDs)
	c.GitHubOrgs = slices.Clone(c.GitHubOrgs)
	c.GitHubRepos = slices.Clone(c.GitHubRepos)
	c.Decisions.Phrases = slices.Clone(c.Decisions.Phrases)
	c.Standup.Weekdays = slices.Clone(c.Standup.Weekdays)
	c.Standup.EmailTo = slices.Clone(c.Standup.EmailTo)
	return c
}
