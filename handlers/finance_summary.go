package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
)

// summaryRows caps the flagged variants printed; the CSV has them all.
const summaryRows = 200

// Summary is the printable month-end summary: totals, review states and
// the flagged variants, highest revenue first.
func (h Finance) Summary(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := h.Store.FinanceThresholds(ctx)
	if err != nil {
		return err
	}
	totals, err := h.Store.FinanceReviewTotals(ctx, t)
	if err != nil {
		return err
	}
	p := views.FinanceSummaryPage{Meta: h.Meta(c, "Month-end finance summary", "finance"), Totals: views.FinanceTotals(totals), Thresholds: views.MarginThresholds(t),
		Month: time.Now().UTC().Format("January 2006"), Printed: time.Now().UTC().Format("2 January 2006, 15:04 UTC")}
	if totals.RunID != 0 {
		rows, more, err := h.Store.FinanceReview(ctx, t, store.FinanceFilter{Flag: store.FlagAny, Sort: store.SortRevenue, Limit: summaryRows})
		if err != nil {
			return err
		}
		for _, r := range rows {
			p.Rows = append(p.Rows, financeRow(r))
		}
		if err := nameFinanceRows(ctx, h.Store, p.Rows); err != nil {
			return err
		}
		if more {
			p.More = totals.Flagged - int64(len(rows))
		}
	}
	return Render(c, views.FinanceSummary(p))
}
