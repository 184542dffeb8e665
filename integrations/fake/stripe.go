package fake

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// StripeAPIVersion is the API version the Stripe stand-in reports and puts
// in the events StripeEvent builds: the one stripe-go v76 pins.
const StripeAPIVersion = "2023-10-16"

// StripeCheckoutURL is where the stand-in's Checkout sessions point; the
// session id follows.
const StripeCheckoutURL = "https://checkout.stripe.test/c/pay/"

// StripePortalURL is where the stand-in's customer-portal sessions point;
// the session id follows.
const StripePortalURL = "https://billing.stripe.test/p/session/"

// Stripe is the Stripe API stand-in (PMASSIST_STRIPE_API_URL): the calls
// billing makes (POST /v1/customers, /v1/checkout/sessions,
// /v1/billing_portal/sessions; GET /v1/checkout/sessions/{id},
// /v1/subscriptions/{id}) in Stripe's wire format — form-encoded requests
// with bracketed keys, JSON objects with an "object" field, Stripe's error
// shape — authenticated by one secret key (Bearer or Basic, as Stripe
// accepts). Unknown top-level parameters are refused like Stripe does, and
// POSTs honour Idempotency-Key by replaying the first answer.
//
// Nothing is charged: CompleteCheckout stands in for the customer paying,
// SetSubscription and DeleteSubscription for changes made in Stripe's
// dashboard, and StripeEvent builds the signed webhook deliveries Stripe
// would send.
type Stripe struct {
	key string
	mux *http.ServeMux

	mu        sync.Mutex
	seq       int
	customers map[string]StripeCustomer
	sessions  []*StripeCheckoutSession
	portals   []StripePortalSession
	subs      map[string]StripeSubscription
	failLeft  int
	failCode  int
	calls     int
	idem      map[string]stripeReplay
}

// StripeCustomer is a customer the stand-in created.
type StripeCustomer struct {
	ID, Name, Email string
	Metadata        map[string]string
	Created         time.Time
}

// StripeCheckoutSession is a Checkout session as requested, plus what
// CompleteCheckout did with it.
type StripeCheckoutSession struct {
	ID                string
	URL               string
	Mode              string
	CustomerID        string
	ClientReferenceID string
	PriceID           string // line_items[0][price]
	Quantity          int64  // line_items[0][quantity]
	SuccessURL        string
	CancelURL         string
	Metadata          map[string]string // the session's metadata
	// SubscriptionMetadata is subscription_data[metadata]: what the
	// subscription created by this checkout carries.
	SubscriptionMetadata map[string]string
	Created              time.Time
	// Status is "open" until CompleteCheckout makes it "complete".
	Status         string
	SubscriptionID string // set by CompleteCheckout
}

// StripePortalSession is a customer-portal session as requested.
type StripePortalSession struct {
	ID, URL, CustomerID, ReturnURL string
}

// StripeSubscription is a subscription as the stand-in serves it on
// GET /v1/subscriptions/{id}.
type StripeSubscription struct {
	ID                string
	CustomerID        string
	Status            string // Stripe's status: "active", "past_due", "canceled", …
	PriceID           string // the price of its only item
	CurrentPeriodEnd  time.Time
	CancelAtPeriodEnd bool
	TenantID          string // metadata tenant_id; "" leaves metadata empty
}

type stripeReplay struct {
	status int
	body   []byte
}

// NewStripe returns a Stripe stand-in that accepts secretKey only.
func NewStripe(secretKey string) *Stripe {
	s := &Stripe{
		key:       secretKey,
		mux:       http.NewServeMux(),
		customers: map[string]StripeCustomer{},
		subs:      map[string]StripeSubscription{},
		idem:      map[string]stripeReplay{},
	}
	s.mux.HandleFunc("POST /v1/customers", s.createCustomer)
	s.mux.HandleFunc("POST /v1/checkout/sessions", s.createCheckout)
	s.mux.HandleFunc("GET /v1/checkout/sessions/{id}", s.getCheckout)
	s.mux.HandleFunc("POST /v1/billing_portal/sessions", s.createPortal)
	s.mux.HandleFunc("GET /v1/subscriptions/{id}", s.getSubscription)
	return s
}

