package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/csvfile"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// FinanceStore is what the finance review needs from the store.
type FinanceStore interface {
	FinanceThresholds(ctx context.Context) (store.Thresholds, error)
	SetFinanceThresholds(ctx context.Context, a store.Actor, t store.Thresholds) error
	FinanceReview(ctx context.Context, t store.Thresholds, f store.FinanceFilter) ([]store.FinanceRow, bool, error)
	FinanceReviewTotals(ctx context.Context, t store.Thresholds) (store.FinanceTotals, error)
	ReviewVariant(ctx context.Context, a store.Actor, in store.FinanceAction) (store.FinanceReviewState, error)
	FinanceCollections(ctx context.Context) ([]store.FinanceCollection, error)
	SetCollectionThresholds(ctx context.Context, a store.Actor, ref, title string, t store.Thresholds) error
	ClearCollectionThresholds(ctx context.Context, a store.Actor, ref string) error
	CardsBySKU(ctx context.Context, entityType string, skus []string) (map[string]store.RecordCard, error)
	ListReconRuns(ctx context.Context, f store.ReconRunFilter) ([]store.ReconRun, bool, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	FinanceDefaultAssignee(ctx context.Context) (int64, error)
	FinancePeriodRuns(ctx context.Context, from, to time.Time) ([]store.FinanceRunTotal, error)
	FinanceDecisions(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]store.FinanceDecision, bool, error)
	AnswerPriceFix(ctx context.Context, a store.Actor, in store.PriceFixAnswer) (store.FinanceRequest, error)
}

// FinanceEngine queues the comparison of prices and costs finance starts.
type FinanceEngine interface {
	RequestReconciliation(ctx context.Context, family, trigger, by string) (store.ReconRun, error)
}

// nameFinanceRows adds the product's and the variant's title and the image
// to each row, looked up at once.
func nameFinanceRows(ctx context.Context, st FinanceStore, rows []views.FinanceRow) error {
	skus := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.SKU != "" {
			skus = append(skus, r.SKU)
		}
	}
	cards, err := st.CardsBySKU(ctx, "variant", skus)
	if err != nil {
		return err
	}
	for i := range rows {
		c := cards[rows[i].SKU]
		rows[i].Title, rows[i].VariantTitle, rows[i].ImageURL = c.Name, c.Variant(), c.ImageURL
	}
	return nil
}

// Finance is the margin review of the latest prices comparison.
type Finance struct {
	Base
	Store FinanceStore
	// Engine is nil when no engine runs: finance cannot start a comparison.
	Engine FinanceEngine
}

func financeQuery(c *fiber.Ctx) (store.FinanceFilter, string) {
	var f store.FinanceFilter
	flag := c.Query("flag")
	if !slices.Contains(store.FinanceFlags, flag) {
		flag = ""
	}
	f.Flag = flag
	if rv := c.Query("review"); slices.Contains(store.FinanceReviewFilters, rv) {
		f.Review = rv
	}
	if srt := c.Query("sort"); slices.Contains(store.FinanceSorts, srt) && srt != store.SortMarginPct {
		f.Sort = srt
	}
	return f, flag
}

func financeRow(r store.FinanceRow) views.FinanceRow {
	return views.FinanceRow{SKU: r.SKU, ShopPrice: r.ShopPrice, CompareAt: r.CompareAt, ListPrice: r.ListPrice, OdooCost: r.OdooCost,
		ShopCost: r.ShopCost, Currency: r.Currency, OdooCurrency: r.OdooCurrency, Margin: r.Margin, MarginPct: r.MarginPct,
		PriceDiffers: r.PriceDiffers, Level: r.Level, CostMissing: r.CostMissing, CurrencyDiffers: r.CurrencyDiffers,
		CollectionLimits: r.CollectionLimits, Critical: r.Critical, High: r.High, Medium: r.Medium, VariantID: r.VariantID, ReviewState: r.ReviewState, ReviewNote: r.ReviewNote,
		Units: r.Units, Revenue: r.Revenue, Stake: r.Stake, ReviewBy: r.ReviewBy, RequestStatus: r.RequestStatus, Assignee: r.Assignee,
		Outcome: r.Outcome, OutcomeNote: r.OutcomeNote, OutcomeBy: r.OutcomeBy, OutcomeAt: r.OutcomeAt, FixedAt: r.FixedAt, FixSyncID: r.FixSyncID}
}

// financeAssignees are the people a price fix may be assigned to (active
// operators and admins), and the default one's id.
func financeAssignees(ctx context.Context, st FinanceStore) ([]components.Option, string, error) {
	us, err := st.ListUsers(ctx)
	if err != nil {
		return nil, "", err
	}
	def, err := st.FinanceDefaultAssignee(ctx)
	if err != nil {
		return nil, "", err
	}
	opts := []components.Option{{Value: "0", Label: "Nobody in particular"}}
	for _, u := range us {
		if u.Active && (u.Role == vocab.RoleOperator || u.Role == vocab.RoleAdmin) {
			opts = append(opts, components.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name + " (" + u.Role.Label() + ")"})
		}
	}
	return opts, strconv.FormatInt(def, 10), nil
}

