package shipbob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/vocab"
)

// Setting keys of a ShipBob connection.
const (
	SettingEnvironment = "environment"
	SettingChannel     = "shipbob_channel_id"
	// SettingLocation is the Shopify location whose orders ShipBob ships:
	// only the fulfilment orders Shopify assigns to it are sent.
	SettingLocation = "shopify_location_id"
	SettingShipping = "shipping_method"
	SettingVersion  = "api_version"
	SettingBaseURL  = "api_base_url"
	// SettingRate is the requests a minute the account allows (150).
	SettingRate = "requests_per_minute"
	// SettingOnReturn is what a return ShipBob has received does in
	// Shopify: ReturnRefundsMoney (the default) or ReturnItemsOnly.
	SettingOnReturn = "on_return"
)

// Choices of SettingOnReturn, in the merchant's words.
const (
	// ReturnRefundsMoney refunds the returned items and the money they
	// are worth to the customer, through the payment they were paid with.
	ReturnRefundsMoney = "refund the money and the items"
	// ReturnItemsOnly records the returned items (and their restock) only:
	// the merchant refunds the money by hand in Shopify.
	ReturnItemsOnly = "record the returned items only"
)

// SupportMonths is how long ShipBob serves a dated version (the current
// docs; an older copy said 12).
const SupportMonths = 24

var (
	versionRe = regexp.MustCompile(`^\d{4}-(01|07)$`)
	digitsRe  = regexp.MustCompile(`^\d{1,18}$`)
)

// Kind describes ShipBob to the connectors registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Key: vocab.KindShipBob, Label: "ShipBob",
		Description: "Your ShipBob fulfilment account (3PL): orders go to its warehouses, shipments with tracking and stock come back.",
		Fields: []connectors.Field{
			{Key: SettingAuth, Label: "How Crossdock connects", Options: []string{AuthToken, AuthSignIn},
				Hint: "A personal access token you paste here, or signing in to ShipBob with your app (Connect to ShipBob, after saving)."},
			{Key: "access_token", Label: "Personal access token", Secret: true,
				Hint: "From ShipBob → Integrations → API Tokens. It gives full access to the account and does not expire: keep it here only. Not needed when you sign in."},
			{Key: SettingClientID, Label: "App client id", Hint: "To sign in: your app's client id, from ShipBob → Integrations → Apps."},
			{Key: SecretClientSecret, Label: "App client secret", Secret: true, Hint: "To sign in: shown once, when the app is made."},
			{Key: SettingEnvironment, Label: "ShipBob environment", Required: true, Options: []string{"production", "sandbox"},
				Hint: "sandbox for a test account made at webstage.shipbob.dev, production for your real warehouse."},
			{Key: SettingChannel, Label: "Channel", Placeholder: "123456",
				Hint: "The number of the ShipBob channel orders are created for. Save, then Test connection: it lists your channels that can create orders."},
			{Key: SettingLocation, Label: "Shopify location ShipBob ships from", Placeholder: "71234567890", Required: true,
				Hint: "Only orders Shopify assigns to this location go to ShipBob: the number at the end of the location's address in Shopify admin → Settings → Locations."},
			{Key: SettingShipping, Label: "Shipping method", Placeholder: "Standard",
				Hint: "The ship option ShipBob uses for these orders, as named in your ShipBob account. Leave empty for Standard."},
			{Key: SettingOnReturn, Label: "When a return is received", Options: []string{ReturnRefundsMoney, ReturnItemsOnly},
				Hint: "When ShipBob is where refunds come from: refund the customer's money with the returned items, or only record the items (and what went back in stock) and refund the money yourself in Shopify."},
			{Key: "api_secret", Label: "Webhook signing secret", Placeholder: "whsec_…", Secret: true,
				Hint: "Signs the webhooks ShipBob sends (whsec_ and 32 characters). When you change it, the previous one keeps working for one hour."},
			{Key: SettingVersion, Label: "API version", Placeholder: DefaultAPIVersion, Advanced: true, Hint: "Leave empty for " + DefaultAPIVersion + "."},
			{Key: SettingBaseURL, Label: "API base URL", Placeholder: "https://…", Advanced: true,
				Hint: "Advanced: only for a sandbox twin or a proxy. Leave empty to talk to ShipBob."},
			{Key: SettingRate, Label: "Requests a minute", Placeholder: "150", Advanced: true,
				Hint: "Advanced: ShipBob allows 150. Change it only for a sandbox twin with a faster limit."},
			{Key: SettingScopes, Label: "Scopes granted", Advanced: true, Hint: "Filled in by \"Connect to ShipBob\": what ShipBob allowed Crossdock."},
			{Key: connectors.SecretRefreshToken, Label: "Refresh token", Secret: true, Advanced: true,
				Hint: "Filled in by \"Connect to ShipBob\"; it changes at every refresh."},
			{Key: SettingTokenURL, Label: "Token address", Advanced: true, Placeholder: TokenURL},
			{Key: SettingAuthorizeURL, Label: "Sign-in address", Advanced: true, Placeholder: AuthorizeURL},
		},
		SignIn:   signIn(),
		Validate: validate,
		Address:  func(s map[string]string) string { return baseURL(s) },
		NewClient: func(c connectors.Conn, hc *http.Client) (any, error) {
			return ClientFor(c, hc)
		},
		Check:   check,
		Explain: Explain,
		APIVersion: func(s map[string]string) string {
			if v := strings.TrimSpace(s[SettingVersion]); v != "" {
				return v
			}
			return DefaultAPIVersion
		},
		DefaultAPIVersion: DefaultAPIVersion,
		EndOfSupport:      EndOfSupport,
		Webhooks: &connectors.Webhooks{SignatureHeader: HeaderWebhookSignature, SecretField: "api_secret", SecretGrace: time.Hour,
			Verify: verify, Signed: signed, ReplayWindow: ReplayWindow, Read: ReadWebhook,
			TopicHeader: HeaderTopic, DeliveryIDHeader: HeaderWebhookID},
		Offers: map[vocab.Family][]connectors.Capability{
			vocab.Orders:       {connectors.Write},
			vocab.Fulfillments: {connectors.Read, connectors.Subscribe, connectors.Sweep},
			vocab.Inventory:    {connectors.Read, connectors.Sweep},
			vocab.Refunds:      {connectors.Read, connectors.Subscribe, connectors.Sweep},
		},
	}
}

