package quickbooks

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/vocab"
)

// Settings and secrets of a QuickBooks connection.
const (
	FieldEnvironment   = "environment"   // sandbox or production
	FieldRealmID       = "realm_id"      // the company, filled by "Connect to QuickBooks"
	FieldClientID      = "client_id"     // the app's, from the Intuit developer portal
	FieldClientSecret  = "client_secret" // secret
	FieldRefreshToken  = "refresh_token" // secret, filled by "Connect to QuickBooks", rotated
	FieldPrevious      = "previous_refresh_token"
	FieldHardExpiresAt = "refresh_token_hard_expires_at" // RFC 3339, kept with the tokens
	// FieldVerifierToken is the secret that signs webhooks. Its key is the
	// one the store keeps a rotated-out webhook secret for (an hour), as
	// Shopify's is; the form calls it the webhook verifier token.
	FieldVerifierToken = "api_secret"
	FieldAPIBaseURL    = "api_base_url"    // advanced: the twin
	FieldTokenURL      = "token_url"       // advanced: the twin
	FieldAuthorizeURL  = "authorize_url"   // advanced: the twin
	FieldOrdersAs      = "orders_as"       // auto, sales_receipt or invoice
	FieldTaxCode       = "tax_code"        // the tax code of taxed lines
	FieldDepositTo     = "deposit_account" // the account sales receipts are deposited to
	// Payouts become deposits (engine/quickbooks_payouts.go): into the bank
	// account, their gross from the clearing account, their fees to an
	// expense account.
	FieldPayoutsBank     = "payouts_bank_account"
	FieldPayoutsClearing = "payouts_clearing_account"
	FieldPayoutsFees     = "payouts_fees_account"
	// FieldStockLocation is the Shopify location QuickBooks' quantities on
	// hand are set at, when QuickBooks is the source of stock (QuickBooks
	// has no locations of its own).
	FieldStockLocation = "shopify_location_id"
)

// FieldRate is the requests a minute the company allows [500]: only a test
// double with a shortened window (the benchmark's) allows more.
const FieldRate = "requests_per_minute"

// How orders are recorded (FieldOrdersAs).
const (
	OrdersAuto         = "auto"          // paid orders as sales receipts, the others as invoices
	OrdersSalesReceipt = "sales_receipt" // always sales receipts
	OrdersInvoice      = "invoice"       // always invoices
)

// Environments (FieldEnvironment).
const (
	EnvSandbox    = "sandbox"
	EnvProduction = "production"
)

