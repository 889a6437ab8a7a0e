package handlers

import (
	"bytes"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// The Connections page warns 90 days before the API version a connection
// uses stops being supported, and says plainly once it has, with what to
// do. "Today" is fixed: 6 December 2026.
func TestConnectionsWarnAboutAPIVersionEndOfSupport(t *testing.T) {
	t.Parallel()
	kinds := connectors.MustRegistry(shopify.Kind(), odoo.Kind())
	today := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	conn := func(id int64, name, version string) store.Connection {
		return store.Connection{ID: id, Name: name, Kind: vocab.KindShopify, Environment: vocab.EnvProduction, Enabled: true,
			Settings: map[string]string{"shop_domain": "shop.myshopify.com", "api_version": version}}
	}
	current := connectionRow(kinds, conn(1, "Current store", ""), today)
	ending := connectionRow(kinds, conn(2, "Ending store", "2026-01"), today)
	ended := connectionRow(kinds, conn(3, "Ended store", "2025-10"), today)
	erp := connectionRow(kinds, store.Connection{ID: 4, Name: "ERP", Kind: vocab.KindOdoo, Settings: map[string]string{"url": "https://erp.example", "database": "main"}}, today)

	require.Empty(t, current.Support)
	require.Empty(t, erp.Support)
	require.Equal(t, "https://erp.example · main", erp.Address)
	require.Equal(t, "Odoo", erp.Kind)
	require.Contains(t, ending.Support, "stops supporting the API version this connection uses (2026-01) on 1 January 2027, in 27 days")
	require.False(t, ending.SupportEnded)
	require.Contains(t, ended.Support, "stopped supporting the API version this connection uses (2025-10) on 1 October 2026")
	require.True(t, ended.SupportEnded)

	var page bytes.Buffer
	p := views.ConnectionsPage{Rows: []views.ConnectionRow{current, ending, ended, erp}, Now: today}
	require.NoError(t, views.Connections(p).Render(t.Context(), &page))
	html := page.String()
	require.Contains(t, html, "Before then: edit the connection, set the API version to 2026-04 (or leave it empty), and test it.")
	require.Contains(t, html, "so syncs may fail or read data differently")
	require.Contains(t, html, `class="banner banner-critical"`, "a version past its end stands out")
	require.Contains(t, html, `class="banner banner-warning"`)
	require.Equal(t, 2, strings.Count(html, "supporting the API version"), "only the two stores concerned are named")

	page.Reset()
	require.NoError(t, views.ConnectionShow(views.ConnectionPage{Row: ending, Now: today}).Render(t.Context(), &page))
	require.Contains(t, page.String(), "in 27 days")
}

// The pages never hold the secret key: credentials are sealed and opened by
// the store (store.Vault) and the engine.
func TestHandlersDoNotImportTheSecretBox(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "crossdock/store/secretbox" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
