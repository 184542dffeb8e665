package stripe

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pmassist/pmassist"
)

// webhookTolerance is how old a signature's timestamp may be.
const webhookTolerance = 300 * time.Second

// ParseWebhook verifies a webhook's Stripe-Signature (HMAC-SHA256 with the
// webhook secret, timestamp at most 300 s old) and reduces the event to the
// ids billing needs. Any verification failure — no header, a malformed or
// wrong signature, another endpoint's secret, a stale timestamp, no secret
// configured — is EUNAUTHORIZED; a body that is not an event although its
// signature is valid is EINVALID.
//
// The event's api_version is deliberately not checked
// (IgnoreAPIVersionMismatch): stripe-go v76 would otherwise refuse every
// event of an endpoint created with a newer API version than the pinned
// 2023-10-16. That is safe here because only ids are read from the payload
// — the customer, the subscription, client_reference_id and metadata
// tenant_id — and they are read leniently (an id or an expanded object;
// unknown and retyped fields are ignored, an invoice's subscription is also
// looked for under parent.subscription_details as newer versions render
// it). The subscription itself is then re-read with the pinned version
// (Subscription) instead of trusting the payload.
//
// The payload is treated as hostile: its size is the caller's limit, and no
// input makes this panic.
func (c *Client) ParseWebhook(payload []byte, signatureHeader string) (*pmassist.BillingEvent, error) {
	if c.webhookSecret == "" {
		return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED,
			"Stripe webhooks cannot be verified: no webhook secret is configured (PMASSIST_STRIPE_WEBHOOK_SECRET)")
	}
	opts := webhook.ConstructEventOptions{Tolerance: webhookTolerance, IgnoreAPIVersionMismatch: true}
	ev, err := webhook.ConstructEventWithOptions(payload, signatureHeader, c.webhookSecret, opts)
	if err != nil {
		// Tell a refused signature from a body that is not JSON: only the
		// signature check itself decides EUNAUTHORIZED.
		if verr := webhook.ValidatePayloadWithTolerance(payload, signatureHeader, c.webhookSecret, webhookTolerance); verr != nil {
			return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED, "%s", signatureMessage(verr))
		}
		return nil, pmassist.Errorf(pmassist.EINVALID, "the Stripe webhook is not a JSON event")
	}
	if ev.ID == "" || ev.Type == "" {
		return nil, pmassist.Errorf(pmassist.EINVALID, "the Stripe webhook event has no id or type")
	}
	be := &pmassist.BillingEvent{ID: ev.ID, Type: string(ev.Type)}
	if ev.Created > 0 {
		be.Created = time.Unix(ev.Created, 0).UTC()
	}
	if ev.Data == nil {
		return be, nil
	}
	raw := ev.Data.Raw
	typ := string(ev.Type)
	switch {
	case strings.HasPrefix(typ, "checkout.session."):
		var s struct {
			Customer          ref      `json:"customer"`
			Subscription      ref      `json:"subscription"`
			ClientReferenceID *string  `json:"client_reference_id"`
			Metadata          metadata `json:"metadata"`
		}
		if err := decodeObject(raw, &s); err != nil {
			return nil, err
		}
		be.CustomerID, be.SubscriptionID = s.Customer.ID, s.Subscription.ID
		be.TenantID = s.Metadata.TenantID
		if s.ClientReferenceID != nil && *s.ClientReferenceID != "" {
			be.TenantID = *s.ClientReferenceID
		}
	case strings.HasPrefix(typ, "customer.subscription."):
		var s struct {
			ID       string   `json:"id"`
			Customer ref      `json:"customer"`
			Metadata metadata `json:"metadata"`
		}
		if err := decodeObject(raw, &s); err != nil {
			return nil, err
		}
		be.SubscriptionID, be.CustomerID, be.TenantID = s.ID, s.Customer.ID, s.Metadata.TenantID
	case strings.HasPrefix(typ, "invoice."):
		type details struct {
			Subscription ref      `json:"subscription"`
			Metadata     metadata `json:"metadata"`
		}
		var in struct {
			Customer            ref      `json:"customer"`
			Subscription        ref      `json:"subscription"`
			SubscriptionDetails *details `json:"subscription_details"`
			// Parent is where API versions from 2025-03-31 put the
			// subscription and its metadata.
			Parent *struct {
				SubscriptionDetails *details `json:"subscription_details"`
			} `json:"parent"`
		}
		if err := decodeObject(raw, &in); err != nil {
			return nil, err
		}
		be.CustomerID, be.SubscriptionID = in.Customer.ID, in.Subscription.ID
		be.TenantID = in.Subscription.TenantID
		if d := in.SubscriptionDetails; d != nil && d.Metadata.TenantID != "" {
			be.TenantID = d.Metadata.TenantID
		}
		if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
			d := in.Parent.SubscriptionDetails
			if be.SubscriptionID == "" {
				be.SubscriptionID = d.Subscription.ID
			}
			if be.TenantID == "" {
				be.TenantID = d.Metadata.TenantID
			}
		}
	}
	return be, nil
}

// signatureMessage explains a refused signature without quoting the secret
// or the header.
func signatureMessage(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "the Stripe webhook has no Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "the Stripe webhook's Stripe-Signature header is malformed"
	case errors.Is(err, webhook.ErrTooOld):
		return "the Stripe webhook's signature is more than 5 minutes old"
	default:
		return "the Stripe webhook's signature does not match the webhook secret"
	}
}

// decodeObject decodes an event's data.object; an object that is not a JSON
// object of the expected shape is EINVALID.
func decodeObject(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return pmassist.Errorf(pmassist.EINVALID, "the Stripe webhook event's object is malformed")
	}
	return nil
}

// ref is an expandable field: an id string, an expanded object with an id
// (and, for a subscription, metadata), or null.
type ref struct {
	ID       string
	TenantID string // metadata tenant_id of an expanded object
}

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &r.ID)
	case b[0] == '{':
		var o struct {
			ID       string   `json:"id"`
			Metadata metadata `json:"metadata"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		r.ID, r.TenantID = o.ID, o.Metadata.TenantID
		return nil
	}
	return errors.New("expected an id or an object")
}

// metadata is a Stripe metadata object, of which only tenant_id is kept;
// other keys may hold anything.
type metadata struct{ TenantID string }

func (m *metadata) UnmarshalJSON(b []byte) error {
	var kv map[string]json.RawMessage
	if err := json.Unmarshal(b, &kv); err != nil {
		return err
	}
	v, ok := kv["tenant_id"]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	return json.Unmarshal(v, &m.TenantID)
}
