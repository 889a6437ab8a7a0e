// Package connectors is the registry of the kinds of systems Crossdock
// connects to. A connector is a package (connectors/shopify,
// connectors/odoo) that describes its kind: the settings and secrets form,
// how to validate it, how to build a client and test the connection, the API
// version it speaks and when that version's support ends, how its webhooks
// are verified, and what it can do per data family. The program assembles a
// Registry from those kinds where it is wired (cmd/crossdock); the engine and
// the pages ask the registry, never a system by name.
//
// The registry imports no connector: connectors/<system> imports this package.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/vocab"
)

// Field is one setting or secret of a connection kind, as the form shows it.
type Field struct {
	Key, Label, Hint, Placeholder string
	Secret                        bool // sealed at rest, never shown again
	Required                      bool
	Options                       []string // a choice instead of free text
	Advanced                      bool
}

// Capability is what a kind can do with a data family.
type Capability string

// Capabilities a kind offers per family.
const (
	Read      Capability = "read"      // Crossdock can read the family from it
	Write     Capability = "write"     // Crossdock can write the family into it
	Subscribe Capability = "subscribe" // it pushes changes of the family (webhooks)
	Sweep     Capability = "sweep"     // Crossdock can list recent changes on a schedule
	// Erase: Crossdock can erase a customer's personal data from it (offered
	// for vocab.Customers by a kind whose client is an Eraser).
	Erase Capability = "erase"
)

// Conn is a connection as a connector sees it: its settings and its opened
// secrets.
type Conn struct {
	ID       int64
	Name     string
	Settings map[string]string
	Secrets  map[string]string
}

// FieldErrors are form errors keyed by field key.
type FieldErrors = map[string]string

// Kind is a kind of connected system.
type Kind struct {
	Key                vocab.Kind
	Label, Description string
	Fields             []Field
	// Validate checks what the fields alone cannot say (formats, one field
	// depending on another); nil when the fields say it all.
	Validate func(settings map[string]string) FieldErrors
	// Address is where a connection points, in a line (a shop domain, a URL).
	Address func(settings map[string]string) string
	// NewClient builds the client of a connection; calls go through hc.
	NewClient func(c Conn, hc *http.Client) (any, error)
	// Check calls the system with a client NewClient built and says what
	// works, in plain words (the connection test).
	Check func(ctx context.Context, client any) CheckResult
	// Explain turns one of the connector's errors into a sentence for a
	// merchant; ok is false for errors that are not its own.
	Explain func(err error) (sentence string, ok bool)
	// APIVersion is the version of the system's API a connection speaks
	// ("" when it has none to choose); DefaultAPIVersion the one Crossdock
	// is written against.
	APIVersion        func(settings map[string]string) string
	DefaultAPIVersion string
	// EndOfSupport is when the system stops serving an API version; ok is
	// false when unknown.
	EndOfSupport func(version string) (end time.Time, ok bool)
	// Webhooks is how the system's webhooks are verified; nil when it
	// sends none.
	Webhooks *Webhooks
	// Offers lists what the kind can do per data family.
	Offers map[vocab.Family][]Capability
	// SignIn, when set, connects a connection by a person signing in to
	// the system (OAuth 2.0 authorization code) rather than pasting a key.
	SignIn *SignIn
}

// SignIn is how a kind's connections are connected by signing in: the
// console sends the person to Link, the system sends them back to the
// console with a code (and whatever else it adds: QuickBooks' realmId),
// and Complete trades it for the first tokens.
type SignIn struct {
	// Uses reports whether a connection with these settings signs in (a
	// kind may also take a pasted token); nil means always.
	Uses func(settings map[string]string) bool
	// Link is the system's sign-in page, coming back to redirectURI with
	// state. Its error is a sentence (settings missing).
	Link func(settings map[string]string, redirectURI, state string) (string, error)
	// Complete trades what the system sent back (the callback's query) for
	// the settings and secrets to keep. Its errors are sentences.
	Complete func(ctx context.Context, hc *http.Client, c Conn, back url.Values, redirectURI string) (Authorized, error)
	// SignedIn reports whether a connection has been signed in.
	SignedIn func(settings map[string]string) bool
	// Connected names what a finished sign-in connected ("QuickBooks
	// company 9130…"), for the message that says it worked.
	Connected func(settings map[string]string) string
}

// Applies reports whether a connection with these settings signs in.
func (s *SignIn) Applies(settings map[string]string) bool {
	return s != nil && (s.Uses == nil || s.Uses(settings))
}