// liveComparison is the comparison of prices waiting or running, or the
// latest one when it failed after the review shown was built (its review
// is then the older one); nil when there is neither.
func liveComparison(ctx context.Context, st FinanceStore, shown int64) (*views.FinanceLiveRun, error) {
	runs, _, err := st.ListReconRuns(ctx, store.ReconRunFilter{Family: "prices", Limit: 1})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	r := runs[0]
	live := &views.FinanceLiveRun{ID: r.ID, By: r.RequestedBy, QueuedAt: r.CreatedAt, StartedAt: r.StartedAt,
		Href: "/reconciliation/runs/" + strconv.FormatInt(r.ID, 10)}
	switch {
	case !r.Ended():
		return live, nil
	case r.Status == store.RunFailed && r.ID > shown:
		live.Failed, live.Message = true, r.Message
		return live, nil
	}
	return nil, nil
}

// List shows the review: totals, then the variants lowest margin first.
func (h Finance) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, flag := financeQuery(c)
	if id, err := strconv.ParseInt(c.Query("after_id"), 10, 64); err == nil && id > 0 {
		f.AfterID = id
		if p, err := strconv.ParseFloat(c.Query("after_key"), 64); err == nil {
			f.AfterKey = &p
		}
	}
	f.Limit = 50
	t, err := h.Store.FinanceThresholds(ctx)
	if err != nil {
		return err
	}
	totals, err := h.Store.FinanceReviewTotals(ctx, t)
	if err != nil {
		return err
	}
	rows, more, err := h.Store.FinanceReview(ctx, t, f)
	if err != nil {
		return err
	}
	u := CurrentUser(c)
	p := views.FinancePage{Meta: h.Meta(c, "Finance review", "finance"), Flag: flag, Totals: views.FinanceTotals(totals), Thresholds: views.MarginThresholds(t),
		CanSetThresholds: u != nil && u.Role == vocab.RoleAdmin, CanCompare: h.Engine != nil, Review: f.Review, Now: now()}
	p.Flags = []components.Option{{Value: "", Label: "Every variant"}}
	for _, fl := range store.FinanceFlags {
		p.Flags = append(p.Flags, components.Option{Value: fl, Label: views.FinanceFlagLabel(fl)})
	}
	p.Reviews = []components.Option{{Value: "", Label: "Any review state"}}
	for _, rv := range store.FinanceReviewFilters {
		p.Reviews = append(p.Reviews, components.Option{Value: rv, Label: views.FinanceReviewFilterLabel(rv)})
	}
	if p.Assignees, p.DefaultAssignee, err = financeAssignees(ctx, h.Store); err != nil {
		return err
	}
	if p.Live, err = liveComparison(ctx, h.Store, totals.RunID); err != nil {
		return err
	}
	for _, r := range rows {
		p.Rows = append(p.Rows, financeRow(r))
	}
	if err := nameFinanceRows(c.UserContext(), h.Store, p.Rows); err != nil {
		return err
	}
	q := financeValues(f)
	p.Sort = f.Sort
	p.OrdersKnown = totals.Revenue != nil
	for _, srt := range store.FinanceSorts {
		p.Sorts = append(p.Sorts, components.Option{Value: srt, Label: views.FinanceSortLabel(srt)})
	}
	p.CSVHref = "/finance.csv"
	if len(q) > 0 {
		p.CSVHref += "?" + q.Encode()
	}
	p.Back = "/finance"
	if qs := string(c.Request().URI().QueryString()); qs != "" {
		p.Back += "?" + qs
	}
	if f.AfterID != 0 {
		p.FirstHref = "/finance"
		if len(q) > 0 {
			p.FirstHref += "?" + q.Encode()
		}
	}
	if more && len(rows) > 0 {
		last := rows[len(rows)-1]
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after_id", strconv.FormatInt(last.VariantID, 10))
		if k := last.SortKey(f.Sort); k != nil {
			nq.Set("after_key", strconv.FormatFloat(*k, 'f', -1, 64))
		}
		p.NextHref = "/finance?" + nq.Encode()
	}
	return Render(c, views.FinanceReview(p))
}

// financeValues is a view's filters as a query string.
func financeValues(f store.FinanceFilter) url.Values {
	q := url.Values{}
	if f.Flag != "" {
		q.Set("flag", f.Flag)
	}
	if f.Review != "" {
		q.Set("review", f.Review)
	}
	if f.Sort != "" {
		q.Set("sort", f.Sort)
	}
	return q
}