// EndOfSupport is when ShipBob stops serving a dated version: versions come
// out in January and July and are served SupportMonths months
// (developer.shipbob.com versioning).
func EndOfSupport(version string) (time.Time, bool) {
	if !versionRe.MatchString(version) {
		return time.Time{}, false
	}
	released, err := time.Parse("2006-01", version)
	if err != nil {
		return time.Time{}, false
	}
	return released.AddDate(0, SupportMonths, 0), true
}

func baseURL(s map[string]string) string {
	if u := strings.TrimSpace(s[SettingBaseURL]); u != "" {
		return strings.TrimRight(u, "/")
	}
	if s[SettingEnvironment] == "sandbox" {
		return SandboxURL
	}
	return ProductionURL
}

func validate(s map[string]string) connectors.FieldErrors {
	fe := connectors.FieldErrors{}
	if v := strings.TrimSpace(s[SettingChannel]); v != "" && !digitsRe.MatchString(v) {
		fe[SettingChannel] = "The channel is a number, like 123456: Test connection lists yours."
	}
	if v := strings.TrimSpace(s[SettingLocation]); v != "" && !digitsRe.MatchString(locationTail(v)) {
		fe[SettingLocation] = "Enter the location's number, like 71234567890 (the end of its address in Shopify admin)."
	}
	if v := strings.TrimSpace(s[SettingVersion]); v != "" && !versionRe.MatchString(v) {
		fe[SettingVersion] = "ShipBob's API versions look like 2026-01 (a year and 01 or 07)."
	}
	for _, k := range []string{SettingBaseURL, SettingTokenURL, SettingAuthorizeURL} {
		if msg := connectors.CheckURL(s[k]); msg != "" {
			fe[k] = msg
		}
	}
	if SignsIn(s) && strings.TrimSpace(s[SettingClientID]) == "" {
		fe[SettingClientID] = "Signing in needs your ShipBob app's client id."
	}
	if v := strings.TrimSpace(s[SettingRate]); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 600000 {
			fe[SettingRate] = "Enter a whole number of requests a minute, like 150."
		}
	}
	return fe
}

