package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"crossdock/store"
	"crossdock/vocab"
)

// maxRehearsalVariants bounds the mapped variants a rehearsal's orders are
// made of: enough to spread the load, one inventory-item query per 50.
const maxRehearsalVariants = 250

// rehearsalSetup is what a rehearsal needs to drive real work end to end:
// the ERPs its orders and stock are written to (test systems only) and the
// mapped variants and locations its payloads are made of.
type rehearsalSetup struct {
	Targets   []int64 // Odoo connections that receive the orders (and stock)
	Stock     []int64 // of those, the ones receiving stock levels (none without stock updates)
	Names     []string
	Variants  []store.MappedRef // Shopify variants mapped in every target
	Locations []store.MappedRef // Shopify locations mapped in every stock target
	// RulesAt is when the rules it relies on last changed.
	RulesAt time.Time
}

// RehearsalReady checks, before a rehearsal starts and again when it runs,
// that its orders and stock updates can reach a test ERP and only test
// systems: the sources of truth send orders (and, with stock updates, stock)
// from this store to an Odoo, every receiver is a test-environment
// connection, and variants (and locations) are mapped. Each missing
// precondition is refused with the fix named.
func (e *Engine) RehearsalReady(ctx context.Context, shopID int64, updatesPerOrder int) (rehearsalSetup, error) {
	var set rehearsalSetup
	// Read fresh, not from the engine's snapshot: this check keeps the
	// rehearsal's writes away from production, so it must see the rules of now.
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return set, err
	}
	shop := rs.Name(shopID)
	check := func(f vocab.Family, noun string) ([]int64, error) {
		rule := rs.Rule(f)
		// targets falls back to every Odoo when none receives the family;
		// the rehearsal wants only the receivers.
		odoos := slices.DeleteFunc(targets(rs, f, vocab.KindOdoo), func(id int64) bool { return !rule.Receives(id) })
		if rule.Master != shopID || len(odoos) == 0 {
			return nil, vocab.FieldErrors{"connection": fmt.Sprintf("Set %s as the source of truth for %s, with the test Odoo receiving them, on the Sources of truth page: otherwise every rehearsal %s is refused before it reaches Odoo and the rehearsal measures nothing.",
				shop, noun, strings.TrimSuffix(noun, "s"))}
		}
		if rule.UpdatedAt.After(set.RulesAt) {
			set.RulesAt = rule.UpdatedAt
		}
		for _, rc := range rule.Receivers {
			if c, ok := rs.Conn(rc.ConnectionID); !ok || c.Environment != vocab.EnvTest {
				return nil, vocab.FieldErrors{"connection": fmt.Sprintf("%s receives %s and is a production system: a rehearsal would write its made-up %s into it. Untick it for %s on the Sources of truth page (or mark it as a test system) before rehearsing.",
					rs.Name(rc.ConnectionID), noun, noun, noun)}
			}
		}
		return odoos, nil
	}
	orders, err := check(vocab.Orders, "orders")
	if err != nil {
		return set, err
	}
	set.Targets = orders
	var stock []int64
	if updatesPerOrder > 0 {
		if stock, err = check(vocab.Inventory, "stock levels"); err != nil {
			if fe, ok := err.(vocab.FieldErrors); ok {
				fe["connection"] += " Or ask for 0 stock updates per order."
			}
			return set, err
		}
		set.Stock = stock
		for _, id := range stock {
			if !slices.Contains(set.Targets, id) {
				set.Targets = append(set.Targets, id)
			}
		}
	}
	for _, id := range set.Targets {
		set.Names = append(set.Names, rs.Name(id))
	}
	erps := strings.Join(set.Names, " and ")
	if set.Variants, err = e.st.MappedRefs(ctx, shopID, set.Targets, entityVariant, maxRehearsalVariants); err != nil {
		return set, err
	}
	if len(set.Variants) == 0 {
		return set, vocab.FieldErrors{"connection": fmt.Sprintf("Map at least one variant of %s to a product of %s (Mappings → Unmapped records, then have another admin approve): the rehearsal's orders are made of mapped variants, so that they really become orders in %s.",
			shop, erps, erps)}
	}
	if updatesPerOrder > 0 {
		if set.Locations, err = e.st.MappedRefs(ctx, shopID, stock, entityLocation, 50); err != nil {
			return set, err
		}
		if len(set.Locations) == 0 {
			return set, vocab.FieldErrors{"connection": fmt.Sprintf("Map at least one location of %s to a location of %s on the Mappings page, so that the rehearsal's stock updates have somewhere to go; or ask for 0 stock updates per order.",
				shop, erps)}
		}
	}
	return set, nil
}
