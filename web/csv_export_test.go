package web_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// readCSV parses a downloaded export.
func readCSV(t *testing.T, res *http.Response, body string) [][]string {
	t.Helper()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	return recs
}

// requireNoFormula fails if a cell of the export would be read by a
// spreadsheet as a formula: every one starting with =, +, -, @, tab or CR
// must be quoted away, unless it is a plain number.
func requireNoFormula(t *testing.T, recs [][]string) {
	t.Helper()
	for i, rec := range recs {
		for j, cell := range rec {
			if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				continue
			}
			require.Regexp(t, `^[-+][0-9.]+$`, cell, "line %d column %d is a formula", i+1, j+1)
		}
	}
}

func TestEveryCSVExportWritesFormulasAsText(t *testing.T) {
	t.Parallel()

	t.Run("mappings", func(t *testing.T) {
		t.Parallel()
		env := webtest.Start(t)
		mappingConns(t, env)
		ctx := t.Context()
		op := store.Actor{UserID: env.Users[vocab.RoleOperator].ID, Label: "operator@shop.test"}
		admin := store.Actor{UserID: env.Users[vocab.RoleAdmin].ID, Label: "admin@shop.test"}
		file := "type,connection,external_id,entity_key,sku,barcode,email,name\n" +
			`variant,Map shop,"=HYPERLINK(""http://evil.test"",""Open"")",@SUM(1+1),+cmd|' /C calc'!A0,-2+3,,"=1+1"` + "\n"
		res, err := env.Store.ImportMappingsCSV(ctx, op, strings.NewReader(file), "evil.csv", "")
		require.NoError(t, err)
		require.Zero(t, res.ChangeSet.NInvalid)
		_, err = env.Store.SubmitChangeSet(ctx, op, res.ChangeSet.ID)
		require.NoError(t, err)
		_, err = env.Store.ApproveChangeSet(ctx, admin, res.ChangeSet.ID, "")
		require.NoError(t, err)

		resp, body := env.SignIn(t, vocab.RoleOperator).Get("/mappings/export.csv")
		recs := readCSV(t, resp, body)
		require.Len(t, recs, 2)
		require.Equal(t, []string{"variant", "Map shop", `'=HYPERLINK("http://evil.test","Open")`, "'@SUM(1+1)", "'+cmd|' /C calc'!A0", "'-2+3", "", "'=1+1", ""}, recs[1])
		requireNoFormula(t, recs)

		// The export is the import format: read back, it changes nothing.
		again, err := env.Store.ImportMappingsCSV(ctx, op, strings.NewReader(body), "again.csv", "")
		require.NoError(t, err)
		require.Equal(t, 1, again.ChangeSet.NUnchanged)
		require.Zero(t, again.ChangeSet.Changes())
	})

	t.Run("reconciliation", func(t *testing.T) {
		t.Parallel()
		e := reconSetup(t)
		// Connection names and people's names are typed by people too.
		_, err := e.env.Store.DB.Exec(`UPDATE connections SET name = '+cmd|'' /C calc''!A0' WHERE id = $1`, e.odoo.ID)
		require.NoError(t, err)
		_, err = e.env.Store.DB.Exec(`UPDATE discrepancies SET note = '@SUM(1+1)', master_value = '-1+1' WHERE key = 'k1'`)
		require.NoError(t, err)
		res, body := e.env.SignIn(t, vocab.RoleOperator).Get("/reconciliation/discrepancies.csv")
		recs := readCSV(t, res, body)
		require.Len(t, recs, 3)
		require.Contains(t, body, `'+cmd|' /C calc'!A0`)
		require.Contains(t, body, `'@SUM(1+1)`)
		require.Contains(t, body, `'=HYPERLINK`)
		requireNoFormula(t, recs)
	})

	t.Run("finance", func(t *testing.T) {
		t.Parallel()
		env := webtest.Start(t)
		box, err := secretbox.New([]byte(webtest.SecretKey))
		require.NoError(t, err)
		a := store.SystemActor("test")
		shop, err := env.Store.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
			Environment: vocab.EnvProduction, Settings: map[string]string{"shop_domain": "main.myshopify.com"}})
		require.NoError(t, err)
		odoo, err := env.Store.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
			Environment: vocab.EnvProduction, Settings: map[string]string{"url": "https://odoo.example", "database": "shop"}})
		require.NoError(t, err)
		var run int64
		require.NoError(t, env.Store.DB.Get(&run, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at) VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
		_, err = env.Store.DB.Exec(`INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, label, price, compare_at, cost, currency) VALUES
  ($1, $2, '1', 1, '=HYPERLINK("http://evil.test")', 100, NULL, 140, ''), ($1, $3, 'gid://shopify/ProductVariant/1', 1, '=HYPERLINK("http://evil.test")', 100, NULL, 140, '@EUR')`,
			run, odoo.ID, shop.ID)
		require.NoError(t, err)
		buildFinance(t, env)
		res, body := env.SignIn(t, vocab.RoleFinance).Get("/finance.csv")
		recs := readCSV(t, res, body)
		require.Len(t, recs, 2)
		require.Equal(t, `'=HYPERLINK("http://evil.test")`, recs[1][0])
		require.Contains(t, recs[1], "'@EUR")
		require.Contains(t, recs[1], "-40", "a negative margin stays a number")
		requireNoFormula(t, recs)
	})
}