// ServeHTTP serves the Stripe API: authentication, injected failures and
// idempotent replays first, then the routes. An unknown path under /v1 is
// Stripe's 404 invalid_request_error.
func (s *Stripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	status := 0
	if s.failLeft > 0 {
		s.failLeft--
		status = s.failCode
	}
	s.mu.Unlock()
	if status != 0 {
		stripeFailure(w, status)
		return
	}
	if !s.authorized(r) {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "",
			"Invalid API Key provided: "+redactKey(stripeKey(r)), "")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "",
			fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", r.Method, r.URL.Path), "")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || key == "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	idemKey := r.URL.Path + "\x00" + key
	s.mu.Lock()
	prev, seen := s.idem[idemKey]
	s.mu.Unlock()
	if seen {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.status)
		_, _ = w.Write(prev.body)
		return
	}
	rec := &stripeRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	if rec.status < 500 {
		s.mu.Lock()
		s.idem[idemKey] = stripeReplay{status: rec.status, body: rec.body}
		s.mu.Unlock()
	}
}

// stripeRecorder keeps a copy of an answer for idempotent replays.
type stripeRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (r *stripeRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *stripeRecorder) Write(b []byte) (int, error) {
	r.body = append(r.body, b...)
	return r.ResponseWriter.Write(b)
}

// Fail makes the next n API requests answer status (429: Stripe's
// rate_limit error; 5xx: an api_error) before authentication.
func (s *Stripe) Fail(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failLeft = status, n
}

// Calls counts the requests served, refused ones included.
func (s *Stripe) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Customers lists the customers created, in no particular order.
func (s *Stripe) Customers() []StripeCustomer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StripeCustomer, 0, len(s.customers))
	for _, c := range s.customers {
		c.Metadata = maps.Clone(c.Metadata)
		out = append(out, c)
	}
	return out
}

// Sessions lists the Checkout sessions created, oldest first.
func (s *Stripe) Sessions() []StripeCheckoutSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StripeCheckoutSession, len(s.sessions))
	for i, cs := range s.sessions {
		out[i] = cs.clone()
	}
	return out
}

// LastCheckout returns the latest Checkout session; false when there is
// none.
func (s *Stripe) LastCheckout() (StripeCheckoutSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) == 0 {
		return StripeCheckoutSession{}, false
	}
	return s.sessions[len(s.sessions)-1].clone(), true
}

// PortalSessions lists the customer-portal sessions created, oldest first.
func (s *Stripe) PortalSessions() []StripePortalSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.portals)
}

// SetSubscription creates or replaces a subscription (and its customer, if
// unknown) as if it had been changed in Stripe.
func (s *Stripe) SetSubscription(sub StripeSubscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub.CustomerID != "" {
		if _, ok := s.customers[sub.CustomerID]; !ok {
			s.customers[sub.CustomerID] = StripeCustomer{ID: sub.CustomerID, Created: time.Now().UTC()}
		}
	}
	s.subs[sub.ID] = sub
}

// DeleteSubscription forgets a subscription: GET answers 404
// resource_missing afterwards.
func (s *Stripe) DeleteSubscription(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, id)
}

// Subscription returns a subscription; false when there is none.
func (s *Stripe) Subscription(id string) (StripeSubscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	return sub, ok
}

// CompleteCheckout stands in for the customer paying an open Checkout
// session at now: it creates an active subscription to the session's price
// for its customer, carrying subscription_data[metadata] (tenant_id), with a
// period ending a month after now, and marks the session complete.
func (s *Stripe) CompleteCheckout(sessionID string, now time.Time) (StripeSubscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.session(sessionID)
	if cs == nil {
		return StripeSubscription{}, fmt.Errorf("fake stripe: no such checkout session: %q", sessionID)
	}
	if cs.Status != "open" {
		return StripeSubscription{}, fmt.Errorf("fake stripe: checkout session %s is %s", sessionID, cs.Status)
	}
	if cs.Mode != "subscription" {
		return StripeSubscription{}, fmt.Errorf("fake stripe: checkout session %s is in %s mode", sessionID, cs.Mode)
	}
	if cs.CustomerID == "" {
		c := StripeCustomer{ID: s.newID("cus_"), Created: now.UTC()}
		s.customers[c.ID] = c
		cs.CustomerID = c.ID
	}
	sub := StripeSubscription{
		ID:               s.newID("sub_"),
		CustomerID:       cs.CustomerID,
		Status:           "active",
		PriceID:          cs.PriceID,
		CurrentPeriodEnd: now.UTC().AddDate(0, 1, 0).Truncate(time.Second),
		TenantID:         cs.SubscriptionMetadata["tenant_id"],
	}
	s.subs[sub.ID] = sub
	cs.Status = "complete"
	cs.SubscriptionID = sub.ID
	return sub, nil
}