// Authorized is what a sign-in gave a connection: settings to set and
// secrets to seal (TokenSecrets).
type Authorized struct {
	Settings, Secrets map[string]string
}

// Can reports whether the kind offers capability c for family f.
func (k Kind) Can(f vocab.Family, c Capability) bool {
	return slices.Contains(k.Offers[f], c)
}

// Webhooks says how a kind's webhook deliveries are signed.
type Webhooks struct {
	// SignatureHeader carries the signature of a delivery.
	SignatureHeader string
	// SecretField is the secret that signs deliveries; after it changes the
	// previous value is accepted for SecretGrace.
	SecretField string
	SecretGrace time.Duration
	// Verify reports whether signature signs body under one of secrets.
	Verify func(body []byte, signature string, secrets []string) bool
	// CheckShape, when set, says in a sentence why a signed body is not a
	// record of the kind its topic names ("" when it is): a system that
	// signs the body but not the topic is acted on only when both agree.
	CheckShape func(topic string, body []byte) string
	// Signed, when set, is what the system signs of a delivery and when it
	// signed it (Standard Webhooks: "id.timestamp.body", its timestamp
	// header); nil when it signs the body alone. An error means a header it
	// needs is missing or malformed: the delivery counts as unsigned.
	Signed func(h http.Header, body []byte) (content []byte, at time.Time, err error)
	// ReplayWindow, when not zero, turns away a genuine delivery signed
	// further than this from now: a captured one replayed later.
	ReplayWindow time.Duration
	// Read reads a verified delivery: the id to deduplicate it on, its
	// topic, account and time, from its headers or body. A body holding
	// several events (QuickBooks sends arrays) is split, one event each,
	// each with its own id. Its error names what is missing, in words;
	// one wrapping ErrWebhookBody says the body is not what it should be.
	Read func(h http.Header, body []byte) ([]WebhookEvent, error)
	// CheckAccount, when set, says in a sentence why a
	// delivery's account is not the connection's ("" when it is): one
	// secret may sign the deliveries of several accounts.
	CheckAccount func(settings map[string]string, account string) string
	// TopicHeader carries the topic, when a header does (for metrics and
	// the record of a rejected delivery).
	TopicHeader, DeliveryIDHeader string
}

// WebhookEvent is one event of a verified delivery, as the receiver stores
// it.
type WebhookEvent struct {
	// DeliveryID identifies one delivery of the event: the receiver keeps a
	// delivery once per connection.
	DeliveryID string
	// EventID is shared by the re-deliveries of one event ("" when the
	// system has none).
	EventID    string
	Topic      string
	Account    string // the shop, company or account it comes from ("" when unsaid)
	APIVersion string
	At         time.Time // when the system says it happened; zero when unsaid
	// Body is the event's own bytes; nil means the whole delivery's body.
	Body []byte
}

// Webhook verdicts.
var (
	ErrNoSignature  = errors.New("connectors: the delivery is not signed")
	ErrBadSignature = errors.New("connectors: the signature does not match")
	ErrNoWebhooks   = errors.New("connectors: this kind of system sends no webhooks")
	// ErrStale is a genuine signature made outside the replay window.
	ErrStale = errors.New("connectors: the delivery was signed too long ago")
	// ErrWebhookBody wraps a Read error about the body rather than a header.
	ErrWebhookBody = errors.New("connectors: the webhook body cannot be read")
)

// VerifyWebhook checks a delivery's signature against the secrets it may be
// signed with (the current one and, during a rotation, the previous one):
// nil when it is genuine, ErrNoSignature, ErrBadSignature or ErrStale
// otherwise.
func (k Kind) VerifyWebhook(body []byte, header http.Header, secrets []string) error {
	return k.VerifyWebhookAt(body, header, secrets, time.Now())
}

// VerifyWebhookAt is VerifyWebhook with the replay window measured at now.
func (k Kind) VerifyWebhookAt(body []byte, header http.Header, secrets []string, now time.Time) error {
	if k.Webhooks == nil {
		return ErrNoWebhooks
	}
	sig := header.Get(k.Webhooks.SignatureHeader)
	if sig == "" {
		return ErrNoSignature
	}
	content, at := body, time.Time{}
	if k.Webhooks.Signed != nil {
		var err error
		if content, at, err = k.Webhooks.Signed(header, body); err != nil {
			return fmt.Errorf("%w: %w", ErrNoSignature, err)
		}
	}
	if !k.Webhooks.Verify(content, sig, secrets) {
		return ErrBadSignature
	}
	if w := k.Webhooks.ReplayWindow; w > 0 && !at.IsZero() && (now.Sub(at) > w || at.Sub(now) > w) {
		return fmt.Errorf("%w (signed %s, %s accepted either way)", ErrStale, at.UTC().Format(time.RFC3339), w)
	}
	return nil
}