// locationTail accepts a location's GID or admin address as well as its number.
func locationTail(v string) string {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if i := strings.LastIndex(v, "/"); i >= 0 {
		v = v[i+1:]
	}
	return v
}

// LocationID is the Shopify location GID a connection's orders come from
// ("" when none is set).
func LocationID(settings map[string]string) string {
	return connectors.ShopifyLocation(settings[SettingLocation])
}

// FallbackLocation is the Shopify location GID that the stock of a
// fulfilment centre not mapped to one is shown at: the connection's
// "Shopify location ShipBob ships from" when the account has a single
// centre, "" otherwise (each centre is then mapped on the Mappings page).
func FallbackLocation(settings map[string]string, centres []FulfillmentCenter) string {
	if len(centres) != 1 {
		return ""
	}
	return LocationID(settings)
}

// RefundsMoney reports whether a received return refunds the customer's
// money in Shopify, not only the items: the default, unless the connection
// records returned items only.
func RefundsMoney(settings map[string]string) bool {
	return strings.TrimSpace(settings[SettingOnReturn]) != ReturnItemsOnly
}

// ShippingMethod is the ship option of a connection's orders.
func ShippingMethod(settings map[string]string) string {
	if m := strings.TrimSpace(settings[SettingShipping]); m != "" {
		return m
	}
	return "Standard"
}

// ClientFor builds a connection's client.
func ClientFor(c connectors.Conn, hc *http.Client) (*Client, error) {
	var channel int64
	if v := strings.TrimSpace(c.Settings[SettingChannel]); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the channel %q is not a number", v)
		}
		channel = n
	}
	cfg := Config{BaseURL: baseURL(c.Settings), AccessToken: c.Secrets["access_token"], APIVersion: c.Settings[SettingVersion],
		ChannelID: channel, HTTPClient: hc, WebhookSecret: c.Secrets["api_secret"]}
	if SignsIn(c.Settings) {
		if strings.TrimSpace(c.Settings[SettingClientID]) == "" {
			return nil, errors.New("no app client id to sign in with")
		}
		cfg.AccessToken = ""
		cfg.Tokens = tokenSource(hc, c.Settings[SettingTokenURL], strings.TrimSpace(c.Settings[SettingClientID]), c.Secrets[SecretClientSecret],
			c.Secrets[connectors.SecretRefreshToken])
	}
	if n, err := strconv.Atoi(strings.TrimSpace(c.Settings[SettingRate])); err == nil && n > 0 && n != RateLimit {
		// A twin's faster limit is counted per second (n/60 a second), as
		// the benchmark's scaled twin counts it.
		cfg.RateLimit, cfg.RateWindow = max(n/60, 1), time.Second
	}
	return NewClient(cfg)
}