// CheckoutSessionObject is a Checkout session in Stripe's JSON format, as a
// checkout.session.* event carries it; false when there is none.
func (s *Stripe) CheckoutSessionObject(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.session(id)
	if cs == nil {
		return nil, false
	}
	return cs.object(), true
}

// SubscriptionObject is a subscription in Stripe's JSON format, as GET
// /v1/subscriptions/{id} and customer.subscription.* events carry it; false
// when there is none.
func (s *Stripe) SubscriptionObject(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return nil, false
	}
	return sub.object(), true
}

// StripeEventPayload builds an event in Stripe's format (api_version
// StripeAPIVersion) around object, a resource as Stripe renders it.
func StripeEventPayload(id, typ string, object map[string]any, created time.Time) []byte {
	body, err := json.Marshal(map[string]any{
		"id":               id,
		"object":           "event",
		"api_version":      StripeAPIVersion,
		"created":          created.Unix(),
		"data":             map[string]any{"object": object},
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             typ,
	})
	if err != nil {
		panic("fake: stripe event: " + err.Error())
	}
	return body
}

// SignStripe returns the Stripe-Signature header of payload signed with the
// webhook secret at the given moment (t=…,v1=…).
func SignStripe(secret string, payload []byte, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: at,
	}).Header
}

// StripeEvent builds a webhook delivery: the event's JSON (see
// StripeEventPayload) and its Stripe-Signature header, signed with secret
// now.
func StripeEvent(secret, id, typ string, object map[string]any, created time.Time) (payload []byte, signatureHeader string) {
	return StripeEventAt(secret, id, typ, object, created, time.Now())
}

// StripeEventAt is StripeEvent signed at an explicit moment (a stale
// signature, for instance).
func StripeEventAt(secret, id, typ string, object map[string]any, created, signedAt time.Time) (payload []byte, signatureHeader string) {
	payload = StripeEventPayload(id, typ, object, created)
	return payload, SignStripe(secret, payload, signedAt)
}

// ---- handlers ----

// stripeParams is the top-level parameters each POST accepts (Stripe
// answers "Received unknown parameter" for others).
var stripeParams = map[string]map[string]bool{
	"customers": set("name", "email", "metadata", "description", "phone", "address", "expand",
		"preferred_locales", "payment_method", "invoice_settings", "tax_exempt", "test_clock"),
	"checkout": set("mode", "customer", "customer_email", "client_reference_id", "line_items",
		"subscription_data", "metadata", "success_url", "cancel_url", "expand", "locale",
		"allow_promotion_codes", "billing_address_collection", "automatic_tax",
		"customer_update", "payment_method_types", "ui_mode", "return_url", "tax_id_collection",
		"consent_collection", "payment_method_collection", "discounts"),
	"portal": set("customer", "return_url", "configuration", "locale", "flow_data", "expand", "on_behalf_of"),
}

// stripeForm parses a POST body and refuses unknown top-level parameters;
// false means an error was answered.
func stripeForm(w http.ResponseWriter, r *http.Request, allowed map[string]bool) (url.Values, bool) {
	if err := r.ParseForm(); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid request body: "+err.Error(), "")
		return nil, false
	}
	keys := slices.Sorted(maps.Keys(r.PostForm))
	for _, k := range keys {
		top, _, _ := strings.Cut(k, "[")
		if !allowed[top] {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_unknown",
				"Received unknown parameter: "+k, k)
			return nil, false
		}
	}
	return r.PostForm, true
}

// bracketMap collects the prefix[key]=value parameters (metadata[tenant_id]).
func bracketMap(f url.Values, prefix string) map[string]string {
	m := map[string]string{}
	for k, v := range f {
		if rest, ok := strings.CutPrefix(k, prefix+"["); ok && strings.HasSuffix(rest, "]") && len(v) > 0 {
			key := strings.TrimSuffix(rest, "]")
			if key != "" && !strings.ContainsAny(key, "[]") {
				m[key] = v[0]
			}
		}
	}
	return m
}

func (s *Stripe) createCustomer(w http.ResponseWriter, r *http.Request) {
	f, ok := stripeForm(w, r, stripeParams["customers"])
	if !ok {
		return
	}
	s.mu.Lock()
	c := StripeCustomer{
		ID:       s.newID("cus_"),
		Name:     f.Get("name"),
		Email:    f.Get("email"),
		Metadata: bracketMap(f, "metadata"),
		Created:  time.Now().UTC(),
	}
	s.customers[c.ID] = c
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id":             c.ID,
		"object":         "customer",
		"created":        c.Created.Unix(),
		"email":          nullable(c.Email),
		"name":           nullable(c.Name),
		"metadata":       c.Metadata,
		"livemode":       false,
		"balance":        0,
		"delinquent":     false,
		"description":    nil,
		"invoice_prefix": strings.ToUpper(randString(8, hexdig)),
	})
}

