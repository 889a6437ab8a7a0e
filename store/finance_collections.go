package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"crossdock/vocab"
)

// ValidateCollection checks thresholds set for a collection: percents from
// 0 to 100, strictly going up from critical to medium. Messages are keyed by
// field, to sit next to it.
func (t Thresholds) ValidateCollection() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	for _, v := range []struct {
		key, name string
		v         float64
	}{{"critical", "critical", t.Critical}, {"high", "low", t.High}, {"medium", "below target", t.Medium}} {
		if math.IsNaN(v.v) || v.v < 0 || v.v > 100 {
			fe[v.key] = fmt.Sprintf("The %s threshold is a percent from 0 to 100.", v.name)
		}
	}
	if len(fe) > 0 {
		return fe
	}
	if t.Critical >= t.High {
		fe["high"] = fmt.Sprintf("The low threshold must be above the critical one (%g %%).", t.Critical)
	}
	if t.High >= t.Medium {
		fe["medium"] = fmt.Sprintf("The below-target threshold must be above the low one (%g %%).", t.High)
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// FinanceCollection is a Shopify collection in the finance review: how many
// of the review's variants are in it, and its own thresholds if it has any.
type FinanceCollection struct {
	Ref      string   `db:"collection_ref"`
	Title    string   `db:"title"`
	Variants int64    `db:"variants"`
	Critical *float64 `db:"critical"`
	High     *float64 `db:"high"`
	Medium   *float64 `db:"medium"`
}

// Own reports whether the collection has thresholds of its own.
func (c FinanceCollection) Own() bool { return c.Critical != nil }

// FinanceCollections lists the collections of the review's run, and those
// with thresholds that the run no longer saw, by title.
func (q q) FinanceCollections(ctx context.Context) ([]FinanceCollection, error) {
	var out []FinanceCollection
	err := sqlxSelect(ctx, q, &out, `SELECT coalesce(c.collection_ref, t.collection_ref) AS collection_ref,
  coalesce(nullif(c.title, ''), t.title, '') AS title, coalesce(c.variants, 0) AS variants, t.critical::float8, t.high::float8, t.medium::float8
FROM (SELECT * FROM finance_collections WHERE run_id = `+financeRunSQL+`) c
FULL JOIN finance_collection_thresholds t ON t.collection_ref = c.collection_ref
ORDER BY lower(coalesce(nullif(c.title, ''), t.title, '')), 1`)
	if err != nil {
		return nil, fmt.Errorf("store: finance collections: %w", err)
	}
	return out, nil
}

// rebuildFinanceBands recounts the bands of the review's run after a change
// of collection thresholds (global ones apply per request).
func (tx *Tx) rebuildFinanceBands(ctx context.Context) error {
	if _, err := tx.ext.ExecContext(ctx, financeLock); err != nil {
		return err
	}
	var run *int64
	if err := sqlxGet(ctx, tx.q, &run, `SELECT `+financeRunSQL); err != nil {
		return fmt.Errorf("store: finance run: %w", err)
	}
	if run == nil {
		return nil
	}
	if _, err := tx.ext.ExecContext(ctx, `DELETE FROM finance_bands WHERE run_id = $1`, *run); err != nil {
		return fmt.Errorf("store: finance bands: %w", err)
	}
	if _, err := tx.ext.ExecContext(ctx, financeBandsSQL, *run); err != nil {
		return fmt.Errorf("store: finance bands: %w", err)
	}
	return nil
}

// SetCollectionThresholds gives a collection thresholds of its own, audited.
func (s *Store) SetCollectionThresholds(ctx context.Context, a Actor, ref, title string, t Thresholds) error {
	ref, title = strings.TrimSpace(ref), strings.TrimSpace(title)
	if !strings.HasPrefix(ref, "gid://shopify/Collection/") {
		return vocab.FieldErrors{"collection": "Choose a collection from the list."}
	}
	if fe := t.ValidateCollection(); fe != nil {
		return fe
	}
	return s.InTx(ctx, func(tx *Tx) error {
		var before *Thresholds
		var b Thresholds
		err := sqlxGet(ctx, tx.q, &b, `SELECT critical, high, medium FROM finance_collection_thresholds WHERE collection_ref = $1 FOR UPDATE`, ref)
		switch {
		case err == nil:
			before = &b
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("store: collection thresholds: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_collection_thresholds (collection_ref, title, critical, high, medium)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (collection_ref) DO UPDATE SET title = $2, critical = $3, high = $4, medium = $5, updated_at = now()`,
			ref, title, t.Critical, t.High, t.Medium); err != nil {
			return fmt.Errorf("store: set collection thresholds: %w", err)
		}
		if err := tx.rebuildFinanceBands(ctx); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "finance.collection_thresholds", ObjectType: "collection", ObjectID: ref,
			Summary: fmt.Sprintf("Margin thresholds of the collection %s set to critical %g %%, low %g %%, below target %g %%.", title, t.Critical, t.High, t.Medium),
			Before:  before, After: t})
	})
}

// ClearCollectionThresholds removes a collection's own thresholds: its
// variants go back to the global ones (or their other collections'),
// audited. ErrNotFound: it had none.
func (s *Store) ClearCollectionThresholds(ctx context.Context, a Actor, ref string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		var before struct {
			Thresholds
			Title string `db:"title"`
		}
		if err := sqlxGet(ctx, tx.q, &before, `DELETE FROM finance_collection_thresholds WHERE collection_ref = $1
RETURNING title, critical, high, medium`, ref); err != nil {
			return err
		}
		if err := tx.rebuildFinanceBands(ctx); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "finance.collection_thresholds_cleared", ObjectType: "collection", ObjectID: ref,
			Summary: fmt.Sprintf("The collection %s uses the global margin thresholds again.", before.Title),
			Before:  before.Thresholds})
	})
}