func check(ctx context.Context, client any) connectors.CheckResult {
	cl, ok := client.(*Client)
	if !ok {
		return connectors.CheckResult{Summary: fmt.Sprintf("Crossdock cannot test this connection with a %T.", client)}
	}
	channels, err := cl.Channels(ctx)
	if err != nil {
		s, _ := Explain(err)
		var se *Error
		reached := errors.As(err, &se) && se.Kind != KindTransient
		res := connectors.CheckResult{Summary: s, Lines: []connectors.CheckLine{{Label: "Reachable", Value: connectors.YesNo(reached), OK: reached}}}
		if reached {
			res.Lines = append(res.Lines, connectors.CheckLine{Label: accepted(cl), Value: connectors.YesNo(se.Kind != KindAuth), OK: se.Kind != KindAuth})
		}
		return res
	}
	res := connectors.CheckResult{Lines: []connectors.CheckLine{
		{Label: "Reachable", Value: "yes, " + cl.Endpoint(), OK: true},
		{Label: accepted(cl), Value: "yes", OK: true},
		{Label: "API version", Value: cl.APIVersion(), OK: true},
	}}
	var writable []string
	var chosen *Channel
	for i, ch := range channels {
		if ch.CanWrite() {
			writable = append(writable, fmt.Sprintf("%s (%d)", ch.Name, ch.ID))
		}
		if ch.ID == cl.ChannelID() {
			chosen = &channels[i]
		}
	}
	switch {
	case cl.ChannelID() == 0:
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Channel", Value: "none chosen; channels that can create orders: " + listOrNone(writable), OK: false})
		res.Summary = "Connected to ShipBob. Choose the channel orders are created for (enter its number on the connection): " + listOrNone(writable) + "."
	case chosen == nil:
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Channel", Value: fmt.Sprintf("%d is not one of this account's channels", cl.ChannelID()), OK: false})
		res.Summary = fmt.Sprintf("Connected to ShipBob, but the account has no channel %d. Channels that can create orders: %s.", cl.ChannelID(), listOrNone(writable))
	case !chosen.CanWrite():
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Channel", Value: fmt.Sprintf("%s (%d) can only read", chosen.Name, chosen.ID), OK: false})
		res.Summary = fmt.Sprintf("Connected to ShipBob, but the channel %s cannot create orders (it has no write permission). Choose one of: %s.", chosen.Name, listOrNone(writable))
	default:
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Channel", Value: fmt.Sprintf("%s (%d), can create orders", chosen.Name, chosen.ID), OK: true})
	}
	// What the token may do, where ShipBob says: the sign-in's granted
	// scopes (its token answer), or the chosen channel's.
	switch {
	case cl.GrantedScopes() != "":
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Scopes granted", Value: scopeList(cl.GrantedScopes()), OK: true})
	case chosen != nil && len(chosen.Scopes) > 0:
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Channel's scopes", Value: strings.Join(chosen.Scopes, ", "), OK: true})
	}
	centres, err := cl.FulfillmentCenters(ctx)
	if err != nil {
		s, _ := Explain(err)
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Fulfilment centres", Value: s, OK: false})
		res.OK = false
		if res.Summary == "" {
			res.Summary = "Connected to ShipBob, but its fulfilment centres could not be read: " + s
		}
		return res
	}
	names := make([]string, 0, len(centres))
	for _, fc := range centres {
		names = append(names, fc.Name)
	}
	res.Lines = append(res.Lines, connectors.CheckLine{Label: "Fulfilment centres", Value: listOrNone(names), OK: len(centres) > 0})
	used, limit := cl.Used()
	res.Lines = append(res.Lines, connectors.CheckLine{Label: "Rate limit", Value: fmt.Sprintf("%d requests a minute; %d used by this test", limit, used), OK: true})
	if res.Summary == "" {
		res.OK = true
		res.Summary = fmt.Sprintf("Connected to ShipBob: orders are created for the channel %s, shipped from %s.", chosen.Name, listOrNone(names))
	}
	return res
}

// accepted names what ShipBob took: the sign-in, or the pasted token.
func accepted(cl *Client) string {
	if cl.SignsIn() {
		return "Sign-in accepted"
	}
	return "Access token accepted"
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// Explain turns a ShipBob error into a sentence for a merchant.
func Explain(err error) (string, bool) {
	var se *Error
	if !errors.As(err, &se) {
		return "", false
	}
	switch se.Kind {
	case KindAuth:
		if se.SignIn {
			return "ShipBob refused Crossdock's sign-in (it was withdrawn, or not used for 30 days). Press Connect to ShipBob on the connection and sign in again.", true
		}
		return "ShipBob refused the personal access token. Create a new one in ShipBob → Integrations → API Tokens and enter it on the connection.", true
	case KindNotFound:
		return "ShipBob has no such record (" + se.Method + " " + se.Path + "). It may have been deleted in ShipBob.", true
	case KindThrottled:
		return fmt.Sprintf("ShipBob's limit of 150 requests a minute is reached; Crossdock waits %s and sends it again.", waitWords(se.RetryAfter)), true
	case KindTransient:
		return "ShipBob could not be reached or answered with an error; this is usually temporary and Crossdock tries again.", true
	case KindDuplicate:
		return "ShipBob already has an order with this reference, so no second order was created.", true
	case KindNoChannel:
		return "No ShipBob channel is chosen for this connection: Test connection lists the channels that can create orders; enter one's number on the connection.", true
	case KindValidation:
		return "ShipBob refused it: " + cmpOr(se.Message, "it gave no reason") + ".", true
	}
	return "ShipBob answered in a way Crossdock cannot read (" + se.Error() + ").", true
}

func waitWords(d time.Duration) string {
	if d <= 0 {
		return "a moment"
	}
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Round(time.Second)/time.Second))
	}
	return d.Round(time.Second).String()
}
