package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/csvfile"
	"crossdock/views"
)

// summaryRows caps the flagged variants and decisions printed; the CSV has
// them all.
const summaryRows = 200

// financePeriod is the period a summary covers: [From, To), a month by
// default (?month=2026-11) or a date range (?from=2026-11-01&to=2026-11-15,
// both days included), in UTC.
type financePeriod struct {
	From, To time.Time
	Month    string // "2006-01" when the period is a calendar month
	// Error says what was not understood (the current month is shown).
	Error string
}

func (p financePeriod) label() string {
	if p.Month != "" {
		return p.From.Format("January 2006")
	}
	return p.From.Format("2 January 2006") + " to " + p.To.AddDate(0, 0, -1).Format("2 January 2006")
}

func (p financePeriod) query() url.Values {
	if p.Month != "" {
		return url.Values{"month": {p.Month}}
	}
	return url.Values{"from": {p.From.Format(time.DateOnly)}, "to": {p.To.AddDate(0, 0, -1).Format(time.DateOnly)}}
}

func parseFinancePeriod(c *fiber.Ctx, now time.Time) financePeriod {
	now = now.UTC()
	month := func(t time.Time) financePeriod {
		from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return financePeriod{From: from, To: from.AddDate(0, 1, 0), Month: from.Format("2006-01")}
	}
	m, from, to := strings.TrimSpace(c.Query("month")), strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	switch {
	case from != "" || to != "":
		f, err1 := time.Parse(time.DateOnly, from)
		t, err2 := time.Parse(time.DateOnly, to)
		switch {
		case err1 != nil || err2 != nil:
			p := month(now)
			p.Error = "Enter both dates of the range as days, e.g. 2026-11-01 and 2026-11-15. This is the current month."
			return p
		case t.Before(f):
			p := month(now)
			p.Error = "The range ends before it starts: choose an end on or after its first day. This is the current month."
			return p
		case t.Sub(f) > 366*24*time.Hour:
			p := month(now)
			p.Error = "Choose a range of at most a year. This is the current month."
			return p
		}
		return financePeriod{From: f, To: t.AddDate(0, 0, 1)}
	case m != "":
		t, err := time.Parse("2006-01", m)
		if err != nil || t.Year() < 2000 || t.After(now) {
			p := month(now)
			p.Error = "Choose a month up to this one, e.g. " + now.AddDate(0, -1, 0).Format("2006-01") + ". This is the current month."
			return p
		}
		return month(t)
	}
	return month(now)
}

// Summary is the printable month-end summary of any period: the totals of
// its last comparison, every comparison of prices in it, the decisions
// taken in it, and (when the period holds the review shown) the flagged
// variants, highest revenue first.
func (h Finance) Summary(c *fiber.Ctx) error {
	ctx := c.UserContext()
	n := now()
	per := parseFinancePeriod(c, n)
	t, err := h.Store.FinanceThresholds(ctx)
	if err != nil {
		return err
	}
	totals, err := h.Store.FinanceReviewTotals(ctx, t)
	if err != nil {
		return err
	}
	p := views.FinanceSummaryPage{Meta: h.Meta(c, "Finance summary", "finance"), Thresholds: views.MarginThresholds(t),
		Month: per.label(), Printed: n.UTC().Format("2 January 2006, 15:04 UTC"), Error: per.Error, MonthValue: per.Month,
		CSVHref: "/finance/summary.csv?" + per.query().Encode()}
	if per.Month == "" {
		p.FromValue, p.ToValue = per.From.Format(time.DateOnly), per.To.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	runs, err := h.Store.FinancePeriodRuns(ctx, per.From, per.To)
	if err != nil {
		return err
	}
	for _, r := range runs {
		rt := r.Totals()
		p.Runs = append(p.Runs, views.FinanceSummaryRun{RunID: r.RunID, At: r.ComparedAt.UTC().Format("2 Jan 2006 15:04 UTC"),
			Variants: rt.Variants, Flagged: rt.Flagged, PriceDiffers: rt.PriceDiffers, Negative: rt.Negative})
	}
	current := totals.RunID != 0 && totals.ComparedAt != nil && !totals.ComparedAt.Before(per.From) && totals.ComparedAt.Before(per.To)
	switch {
	case current:
		p.Totals, p.Current = views.FinanceTotals(totals), true
	case len(runs) > 0:
		p.Totals = views.FinanceTotals(runs[len(runs)-1].Totals())
	}
	p.Totals.RunID = 0
	if len(runs) > 0 {
		p.Totals.RunID = runs[len(runs)-1].RunID
	}
	if current {
		p.Totals.RunID = totals.RunID
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
	ds, more, err := h.Store.FinanceDecisions(ctx, per.From, per.To, 0, summaryRows)
	if err != nil {
		return err
	}
	for _, d := range ds {
		p.Decisions = append(p.Decisions, financeDecision(d))
	}
	p.MoreDecisions = more
	return Render(c, views.FinanceSummary(p))
}

func financeDecision(d store.FinanceDecision) views.FinanceDecision {
	return views.FinanceDecision{At: d.DecidedAt.UTC().Format("2 Jan 2006 15:04"), SKU: d.SKU, Name: d.Name, Decision: d.Decision,
		Note: d.Note, By: d.ByLabel, Assignee: d.Assignee, ShopPrice: d.ShopPrice, ListPrice: d.ListPrice, MarginPct: d.MarginPct, Currency: d.Currency}
}

// SummaryCSV exports every decision taken in the period, with the names,
// figures, notes, reviewer and decision, through the formula-safe writer.
func (h Finance) SummaryCSV(c *fiber.Ctx) error {
	ctx := c.UserContext()
	per := parseFinancePeriod(c, now())
	name := "finance-decisions_" + per.From.Format(time.DateOnly) + "_to_" + per.To.AddDate(0, 0, -1).Format(time.DateOnly)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	w := csvfile.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"decided_at", "sku", "product", "decision", "note", "by", "price_fix_assignee", "shopify_price", "odoo_list_price",
		"cost", "margin", "margin_percent", "currency", "comparison_run", "discrepancy"})
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	var after int64
	for {
		ds, more, err := h.Store.FinanceDecisions(ctx, per.From, per.To, after, 200)
		if err != nil {
			return err
		}
		for _, d := range ds {
			disc := ""
			if d.DiscrepancyID != nil {
				disc = strconv.FormatInt(*d.DiscrepancyID, 10)
			}
			_ = w.Write([]string{d.DecidedAt.UTC().Format(time.RFC3339), d.SKU, d.Name, views.DecisionLabel(d.Decision), d.Note, d.ByLabel, d.Assignee,
				num(d.ShopPrice), num(d.ListPrice), num(d.Cost), num(d.Margin), num(d.MarginPct), d.Currency, strconv.FormatInt(d.RunID, 10), disc})
		}
		if !more || len(ds) == 0 {
			break
		}
		after = ds[len(ds)-1].ID
	}
	w.Flush()
	return w.Error()
}
