// Package connectors describes the kinds of systems Crossdock connects to
// (their settings, secrets and checks) and builds each kind's client from a
// stored connection. The wire protocols themselves live in the shopify and
// odoo sub-packages.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
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

// Kind is a kind of connected system.
type Kind struct {
	Key                vocab.Kind
	Label, Description string
	Fields             []Field
}

// Kinds lists what Crossdock connects to today.
func Kinds() []Kind {
	return []Kind{
		{
			Key: vocab.KindShopify, Label: "Shopify", Description: "Your Shopify store, through a custom app's Admin API access token.",
			Fields: []Field{
				{Key: "shop_domain", Label: "Shop domain", Placeholder: "your-store.myshopify.com", Required: true, Hint: "The store's .myshopify.com address, not its public domain."},
				{Key: "access_token", Label: "Admin API access token", Placeholder: "shpat_…", Secret: true, Required: true, Hint: "From your custom app in Shopify admin → Apps → Develop apps → API credentials."},
				{Key: "api_secret", Label: "API secret key", Secret: true, Required: true, Hint: "Signs the webhooks Shopify sends. When you rotate it, the previous key keeps working for one hour."},
				{Key: "api_version", Label: "API version", Placeholder: shopify.DefaultAPIVersion, Hint: "Leave empty for " + shopify.DefaultAPIVersion + "."},
				{Key: "api_base_url", Label: "API base URL", Advanced: true, Placeholder: "https://…", Hint: "Advanced: only for a sandbox or a proxy. Leave empty to talk to Shopify."},
			},
		},
		{
			Key: vocab.KindOdoo, Label: "Odoo", Description: "Your Odoo ERP (version 14 to 21 over JSON-RPC, or 19+ over the JSON-2 API).",
			Fields: []Field{
				{Key: "url", Label: "Odoo address", Placeholder: "https://your-company.odoo.com", Required: true},
				{Key: "database", Label: "Database", Required: true, Hint: "Shown on Odoo's database selector, or in Settings → Technical."},
				{Key: "username", Label: "User (login)", Placeholder: "integration@your-company.com", Hint: "Needed for JSON-RPC; JSON-2 identifies you by the API key."},
				{Key: "api_key", Label: "API key or password", Secret: true, Required: true, Hint: "Create an API key in Odoo: your profile → Account Security → New API key."},
				{Key: "protocol", Label: "Protocol", Options: []string{string(odoo.ProtocolJSONRPC), string(odoo.ProtocolJSON2)}, Hint: "jsonrpc for Odoo 14–21; json2 for Odoo 19 and newer."},
			},
		},
	}
}

// KindByKey finds a kind.
func KindByKey(key vocab.Kind) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Key == key {
			return k, true
		}
	}
	return Kind{}, false
}

var (
	shopDomainRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)
	apiVersionRe = regexp.MustCompile(`^\d{4}-(01|04|07|10)$`)
)