var stripeLineItem = regexp.MustCompile(`^line_items\[(\d+)\]\[(price|quantity)\]$`)

func (s *Stripe) createCheckout(w http.ResponseWriter, r *http.Request) {
	f, ok := stripeForm(w, r, stripeParams["checkout"])
	if !ok {
		return
	}
	mode := f.Get("mode")
	switch mode {
	case "":
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Missing required param: mode.", "mode")
		return
	case "payment", "setup", "subscription":
	default:
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_string",
			"Invalid mode: must be one of payment, setup, or subscription", "mode")
		return
	}
	if f.Get("success_url") == "" && f.Get("ui_mode") != "embedded" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Missing required param: success_url.", "success_url")
		return
	}
	cs := &StripeCheckoutSession{
		Mode:                 mode,
		CustomerID:           f.Get("customer"),
		ClientReferenceID:    f.Get("client_reference_id"),
		SuccessURL:           f.Get("success_url"),
		CancelURL:            f.Get("cancel_url"),
		Metadata:             bracketMap(f, "metadata"),
		SubscriptionMetadata: bracketMap(f, "subscription_data[metadata]"),
		Created:              time.Now().UTC(),
		Status:               "open",
	}
	items := 0
	for k, v := range f {
		m := stripeLineItem.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		if m[1] != "0" {
			items = max(items, 2)
			continue
		}
		items = max(items, 1)
		switch m[2] {
		case "price":
			cs.PriceID = v[0]
		case "quantity":
			q, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil || q < 1 {
				stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer",
					"Invalid integer: "+v[0], k)
				return
			}
			cs.Quantity = q
		}
	}
	if mode == "subscription" && cs.PriceID == "" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing",
			"Missing required param: line_items[0][price].", "line_items[0][price]")
		return
	}
	if items > 1 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer",
			"The stand-in supports one line item.", "line_items")
		return
	}
	if cs.PriceID != "" && cs.Quantity == 0 {
		cs.Quantity = 1
	}
	if len(cs.ClientReferenceID) > 200 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "string_length_too_long",
			"Invalid string: client_reference_id must be at most 200 characters", "client_reference_id")
		return
	}
	s.mu.Lock()
	if cs.CustomerID != "" {
		if _, known := s.customers[cs.CustomerID]; !known {
			s.mu.Unlock()
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing",
				fmt.Sprintf("No such customer: '%s'", cs.CustomerID), "customer")
			return
		}
	}
	cs.ID = s.newID("cs_test_")
	cs.URL = StripeCheckoutURL + cs.ID
	s.sessions = append(s.sessions, cs)
	obj := cs.object()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj)
}

func (s *Stripe) getCheckout(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	obj, ok := s.CheckoutSessionObject(id)
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing",
			fmt.Sprintf("No such checkout.session: '%s'", id), "session")
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

func (s *Stripe) createPortal(w http.ResponseWriter, r *http.Request) {
	f, ok := stripeForm(w, r, stripeParams["portal"])
	if !ok {
		return
	}
	customer := f.Get("customer")
	if customer == "" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Missing required param: customer.", "customer")
		return
	}
	s.mu.Lock()
	if _, known := s.customers[customer]; !known {
		s.mu.Unlock()
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing",
			fmt.Sprintf("No such customer: '%s'", customer), "customer")
		return
	}
	p := StripePortalSession{ID: s.newID("bps_"), CustomerID: customer, ReturnURL: f.Get("return_url")}
	p.URL = StripePortalURL + p.ID
	s.portals = append(s.portals, p)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id":            p.ID,
		"object":        "billing_portal.session",
		"configuration": "bpc_" + randString(24, alnum),
		"created":       time.Now().Unix(),
		"customer":      p.CustomerID,
		"flow":          nil,
		"livemode":      false,
		"locale":        nil,
		"on_behalf_of":  nil,
		"return_url":    nullable(p.ReturnURL),
		"url":           p.URL,
	})
}

func (s *Stripe) getSubscription(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	obj, ok := s.SubscriptionObject(id)
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing",
			fmt.Sprintf("No such subscription: '%s'", id), "id")
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// ---- objects and helpers (callers hold s.mu where it matters) ----

