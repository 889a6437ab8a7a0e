package recon

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"crossdock/connectors/shipbob"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// compareWarehouseStock compares, for each enabled ShipBob connection, the
// warehouse's fulfillable stock per SKU and fulfilment centre with
// Shopify's available quantity at the Shopify location each centre is
// mapped to (or at the connection's own location, when the account has one
// centre). Shopify's levels are exported once per store and run.
func (s *Service) compareWarehouseStock(ctx context.Context, run store.ReconRun, rs rules.Rules) store.RunOutcome {
	conns, err := s.st.ListConnections(ctx)
	if err != nil {
		return failed(err, "the connections could not be read")
	}
	shops := warehouseShops(rs)
	var res store.CompareResult
	var fails []pairFailure
	var closePairs []int64
	n := 0
	for _, c := range conns {
		if !c.Enabled || c.Kind != vocab.KindShipBob {
			continue
		}
		n++
		if len(shops) == 0 {
			fails = append(fails, pairFailure{c.ID, fmt.Errorf("no Shopify store sends orders to %s or receives its stock", c.Name)})
			continue
		}
		fallback, err := s.fallbackLocation(ctx, c.ID)
		if err != nil {
			fails = append(fails, pairFailure{c.ID, fmt.Errorf("the fulfilment centres of %s could not be read: %w", c.Name, err)})
			continue
		}
		if err := s.pullStep(ctx, run, c.ID, func() error { return s.shipbobStock(ctx, run, c.ID) }); err != nil {
			fails = append(fails, pairFailure{c.ID, fmt.Errorf("the stock of %s could not be read: %w", c.Name, err)})
			continue
		}
		ok := true
		for _, shop := range shops {
			if err := s.pullStep(ctx, run, shop.ID, func() error { return s.shopifyStock(ctx, run, shop.ID) }); err != nil {
				fails, ok = append(fails, pairFailure{c.ID, fmt.Errorf("stock levels could not be read from %s: %w", shop.Name, err)}), false
				break
			}
			r, err := s.st.CompareWarehouseStock(ctx, run.ID, shop.ID, c.ID, fallback)
			if err != nil {
				fails, ok = append(fails, pairFailure{c.ID, fmt.Errorf("the stock of %s and %s could not be compared: %w", c.Name, shop.Name, err)}), false
				break
			}
			res.Compared += r.Compared
			res.Differing += r.Differing
			res.Opened += r.Opened
			res.NotComparable = append(res.NotComparable, r.NotComparable...)
		}
		if ok {
			closePairs = append(closePairs, c.ID)
		}
	}
	if n == 0 {
		return store.RunOutcome{Status: store.RunSucceeded, Message: "No warehouse (ShipBob) is connected and enabled, so there was no stock to compare."}
	}
	out := outcome(res, fails, closePairs, n)
	if out.Status == store.RunSucceeded {
		out.Message = fmt.Sprintf("%d stock levels at fulfilment centres compared with Shopify, %d differ.", res.Compared, res.Differing)
	}
	return out
}

// warehouseShops are the Shopify stores whose stock the warehouse's is
// compared with: the one that sends it orders, and those that receive
// stock from it.
func warehouseShops(rs rules.Rules) []rules.ConnInfo {
	var out []rules.ConnInfo
	add := func(id int64) {
		c, ok := rs.Conn(id)
		if !ok || c.Kind != vocab.KindShopify {
			return
		}
		for _, o := range out {
			if o.ID == id {
				return
			}
		}
		out = append(out, c)
	}
	if warehouseReceivesOrders(rs) {
		add(rs.Rule(vocab.Orders).Master)
	}
	inv := rs.Rule(vocab.Inventory)
	if m, ok := rs.Conn(inv.Master); ok && m.Kind == vocab.KindShipBob {
		for _, rc := range inv.Receivers {
			add(rc.ConnectionID)
		}
	}
	return out
}

// shipbobStock stores the warehouse's stock per SKU and fulfilment centre
// (the SKU as the row's variant, the centre's id as its location).
func (s *Service) shipbobStock(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.ShipBobClient(ctx, connID)
	if err != nil {
		return err
	}
	items, err := cl.InventoryByCentre(ctx)
	if err != nil {
		return err
	}
	var rows []store.StockRow
	for _, it := range items {
		sku := strings.TrimSpace(it.SKU)
		if sku == "" {
			continue
		}
		for _, l := range it.Locations {
			rows = append(rows, store.StockRow{VariantRef: sku, LocationRef: strconv.FormatInt(l.LocationID, 10), Label: it.Name,
				Location: l.Name, OnHand: float64(l.OnHand), Available: float64(max(l.Fulfillable, 0))})
		}
	}
	for start := 0; start < len(rows); start += snapshotBatch {
		if err := s.st.AddStockSnapshot(ctx, run.ID, connID, rows[start:min(start+snapshotBatch, len(rows))]); err != nil {
			return err
		}
	}
	return nil
}

// fallbackLocation is the Shopify location a centre not mapped to one
// stands for (shipbob.FallbackLocation).
func (s *Service) fallbackLocation(ctx context.Context, connID int64) (string, error) {
	cl, conn, err := s.e.ShipBobClient(ctx, connID)
	if err != nil {
		return "", err
	}
	centres, err := cl.FulfillmentCenters(ctx)
	if err != nil {
		return "", err
	}
	return shipbob.FallbackLocation(conn.Settings, centres), nil
}
