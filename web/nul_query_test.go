package web_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/webtest"
)

// A NUL character (%00) in any search or filter of the address is refused
// with words, on every list, before it reaches the database.
func TestNULInSearchIsRefusedInWords(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop := shopifyConnection(t, env, testSecret)
	admin := env.SignIn(t, vocab.RoleAdmin)

	paths := []struct{ name, path string }{
		{"failed syncs search", "/failed?q=SKU%00"},
		{"failed syncs list part", "/failed?part=list&q=%00"},
		{"syncs search", "/syncs?q=%00"},
		{"syncs flow filter", "/syncs?flow=orders%00"},
		{"mappings search", "/mappings?q=FURN%00-0042"},
		{"mappings keyset cursor", "/mappings?after_key=%00&after_id=1"},
		{"mapping history", "/mappings/history?q=%00"},
		{"mapping export", "/mappings/export.csv?q=%00"},
		{"webhook list topic", fmt.Sprintf("/connections/%d/webhooks?topic=orders%%2Fcreate%%00", shop.ID)},
		{"NUL in a parameter's name", "/syncs?q%00=1"},
	}
	for _, tc := range paths {
		t.Run(tc.name, func(t *testing.T) {
			res, body := admin.Get(tc.path)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
			require.Contains(t, body, "cannot be searched for")
			require.Contains(t, body, "(a NUL byte, %00)")
		})
	}

	t.Run("htmx swap gets a toast", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, env.URL+"/failed?part=list&q=%00", nil)
		require.NoError(t, err)
		req.Header.Set("HX-Request", "true")
		res, body := admin.Do(req)
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Equal(t, "#toasts", res.Header.Get("HX-Retarget"))
		require.Contains(t, body, "(a NUL byte, %00)")
	})

	t.Run("the same lists without the NUL answer", func(t *testing.T) {
		for _, p := range []string{"/failed?q=SKU", "/syncs?q=x", "/mappings?q=FURN", "/mappings/history?q=x", "/mappings/export.csv?q=x",
			fmt.Sprintf("/connections/%d/webhooks?topic=orders%%2Fcreate", shop.ID)} {
			res, body := admin.Get(p)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", p, body)
		}
	})
}
