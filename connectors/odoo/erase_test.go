package odoo_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	"crossdock/connectors/odoo/sandbox"
)

// erasureCustomer creates a customer as the customers and orders flows
// leave one in Odoo: a partner with the Shopify id in its reference and a
// delivery address.
func erasureCustomer(t *testing.T, c *odoo.Client, ref, email string) (partnerID, deliveryID int) {
	t.Helper()
	ctx := context.Background()
	id, err := c.CreatePartner(ctx, odoo.Partner{Name: "Ada Byron", Email: email, Phone: "+44 20 7946 0000",
		Street: "12 St James's Square", City: "London", Zip: "SW1Y 4JH", Ref: ref})
	require.NoError(t, err)
	del, _, err := c.EnsureDeliveryAddress(ctx, id, odoo.Address{Name: "Ada Byron", Street: "1 Ockham Lane", City: "Ockham", Zip: "GU23 6NR"})
	require.NoError(t, err)
	return id, del
}

func partnerOf(t *testing.T, sb *sandbox.Server, id int) sandbox.Partner {
	t.Helper()
	for _, p := range sb.Partners() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no partner #%d in the sandbox", id)
	return sandbox.Partner{}
}

func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	for _, proto := range protocols {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, b := setup(t, proto, sandbox.Options{})
			var _ connectors.Eraser = c

			// Kept: an order not done, then an unpaid invoice.
			kept, keptDel := erasureCustomer(t, c, "gid://shopify/Customer/1", "kept@example.com")
			so, _, err := c.CreateSaleOrder(ctx, odoo.SaleOrder{PartnerID: kept, Lines: []odoo.SaleOrderLine{{ProductID: 1, Quantity: 1, PriceUnit: 10}}}, "#1001")
			require.NoError(t, err)
			name := ""
			for _, o := range b.sb.SaleOrders() {
				if o.ID == so {
					name = o.Name
				}
			}
			subject := connectors.ErasureSubject{Ref: "gid://shopify/Customer/1", Email: "kept@example.com", Pseudonym: "Erased customer 7"}
			out, err := c.EraseCustomer(ctx, subject)
			require.NoError(t, err)
			require.False(t, out.Erased)
			require.Equal(t, strconv.Itoa(kept), out.RecordID)
			require.Equal(t, []string{"open sale order " + name}, out.Kept)
			require.Equal(t, "Ada Byron", partnerOf(t, b.sb, kept).Name, "a kept partner is not touched")
			require.True(t, partnerOf(t, b.sb, kept).Active)

			// A locked (done) order no longer keeps it; an unpaid posted invoice does.
			require.True(t, b.sb.SetSaleOrderStateDirect(so, "sale", true))
			inv, err := c.Create(ctx, "account.move", map[string]any{"move_type": "out_invoice", "partner_id": kept,
				"invoice_line_ids": []any{odoo.CreateCommand(map[string]any{"product_id": 1, "quantity": 1, "price_unit": 10})}}, nil)
			require.NoError(t, err)
			require.NoError(t, c.Action(ctx, "account.move", "action_post", []int{inv}, nil))
			out, err = c.EraseCustomer(ctx, subject)
			require.NoError(t, err)
			require.Len(t, out.Kept, 1)
			require.Contains(t, out.Kept[0], "unpaid invoice ")

			// Paid: erased, with its delivery address; found again by its id.
			require.True(t, b.sb.SetPaymentStateDirect(inv, "paid"))
			out, err = c.EraseCustomer(ctx, subject)
			require.NoError(t, err)
			require.True(t, out.Erased)
			require.Empty(t, out.Kept)
			for _, id := range []int{kept, keptDel} {
				p := partnerOf(t, b.sb, id)
				require.False(t, p.Active, "partner #%d archived", id)
				require.Equal(t, "Erased customer 7", p.Name)
				require.Empty(t, p.Email+p.Phone+p.Street+p.Street2+p.City+p.Zip, "partner #%d anonymised", id)
			}
			require.Equal(t, "gid://shopify/Customer/1", partnerOf(t, b.sb, kept).Ref, "the reference stays: a retry finds the partner")

			// Twice is harmless: the archived partner is found by its id and written again.
			again, err := c.EraseCustomer(ctx, connectors.ErasureSubject{RecordID: out.RecordID, Email: "kept@example.com", Pseudonym: "Erased customer 7"})
			require.NoError(t, err)
			require.True(t, again.Erased)
			require.Equal(t, out.RecordID, again.RecordID)

			// By e-mail, when Odoo's partner has no reference; the sale order's total is unchanged.
			plain, err := c.CreatePartner(ctx, odoo.Partner{Name: "Grace Hopper", Email: "Grace@Example.com", Phone: "555"})
			require.NoError(t, err)
			out, err = c.EraseCustomer(ctx, connectors.ErasureSubject{Ref: "gid://shopify/Customer/2", Email: "grace@example.com", Pseudonym: "Erased customer 8"})
			require.NoError(t, err)
			require.True(t, out.Erased)
			require.Equal(t, strconv.Itoa(plain), out.RecordID)
			require.Equal(t, 10.0, func() float64 {
				for _, o := range b.sb.SaleOrders() {
					if o.ID == so {
						return o.AmountTotal
					}
				}
				return -1
			}())

			// Nobody: nothing found, nothing written.
			before := len(b.sb.Writes())
			out, err = c.EraseCustomer(ctx, connectors.ErasureSubject{Ref: "gid://shopify/Customer/3", Email: "nobody@example.com", Pseudonym: "Erased customer 9"})
			require.NoError(t, err)
			require.False(t, out.Found())
			require.Len(t, b.sb.Writes(), before)
		})
	}
}