func (s *Stripe) newID(prefix string) string {
	s.seq++
	return prefix + randString(14, alnum) + strconv.Itoa(s.seq)
}

func (s *Stripe) session(id string) *StripeCheckoutSession {
	for _, cs := range s.sessions {
		if cs.ID == id {
			return cs
		}
	}
	return nil
}

func (cs *StripeCheckoutSession) clone() StripeCheckoutSession {
	c := *cs
	c.Metadata = maps.Clone(cs.Metadata)
	c.SubscriptionMetadata = maps.Clone(cs.SubscriptionMetadata)
	return c
}

func (cs *StripeCheckoutSession) object() map[string]any {
	payment := "unpaid"
	link := any(cs.URL)
	if cs.Status == "complete" {
		payment, link = "paid", nil
	}
	return map[string]any{
		"id":                  cs.ID,
		"object":              "checkout.session",
		"mode":                cs.Mode,
		"status":              cs.Status,
		"payment_status":      payment,
		"customer":            nullable(cs.CustomerID),
		"client_reference_id": nullable(cs.ClientReferenceID),
		"subscription":        nullable(cs.SubscriptionID),
		"metadata":            nonNil(cs.Metadata),
		"success_url":         nullable(cs.SuccessURL),
		"cancel_url":          nullable(cs.CancelURL),
		"url":                 link,
		"created":             cs.Created.Unix(),
		"expires_at":          cs.Created.Add(24 * time.Hour).Unix(),
		"livemode":            false,
		"currency":            "usd",
	}
}

func (sub StripeSubscription) object() map[string]any {
	meta := map[string]string{}
	if sub.TenantID != "" {
		meta["tenant_id"] = sub.TenantID
	}
	var periodEnd, periodStart int64
	if !sub.CurrentPeriodEnd.IsZero() {
		periodEnd = sub.CurrentPeriodEnd.Unix()
		periodStart = sub.CurrentPeriodEnd.AddDate(0, -1, 0).Unix()
	}
	items := []any{}
	if sub.PriceID != "" {
		items = append(items, map[string]any{
			"id":           "si_" + strings.TrimPrefix(sub.ID, "sub_"),
			"object":       "subscription_item",
			"price":        map[string]any{"id": sub.PriceID, "object": "price", "active": true, "currency": "usd", "type": "recurring"},
			"quantity":     1,
			"subscription": sub.ID,
		})
	}
	return map[string]any{
		"id":                   sub.ID,
		"object":               "subscription",
		"customer":             sub.CustomerID,
		"status":               sub.Status,
		"cancel_at_period_end": sub.CancelAtPeriodEnd,
		"current_period_end":   periodEnd,
		"current_period_start": periodStart,
		"metadata":             meta,
		"livemode":             false,
		"items": map[string]any{
			"object":   "list",
			"data":     items,
			"has_more": false,
			"url":      "/v1/subscription_items?subscription=" + sub.ID,
		},
	}
}

// authorized checks the secret key, sent as a Bearer token or as Basic
// user name (both are how Stripe takes it).
func (s *Stripe) authorized(r *http.Request) bool {
	k := stripeKey(r)
	return k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(s.key)) == 1
}

func stripeKey(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	return authToken(r, "Bearer")
}

// redactKey shows a key the way Stripe's 401 does: its prefix and last
// four characters.
func redactKey(k string) string {
	prefix := ""
	if i := strings.LastIndex(k, "_"); i >= 0 && i < 12 {
		prefix = k[:i+1]
	}
	tail := ""
	if len(k)-len(prefix) > 8 {
		tail = k[len(k)-4:]
	}
	return prefix + strings.Repeat("*", 4) + tail
}

// stripeError answers Stripe's error shape.
func stripeError(w http.ResponseWriter, status int, typ, code, message, param string) {
	e := map[string]any{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
		e["doc_url"] = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	if param != "" {
		e["param"] = param
	}
	w.Header().Set("Request-Id", "req_"+randString(14, alnum))
	writeJSON(w, status, map[string]any{"error": e})
}

// stripeFailure answers an injected failure.
func stripeFailure(w http.ResponseWriter, status int) {
	switch {
	case status == http.StatusTooManyRequests:
		stripeError(w, status, "invalid_request_error", "rate_limit",
			"Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.", "")
	case status >= 500:
		stripeError(w, status, "api_error", "",
			"Sorry, something went wrong. We've already been notified of the problem.", "")
	default:
		stripeError(w, status, "invalid_request_error", "", http.StatusText(status), "")
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
