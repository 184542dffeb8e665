package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// TestTenantIsolation calls every tenant-scoped method with tenant B's
// context on tenant A's ids, and with no tenant at all. B must never see or
// change A's records, and a call without a tenant must be refused.
func TestTenantIsolation(t *testing.T) {
	db := MustOpen(t)
	a, alice := mustTenant(t, db, "A", "alice@example.com")
	b, bob := mustTenant(t, db, "B", "bob@example.com")
	actx := tenantCtx(a.ID)
	carol := addMemberVia(t, db, actx, "carol@example.com", pmassist.RoleAdmin)
	token := &pmassist.APIToken{UserID: alice.ID, Name: "a", Hash: "a-token"}
	if err := db.CreateAPIToken(actx, token); err != nil {
		t.Fatal(err)
	}
	inv := mustInvite(t, db, actx, "dave@example.com", "a-invitation")
	event := mustAudit(t, db, actx, time.Time{}, "a-event")
	aTok := pmassist.Token{AccessToken: "a-access", RefreshToken: "a-refresh"}
	conn := &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: "T-A", WorkspaceName: "A's Slack", ConnectedBy: alice.ID}
	if _, err := db.SaveConnection(actx, conn, aTok); err != nil {
		t.Fatal(err)
	}
	aApp := pmassist.OAuthApp{Service: pmassist.ServiceSlack, ClientID: "a-client", ClientSecret: "a-secret"}
	if err := db.SaveOAuthApp(actx, aApp); err != nil {
		t.Fatal(err)
	}

	aItem := &pmassist.Item{ConnectionID: conn.ID, Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack,
		ExternalID: "C1:1", Text: "A's message", CreatedAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	aWM := pmassist.Watermark{ConnectionID: conn.ID, Resource: "channel:C1", Value: "a-mark"}
	if _, err := db.UpsertItems(actx, []*pmassist.Item{aItem}, &aWM, "2026-03", pmassist.Unlimited); err != nil {
		t.Fatal(err)
	}
	aJob := &pmassist.Job{Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack, ConnectionID: conn.ID, Status: pmassist.JobQueued}
	if err := db.CreateJob(actx, aJob); err != nil {
		t.Fatal(err)
	}
	aConfig := pmassist.DefaultTenantConfig()
	aConfig.Timezone = "Europe/Berlin"
	if err := db.PutTenantConfig(actx, aConfig); err != nil {
		t.Fatal(err)
	}

	aDecision := &pmassist.Decision{Title: "A's decision", Summary: "A's summary", ThreadKey: "linear:A-1",
		Tags: []string{"a-tag"}, Sources: []pmassist.DecisionSource{{Service: pmassist.ServiceLinear, Kind: "issue", ExternalID: "A-1"}}}
	if err := db.CreateDecision(actx, aDecision); err != nil {
		t.Fatal(err)
	}
	aDetected, _, err := db.UpsertDetected(actx, &pmassist.Decision{Title: "A's detected", ThreadKey: "slack:C1:1",
		Sources: []pmassist.DecisionSource{{Service: pmassist.ServiceSlack, Kind: "message", ExternalID: "C1:1"}}})
	if err != nil {
		t.Fatal(err)
	}

	// A's people: Ada on Slack and Linear (one email), Grace on GitHub.
	if err := db.ObserveIdentities(actx, []pmassist.Identity{
		{Service: pmassist.ServiceSlack, ExternalID: "U-ADA", Handle: "ada", Name: "Ada", Email: "ada@a.example"},
		{Service: pmassist.ServiceLinear, ExternalID: "L-ADA", Handle: "ada", Email: "ada@a.example"},
		{Service: pmassist.ServiceGitHub, ExternalID: "grace-a", Handle: "grace-a", Email: "grace@a.example"},
	}); err != nil {
		t.Fatal(err)
	}
	aPeople, err := db.ListTeammates(actx)
	if err != nil || len(aPeople) != 2 {
		t.Fatalf("A's teammates %+v, %v", aPeople, err)
	}
	aAda := aPeople[0]
	aStandup := &pmassist.Standup{Date: "2026-03-10", Markdown: "A's standup", DecisionIDs: []string{aDecision.ID},
		People: []pmassist.StandupPerson{{TeammateID: aAda.ID, Name: aAda.Name}}}
	if err := db.SaveStandup(actx, aStandup); err != nil {
		t.Fatal(err)
	}
	if aStandup, err = db.UpdateDeliveries(actx, aStandup.ID, []pmassist.Delivery{{Channel: pmassist.DeliverySlack, Target: "#a", Status: pmassist.DeliverySent, Attempts: 1}}); err != nil {
		t.Fatal(err)
	}

	aBilling := pmassist.BillingState{CustomerID: "cus_A", SubscriptionID: "sub_A", Status: pmassist.StripeActive,
		SubscribedTier: pmassist.TierPro, AppliedTier: pmassist.TierPro}
	if _, err := db.UpdateBilling(actx, "evt_A", func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		*b = aBilling
		t.Tier = pmassist.TierPro
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}

	// leak turns a listing that contains one of A's ids into an error.
	leak := func(what, id string) error { return fmt.Errorf("%s %s of tenant A is visible", what, id) }
	n := 0
	unique := func() string { n++; return fmt.Sprint("b-", n) }

	cases := []struct {
		method string
		note   string
		call   func(ctx context.Context) error
		wantB  string // the error code expected with B's context
	}{
		{"FindMember", "", func(ctx context.Context) error {
			_, err := db.FindMember(ctx, carol.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"ListMembers", "", func(ctx context.Context) error {
			ms, err := db.ListMembers(ctx)
			for _, m := range ms {
				if m.UserID == alice.ID || m.UserID == carol.ID {
					return leak("member", m.UserID)
				}
			}
			return err
		}, ""},
		{"UpdateMemberRole", "", func(ctx context.Context) error {
			_, err := db.UpdateMemberRole(ctx, carol.ID, pmassist.RoleMember)
			return err
		}, pmassist.ENOTFOUND},
		{"RemoveMember", "", func(ctx context.Context) error {
			return db.RemoveMember(ctx, carol.ID)
		}, pmassist.ENOTFOUND},
		{"CreateAPIToken", " for A's user", func(ctx context.Context) error {
			return db.CreateAPIToken(ctx, &pmassist.APIToken{UserID: alice.ID, Name: "x", Hash: unique()})
		}, pmassist.ENOTFOUND},
		{"CreateAPIToken", " claiming A", func(ctx context.Context) error {
			tk := &pmassist.APIToken{TenantID: a.ID, UserID: bob.ID, Name: "x", Hash: unique()}
			if err := db.CreateAPIToken(ctx, tk); err != nil {
				return err
			}
			if tk.TenantID == a.ID {
				return leak("token written into tenant", a.ID)
			}
			return nil
		}, ""},
		{"ListAPITokens", "", func(ctx context.Context) error {
			tks, err := db.ListAPITokens(ctx, alice.ID)
			if len(tks) > 0 {
				return leak("token", tks[0].ID)
			}
			return err
		}, ""},
		{"FindAPIToken", "", func(ctx context.Context) error {
			_, err := db.FindAPIToken(ctx, token.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"DeleteAPIToken", "", func(ctx context.Context) error {
			return db.DeleteAPIToken(ctx, token.ID)
		}, pmassist.ENOTFOUND},
		{"TouchAPIToken", "", func(ctx context.Context) error {
			return db.TouchAPIToken(ctx, token.ID, time.Now())
		}, pmassist.ENOTFOUND},
		{"CreateInvitation", "", func(ctx context.Context) error {
			i := &pmassist.Invitation{TenantID: a.ID, Email: "eve@example.com", Role: pmassist.RoleOwner, TokenHash: unique()}
			if err := db.CreateInvitation(ctx, i); err != nil {
				return err
			}
			if i.TenantID == a.ID {
				return leak("invitation written into tenant", a.ID)
			}
			return nil
		}, ""},
		{"ListInvitations", "", func(ctx context.Context) error {
			list, err := db.ListInvitations(ctx)
			for _, i := range list {
				if i.ID == inv.ID {
					return leak("invitation", i.ID)
				}
			}
			return err
		}, ""},
		{"DeleteInvitation", "", func(ctx context.Context) error {
			return db.DeleteInvitation(ctx, inv.ID)
		}, pmassist.ENOTFOUND},
		{"CreateAuditEvent", "", func(ctx context.Context) error {
			return db.CreateAuditEvent(ctx, &pmassist.AuditEvent{Actor: "b", Action: "b.test", Target: "b-event"})
		}, ""},
		{"ListAuditEvents", "", func(ctx context.Context) error {
			list, _, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{})
			for _, e := range list {
				if e.ID == event.ID {
					return leak("audit event", e.ID)
				}
			}
			return err
		}, ""},
		{"SaveConnection", " of A's workspace", func(ctx context.Context) error {
			// B may connect the same workspace, but as its own connection.
			c := &pmassist.Connection{TenantID: a.ID, Service: conn.Service, WorkspaceID: conn.WorkspaceID, WorkspaceName: unique()}
			created, err := db.SaveConnection(ctx, c, pmassist.Token{AccessToken: "b-access"})
			if err != nil {
				return err
			}
			if !created || c.ID == conn.ID || c.TenantID == a.ID {
				return leak("connection", conn.ID)
			}
			return nil
		}, ""},
		{"FindConnection", "", func(ctx context.Context) error {
			_, err := db.FindConnection(ctx, conn.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"ListConnections", "", func(ctx context.Context) error {
			list, err := db.ListConnections(ctx)
			for _, c := range list {
				if c.TenantID == a.ID {
					return leak("connection", c.ID)
				}
			}
			return err
		}, ""},
		{"UpdateConnection", "", func(ctx context.Context) error {
			status := pmassist.ConnectionNeedsReauth
			_, err := db.UpdateConnection(ctx, conn.ID, pmassist.ConnectionUpdate{Status: &status})
			return err
		}, pmassist.ENOTFOUND},
		{"DeleteConnection", "", func(ctx context.Context) error {
			return db.DeleteConnection(ctx, conn.ID)
		}, pmassist.ENOTFOUND},
		{"ConnectionToken", "", func(ctx context.Context) error {
			_, err := db.ConnectionToken(ctx, conn.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"StoreRefreshedToken", "", func(ctx context.Context) error {
			_, err := db.StoreRefreshedToken(ctx, conn.ID, pmassist.Token{AccessToken: "b-new"}, time.Now())
			return err
		}, pmassist.ENOTFOUND},
		{"SaveOAuthApp", "", func(ctx context.Context) error {
			// B's own app of another service, so that the look-ups below
			// have something of B's beside A's app to (not) find.
			return db.SaveOAuthApp(ctx, pmassist.OAuthApp{Service: pmassist.ServiceGitHub, ClientID: "b-client", ClientSecret: "b-secret"})
		}, ""},
		{"FindOAuthApp", "", func(ctx context.Context) error {
			_, err := db.FindOAuthApp(ctx, aApp.Service)
			return err
		}, pmassist.ENOTFOUND},
		{"DeleteOAuthApp", "", func(ctx context.Context) error {
			return db.DeleteOAuthApp(ctx, aApp.Service)
		}, pmassist.ENOTFOUND},
		{"ListOAuthAppServices", "", func(ctx context.Context) error {
			list, err := db.ListOAuthAppServices(ctx)
			if slices.Contains(list, aApp.Service) {
				return leak("own app for", string(aApp.Service))
			}
			return err
		}, ""},
		{"UpsertItems", " of A's external id", func(ctx context.Context) error {
			// B may ingest the same provider item, but as its own.
			it := &pmassist.Item{TenantID: a.ID, ConnectionID: "b-conn", Type: aItem.Type, Service: aItem.Service,
				ExternalID: aItem.ExternalID, Text: unique(), CreatedAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
			wm := &pmassist.Watermark{ConnectionID: aWM.ConnectionID, Resource: aWM.Resource, Value: unique()}
			res, err := db.UpsertItems(ctx, []*pmassist.Item{it}, wm, "2000-01", pmassist.Unlimited)
			if err != nil {
				return err
			}
			if res.New != 1 || it.ID == aItem.ID || it.TenantID == a.ID {
				return leak("item", aItem.ID)
			}
			return nil
		}, ""},
		{"FindItem", "", func(ctx context.Context) error {
			_, err := db.FindItem(ctx, aItem.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"FindItemByExternalID", "", func(ctx context.Context) error {
			// B's own item of the same external id may be found; A's not.
			it, err := db.FindItemByExternalID(ctx, aItem.Service, aItem.ExternalID)
			if err == nil && (it.ID == aItem.ID || it.TenantID == a.ID || it.Text == aItem.Text) {
				return leak("item", aItem.ID)
			}
			if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
				return nil
			}
			return err
		}, ""},
		{"ListItems", "", func(ctx context.Context) error {
			list, _, err := db.ListItems(ctx, pmassist.ItemFilter{})
			for _, it := range list {
				if it.ID == aItem.ID || it.TenantID == a.ID {
					return leak("item", it.ID)
				}
			}
			return err
		}, ""},
		{"DeleteConnectionItems", "", func(ctx context.Context) error {
			_, err := db.DeleteConnectionItems(ctx, conn.ID)
			return err
		}, ""},
		{"Watermark", "", func(ctx context.Context) error {
			wm, err := db.Watermark(ctx, aWM.ConnectionID, aWM.Resource)
			if wm.Value == aWM.Value {
				return leak("watermark", aWM.Resource)
			}
			return err
		}, ""},
		{"ItemsIngested", "", func(ctx context.Context) error {
			n, err := db.ItemsIngested(ctx, "2026-03")
			if n != 0 {
				return leak("usage of", "2026-03")
			}
			return err
		}, ""},
		{"ItemsPerDay", "", func(ctx context.Context) error {
			days, err := db.ItemsPerDay(ctx, aItem.CreatedAt.Add(-time.Hour), time.UTC)
			if len(days) > 0 {
				return leak("items per day", fmt.Sprint(days))
			}
			return err
		}, ""},
		{"CreateJob", " claiming A", func(ctx context.Context) error {
			j := &pmassist.Job{TenantID: a.ID, Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack,
				ConnectionID: "b-conn", Status: pmassist.JobQueued}
			if err := db.CreateJob(ctx, j); err != nil {
				return err
			}
			if j.TenantID == a.ID {
				return leak("job written into tenant", a.ID)
			}
			return nil
		}, ""},
		{"UpdateJob", "", func(ctx context.Context) error {
			_, err := db.UpdateJob(ctx, aJob.ID, pmassist.JobUpdate{Status: ptr(pmassist.JobFailed)})
			return err
		}, pmassist.ENOTFOUND},
		{"FindJob", "", func(ctx context.Context) error {
			_, err := db.FindJob(ctx, aJob.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"ListJobs", "", func(ctx context.Context) error {
			list, _, err := db.ListJobs(ctx, pmassist.JobFilter{})
			for _, j := range list {
				if j.ID == aJob.ID || j.TenantID == a.ID {
					return leak("job", j.ID)
				}
			}
			return err
		}, ""},
		{"ActiveJob", "", func(ctx context.Context) error {
			_, err := db.ActiveJob(ctx, aJob.ConnectionID)
			return err
		}, pmassist.ENOTFOUND},
		{"TenantConfig", "", func(ctx context.Context) error {
			c, err := db.TenantConfig(ctx)
			if c.Timezone == aConfig.Timezone {
				return leak("config of", a.ID)
			}
			return err
		}, ""},
		{"PutTenantConfig", "", func(ctx context.Context) error {
			c := pmassist.DefaultTenantConfig()
			c.Timezone = "Asia/Tokyo"
			return db.PutTenantConfig(ctx, c)
		}, ""},
		{"CreateDecision", " claiming A", func(ctx context.Context) error {
			// B may name the same thread, but as its own decision.
			d := &pmassist.Decision{TenantID: a.ID, ID: unique(), Title: unique(), ThreadKey: aDecision.ThreadKey}
			if err := db.CreateDecision(ctx, d); err != nil {
				return err
			}
			if d.TenantID == a.ID {
				return leak("decision written into tenant", a.ID)
			}
			return nil
		}, ""},
		{"CreateDecision", " superseded by A's", func(ctx context.Context) error {
			return db.CreateDecision(ctx, &pmassist.Decision{Title: unique(), SupersededBy: aDecision.ID})
		}, pmassist.ENOTFOUND},
		{"FindDecision", "", func(ctx context.Context) error {
			_, err := db.FindDecision(ctx, aDecision.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"FindDecisionByThread", "", func(ctx context.Context) error {
			// B's own decision of the same thread may be found; A's not.
			for _, thread := range []string{aDecision.ThreadKey, aDetected.ThreadKey} {
				d, err := db.FindDecisionByThread(ctx, thread)
				if err == nil && (d.ID == aDecision.ID || d.ID == aDetected.ID || d.TenantID == a.ID) {
					return leak("decision", d.ID)
				}
				if err != nil && pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
					return err
				}
			}
			return nil
		}, ""},
		{"DecisionsVersion", "", func(ctx context.Context) error {
			// A change to A's decisions does not move B's version.
			before, err := db.DecisionsVersion(ctx)
			if err != nil {
				return err
			}
			temp := &pmassist.Decision{Title: unique()}
			if err := db.CreateDecision(actx, temp); err != nil {
				return err
			}
			if err := db.DeleteDecision(actx, temp.ID); err != nil {
				return err
			}
			if after, _ := db.DecisionsVersion(ctx); after != before {
				return leak("decisions version", temp.ID)
			}
			return nil
		}, ""},
		{"ListDecisions", "", func(ctx context.Context) error {
			list, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{})
			for _, d := range list {
				if d.ID == aDecision.ID || d.ID == aDetected.ID || d.TenantID == a.ID {
					return leak("decision", d.ID)
				}
			}
			return err
		}, ""},
		{"UpdateDecision", "", func(ctx context.Context) error {
			_, err := db.UpdateDecision(ctx, aDecision.ID, pmassist.DecisionUpdate{Title: ptr("taken over")})
			return err
		}, pmassist.ENOTFOUND},
		{"UpdateDecision", " superseded by A's", func(ctx context.Context) error {
			own := &pmassist.Decision{Title: unique()}
			if err := db.CreateDecision(ctx, own); err != nil {
				return err
			}
			_, err := db.UpdateDecision(ctx, own.ID, pmassist.DecisionUpdate{SupersededBy: &aDecision.ID})
			return err
		}, pmassist.ENOTFOUND},
		{"DeleteDecision", "", func(ctx context.Context) error {
			return db.DeleteDecision(ctx, aDecision.ID)
		}, pmassist.ENOTFOUND},
		{"UpsertDetected", " of A's thread", func(ctx context.Context) error {
			// B may detect a decision in the same thread, but as its own.
			d, changed, err := db.UpsertDetected(ctx, &pmassist.Decision{TenantID: a.ID, Title: unique(), ThreadKey: aDetected.ThreadKey,
				Sources: []pmassist.DecisionSource{{Service: pmassist.ServiceSlack, Kind: "message", ExternalID: "C1:2"}}})
			if err != nil {
				return err
			}
			if !changed || d.ID == aDetected.ID || d.TenantID == a.ID || len(d.Sources) != 1 {
				return leak("decision", aDetected.ID)
			}
			return nil
		}, ""},
		{"UpsertDetectedMany", " joining A's thread", func(ctx context.Context) error {
			// A reply in B never joins A's decision of the same thread key.
			ids, err := db.UpsertDetectedMany(ctx, []*pmassist.Decision{{ThreadKey: aDetected.ThreadKey, JoinOnly: true,
				Participants: []string{"Mallory"}, Sources: []pmassist.DecisionSource{{Service: pmassist.ServiceSlack, ExternalID: "C1:9"}}}})
			if err != nil {
				return err
			}
			if slices.Contains(ids, aDetected.ID) {
				return leak("decision", aDetected.ID)
			}
			return nil
		}, ""},
		{"ItemsUpdatedBetween", "", func(ctx context.Context) error {
			list, err := db.ItemsUpdatedBetween(ctx, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
			for _, it := range list {
				if it.ID == aItem.ID || it.TenantID == a.ID || it.Text == aItem.Text {
					return leak("item", it.ID)
				}
			}
			return err
		}, ""},
		{"ObserveIdentities", " of A's people", func(ctx context.Context) error {
			// B may know the same accounts and emails, but as its own people.
			if err := db.ObserveIdentities(ctx, []pmassist.Identity{
				{Service: pmassist.ServiceSlack, ExternalID: "U-ADA", Handle: "ada", Name: "Ada in B", Email: "ada@a.example"},
				{Service: pmassist.ServiceGitHub, ExternalID: "bob-b", Handle: "bob-b", Email: "grace@a.example"},
			}); err != nil {
				return err
			}
			list, err := db.ListTeammates(ctx)
			if err != nil {
				return err
			}
			for _, p := range list {
				if p.ID == aAda.ID || len(p.Identities) != 1 {
					return leak("person", p.ID)
				}
			}
			return nil
		}, ""},
		{"ListTeammates", "", func(ctx context.Context) error {
			list, err := db.ListTeammates(ctx)
			for _, p := range list {
				for _, ap := range aPeople {
					if p.ID == ap.ID {
						return leak("person", p.ID)
					}
				}
			}
			return err
		}, ""},
		{"FindTeammate", "", func(ctx context.Context) error {
			_, err := db.FindTeammate(ctx, aAda.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"LinkIdentity", " into A's person", func(ctx context.Context) error {
			_, err := db.LinkIdentity(ctx, aAda.ID, pmassist.ServiceGitHub, "grace-a")
			return err
		}, pmassist.ENOTFOUND},
		{"LinkIdentity", " of A's identity", func(ctx context.Context) error {
			// Into a person of B's own: B has no Linear identity L-ADA.
			if err := db.ObserveIdentities(ctx, []pmassist.Identity{{Service: pmassist.ServiceSlack, ExternalID: "U-B", Handle: unique()}}); err != nil {
				return err
			}
			list, err := db.ListTeammates(ctx)
			if err != nil || len(list) == 0 {
				return fmt.Errorf("B has no people: %v", err)
			}
			_, err = db.LinkIdentity(ctx, list[0].ID, pmassist.ServiceLinear, "L-ADA")
			return err
		}, pmassist.ENOTFOUND},
		{"UnlinkIdentity", "", func(ctx context.Context) error {
			_, err := db.UnlinkIdentity(ctx, aAda.ID, pmassist.ServiceLinear, "L-ADA")
			return err
		}, pmassist.ENOTFOUND},
		{"SaveStandup", " of A's date", func(ctx context.Context) error {
			// B may have a standup of the same date, but its own.
			s := &pmassist.Standup{TenantID: a.ID, ID: aStandup.ID, Date: aStandup.Date, Markdown: unique()}
			if err := db.SaveStandup(ctx, s); err != nil {
				return err
			}
			if s.ID == aStandup.ID || s.TenantID == a.ID || len(s.Deliveries) != 0 {
				return leak("standup", aStandup.ID)
			}
			return nil
		}, ""},
		{"FindStandup", "", func(ctx context.Context) error {
			_, err := db.FindStandup(ctx, aStandup.ID)
			return err
		}, pmassist.ENOTFOUND},
		{"FindStandupByDate", "", func(ctx context.Context) error {
			// B's own standup of the date may be found; A's not.
			s, err := db.FindStandupByDate(ctx, aStandup.Date)
			if err == nil && (s.ID == aStandup.ID || s.TenantID == a.ID || s.Markdown == aStandup.Markdown) {
				return leak("standup", aStandup.ID)
			}
			if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
				return nil
			}
			return err
		}, ""},
		{"ListStandups", "", func(ctx context.Context) error {
			list, _, err := db.ListStandups(ctx, "", 0)
			for _, s := range list {
				if s.ID == aStandup.ID || s.TenantID == a.ID {
					return leak("standup", s.ID)
				}
			}
			return err
		}, ""},
		{"UpdateDeliveries", "", func(ctx context.Context) error {
			_, err := db.UpdateDeliveries(ctx, aStandup.ID, nil)
			return err
		}, pmassist.ENOTFOUND},
		{"BillingState", "", func(ctx context.Context) error {
			bs, err := db.BillingState(ctx)
			if err == nil && (bs.CustomerID == aBilling.CustomerID || bs.SubscriptionID == aBilling.SubscriptionID) {
				return leak("billing state of", a.ID)
			}
			return err
		}, ""},
		{"UpdateBilling", "", func(ctx context.Context) error {
			// fn sees B's tenant and state, and its changes stay in B.
			var leaked error
			_, err := db.UpdateBilling(ctx, unique(), func(t *pmassist.Tenant, bs *pmassist.BillingState) (*pmassist.AuditEvent, error) {
				if t.ID == a.ID || bs.CustomerID == aBilling.CustomerID || bs.SubscriptionID == aBilling.SubscriptionID {
					leaked = leak("billing of", a.ID)
				}
				t.ID, t.Tier = a.ID, pmassist.TierEnterprise
				bs.CustomerID, bs.SubscriptionID, bs.Status = unique(), unique(), pmassist.StripeCanceled
				return &pmassist.AuditEvent{Actor: "b", Action: "b.billing", Target: "b-billing"}, nil
			})
			if leaked != nil {
				return leaked
			}
			return err
		}, ""},
	}

	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.method] = true
		t.Run(c.method+c.note+"/other tenant", func(t *testing.T) {
			wantCode(t, c.call(tenantCtx(b.ID)), c.wantB)
		})
		t.Run(c.method+c.note+"/no tenant", func(t *testing.T) {
			err := c.call(context.Background())
			if msg := pmassist.ErrorMessage(err); msg != "no tenant in context" {
				t.Errorf("without a tenant: %v", err)
			}
		})
	}
	for _, m := range tenantScopedMethods() {
		if !covered[m] {
			t.Errorf("tenant-scoped method %s has no isolation case", m)
		}
	}

	// Tenant A is exactly as it was.
	ms, err := db.ListMembers(actx)
	if err != nil || len(ms) != 2 || ms[1].UserID != carol.ID || ms[1].Role != pmassist.RoleAdmin {
		t.Errorf("A's members now %+v, %v", ms, err)
	}
	if tks, err := db.ListAPITokens(actx, alice.ID); err != nil || len(tks) != 1 || tks[0].LastUsedAt != nil {
		t.Errorf("A's tokens now %+v, %v", tks, err)
	}
	if tk, err := db.FindAPITokenByHash(context.Background(), token.Hash); err != nil || tk.TenantID != a.ID {
		t.Errorf("A's token by hash %+v, %v", tk, err)
	}
	if list, err := db.ListInvitations(actx); err != nil || len(list) != 1 || list[0].ID != inv.ID {
		t.Errorf("A's invitations now %+v, %v", list, err)
	}
	if list, _, err := db.ListAuditEvents(actx, pmassist.AuditFilter{}); err != nil || len(list) != 1 || list[0].ID != event.ID {
		t.Errorf("A's audit log now %+v, %v", list, err)
	}
	if list, err := db.ListConnections(actx); err != nil || len(list) != 1 || list[0].ID != conn.ID ||
		list[0].Status != pmassist.ConnectionConnected || list[0].WorkspaceName != conn.WorkspaceName {
		t.Errorf("A's connections now %+v, %v", list, err)
	}
	if tok, err := db.ConnectionToken(actx, conn.ID); err != nil || tok != aTok {
		t.Errorf("A's token now differs (err %v)", err)
	}
	if app, err := db.FindOAuthApp(actx, aApp.Service); err != nil || app.ClientID != aApp.ClientID || app.ClientSecret != aApp.ClientSecret {
		t.Errorf("A's own app now differs (err %v)", err)
	}
	if list, err := db.ListOAuthAppServices(actx); err != nil || !slices.Equal(list, []pmassist.Service{aApp.Service}) {
		t.Errorf("A's own apps now %v, %v", list, err)
	}
	if list, _, err := db.ListItems(actx, pmassist.ItemFilter{}); err != nil || len(list) != 1 || list[0].ID != aItem.ID ||
		list[0].Text != aItem.Text || list[0].TenantID != a.ID {
		t.Errorf("A's items now %+v, %v", list, err)
	}
	if it, err := db.FindItemByExternalID(actx, aItem.Service, aItem.ExternalID); err != nil || it.ID != aItem.ID {
		t.Errorf("A's item by external id now %+v, %v", it, err)
	}
	if wm, err := db.Watermark(actx, aWM.ConnectionID, aWM.Resource); err != nil || wm != aWM {
		t.Errorf("A's watermark now %+v, %v", wm, err)
	}
	if n, err := db.ItemsIngested(actx, "2026-03"); err != nil || n != 1 {
		t.Errorf("A's usage now %d, %v", n, err)
	}
	if j, err := db.ActiveJob(actx, conn.ID); err != nil || j.ID != aJob.ID || j.Status != pmassist.JobQueued {
		t.Errorf("A's active job now %+v, %v", j, err)
	}
	if list, _, err := db.ListJobs(actx, pmassist.JobFilter{}); err != nil || len(list) != 1 || list[0].ID != aJob.ID {
		t.Errorf("A's jobs now %+v, %v", list, err)
	}
	if c, err := db.TenantConfig(actx); err != nil || c.Timezone != aConfig.Timezone {
		t.Errorf("A's config now %+v, %v", c, err)
	}
	for _, want := range []*pmassist.Decision{aDecision, aDetected} {
		if d, err := db.FindDecision(actx, want.ID); err != nil || !reflect.DeepEqual(d, want) {
			t.Errorf("A's decision now %+v, %v; want %+v", d, err, want)
		}
		if d, err := db.FindDecisionByThread(actx, want.ThreadKey); err != nil || d.ID != want.ID {
			t.Errorf("A's decision of thread %s now %+v, %v", want.ThreadKey, d, err)
		}
	}
	if list, _, err := db.ListDecisions(actx, pmassist.DecisionFilter{}); err != nil || len(list) != 2 {
		t.Errorf("A's decisions now %+v, %v", list, err)
	}
	if list, err := db.ItemsUpdatedBetween(actx, aItem.CreatedAt, aItem.CreatedAt.Add(time.Nanosecond)); err != nil || len(list) != 1 || list[0].ID != aItem.ID {
		t.Errorf("A's items updated then %+v, %v", list, err)
	}
	if list, err := db.ListTeammates(actx); err != nil || !reflect.DeepEqual(list, aPeople) {
		t.Errorf("A's teammates now %+v, %v; want %+v", list, err, aPeople)
	}
	if s, err := db.FindStandupByDate(actx, aStandup.Date); err != nil || !reflect.DeepEqual(s, aStandup) {
		t.Errorf("A's standup now %+v, %v; want %+v", s, err, aStandup)
	}
	if list, _, err := db.ListStandups(actx, "", 0); err != nil || len(list) != 1 || list[0].ID != aStandup.ID {
		t.Errorf("A's standups now %+v, %v", list, err)
	}
	if bs, err := db.BillingState(actx); err != nil || bs.CustomerID != aBilling.CustomerID || bs.SubscriptionID != aBilling.SubscriptionID ||
		bs.Status != aBilling.Status || bs.SubscribedTier != aBilling.SubscribedTier {
		t.Errorf("A's billing state now %+v, %v; want %+v", bs, err, aBilling)
	}
	if at, err := db.FindTenantByID(context.Background(), a.ID); err != nil || at.Tier != pmassist.TierPro || at.Name != "A" {
		t.Errorf("A's tenant now %+v, %v", at, err)
	}
	if id, err := db.TenantByCustomer(context.Background(), aBilling.CustomerID); err != nil || id != a.ID {
		t.Errorf("A's customer now leads to %q, %v", id, err)
	}
	if bt, err := db.FindTenantByID(context.Background(), b.ID); err != nil || bt.Tier != pmassist.TierEnterprise {
		t.Errorf("B's tenant %+v, %v; want B's billing update applied to B", bt, err)
	}
}

// tenantScopedMethods lists the methods of the tenant-scoped interfaces,
// less those that find their tenant some other way, so that a method added
// later without an isolation case fails the test above.
func tenantScopedMethods() []string {
	notScoped := map[string]bool{
		"ListUserTenants":      true,
		"FindAPITokenByHash":   true,
		"FindInvitationByHash": true,
		"AcceptInvitation":     true,
		"ListAllConnections":   true,
		"ListRecentJobs":       true,
		"FailInterruptedJobs":  true,
		// Billing finds the tenant of a Stripe event from the event.
		"RecordBillingEvent": true,
		"TenantByCustomer":   true,
		"ListBilledTenants":  true,
	}
	var names []string
	for _, it := range []reflect.Type{
		reflect.TypeFor[pmassist.MemberService](),
		reflect.TypeFor[pmassist.APITokenService](),
		reflect.TypeFor[pmassist.InvitationService](),
		reflect.TypeFor[pmassist.AuditService](),
		reflect.TypeFor[pmassist.ConnectionService](),
		reflect.TypeFor[pmassist.OAuthAppService](),
		reflect.TypeFor[pmassist.ItemService](),
		reflect.TypeFor[pmassist.JobService](),
		reflect.TypeFor[pmassist.TenantConfigService](),
		reflect.TypeFor[pmassist.DecisionService](),
		reflect.TypeFor[pmassist.ItemsUpdated](),
		reflect.TypeFor[pmassist.TeammateService](),
		reflect.TypeFor[pmassist.StandupService](),
		reflect.TypeFor[pmassist.BillingStore](),
	} {
		for m := range it.Methods() {
			if !notScoped[m.Name] {
				names = append(names, m.Name)
			}
		}
	}
	return names
}
