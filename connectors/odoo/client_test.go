package odoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo"
	"crossdock/connectors/odoo/sandbox"
)

var protocols = []odoo.Protocol{odoo.ProtocolJSONRPC, odoo.ProtocolJSON2}

type testBundle struct {
	sb  *sandbox.Server
	url string
	cfg odoo.Config
}

// setup starts a sandbox and returns a client for it speaking proto.
func setup(t *testing.T, proto odoo.Protocol, opts sandbox.Options) (*odoo.Client, *testBundle) {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 5
	}
	if opts.HangFor == 0 {
		opts.HangFor = 2 * time.Second
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	db, login, password, key := sb.Credentials()
	secret := key
	if proto == odoo.ProtocolJSONRPC {
		secret = password // JSON-RPC also takes the password
	}
	cfg := odoo.Config{URL: srv.URL, Database: db, Username: login, Secret: secret, Protocol: proto,
		HTTPClient: srv.Client()}
	c, err := odoo.NewClient(cfg)
	require.NoError(t, err)
	return c, &testBundle{sb: sb, url: srv.URL, cfg: cfg}
}

func writesOf(sb *sandbox.Server, model, method string) []sandbox.Write {
	var out []sandbox.Write
	for _, w := range sb.Writes() {
		if w.Model == model && w.Method == method {
			out = append(out, w)
		}
	}
	return out
}

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	good := odoo.Config{URL: "https://erp.example.com", Database: "db", Username: "bot", Secret: "k",
		Protocol: odoo.ProtocolJSONRPC}
	tests := []struct {
		name   string
		modify func(*odoo.Config)
		want   string
	}{
		{"valid json-rpc", func(*odoo.Config) {}, ""},
		{"valid json-2 without database", func(c *odoo.Config) { c.Protocol, c.Database, c.Username = odoo.ProtocolJSON2, "", "" }, ""},
		{"empty url", func(c *odoo.Config) { c.URL = "" }, "the Odoo URL is empty"},
		{"ftp url", func(c *odoo.Config) { c.URL = "ftp://erp.example.com" }, "must start with http:// or https://"},
		{"no host", func(c *odoo.Config) { c.URL = "https://" }, "has no host name"},
		{"no database for json-rpc", func(c *odoo.Config) { c.Database = "" }, "database name is required"},
		{"no login for json-rpc", func(c *odoo.Config) { c.Username = "" }, "login"},
		{"no secret", func(c *odoo.Config) { c.Secret = "" }, "password or API key is empty"},
		{"unknown protocol", func(c *odoo.Config) { c.Protocol = "xmlrpc" }, `unknown protocol "xmlrpc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.modify(&cfg)
			_, err := odoo.NewClient(cfg)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{})

			_, err := c.Products(ctx, nil, 0, 1)
			require.NoError(t, err)

			bad := b.cfg
			bad.Secret = "wrong"
			bc, err := odoo.NewClient(bad)
			require.NoError(t, err)
			_, err = bc.Products(ctx, nil, 0, 1)
			require.Error(t, err)
			require.Equal(t, odoo.KindAuth, odoo.KindOf(err), "%v", err)
			require.Contains(t, err.Error(), "Odoo did not accept the login")

			res, err := bc.Check(ctx)
			require.Error(t, err)
			require.True(t, res.Reachable)
			require.False(t, res.CredentialsValid)
			require.Contains(t, res.Summary(), "Odoo refused the login")
		})
	}
}

func TestReauthenticatesOnceOnAccessDenied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, b := setup(t, odoo.ProtocolJSONRPC, sandbox.Options{})
	_, err := c.Products(ctx, nil, 0, 1) // logs in
	require.NoError(t, err)

	b.sb.FailNext(1, sandbox.AccessDenied) // e.g. the server restarted or the key rotated back
	_, err = c.Products(ctx, nil, 0, 1)
	require.NoError(t, err)

	b.sb.FailNext(3, sandbox.AccessDenied)
	_, err = c.Products(ctx, nil, 0, 1)
	require.Equal(t, odoo.KindAuth, odoo.KindOf(err), "%v", err)
}

func TestVersionAndCheck(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, _ := setup(t, proto, sandbox.Options{Version: "19.0"})
			v, err := c.Version(ctx)
			require.NoError(t, err)
			require.Equal(t, "19.0", v.Version)
			require.Equal(t, 19, v.Major)

			res, err := c.Check(ctx)
			require.NoError(t, err)
			require.True(t, res.OK(), res.Summary())
			require.True(t, res.Reachable)
			require.True(t, res.CredentialsValid)
			require.Len(t, res.Models, 7)
			require.Contains(t, res.Summary(), "Connected to Odoo 19.0")

			limited, _ := setup(t, proto, sandbox.Options{NoAccess: []string{"account.move"}})
			res, err = limited.Check(ctx)
			require.NoError(t, err)
			require.False(t, res.OK())
			for _, m := range res.Models {
				require.Equal(t, m.Model != "account.move", m.Accessible, m.Model)
			}
			require.Contains(t, res.Summary(), "may not read credit notes (account.move)")
		})
	}
}

func TestJSON2NeedsOdoo19(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := setup(t, odoo.ProtocolJSON2, sandbox.Options{Version: "17.0"})

	_, err := c.Products(ctx, nil, 0, 10)
	require.Equal(t, odoo.KindProtocol, odoo.KindOf(err), "%v", err)
	require.Contains(t, err.Error(), "this Odoo does not offer the JSON-2 API (needs 19+)")

	res, err := c.Check(ctx)
	require.Error(t, err)
	require.True(t, res.Reachable)
	require.Equal(t, 17, res.Version.Major)
	require.Contains(t, err.Error(), "does not offer the JSON-2 API (needs 19+)")
	require.Contains(t, res.Summary(), "Choose JSON-RPC instead")

	// The same server is fine over JSON-RPC.
	rpc, _ := setup(t, odoo.ProtocolJSONRPC, sandbox.Options{Version: "17.0"})
	res, err = rpc.Check(ctx)
	require.NoError(t, err)
	require.True(t, res.OK(), res.Summary())
}

func TestProducts(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{Seed: 4})

			all, err := c.Products(ctx, nil, 0, 0)
			require.NoError(t, err)
			require.Len(t, all, 12) // 4 products × 3 colours
			first := all[0]
			require.Equal(t, sandbox.SKU(1, "BLK"), first.DefaultCode)
			require.Equal(t, "[SKU-000001-BLK] Sample Product 1 (BLK)", first.DisplayName)
			require.Len(t, first.Barcode, 13)
			require.Greater(t, first.ListPrice, first.StandardPrice)
			require.True(t, first.Active)
			require.False(t, first.WriteDate.IsZero())
			// Prices are in the company's currency, a many2one [id, "USD"] on the wire.
			require.Equal(t, "USD", first.Currency)
			require.Equal(t, "USD", first.CostCurrency)
			require.True(t, b.sb.SetCurrencyDirect("EUR"))
			again, err := c.Products(ctx, []any{[]any{"id", "=", first.ID}}, 0, 0)
			require.NoError(t, err)
			require.Equal(t, "EUR", again[0].Currency)
			require.True(t, b.sb.SetCurrencyDirect("USD"))

			tests := []struct {
				name   string
				domain []any
				offset int
				limit  int
				want   []string
			}{
				{"ilike", []any{[]any{"default_code", "ilike", "sku-000002"}}, 0, 0,
					[]string{"SKU-000002-BLK", "SKU-000002-WHT", "SKU-000002-RED"}},
				{"in", []any{[]any{"default_code", "in", []any{"SKU-000003-RED", "SKU-000001-WHT"}}}, 0, 0,
					[]string{"SKU-000001-WHT", "SKU-000003-RED"}},
				{"or and not", []any{"|", []any{"default_code", "=", "SKU-000004-RED"},
					"&", []any{"default_code", "like", "-000001-"}, "!", []any{"default_code", "=like", "%BLK"}}, 0, 0,
					[]string{"SKU-000001-WHT", "SKU-000001-RED", "SKU-000004-RED"}},
				{"page", nil, 3, 2, []string{"SKU-000002-BLK", "SKU-000002-WHT"}},
				{"last page", nil, 10, 5, []string{"SKU-000004-WHT", "SKU-000004-RED"}},
				{"price range", []any{[]any{"list_price", ">=", 0}, []any{"id", "<=", 2}}, 0, 0,
					[]string{"SKU-000001-BLK", "SKU-000001-WHT"}},
				{"no match", []any{[]any{"barcode", "=", "nope"}}, 0, 0, nil},
			}
			for _, tt := range tests {
				got, err := c.Products(ctx, tt.domain, tt.offset, tt.limit)
				require.NoError(t, err, tt.name)
				var codes []string
				for _, p := range got {
					codes = append(codes, p.DefaultCode)
				}
				require.Equal(t, tt.want, codes, tt.name)
			}

			// Archive one and change the price of another: both show up in a sweep.
			require.NoError(t, c.Write(ctx, "product.product", []int{2}, map[string]any{"active": false}, nil))
			price := 99.5
			require.NoError(t, c.SetProductPrices(ctx, 5, &price, nil))
			active, err := c.Products(ctx, nil, 0, 0)
			require.NoError(t, err)
			require.Len(t, active, 11, "archived products are left out by default")

			var swept []odoo.Product
			since, after := time.Time{}, 0
			for range 20 {
				page, err := c.ProductsChangedSince(ctx, since, after, 5)
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				swept = append(swept, page...)
				since, after = page[len(page)-1].WriteDate, page[len(page)-1].ID
			}
			require.Len(t, swept, 12, "a sweep sees every product once, archived included")
			last2 := []int{swept[10].ID, swept[11].ID}
			require.ElementsMatch(t, []int{2, 5}, last2, "changed products come last")
			for i := 1; i < len(swept); i++ {
				require.False(t, swept[i].WriteDate.Before(swept[i-1].WriteDate))
			}
			var p5 sandbox.Product
			for _, p := range b.sb.Products() {
				if p.ID == 5 {
					p5 = p
				}
			}
			require.InDelta(t, 99.5, p5.ListPrice, 1e-9)
		})
	}
}

func TestLocationsWarehousesQuants(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{Seed: 2})

			locs, err := c.Locations(ctx)
			require.NoError(t, err)
			require.Len(t, locs, 2)
			require.Equal(t, "WH/Stock", locs[0].CompleteName)
			require.Equal(t, sandbox.WarehouseMain, locs[0].Warehouse.ID)

			whs, err := c.Warehouses(ctx)
			require.NoError(t, err)
			require.Len(t, whs, 2)
			require.Equal(t, odoo.Many2One{ID: sandbox.LocationStock, Name: "WH/Stock"}, whs[0].StockLocation)
			require.Equal(t, "WH2", whs[1].Code)

			b.sb.SetQuantDirect(1, sandbox.LocationStock, 17)
			qs, err := c.Quants(ctx, []int{sandbox.LocationStock}, []int{1})
			require.NoError(t, err)
			require.Len(t, qs, 1)
			require.Equal(t, 17.0, qs[0].Quantity)
			require.Equal(t, "[SKU-000001-BLK] Sample Product 1 (BLK)", qs[0].Product.Name)
			require.Equal(t, "WH/Stock", qs[0].Location.Name)

			all, err := c.Quants(ctx, nil, nil)
			require.NoError(t, err)
			require.Len(t, all, 6+3, "6 variants in WH/Stock, every second one in WH2/Stock")
		})
	}
}

func TestApplyInventory(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{Seed: 2})
			b.sb.SetQuantDirect(1, sandbox.LocationStock, 4)

			require.NoError(t, c.ApplyInventory(ctx, 1, sandbox.LocationStock, 11))
			require.NoError(t, c.ApplyInventory(ctx, 1, sandbox.LocationStock, 11)) // a replay
			require.Equal(t, 11.0, b.sb.Quant(1, sandbox.LocationStock))
			moves := b.sb.StockMoves()
			require.Len(t, moves, 1, "the quant changes once")
			require.Equal(t, 7.0, moves[0].Quantity)

			// Product 1 has no quant in WH2/Stock: it is created in inventory mode.
			require.Zero(t, b.sb.Quant(1, sandbox.LocationStock2))
			require.NoError(t, c.ApplyInventory(ctx, 1, sandbox.LocationStock2, 3))
			require.Equal(t, 3.0, b.sb.Quant(1, sandbox.LocationStock2))
			creates := writesOf(b.sb, "stock.quant", "create")
			require.Len(t, creates, 1)
			require.JSONEq(t, `{"inventory_mode": true}`, string(mustField(t, creates[0].Args, "context")))
			require.Len(t, writesOf(b.sb, "stock.quant", "action_apply_inventory"), 3)
		})
	}
}

func mustField(t *testing.T, raw json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m[key]
}

func TestPartners(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{})

			p, found, err := c.FindPartnerByEmail(ctx, "AZURE.interior24@example.com")
			require.NoError(t, err)
			require.True(t, found, "e-mail matching ignores case")
			require.Equal(t, "Azure Interior", p.Name)

			newcomer := odoo.Partner{Name: "Jo Bloggs", Email: "jo_bloggs@example.com", City: "Leeds", Ref: "shopify:42"}
			_, found, err = c.FindPartnerByEmail(ctx, "jo_bloggs@example.com")
			require.NoError(t, err)
			require.False(t, found)

			id, created, err := c.EnsurePartner(ctx, newcomer)
			require.NoError(t, err)
			require.True(t, created)
			again, created, err := c.EnsurePartner(ctx, newcomer)
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, id, again)

			// "_" is a wildcard in =ilike: it must not match a different address.
			_, found, err = c.FindPartnerByEmail(ctx, "jo.bloggs@example.com")
			require.NoError(t, err)
			require.False(t, found)
			// Nor the reverse: jo.bloggs must not be found by jo_bloggs.
			_, err = c.CreatePartner(ctx, odoo.Partner{Name: "Other Jo", Email: "joXbloggs@example.com"})
			require.NoError(t, err)
			got, found, err := c.FindPartnerByEmail(ctx, "jo_bloggs@example.com")
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, id, got.ID)
			require.Equal(t, "shopify:42", got.Ref)

			require.Len(t, writesOf(b.sb, "res.partner", "create"), 2)

			list, err := c.Partners(ctx, []any{[]any{"is_company", "=", true}}, 0, 2)
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.Equal(t, "Deco Addict", list[0].Name)
		})
	}
}

func TestCreateSaleOrderIsIdempotent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		proto    odoo.Protocol
		version  string
		taxField string
	}{
		{odoo.ProtocolJSONRPC, "17.0", "tax_id"},
		{odoo.ProtocolJSONRPC, "19.0", "tax_ids"},
		{odoo.ProtocolJSON2, "19.0", "tax_ids"},
	}
	for _, tt := range tests {
		t.Run(string(tt.proto)+"-"+tt.version, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, tt.proto, sandbox.Options{Version: tt.version, Seed: 2})
			order := odoo.SaleOrder{
				PartnerID: 1,
				Origin:    "shopify:gid://shopify/Order/820982911946154508",
				DateOrder: time.Date(2026, 4, 2, 14, 20, 11, 0, time.UTC),
				Lines: []odoo.SaleOrderLine{
					{ProductID: 1, Quantity: 2, PriceUnit: 24.99, TaxIDs: []int{1}},
					{ProductID: 2, Quantity: 1, PriceUnit: 24.99, Discount: 10},
					{DisplayType: "line_note", Name: "Gift message: Happy birthday!"},
				},
			}
			id, created, err := c.CreateSaleOrder(ctx, order, "#1001")
			require.NoError(t, err)
			require.True(t, created)
			again, created, err := c.CreateSaleOrder(ctx, order, "#1001")
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, id, again)

			creates := writesOf(b.sb, "sale.order", "create")
			require.Len(t, creates, 1, "one write for two attempts")
			require.Equal(t, "#1001", creates[0].Ref)
			require.Contains(t, string(creates[0].Args), `"`+tt.taxField+`"`)

			orders := b.sb.SaleOrders()
			require.Len(t, orders, 1)
			o := orders[0]
			require.Equal(t, "#1001", o.ClientOrderRef)
			require.Equal(t, "draft", o.State)
			require.Len(t, o.Lines, 3)
			require.Equal(t, []int{1}, o.Lines[0].TaxIDs, "taxes land in %s on %s", tt.taxField, tt.version)
			require.Equal(t, "line_note", o.Lines[2].DisplayType)
			require.InDelta(t, 2*24.99+24.99*0.9, o.AmountTotal, 0.01)

			require.NoError(t, c.ConfirmSaleOrder(ctx, id))
			require.Equal(t, "sale", b.sb.SaleOrders()[0].State)
			_, _, err = c.CreateSaleOrder(ctx, order, "  ")
			require.ErrorContains(t, err, "idempotency reference is empty")
		})
	}
}

// Order edits and cancellations, as Odoo answers them: lines changed in one
// write, a cancel that needs disable_cancel_warning past the quotation, and a
// locked order's refusals in Odoo's own words.
func TestChangeAndCancelSaleOrder(t *testing.T) {
	t.Parallel()
	for _, proto := range []odoo.Protocol{odoo.ProtocolJSONRPC, odoo.ProtocolJSON2} {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{Version: "19.0", Seed: 2})
			id, _, err := c.CreateSaleOrder(ctx, odoo.SaleOrder{PartnerID: 1, Lines: []odoo.SaleOrderLine{
				{ProductID: 1, Quantity: 2, PriceUnit: 10}, {DisplayType: "line_note", Name: "Gift"}}}, "#2001")
			require.NoError(t, err)
			o, found, err := c.SaleOrderByRef(ctx, "#2001")
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, id, o.ID)
			require.Equal(t, "draft", o.State)
			require.Len(t, o.Lines, 1, "notes are not product lines")
			require.Equal(t, odoo.OrderLineInOdoo{ID: o.Lines[0].ID, ProductID: 1, Quantity: 2, PriceUnit: 10}, o.Lines[0])
			_, found, err = c.SaleOrderByRef(ctx, "#nope")
			require.NoError(t, err)
			require.False(t, found)

			require.NoError(t, c.ChangeSaleOrderLines(ctx, id, []odoo.LineChange{
				{ProductID: 2, Quantity: 3, PriceUnit: 5}, {LineID: o.Lines[0].ID, ProductID: 1, Quantity: 0, PriceUnit: 10}}))
			o, _, err = c.SaleOrderByRef(ctx, "#2001")
			require.NoError(t, err)
			require.Len(t, o.Lines, 2)
			require.Equal(t, 0.0, o.Lines[0].Quantity)
			require.Equal(t, 2, o.Lines[1].ProductID)
			require.Equal(t, 3.0, o.Lines[1].Quantity)

			require.NoError(t, c.ConfirmSaleOrder(ctx, id))
			require.NoError(t, c.Write(ctx, "sale.order", []int{id}, map[string]any{"locked": true}, nil))
			err = c.ChangeSaleOrderLines(ctx, id, []odoo.LineChange{{LineID: o.Lines[1].ID, ProductID: 2, Quantity: 4, PriceUnit: 5}})
			require.ErrorContains(t, err, "It is forbidden to modify the following fields in a locked order:\n")
			require.ErrorContains(t, err, "Quantity")
			require.ErrorContains(t, c.CancelSaleOrder(ctx, id), "You cannot cancel a locked order. Please unlock it first.")
			o, _, _ = c.SaleOrderByRef(ctx, "#2001")
			require.Equal(t, 3.0, o.Lines[1].Quantity, "a refused write changes nothing")

			require.NoError(t, c.Write(ctx, "sale.order", []int{id}, map[string]any{"locked": false}, nil))
			// Without disable_cancel_warning Odoo would answer with its wizard and
			// leave a confirmed order as it is.
			require.NoError(t, c.Action(ctx, "sale.order", "action_cancel", []int{id}, nil))
			require.Equal(t, "sale", b.sb.SaleOrders()[0].State)
			require.NoError(t, c.CancelSaleOrder(ctx, id))
			require.Equal(t, "cancel", b.sb.SaleOrders()[0].State)
		})
	}
}

func TestCreateCreditNoteIsIdempotent(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{Seed: 1})
			cn := odoo.CreditNote{
				PartnerID:     1,
				InvoiceDate:   time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC),
				InvoiceOrigin: "S00057",
				Lines:         []odoo.CreditNoteLine{{ProductID: 1, Name: "Returned tee", Quantity: 1, PriceUnit: 24.99, TaxIDs: []int{1}}},
				Post:          true,
			}
			ref := "Shopify refund gid://shopify/Refund/890088186047892319"
			id, created, err := c.CreateCreditNote(ctx, cn, ref)
			require.NoError(t, err)
			require.True(t, created)
			again, created, err := c.CreateCreditNote(ctx, cn, ref)
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, id, again)

			require.Len(t, writesOf(b.sb, "account.move", "create"), 1)
			require.Len(t, writesOf(b.sb, "account.move", "action_post"), 1)
			notes := b.sb.CreditNotes()
			require.Len(t, notes, 1)
			require.Equal(t, ref, notes[0].Ref)
			require.Equal(t, "posted", notes[0].State)
			require.Equal(t, "2026-04-03", notes[0].InvoiceDate)
			require.True(t, strings.HasPrefix(notes[0].Name, "RINV/"), notes[0].Name)
			require.Len(t, notes[0].Lines, 1)
		})
	}
}

func TestErrorsSurfaceOdoosMessage(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{Seed: 1, NoAccess: []string{"stock.quant"}})
			products, err := c.Products(ctx, nil, 0, 2)
			require.NoError(t, err)

			tests := []struct {
				name string
				call func() error
				kind odoo.ErrorKind
				text string
			}{
				{"duplicate barcode", func() error {
					return c.Write(ctx, "product.product", []int{products[1].ID},
						map[string]any{"barcode": products[0].Barcode}, nil)
				}, odoo.KindValidation, "Odoo rejected the change: Barcode(s) already assigned"},
				{"missing required field", func() error {
					_, err := c.Create(ctx, "sale.order", map[string]any{"client_order_ref": "x"}, nil)
					return err
				}, odoo.KindValidation, "Field: Customer (partner_id)"},
				{"injected validation", func() error {
					b.sb.FailNext(1, sandbox.Validation("The price must be positive."))
					return c.SetProductPrices(ctx, products[0].ID, new(-1.0), nil)
				}, odoo.KindValidation, "Odoo rejected the change: The price must be positive."},
				{"no rights", func() error {
					return c.ApplyInventory(ctx, products[0].ID, sandbox.LocationStock, 5)
				}, odoo.KindAccess, "You are not allowed to access 'Quants' (stock.quant) records."},
				{"unknown model", func() error {
					return c.Call(ctx, "no.such.model", "search_read", []any{[]any{}}, nil, nil)
				}, odoo.KindMissing, "no.such.model"},
				{"deleted record", func() error {
					return c.Call(ctx, "res.partner", "read", []any{[]int{999}}, map[string]any{"fields": []string{"name"}}, nil)
				}, odoo.KindMissing, "Record does not exist or has been deleted."},
				{"unknown field", func() error {
					return c.Call(ctx, "res.partner", "search_read", []any{[]any{[]any{"nope", "=", 1}}}, nil, nil)
				}, odoo.KindProtocol, "Invalid field res.partner.nope"},
			}
			for _, tt := range tests {
				err := tt.call()
				require.Error(t, err, tt.name)
				require.Equal(t, tt.kind, odoo.KindOf(err), "%s: %v", tt.name, err)
				require.Contains(t, err.Error(), tt.text, tt.name)
				var oe *odoo.Error
				require.True(t, errors.As(err, &oe))
				require.NotEmpty(t, oe.Name, tt.name)
				require.NotEmpty(t, oe.Body, "the raw answer is kept as evidence")
			}
		})
	}
}

func TestTransientFailures(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		for _, mode := range []sandbox.FailMode{sandbox.Status500, sandbox.Status502, sandbox.Timeout} {
			t.Run(string(proto)+"-"+string(mode), func(t *testing.T) {
				t.Parallel()
				// The hang outlasts the client's deadline by far.
				c, b := setup(t, proto, sandbox.Options{Seed: 1, HangFor: 10 * time.Minute})
				_, err := c.Products(context.Background(), nil, 0, 1) // log in first
				require.NoError(t, err)

				b.sb.FailNext(1, mode)
				// Only the timeout case has a deadline (its subject): a 500 or
				// 502 takes as long as the answer takes on a busy machine.
				ctx := context.Background()
				if mode == sandbox.Timeout {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
					defer cancel()
				}
				_, err = c.Products(ctx, nil, 0, 1)
				require.Error(t, err)
				require.Equal(t, odoo.KindTransient, odoo.KindOf(err), "%v", err)
				var oe *odoo.Error
				require.True(t, errors.As(err, &oe))
				require.True(t, oe.Temporary())
				if mode == sandbox.Timeout {
					require.ErrorIs(t, err, context.DeadlineExceeded)
				} else {
					require.Contains(t, err.Error(), "temporary problem")
				}

				_, err = c.Products(context.Background(), nil, 0, 1)
				require.NoError(t, err, "the next call goes through")
			})
		}
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	for _, proto := range protocols {
		c, err := odoo.NewClient(odoo.Config{URL: url, Database: "db", Username: "u", Secret: "s", Protocol: proto})
		require.NoError(t, err)
		res, err := c.Check(context.Background())
		require.Equal(t, odoo.KindTransient, odoo.KindOf(err), "%v", err)
		require.False(t, res.Reachable)
		require.Contains(t, res.Summary(), "Odoo could not be reached")
	}
}

func TestCallMapsPositionalArgumentsForJSON2(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, _ := setup(t, proto, sandbox.Options{Seed: 2})

			var ids []int
			require.NoError(t, c.Call(ctx, "product.product", "search",
				[]any{[]any{[]any{"default_code", "like", "000002"}}, 1, 2, "id desc"}, nil, &ids))
			require.Equal(t, []int{5, 4}, ids)

			var rows []map[string]any
			require.NoError(t, c.Call(ctx, "product.product", "read", []any{ids, []string{"default_code"}}, nil, &rows))
			require.Len(t, rows, 2)
			require.Equal(t, "SKU-000002-WHT", rows[0]["default_code"], "read keeps the order of ids")

			var count int
			require.NoError(t, c.Call(ctx, "product.product", "search_count", []any{[]any{}}, nil, &count))
			require.Equal(t, 6, count)

			id, err := c.Create(ctx, "res.partner", map[string]any{"name": "New"}, nil)
			require.NoError(t, err)
			require.NoError(t, c.Unlink(ctx, "res.partner", []int{id}))

			var ok bool
			require.NoError(t, c.Call(ctx, "sale.order", "check_access_rights", []any{"write", false}, nil, &ok))
			require.True(t, ok)

			var fields map[string]map[string]any
			require.NoError(t, c.Call(ctx, "stock.quant", "fields_get", []any{[]string{"quantity"}, []string{"type"}}, nil, &fields))
			require.Equal(t, map[string]map[string]any{"quantity": {"type": "float"}}, fields)
		})
	}
}