// Kind describes QuickBooks Online to the connectors registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Key: vocab.KindQuickBooks, Label: "QuickBooks Online",
		Description: "Your QuickBooks Online company: orders become sales receipts or invoices, refunds become refund receipts.",
		Fields: []connectors.Field{
			{Key: FieldEnvironment, Label: "QuickBooks company", Options: []string{EnvProduction, EnvSandbox}, Required: true,
				Hint: "production for your real company; sandbox for a test company from the Intuit developer portal."},
			{Key: FieldClientID, Label: "App client id", Required: true, Hint: "From your app on developer.intuit.com → Keys and credentials."},
			{Key: FieldClientSecret, Label: "App client secret", Secret: true, Required: true},
			{Key: FieldRealmID, Label: "Company id (realm id)", Hint: "Filled in by \"Connect to QuickBooks\"."},
			{Key: FieldOrdersAs, Label: "Record orders as", Options: []string{OrdersAuto, OrdersSalesReceipt, OrdersInvoice},
				Hint: "auto: paid orders as sales receipts, unpaid ones as invoices."},
			{Key: FieldTaxCode, Label: "Tax code for taxed lines", Placeholder: "TAX",
				Hint: "The QuickBooks tax code put on lines Shopify charged tax on; untaxed lines get NON."},
			{Key: FieldDepositTo, Label: "Deposit sales receipts to (account id)", Hint: "Leave empty for Undeposited Funds."},
			{Key: FieldPayoutsBank, Label: "Bank account payouts are deposited to (account id)",
				Hint: "The bank account Shopify Payments pays into. Leave empty to not record payouts in QuickBooks."},
			{Key: FieldPayoutsClearing, Label: "Account the payouts' sales come from (account id)",
				Hint: "Usually Undeposited Funds, where sales receipts wait for their deposit, or an income account."},
			{Key: FieldPayoutsFees, Label: "Expense account for payment fees (account id)", Hint: "Shopify Payments' fees are a negative line of each deposit."},
			{Key: FieldStockLocation, Label: "Shopify location QuickBooks' stock is counted at", Placeholder: "71234567890",
				Hint: "When QuickBooks is the source of stock, its quantities on hand are set there: the number at the end of the location's address in Shopify admin → Settings → Locations."},
			{Key: FieldVerifierToken, Label: "Webhook verifier token", Secret: true, Hint: "From your app's Webhooks page; it is not the client secret."},
			{Key: FieldRefreshToken, Label: "Refresh token", Secret: true, Advanced: true, Hint: "Filled in by \"Connect to QuickBooks\"; it changes at every refresh."},
			{Key: FieldAPIBaseURL, Label: "API address", Advanced: true, Placeholder: ProductionBaseURL, Hint: "Only to point Crossdock at a test double."},
			{Key: FieldTokenURL, Label: "Token address", Advanced: true, Placeholder: TokenURL},
			{Key: FieldAuthorizeURL, Label: "Sign-in address", Advanced: true, Placeholder: AuthorizeURL},
			{Key: FieldRate, Label: "Requests a minute", Advanced: true, Placeholder: strconv.Itoa(RatePerMinute),
				Hint: "QuickBooks allows 500 a minute per company; only a test double allows more."},
		},
		Validate: validate,
		Address: func(s map[string]string) string {
			if s[FieldRealmID] == "" {
				return "QuickBooks " + cmp.Or(s[FieldEnvironment], EnvProduction) + " company (not connected yet)"
			}
			return "QuickBooks " + cmp.Or(s[FieldEnvironment], EnvProduction) + " company " + s[FieldRealmID]
		},
		NewClient: func(c connectors.Conn, hc *http.Client) (any, error) {
			return ClientFor(c, hc)
		},
		Check:             check,
		Explain:           Explain,
		SignIn:            signIn(),
		APIVersion:        func(map[string]string) string { return MinorVersion },
		DefaultAPIVersion: MinorVersion,
		Webhooks: &connectors.Webhooks{SignatureHeader: SignatureHeader, SecretField: FieldVerifierToken,
			SecretGrace: time.Hour, Verify: VerifySignature, Read: ReadWebhook, CheckAccount: CheckRealm},
		Offers: map[vocab.Family][]connectors.Capability{
			vocab.Products:  {connectors.Read},
			vocab.Inventory: {connectors.Read, connectors.Subscribe, connectors.Sweep},
			vocab.Prices:    {connectors.Read, connectors.Subscribe, connectors.Sweep},
			vocab.Costs:     {connectors.Read, connectors.Subscribe, connectors.Sweep},
			vocab.Customers: {connectors.Write},
			vocab.Orders:    {connectors.Write},
			vocab.Refunds:   {connectors.Write},
			vocab.Payouts:   {connectors.Write},
		},
	}
}

func validate(s map[string]string) connectors.FieldErrors {
	fe := connectors.FieldErrors{}
	if r := strings.TrimSpace(s[FieldRealmID]); r != "" {
		if _, err := strconv.ParseUint(r, 10, 64); err != nil {
			fe[FieldRealmID] = "The company id is a number (QuickBooks shows it under Settings → Additional info); or leave it empty and use \"Connect to QuickBooks\"."
		}
	}
	for _, f := range []string{FieldAPIBaseURL, FieldTokenURL, FieldAuthorizeURL} {
		if msg := connectors.CheckURL(s[f]); msg != "" {
			fe[f] = msg
		}
	}
	for _, f := range []string{FieldPayoutsBank, FieldPayoutsClearing, FieldPayoutsFees} {
		if a := strings.TrimSpace(s[f]); a != "" {
			if _, err := strconv.ParseUint(a, 10, 64); err != nil {
				fe[f] = "An account id is a number, such as 35: the account's id in QuickBooks' chart of accounts."
			}
		}
	}
	if v := strings.TrimSpace(s[FieldStockLocation]); v != "" && connectors.ShopifyLocation(v) == "" {
		fe[FieldStockLocation] = "A Shopify location is a number, such as 71234567890: the end of the location's address in Shopify admin → Settings → Locations."
	}
	if v := strings.TrimSpace(s[FieldRate]); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			fe[FieldRate] = "Enter a whole number of requests a minute, like 500."
		}
	}
	if t := strings.TrimSpace(s[FieldTaxCode]); len(t) > 20 {
		fe[FieldTaxCode] = "A tax code is at most 20 characters (TAX, NON, or a code's id)."
	}
	return fe
}

