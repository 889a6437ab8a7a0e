package connectors_test

import (
	"context"
	"errors"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
	"crossdock/vocab"
)

func registry(t *testing.T) *connectors.Registry {
	t.Helper()
	r, err := connectors.NewRegistry(shopify.Kind(), odoo.Kind())
	require.NoError(t, err)
	return r
}

// Every registered kind can be offered on the form, tested and reasoned
// about by capability.
func TestEveryKindIsComplete(t *testing.T) {
	t.Parallel()
	r := registry(t)
	require.Len(t, r.Kinds(), 2)
	for _, k := range r.Kinds() {
		t.Run(string(k.Key), func(t *testing.T) {
			require.NotEmpty(t, k.Label)
			require.NotEmpty(t, k.Description)
			require.NotEmpty(t, k.Fields)
			require.NotNil(t, k.NewClient)
			require.NotNil(t, k.Check)
			require.NotNil(t, k.Address)
			require.NotEmpty(t, k.Offers)
			for f, caps := range k.Offers {
				require.True(t, f.Valid(), "family %q", f)
				require.NotEmpty(t, caps, "family %q", f)
			}
			got, ok := r.Kind(k.Key)
			require.True(t, ok)
			require.Equal(t, k.Label, got.Label)
			// The check refuses a client of another kind rather than panic.
			res := k.Check(context.Background(), struct{}{})
			require.False(t, res.OK)
		})
	}
}

func TestUnknownKindIsRefused(t *testing.T) {
	t.Parallel()
	r := registry(t)
	_, ok := r.Kind("quickbooks")
	require.False(t, ok)
	fe := r.Validate("quickbooks", nil, nil, nil)
	require.Equal(t, "Choose the kind of system: Shopify or Odoo.", fe["kind"])
	require.False(t, r.Can("quickbooks", vocab.Prices, connectors.Read))

	var none *connectors.Registry
	_, ok = none.Kind("shopify")
	require.False(t, ok, "an empty registry knows nothing")
}

func TestRegistryRefusesMalformedKinds(t *testing.T) {
	t.Parallel()
	good := odoo.Kind()
	noCheck := good
	noCheck.Check = nil
	noFields := good
	noFields.Fields = nil
	unverified := good
	unverified.Webhooks = &connectors.Webhooks{SignatureHeader: "X-Sig"}
	for name, kinds := range map[string][]connectors.Kind{
		"twice":                 {good, good},
		"no check":              {noCheck},
		"no fields":             {noFields},
		"no key":                {{Label: "X"}},
		"webhooks, no verifier": {unverified},
	} {
		_, err := connectors.NewRegistry(kinds...)
		require.Error(t, err, name)
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	r := registry(t)
	require.ElementsMatch(t, []vocab.Kind{vocab.KindShopify, vocab.KindOdoo}, r.Offering(vocab.Products, connectors.Read), "both have a catalogue")
	require.Equal(t, []vocab.Kind{vocab.KindShopify}, r.Offering(vocab.Orders, connectors.Subscribe), "only Shopify pushes orders")
	require.True(t, r.Can("odoo", vocab.Inventory, connectors.Write))
	require.False(t, r.Can("odoo", vocab.Orders, connectors.Subscribe))
}

func TestOnlyKindsWithWebhooksVerifyThem(t *testing.T) {
	t.Parallel()
	k, _ := registry(t).Kind("odoo")
	require.ErrorIs(t, k.VerifyWebhook([]byte("{}"), http.Header{"X-Shopify-Hmac-Sha256": {"x"}}, []string{"s"}), connectors.ErrNoWebhooks)
}

func TestWebhookURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "https://crossdock.example.com/webhooks/shopify/7", connectors.WebhookURL("https://crossdock.example.com/", "shopify", 7))
	require.Equal(t, "/webhooks/shopify/7", connectors.WebhookURL("", "shopify", 7))
}

func TestExplainFallsBackOnTheErrorItself(t *testing.T) {
	t.Parallel()
	r := registry(t)
	require.Equal(t, "", r.Explain(nil))
	require.Equal(t, "boom", r.Explain(errors.New("boom")))
	require.Contains(t, r.Explain(&odoo.Error{Kind: odoo.KindAuth}), "Odoo refused the user or API key")
	require.Contains(t, r.Explain(&shopify.Error{Kind: shopify.KindAuth}), "Shopify refused the access token")
}

// The warning about an API version's end of support, 90 days ahead, at a
// fixed "today" (Shopify supports a quarterly version for 12 months).
func TestSupportWarning(t *testing.T) {
	t.Parallel()
	shop := shopify.Kind()
	today := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name, version string
		now           time.Time
		ended, ending bool
		says          []string
	}{
		{"current version, far from its end", "", today, false, false, nil},
		{"ends in under 90 days", "2026-01", today, false, true,
			[]string{"Shopify stops supporting the API version this connection uses (2026-01) on 1 January 2027, in 27 days.", "set the API version to 2026-04"}},
		{"ended", "2025-10", today, true, false,
			[]string{"Shopify stopped supporting the API version this connection uses (2025-10) on 1 October 2026.", "syncs may fail", "set the API version to 2026-04"}},
		{"91 days ahead: not yet", "2026-04", time.Date(2027, 4, 1, 17, 0, 0, 0, time.UTC).Add(-91 * 24 * time.Hour), false, false, nil},
		{"Crossdock's own default is ending", "", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), false, true,
			[]string{"(2026-04) on 1 April 2027", "update Crossdock"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := shop.Support(map[string]string{"api_version": tc.version}, tc.now)
			require.Equal(t, tc.ended, s.Ended)
			require.Equal(t, tc.ending, s.Ending)
			if tc.says == nil {
				require.Empty(t, s.Notice)
			}
			for _, w := range tc.says {
				require.Contains(t, s.Notice, w)
			}
		})
	}
	require.Empty(t, odoo.Kind().Support(nil, today).Notice, "Odoo has no dated API versions to warn about")
}

// The registry is the bottom of the connector packages: it imports neither
// the store nor any connector (they import it).
func TestRegistryImportsOnlyTheVocabulary(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "crossdock/") && path != "crossdock/vocab" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
