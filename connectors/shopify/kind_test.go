package shopify

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
)

// The kind's webhook verification is VerifyHMAC behind the signature
// header: current secret, previous one during a rotation, nothing else.
func TestKindVerifiesWebhooks(t *testing.T) {
	t.Parallel()
	k := Kind()
	body := fixture(t, "orders-create.2026-04.json")
	signed := fixtureHeaders(t)
	tampered := append([]byte{}, body...)
	tampered[len(tampered)-3] ^= 1
	cases := []struct {
		name    string
		body    []byte
		header  http.Header
		secrets []string
		want    error
	}{
		{"signed with the current secret", body, signed, []string{testSecret}, nil},
		{"rotation: signed with the previous secret", body, signed, []string{"new-secret", testSecret}, nil},
		{"neither secret", body, signed, []string{"new-secret", "older"}, connectors.ErrBadSignature},
		{"tampered body", tampered, signed, []string{testSecret}, connectors.ErrBadSignature},
		{"no secret saved", body, signed, nil, connectors.ErrBadSignature},
		{"no signature header", body, http.Header{}, []string{testSecret}, connectors.ErrNoSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := k.VerifyWebhook(tc.body, tc.header, tc.secrets)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
	require.Equal(t, "api_secret", k.Webhooks.SecretField)
	require.Equal(t, time.Hour, k.Webhooks.SecretGrace, "Shopify may sign with the old secret for up to an hour")
}

func TestEndOfSupportIsTwelveMonthsAfterRelease(t *testing.T) {
	t.Parallel()
	end, ok := EndOfSupport("2026-04")
	require.True(t, ok)
	require.Equal(t, time.Date(2027, 4, 1, 17, 0, 0, 0, time.UTC), end)
	end, ok = EndOfSupport("2025-10")
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 10, 1, 17, 0, 0, 0, time.UTC), end)
	for _, v := range []string{"", "latest", "2026-02", "unstable"} {
		_, ok := EndOfSupport(v)
		require.False(t, ok, v)
	}
}

func TestKindValidatesShopifySettings(t *testing.T) {
	t.Parallel()
	reg := connectors.MustRegistry(Kind())
	fe := reg.Validate("shopify", map[string]string{"shop_domain": "www.shop.com", "api_version": "latest", "api_base_url": "shop"},
		map[string]string{"api_secret": "s"}, nil)
	require.Contains(t, fe["shop_domain"], ".myshopify.com")
	require.Contains(t, fe["api_version"], "2026-04")
	require.Contains(t, fe["api_base_url"], "https://")
	require.Equal(t, "Admin API access token is required.", fe["access_token"])
	require.Nil(t, reg.Validate("shopify", map[string]string{"shop_domain": "x.myshopify.com"}, nil, map[string]bool{"access_token": true, "api_secret": true}),
		"saved secrets need not be typed again")
}
