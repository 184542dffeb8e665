package pmassist

import (
	"context"
	"net/http"
	"time"
)

// SourcePage is one page of items fetched from a provider.
type SourcePage struct {
	Items []*Item
	// Watermark, when set, is advanced in the same transaction as Items;
	// sources set it on the last page of a resource.
	Watermark *Watermark
}

// FetchRequest tells a Source what to fetch for one connection.
type FetchRequest struct {
	Connection *Connection
	Config     TenantConfig
	// Watermark returns the stored watermark of a resource (zero before the
	// first run).
	Watermark func(ctx context.Context, resource string) (Watermark, error)
	// Emit stores a page before the source fetches the next one; an error
	// (quota reached, shutdown) stops the fetch and is returned by Fetch.
	Emit func(ctx context.Context, page SourcePage) error
}

// Source fetches a connection's items from its provider: incrementally from
// the watermarks, following pagination, honouring rate limits (waiting, not
// failing), retrying transient errors with backoff. A revoked or invalid
// token is reported as an EUNAUTHORIZED error.
type Source interface {
	Fetch(ctx context.Context, req FetchRequest) error
}

// AccessTokens gives provider clients a working access token of a
// connection of the context's tenant; refreshing is its business, never
// the client's.
type AccessTokens interface {
	AccessToken(ctx context.Context, connectionID string) (string, error)
}

// WebhookDelivery is a webhook whose signature was verified, parsed.
type WebhookDelivery struct {
	// ID is the provider's event or delivery id, for deduplication.
	ID string
	// WorkspaceID routes the delivery to the tenants connected to it (Slack
	// team id, Linear organization id, GitHub account/organization id).
	WorkspaceID string
	// WorkspaceLogin is GitHub's organization or owner login (the account
	// id of a connection may differ from the repository owner's).
	WorkspaceLogin string
	// Challenge is Slack's url_verification challenge, to be echoed.
	Challenge string
	// Items are the items the event carries, converted.
	Items []*Item
	// Refresh asks for an ingestion run of the connection instead (the
	// event only says that something changed).
	Refresh bool
	// TenantID is set by the verifier when the delivery was signed with a
	// tenant's own app's signing secret: it then vouches for that tenant's
	// connections only (and its id is deduplicated apart from others).
	TenantID string
}

// WebhookReceiver verifies and parses one provider's webhooks.
type WebhookReceiver interface {
	// Verify checks the signature with secret in constant time and refuses
	// stale timestamps.
	Verify(header http.Header, body []byte, secret string, now time.Time) error
	// Parse converts a verified body. Unknown event types yield an empty
	// delivery, not an error.
	Parse(header http.Header, body []byte) (*WebhookDelivery, error)
}

// WebhookVerifier checks a delivery against the webhook secrets the
// appliance holds for a service (its own app's, and tenants' own apps'),
// and parses it once one matches. The secrets never leave it.
type WebhookVerifier interface {
	VerifyWebhook(ctx context.Context, service Service, recv WebhookReceiver, header http.Header, body []byte, now time.Time) (*WebhookDelivery, error)
}

// DeliveryLog remembers webhook delivery ids for deduplication.
type DeliveryLog interface {
	// SeenDelivery records id and reports whether it was seen before.
	SeenDelivery(ctx context.Context, service Service, id string, now time.Time) (bool, error)
}

// WebhookResult is what receiving a delivery did.
type WebhookResult struct {
	Challenge string // Slack url_verification: echo it
	Duplicate bool   // seen before: acknowledged, not applied again
	Routed    int    // connections the delivery was applied to (0: ignored)
}

// WebhookService receives webhooks: verify, deduplicate, route to the
// connected tenants, apply. A bad or stale signature is EUNAUTHORIZED.
type WebhookService interface {
	Receive(ctx context.Context, service Service, header http.Header, body []byte) (WebhookResult, error)
}
