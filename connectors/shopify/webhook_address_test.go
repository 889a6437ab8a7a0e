package shopify_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify"
)

func TestWebhookURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, base, want string
	}{
		{"base URL", "https://crossdock.example.com", "https://crossdock.example.com/webhooks/shopify/42"},
		{"trailing slash", "https://crossdock.example.com/", "https://crossdock.example.com/webhooks/shopify/42"},
		{"under a path", "https://example.com/crossdock/", "https://example.com/crossdock/webhooks/shopify/42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, shopify.WebhookURL(tc.base, 42))
		})
	}
}
