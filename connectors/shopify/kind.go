package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/vocab"
)

var (
	shopDomainRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)
	apiVersionRe = regexp.MustCompile(`^\d{4}-(01|04|07|10)$`)
)

// Kind describes Shopify to the connectors registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Key: "shopify", Label: "Shopify", Description: "Your Shopify store, through a custom app's Admin API access token.",
		Fields: []connectors.Field{
			{Key: "shop_domain", Label: "Shop domain", Placeholder: "your-store.myshopify.com", Required: true, Hint: "The store's .myshopify.com address, not its public domain."},
			{Key: "access_token", Label: "Admin API access token", Placeholder: "shpat_…", Secret: true, Required: true, Hint: "From your custom app in Shopify admin → Apps → Develop apps → API credentials."},
			{Key: "api_secret", Label: "API secret key", Secret: true, Required: true, Hint: "Signs the webhooks Shopify sends. When you rotate it, the previous key keeps working for one hour."},
			{Key: "api_version", Label: "API version", Placeholder: DefaultAPIVersion, Hint: "Leave empty for " + DefaultAPIVersion + "."},
			{Key: "api_base_url", Label: "API base URL", Advanced: true, Placeholder: "https://…", Hint: "Advanced: only for a sandbox or a proxy. Leave empty to talk to Shopify."},
		},
		Validate: validate,
		Address:  func(s map[string]string) string { return s["shop_domain"] },
		NewClient: func(c connectors.Conn, hc *http.Client) (any, error) {
			return ClientFor(c, hc)
		},
		Check:   check,
		Explain: explain,
		APIVersion: func(s map[string]string) string {
			if v := strings.TrimSpace(s["api_version"]); v != "" {
				return v
			}
			return DefaultAPIVersion
		},
		DefaultAPIVersion: DefaultAPIVersion,
		EndOfSupport:      EndOfSupport,
		Webhooks: &connectors.Webhooks{SignatureHeader: HeaderHMAC, SecretField: "api_secret", SecretGrace: time.Hour,
			Verify:     func(body []byte, sig string, secrets []string) bool { return VerifyHMAC(body, sig, secrets...) },
			CheckShape: CheckTopicShape, Read: ReadWebhook, CheckAccount: CheckShop,
			TopicHeader: HeaderTopic, DeliveryIDHeader: HeaderWebhookID},
		Offers: map[vocab.Family][]connectors.Capability{
			vocab.Products:     {connectors.Read, connectors.Write, connectors.Subscribe, connectors.Sweep},
			vocab.Prices:       {connectors.Read, connectors.Write, connectors.Subscribe},
			vocab.Costs:        {connectors.Read, connectors.Write},
			vocab.Inventory:    {connectors.Read, connectors.Write, connectors.Subscribe, connectors.Sweep},
			vocab.Customers:    {connectors.Read, connectors.Write, connectors.Subscribe},
			vocab.Orders:       {connectors.Read, connectors.Subscribe, connectors.Sweep},
			vocab.Refunds:      {connectors.Read, connectors.Write, connectors.Subscribe},
			vocab.Fulfillments: {connectors.Read, connectors.Write, connectors.Subscribe},
			vocab.Payouts:      {connectors.Read, connectors.Sweep},
		},
	}
}

// EndOfSupport is when Shopify stops serving an API version. Versions are
// quarterly (YYYY-01, -04, -07, -10), released at 17:00 UTC on the first
// day of their month, and each is supported at least 12 months
// (shopify.dev/docs/api/usage/versioning): Crossdock counts exactly 12.
func EndOfSupport(version string) (time.Time, bool) {
	if !apiVersionRe.MatchString(version) {
		return time.Time{}, false
	}
	released, err := time.Parse("2006-01", version)
	if err != nil {
		return time.Time{}, false
	}
	return released.Add(17*time.Hour).AddDate(1, 0, 0), true
}

