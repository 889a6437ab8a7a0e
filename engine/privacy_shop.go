package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"crossdock/store"
	"crossdock/store/number"
)

// A shop's erasure (shop/redact, 48 hours after the store removed the app)
// deletes the shop's data a chunk per transaction (store.EraseShopChunk says
// what that data is). It starts by itself only when the shop's connection is
// disabled: while it is enabled, deleting its syncs and mappings would cut a
// live integration, so an admin confirms it on the request's page first,
// which disables the connection.

// shopErasureChunk is how many rows (or, for syncs, ids looked at) one
// transaction of a shop's erasure deletes.
const shopErasureChunk = 5000

// shopStepWords name what each step deletes, counted.
var shopStepWords = map[int][2]string{
	store.ShopStepSyncs:      {"sync", "syncs"},
	store.ShopStepDeliveries: {"webhook delivery", "webhook deliveries"},
	store.ShopStepTurnedAway: {"turned-away delivery", "turned-away deliveries"},
	store.ShopStepCatalogue:  {"catalogue record", "catalogue records"},
	store.ShopStepMarks:      {"sync high-water mark", "sync high-water marks"},
	store.ShopStepMappings:   {"mapping row", "mapping rows"},
	store.ShopStepRest:       {"other row (stock levels, comparisons, discrepancies, exclusions)", "other rows (stock levels, comparisons, discrepancies, exclusions)"},
}

// ShopErasureSummary says in words what a shop's erasure deleted so far
// (what it found none of is left out).
func ShopErasureSummary(counts map[int]int) string {
	var parts []string
	for step := store.ShopStepSyncs; step < store.ShopStepDone; step++ {
		if counts[step] == 0 {
			continue
		}
		w := shopStepWords[step]
		parts = append(parts, counted(counts[step], w[0], w[1]))
	}
	if len(parts) == 0 {
		return "nothing (Crossdock held no data of it)"
	}
	return strings.Join(parts, ", ")
}

// EraseShopOnce takes the shop erasure due first one chunk on, in one
// transaction. It reports whether there was one to work on.
func (e *Engine) EraseShopOnce(ctx context.Context) (bool, error) {
	did := false
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		w, err := tx.ClaimShopErasure(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		did = true
		n, stepDone, err := tx.EraseShopChunk(ctx, &w, shopErasureChunk)
		if err != nil {
			return err
		}
		w.Counts[w.Step] += n
		if stepDone {
			w.Step, w.Cursor = w.Step+1, 0
		}
		if w.Step >= store.ShopStepDone {
			return tx.AdvanceShopErasure(ctx, w, fmt.Sprintf("Erased the data of %s from Crossdock: %s. Its credentials are removed and it stays disabled; the audit log and this request are kept.",
				w.ConnectionName, ShopErasureSummary(w.Counts)), true)
		}
		return tx.AdvanceShopErasure(ctx, w, "Erasing the shop's data: "+ShopErasureSummary(w.Counts)+" deleted so far.", false)
	})
	return did, err
}

// ShopErasureState is where a shop's erasure stands, for its page.
type ShopErasureState struct {
	store.ShopErasure
	// NeedsConfirmation is true while the connection is enabled and no
	// admin has confirmed: the erasure waits.
	NeedsConfirmation bool
	// Scope counts (capped) what the erasure deletes, while it waits.
	Scope store.ShopErasureCounts
	// ScopeCap is the cap of each count in Scope.
	ScopeCap int
}

// shopScopeCap caps the counts the confirmation shows: past it the page says
// "more than".
const shopScopeCap = 100000

// ShopErasure reads where the shop erasure of request id stands.
func (e *Engine) ShopErasure(ctx context.Context, id int64, done bool) (ShopErasureState, error) {
	w, err := e.st.ShopErasureOf(ctx, id)
	if err != nil {
		return ShopErasureState{}, err
	}
	s := ShopErasureState{ShopErasure: w, ScopeCap: shopScopeCap}
	s.NeedsConfirmation = !done && !w.Confirmed && w.Enabled
	if s.NeedsConfirmation {
		if s.Scope, err = e.st.ShopErasureScope(ctx, w.ConnectionID, shopScopeCap); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ConfirmShopErasure starts a shop's erasure an admin confirmed: the
// connection is disabled first (nothing new arrives or is sent while its
// data goes), then the erasure is marked confirmed, both in the audit log.
func (e *Engine) ConfirmShopErasure(ctx context.Context, a store.Actor, id int64) error {
	w, err := e.st.ShopErasureOf(ctx, id)
	if err != nil {
		return err
	}
	if w.Confirmed {
		return store.ErrConflict
	}
	// Deleting the shop's data is a write about that system.
	if err := e.st.MayWriteInto(ctx, a, w.ConnectionID); err != nil {
		return err
	}
	if w.Enabled {
		if _, err := e.st.SetConnectionEnabled(ctx, a, w.ConnectionID, false); err != nil {
			return err
		}
	}
	return e.st.InTx(ctx, func(tx *store.Tx) error { return tx.ConfirmShopErasure(ctx, a, id) })
}

// shopScopeWords says a capped count in words: "1,204 syncs", "more than
// 100,000 syncs".
func shopScopeWords(n, limit int, one, many string) string {
	if n >= limit {
		return "more than " + number.Thousands(limit) + " " + many
	}
	return counted(n, one, many)
}

// ShopScopeSentence says what confirming a shop's erasure deletes.
func ShopScopeSentence(s ShopErasureState) string {
	return fmt.Sprintf("%s, %s and %s of %s, with every sync to or from it and their attempts",
		shopScopeWords(s.Scope.Deliveries, s.ScopeCap, "webhook delivery", "webhook deliveries"),
		shopScopeWords(s.Scope.Catalogue, s.ScopeCap, "catalogue record", "catalogue records"),
		shopScopeWords(s.Scope.Mappings, s.ScopeCap, "mapping", "mappings"), s.ConnectionName)
}