// Validate checks the kind-specific fields. Secrets may stay empty when the
// connection already has them (haveSecrets): the form never shows them again.
// Errors are keyed by field key.
func Validate(kind vocab.Kind, settings, secrets map[string]string, haveSecrets map[string]bool) vocab.FieldErrors {
	k, ok := KindByKey(kind)
	if !ok {
		return vocab.FieldErrors{"kind": "Choose the kind of system: Shopify or Odoo."}
	}
	fe := vocab.FieldErrors{}
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
		if v != "" && len(f.Options) > 0 && !contains(f.Options, v) {
			fe[f.Key] = fmt.Sprintf("%s must be one of: %s.", f.Label, strings.Join(f.Options, ", "))
		}
	}
	switch kind {
	case vocab.KindShopify:
		if d := strings.ToLower(strings.TrimSpace(settings["shop_domain"])); d != "" && !shopDomainRe.MatchString(d) {
			fe["shop_domain"] = "Enter the store's address ending in .myshopify.com, like your-store.myshopify.com."
		}
		if v := strings.TrimSpace(settings["api_version"]); v != "" && !apiVersionRe.MatchString(v) {
			fe["api_version"] = "API versions look like 2026-04 (a year and a quarter month: 01, 04, 07 or 10)."
		}
		if msg := checkURL(settings["api_base_url"]); msg != "" {
			fe["api_base_url"] = msg
		}
	case vocab.KindOdoo:
		if msg := checkURL(settings["url"]); msg != "" {
			fe["url"] = msg
		}
		if settings["protocol"] != string(odoo.ProtocolJSON2) && strings.TrimSpace(settings["username"]) == "" {
			fe["username"] = "The user is required for the JSON-RPC protocol."
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func checkURL(raw string) string {
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

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Shopify builds the Shopify client of a connection.
func Shopify(c Conn, secrets map[string]string, hc *http.Client) (*shopify.Client, error) {
	if c.Kind != vocab.KindShopify {
		return nil, fmt.Errorf("connection %q is not a Shopify connection", c.Name)
	}
	return shopify.NewClient(shopify.Config{
		ShopDomain:  strings.ToLower(strings.TrimSpace(c.Settings["shop_domain"])),
		AccessToken: secrets["access_token"],
		APIVersion:  c.Settings["api_version"],
		BaseURL:     c.Settings["api_base_url"],
		HTTPClient:  hc,
	})
}

// Odoo builds the Odoo client of a connection.
func Odoo(c Conn, secrets map[string]string, hc *http.Client) (*odoo.Client, error) {
	if c.Kind != vocab.KindOdoo {
		return nil, fmt.Errorf("connection %q is not an Odoo connection", c.Name)
	}
	proto := odoo.Protocol(c.Settings["protocol"])
	if proto == "" {
		proto = odoo.ProtocolJSONRPC
	}
	return odoo.NewClient(odoo.Config{URL: c.Settings["url"], Database: c.Settings["database"], Username: c.Settings["username"],
		Secret: secrets["api_key"], Protocol: proto, HTTPClient: hc})
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
	// Budget is the rate-limit budget the system reported (Shopify), as JSON.
	Budget *shopify.BudgetStatus
}

// Check calls the real system (or its sandbox) and reports what works.
func Check(ctx context.Context, c Conn, secrets map[string]string, hc *http.Client) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	switch c.Kind {
	case vocab.KindShopify:
		return checkShopify(ctx, c, secrets, hc)
	case vocab.KindOdoo:
		return checkOdoo(ctx, c, secrets, hc)
	}
	return CheckResult{Summary: "Unknown kind of connection."}
}

func checkShopify(ctx context.Context, c Conn, secrets map[string]string, hc *http.Client) CheckResult {
	cl, err := Shopify(c, secrets, hc)
	if err != nil {
		return CheckResult{Summary: "The settings are incomplete: " + err.Error()}
	}
	info, err := cl.Shop(ctx)
	if err != nil {
		res := CheckResult{Summary: Explain(err)}
		var se *shopify.Error
		reached := errors.As(err, &se) && se.Kind != shopify.KindTransient
		res.Lines = append(res.Lines, CheckLine{Label: "Reachable", Value: yesNo(reached), OK: reached})
		if reached {
			res.Lines = append(res.Lines, CheckLine{Label: "Access token accepted", Value: yesNo(se.Kind != shopify.KindAuth), OK: se.Kind != shopify.KindAuth})
		}
		return res
	}
	budget := cl.Budget()
	missing := shopify.MissingScopes(info.Scopes)
	res := CheckResult{OK: len(missing) == 0, Budget: &budget}
	res.Lines = []CheckLine{
		{Label: "Reachable", Value: "yes, " + cl.Endpoint(), OK: true},
		{Label: "Access token accepted", Value: "yes", OK: true},
		{Label: "Store", Value: fmt.Sprintf("%s (%s), prices in %s", info.Name, info.MyshopifyDomain, info.CurrencyCode), OK: true},
		{Label: "API version", Value: cl.APIVersion(), OK: true},
		{Label: "Plan", Value: fmt.Sprintf("%s — rate limit %.0f points, refilling %.0f/s", info.Plan, budget.MaximumAvailable, budget.RestoreRate), OK: true},
	}
	if len(missing) == 0 {
		res.Lines = append(res.Lines, CheckLine{Label: "Permissions (scopes)", Value: "all granted", OK: true})
		res.Summary = fmt.Sprintf("Connected to %s. Everything Crossdock needs is granted.", info.Name)
	} else {
		res.Lines = append(res.Lines, CheckLine{Label: "Permissions (scopes)", Value: "missing: " + strings.Join(missing, ", "), OK: false})
		res.Summary = fmt.Sprintf("Connected to %s, but the app lacks permissions: %s. Add them to the custom app in Shopify admin and reinstall it.", info.Name, strings.Join(missing, ", "))
	}
	return res
}

func checkOdoo(ctx context.Context, c Conn, secrets map[string]string, hc *http.Client) CheckResult {
	cl, err := Odoo(c, secrets, hc)
	if err != nil {
		return CheckResult{Summary: "The settings are incomplete: " + err.Error()}
	}
	r, err := cl.Check(ctx)
	res := CheckResult{OK: err == nil && r.OK(), Summary: r.Summary()}
	if err != nil && len(r.Problems) == 0 {
		res.Summary = Explain(err)
	}
	res.Lines = append(res.Lines, CheckLine{Label: "Reachable", Value: yesNo(r.Reachable), OK: r.Reachable})
	if r.Reachable {
		res.Lines = append(res.Lines,
			CheckLine{Label: "Credentials accepted", Value: yesNo(r.CredentialsValid), OK: r.CredentialsValid},
			CheckLine{Label: "Odoo version", Value: r.Version.Version, OK: r.Version.Version != ""},
			CheckLine{Label: "Protocol", Value: string(r.Protocol), OK: true})
		for _, m := range r.Models {
			v := "yes — " + m.Purpose
			if !m.Accessible {
				v = m.Problem
			}
			res.Lines = append(res.Lines, CheckLine{Label: "Access to " + m.Model, Value: v, OK: m.Accessible})
		}
	}
	return res
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Explain turns a connector error into a sentence for a merchant.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	var se *shopify.Error
	if errors.As(err, &se) {
		switch se.Kind {
		case shopify.KindAuth:
			return "Shopify refused the access token. Copy the Admin API access token again from your custom app, or check that the app is still installed."
		case shopify.KindNotFound:
			return "Shopify has no store at this address. Check the shop domain (it ends in .myshopify.com)."
		case shopify.KindTransient:
			return "Shopify could not be reached or answered with an error; this is usually temporary. " + se.Error()
		}
		return se.Error()
	}
	var oe *odoo.Error
	if errors.As(err, &oe) {
		switch oe.Kind {
		case odoo.KindAuth:
			return "Odoo refused the user or API key. Check the database name, the user and the API key."
		case odoo.KindTransient:
			return "Odoo could not be reached or answered with an error; this is usually temporary. " + oe.Error()
		}
		return oe.Error()
	}
	return err.Error()
}

// Conn is what building a client and checking a connection need of a stored
// connection: its name (for messages), its kind and its settings.
type Conn struct {
	Name     string
	Kind     vocab.Kind
	Settings map[string]string
}