// BaseURL is where a connection's API is: the override, or the
// environment's host.
func BaseURL(settings map[string]string) string {
	if u := strings.TrimSpace(settings[FieldAPIBaseURL]); u != "" {
		return u
	}
	if settings[FieldEnvironment] == EnvSandbox {
		return SandboxBaseURL
	}
	return ProductionBaseURL
}

// ClientFor builds the client of a connection.
func ClientFor(c connectors.Conn, hc *http.Client) (*Client, error) {
	cfg := Config{BaseURL: BaseURL(c.Settings), TokenURL: c.Settings[FieldTokenURL], RealmID: c.Settings[FieldRealmID],
		ClientID: c.Settings[FieldClientID], ClientSecret: c.Secrets[FieldClientSecret], RefreshToken: c.Secrets[FieldRefreshToken],
		HTTPClient: hc}
	if n, err := strconv.Atoi(strings.TrimSpace(c.Settings[FieldRate])); err == nil && n > 0 {
		cfg.RatePerMinute = n
	}
	return NewClient(cfg)
}

func check(ctx context.Context, client any) connectors.CheckResult {
	cl, ok := client.(*Client)
	if !ok {
		return connectors.CheckResult{Summary: fmt.Sprintf("Crossdock cannot test this connection with a %T.", client)}
	}
	ci, err := cl.CompanyInfo(ctx)
	if err != nil {
		s, _ := Explain(err)
		return connectors.CheckResult{Summary: s, Lines: []connectors.CheckLine{{Label: "Reachable", Value: "no", OK: false}}}
	}
	prefs, err := cl.Preferences(ctx)
	if err != nil {
		s, _ := Explain(err)
		return connectors.CheckResult{Summary: s}
	}
	country := ci.Country
	if country == "" && ci.CompanyAddr != nil {
		country = ci.CompanyAddr.Country
	}
	res := connectors.CheckResult{OK: true, Summary: "Crossdock can reach " + ci.CompanyName + " in QuickBooks Online."}
	res.Lines = []connectors.CheckLine{
		{Label: "Company", Value: ci.CompanyName, OK: ci.CompanyName != ""},
		{Label: "Country", Value: cmp.Or(country, "not set"), OK: country != ""},
		{Label: "Currency", Value: cmp.Or(prefs.CurrencyPrefs.HomeCurrency.Value, "not set"), OK: prefs.CurrencyPrefs.HomeCurrency.Value != ""},
		{Label: "Inventory tracking", Value: onOff(prefs.ProductAndServicesPrefs.QuantityOnHand), OK: true},
		{Label: "API minor version", Value: MinorVersion, OK: true},
	}
	var missing []string
	if !prefs.SalesFormsPrefs.AllowShipping {
		missing = append(missing, "shipping on sales forms (Account and settings → Sales → Sales form content → Shipping), so shipping can be a line")
	}
	if !prefs.SalesFormsPrefs.AllowDiscount {
		missing = append(missing, "discounts on sales forms (Account and settings → Sales → Sales form content → Discount), so Shopify discounts can be a line")
	}
	if len(missing) > 0 {
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Missing settings", Value: "turn on " + strings.Join(missing, "; and "), OK: false})
		res.Summary += " Some QuickBooks settings the orders flow needs are off; see below."
	} else {
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Missing settings", Value: "none", OK: true})
	}
	if hard := cl.HardExpiry(); !hard.IsZero() {
		res.Lines = append(res.Lines, connectors.CheckLine{Label: "Reconnect needed by", Value: hard.Format("2 January 2006"),
			OK: time.Until(hard) > 30*24*time.Hour})
	}
	return res
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