// ReadWebhook reads a verified delivery's events (Webhooks.Read); a kind
// without Read has none to give.
func (k Kind) ReadWebhook(header http.Header, body []byte) ([]WebhookEvent, error) {
	if k.Webhooks == nil || k.Webhooks.Read == nil {
		return nil, ErrNoWebhooks
	}
	return k.Webhooks.Read(header, body)
}

// SecretLabel is the form's label of the secret that signs the kind's
// webhooks ("API secret key"), for the sentences that name it.
func (k Kind) SecretLabel() string {
	if k.Webhooks != nil {
		for _, f := range k.Fields {
			if f.Key == k.Webhooks.SecretField {
				return f.Label
			}
		}
	}
	return "webhook secret"
}

// WebhookPath is where the console receives a kind's webhook deliveries;
// the connection's id follows it.
func WebhookPath(kind vocab.Kind) string { return "/webhooks/" + string(kind) + "/" }

// WebhookURL is the address a connection's webhook subscriptions must use:
// the console's base URL, then /webhooks/<kind>/<connection id>. Every place
// that shows it, subscribes to it or checks the subscriptions builds it
// here, so they always agree.
func WebhookURL(baseURL string, kind vocab.Kind, connectionID int64) string {
	return strings.TrimRight(baseURL, "/") + WebhookPath(kind) + strconv.FormatInt(connectionID, 10)
}

// Registry is the set of kinds the program connects to, in the order the
// pages offer them. It does not change once built.
type Registry struct {
	kinds []Kind
}

// NewRegistry registers kinds. Every kind needs a key, a label, fields, a
// client and a check; a key registered twice is refused.
func NewRegistry(kinds ...Kind) (*Registry, error) {
	r := &Registry{}
	for _, k := range kinds {
		switch {
		case k.Key == "" || k.Label == "":
			return nil, fmt.Errorf("connectors: a kind needs a key and a label (%q)", k.Key)
		case len(k.Fields) == 0:
			return nil, fmt.Errorf("connectors: kind %q has no fields", k.Key)
		case k.NewClient == nil || k.Check == nil:
			return nil, fmt.Errorf("connectors: kind %q has no client or no check", k.Key)
		case k.Webhooks != nil && (k.Webhooks.Verify == nil || k.Webhooks.SignatureHeader == ""):
			return nil, fmt.Errorf("connectors: kind %q has webhooks but no way to verify them", k.Key)
		case k.Webhooks != nil && k.Webhooks.Read == nil:
			return nil, fmt.Errorf("connectors: kind %q has webhooks but no way to read them", k.Key)
		}
		if _, ok := r.Kind(k.Key); ok {
			return nil, fmt.Errorf("connectors: kind %q registered twice", k.Key)
		}
		r.kinds = append(r.kinds, k)
	}
	return r, nil
}

// MustRegistry is NewRegistry for wiring: it panics on a malformed kind.
func MustRegistry(kinds ...Kind) *Registry {
	r, err := NewRegistry(kinds...)
	if err != nil {
		panic(err)
	}
	return r
}

// Kinds lists the registered kinds.
func (r *Registry) Kinds() []Kind {
	if r == nil {
		return nil
	}
	return slices.Clone(r.kinds)
}

// Kind finds a kind by key.
func (r *Registry) Kind(key vocab.Kind) (Kind, bool) {
	if r == nil {
		return Kind{}, false
	}
	for _, k := range r.kinds {
		if k.Key == key {
			return k, true
		}
	}
	return Kind{}, false
}

// Offering lists the keys of the kinds that offer capability c for family f.
func (r *Registry) Offering(f vocab.Family, c Capability) []vocab.Kind {
	var out []vocab.Kind
	for _, k := range r.Kinds() {
		if k.Can(f, c) {
			out = append(out, k.Key)
		}
	}
	return out
}

// Can reports whether the kind with key offers capability c for family f;
// an unknown kind offers nothing.
func (r *Registry) Can(key vocab.Kind, f vocab.Family, c Capability) bool {
	k, ok := r.Kind(key)
	return ok && k.Can(f, c)
}