func validate(settings map[string]string) connectors.FieldErrors {
	fe := connectors.FieldErrors{}
	if d := strings.ToLower(strings.TrimSpace(settings["shop_domain"])); d != "" && !shopDomainRe.MatchString(d) {
		fe["shop_domain"] = "Enter the store's address ending in .myshopify.com, like your-store.myshopify.com."
	}
	if v := strings.TrimSpace(settings["api_version"]); v != "" && !apiVersionRe.MatchString(v) {
		fe["api_version"] = "API versions look like 2026-04 (a year and a quarter month: 01, 04, 07 or 10)."
	}
	if msg := connectors.CheckURL(settings["api_base_url"]); msg != "" {
		fe["api_base_url"] = msg
	}
	return fe
}

// ClientFor builds the Shopify client of a connection.
func ClientFor(c connectors.Conn, hc *http.Client) (*Client, error) {
	return NewClient(Config{
		ShopDomain:  strings.ToLower(strings.TrimSpace(c.Settings["shop_domain"])),
		AccessToken: c.Secrets["access_token"],
		APIVersion:  c.Settings["api_version"],
		BaseURL:     c.Settings["api_base_url"],
		HTTPClient:  hc,
	})
}

func check(ctx context.Context, client any) connectors.CheckResult {
	cl, ok := client.(*Client)
	if !ok {
		return connectors.CheckResult{Summary: fmt.Sprintf("Crossdock cannot test this connection with a %T.", client)}
	}
	info, err := cl.Shop(ctx)
	if err != nil {
		s, _ := explain(err)
		res := connectors.CheckResult{Summary: s}
		var se *Error
		reached := errors.As(err, &se) && se.Kind != KindTransient
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Reachable", Value: connectors.YesNo(reached), OK: reached})
		if reached {
			res.Lines = append(res.Lines, connectors.CheckLine{Label: "Access token accepted", Value: connectors.YesNo(se.Kind != KindAuth), OK: se.Kind != KindAuth})
		}
		return res
	}
	budget := cl.Budget()
	missing := MissingScopes(info.Scopes)
	res := connectors.CheckResult{OK: len(missing) == 0}
	res.Budget, _ = json.Marshal(budget)
	res.Lines = []connectors.CheckLine{
		{Label: "Reachable", Value: "yes, " + cl.Endpoint(), OK: true},
		{Label: "Access token accepted", Value: "yes", OK: true},
		{Label: "Store", Value: fmt.Sprintf("%s (%s), prices in %s", info.Name, info.MyshopifyDomain, info.CurrencyCode), OK: true},
		{Label: "API version", Value: cl.APIVersion(), OK: true},
		{Label: "Plan", Value: fmt.Sprintf("%s — rate limit %.0f points, refilling %.0f/s", info.Plan, budget.MaximumAvailable, budget.RestoreRate), OK: true},
	}
	if len(missing) == 0 {
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Permissions (scopes)", Value: "all granted", OK: true})
		res.Summary = fmt.Sprintf("Connected to %s. Everything Crossdock needs is granted.", info.Name)
	} else {
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Permissions (scopes)", Value: "missing: " + strings.Join(missing, ", "), OK: false})
		res.Summary = fmt.Sprintf("Connected to %s, but the app lacks permissions: %s. Add them to the custom app in Shopify admin and reinstall it.", info.Name, strings.Join(missing, ", "))
	}
	return res
}

func explain(err error) (string, bool) {
	var se *Error
	if !errors.As(err, &se) {
		return "", false
	}
	switch se.Kind {
	case KindAuth:
		return "Shopify refused the access token. Copy the Admin API access token again from your custom app, or check that the app is still installed.", true
	case KindNotFound:
		return "Shopify has no store at this address. Check the shop domain (it ends in .myshopify.com).", true
	case KindTransient:
		return "Shopify could not be reached or answered with an error; this is usually temporary. " + se.Error(), true
	}
	return se.Error(), true
}