// Compare starts a comparison of prices and costs (finance's own button):
// the review is rebuilt when it ends.
func (h Finance) Compare(c *fiber.Ctx) error {
	if h.Engine == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "The sync engine is not running, so prices and costs cannot be compared now. Ask an admin to start Crossdock with its engine.")
	}
	_, err := h.Engine.RequestReconciliation(c.UserContext(), "prices", "manual", Actor(c).Label)
	switch {
	case errors.Is(err, store.ErrRunLive):
		h.Flash(c, "info", "Prices and costs are already being compared; the review is rebuilt when that comparison ends.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "Prices and costs are being compared. Reload this page in a minute: the review is rebuilt when the comparison ends.")
	}
	return Redirect(c, "/finance")
}

// CSV exports every variant of the view, with the filter in the file name.
func (h Finance) CSV(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, flag := financeQuery(c)
	t, err := h.Store.FinanceThresholds(ctx)
	if err != nil {
		return err
	}
	name := "finance-review"
	if flag != "" {
		name += "_flag-" + flag
	}
	if f.Review != "" {
		name += "_review-" + f.Review
	}
	if f.Sort != "" {
		name += "_sort-" + f.Sort
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	w := csvfile.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"sku", "shopify_price", "shopify_compare_at", "odoo_list_price", "odoo_cost", "shopify_unit_cost", "currency",
		"margin", "margin_percent", "storefront_differs_from_master", "margin_level", "cost_missing", "units_sold_30_days", "revenue_30_days", "review",
		"odoo_currency", "currencies_differ", "product", "money_at_stake", "review_note", "reviewer", "price_fix_assignee", "operators_answer",
		"operators_note", "answered_by", "fixed_since_comparison", "variant"})
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	f.Limit = 200
	for {
		rows, more, err := h.Store.FinanceReview(ctx, t, f)
		if err != nil {
			return err
		}
		cards := map[string]store.RecordCard{}
		if len(rows) > 0 {
			skus := make([]string, len(rows))
			for i, r := range rows {
				skus[i] = r.SKU
			}
			if cards, err = h.Store.CardsBySKU(ctx, "variant", skus); err != nil {
				return err
			}
		}
		for _, r := range rows {
			fixed := ""
			if r.FixedAt != nil {
				fixed = r.FixedAt.UTC().Format(time.RFC3339)
			}
			_ = w.Write([]string{r.SKU, num(r.ShopPrice), num(r.CompareAt), num(r.ListPrice), num(r.OdooCost), num(r.ShopCost),
				r.Currency, num(r.Margin), num(r.MarginPct), strconv.FormatBool(r.PriceDiffers), r.Level, strconv.FormatBool(r.CostMissing),
				num(r.Units), num(r.Revenue), r.ReviewState, r.OdooCurrency, strconv.FormatBool(r.CurrencyDiffers), cards[r.SKU].Name, num(r.Stake), r.ReviewNote,
				r.ReviewBy, r.Assignee, r.Outcome, r.OutcomeNote, r.OutcomeBy, fixed, cards[r.SKU].Variant()})
		}
		if !more || len(rows) == 0 {
			break
		}
		last := rows[len(rows)-1]
		f.AfterID, f.AfterKey = last.VariantID, last.SortKey(f.Sort)
	}
	w.Flush()
	return w.Error()
}

// thresholdsForm reads the three margin thresholds of a form (global or a
// collection's): the values, the text typed per field, and the fields that
// are not numbers, in form order.
func thresholdsForm(c *fiber.Ctx) (t store.Thresholds, typed map[string]string, notNumbers []string) {
	typed = map[string]string{}
	for _, f := range []struct {
		key string
		v   *float64
	}{{"critical", &t.Critical}, {"high", &t.High}, {"medium", &t.Medium}} {
		typed[f.key] = strings.TrimSpace(c.FormValue(f.key))
		v, err := strconv.ParseFloat(typed[f.key], 64)
		if err != nil {
			notNumbers = append(notNumbers, f.key)
		}
		*f.v = v
	}
	return t, typed, notNumbers
}

// thresholdNames are the thresholds' names in words, by form field.
var thresholdNames = map[string]string{"critical": "critical", "high": "low", "medium": "below target"}

// SetThresholds saves the global margin thresholds.
func (h Finance) SetThresholds(c *fiber.Ctx) error {
	t, _, bad := thresholdsForm(c)
	if len(bad) > 0 {
		h.Flash(c, "critical", "Enter the "+thresholdNames[bad[0]]+" threshold as a number of percent, e.g. 15. Nothing was saved.")
		return Redirect(c, "/finance")
	}
	err := h.Store.SetFinanceThresholds(c.UserContext(), Actor(c), t)
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		h.Flash(c, "critical", fe["thresholds"])
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "The margin thresholds are saved.")
	}
	return Redirect(c, "/finance")
}