// ChooseKind is the message when no known kind was chosen.
func (r *Registry) ChooseKind() string {
	var labels []string
	for _, k := range r.Kinds() {
		labels = append(labels, k.Label)
	}
	if len(labels) == 0 {
		return "Choose the kind of system."
	}
	if len(labels) == 1 {
		return "Choose the kind of system: " + labels[0] + "."
	}
	return "Choose the kind of system: " + strings.Join(labels[:len(labels)-1], ", ") + " or " + labels[len(labels)-1] + "."
}

// Validate checks a connection form of the kind with key. Secrets may stay
// empty when the connection already has them (haveSecrets): the form never
// shows them again. Errors are keyed by field key; nil when all is well.
func (r *Registry) Validate(key vocab.Kind, settings, secrets map[string]string, haveSecrets map[string]bool) FieldErrors {
	k, ok := r.Kind(key)
	if !ok {
		return FieldErrors{"kind": r.ChooseKind()}
	}
	fe := FieldErrors{}
	for _, f := range k.Fields {
		v := strings.TrimSpace(settings[f.Key])
		if f.Secret {
			v = strings.TrimSpace(secrets[f.Key])
			if f.Required && v == "" && !haveSecrets[f.Key] {
				fe[f.Key] = f.Label + " is required."
			}
			if len(v) > 500 {
				fe[f.Key] = f.Label + " is too long."
			}
			continue
		}
		if f.Required && v == "" {
			fe[f.Key] = f.Label + " is required."
			continue
		}
		if len(v) > 500 {
			fe[f.Key] = f.Label + " is too long."
			continue
		}
		if v != "" && len(f.Options) > 0 && !slices.Contains(f.Options, v) {
			fe[f.Key] = fmt.Sprintf("%s must be one of: %s.", f.Label, strings.Join(f.Options, ", "))
		}
	}
	if k.Validate != nil {
		for key, msg := range k.Validate(settings) {
			fe[key] = msg
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// Explain turns a connector error into a sentence for a merchant.
func (r *Registry) Explain(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range r.Kinds() {
		if k.Explain == nil {
			continue
		}
		if s, ok := k.Explain(err); ok {
			return s
		}
	}
	return err.Error()
}

// CheckURL says what is wrong with an address a person typed ("" when it is
// a full http(s) address or empty).
func CheckURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "Enter a full address starting with https://"
	}
	return ""
}

// CheckLine is one finding of a connection test.
type CheckLine struct {
	Label, Value string
	OK           bool
}

// CheckResult is the outcome of "Test connection", in plain words.
type CheckResult struct {
	OK      bool
	Summary string
	Lines   []CheckLine
	// Budget is the rate-limit budget the system reported, as JSON (nil
	// when it reports none).
	Budget []byte
}

// YesNo says yes or no.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ErasureSubject is the customer whose personal data an erasure removes
// from a connected system, as Crossdock knows them.
type ErasureSubject struct {
	// Ref is the customer's id in the system the data came from, as the
	// flows store it on the copy (a Shopify customer GID); "" when unknown.
	Ref string
	// Email is the customer's e-mail address, the fallback lookup.
	Email string
	// RecordID is the system's own id of the customer's record, found by an
	// earlier try of the same erasure ("" on the first try).
	RecordID string
	// Pseudonym replaces the customer's name ("Erased customer 12").
	Pseudonym string
}

// ErasureOutcome is what an erasure did in a connected system.
type ErasureOutcome struct {
	// RecordID and Record name the customer's record found ("" and "" when
	// none was found): the system's id and a label ("contact #42").
	RecordID, Record string
	// Erased is true when the record was anonymised (and archived where the
	// system archives). Found records not erased are kept for the reasons
	// in Kept.
	Erased bool
	// Kept lists the open documents that keep the record, in plain words
	// ("open sale order S00042").
	Kept []string
}

// Found reports whether the system holds a record of the customer.
func (o ErasureOutcome) Found() bool { return o.RecordID != "" }

// Eraser is a client of a system that can erase a customer's personal data
// on request (a customers/redact): it finds the customer's record and,
// unless open documents still need it, anonymises it. Erasing twice is
// harmless. A kind whose client is an Eraser offers Erase for Customers.
type Eraser interface {
	EraseCustomer(ctx context.Context, s ErasureSubject) (ErasureOutcome, error)
}
