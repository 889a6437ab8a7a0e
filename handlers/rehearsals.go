package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// RehearsalRunner starts peak rehearsals (the engine).
type RehearsalRunner interface {
	StartRehearsal(ctx context.Context, a store.Actor, in store.NewRehearsal, args engine.RehearsalArgs) (store.Rehearsal, error)
	BusiestOrderHour(ctx context.Context) (int, time.Time, error)
}

// Rehearsals serves the peak rehearsal pages (admins).
type Rehearsals struct {
	Base
	Store  *store.Store
	Runner RehearsalRunner // nil without an engine
}

func rehearsalRow(r store.Rehearsal) views.RehearsalRow {
	rep, _ := r.Report()
	row := views.RehearsalRow{ID: r.ID, CreatedAt: r.CreatedAt, By: r.CreatedByLabel, Connection: r.ConnectionName, State: r.State,
		Verdict: r.Verdict, KeptUp: r.State == store.RehearsalFinished && engine.KeptUp(rep)}
	row.Asked = fmt.Sprintf("%s orders a minute for %s, %d stock updates each", num(r.OrdersPerMin), minutesText(r.DurationSeconds), r.UpdatesPerOrder)
	if r.Profile == store.RehearsalBestHour {
		row.Asked = fmt.Sprintf("%s× the busiest hour: ", num(r.Multiple)) + row.Asked
	}
	if r.State == store.RehearsalFailed {
		row.Verdict = r.Error
	}
	return row
}

func num(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

func minutesText(sec int) string {
	if sec < 120 {
		return fmt.Sprintf("%d seconds", sec)
	}
	return fmt.Sprintf("%s minutes", num(float64(sec)/60))
}

func (h Rehearsals) page(c *fiber.Ctx, f views.RehearsalForm) (views.RehearsalsPage, error) {
	ctx := c.UserContext()
	p := views.RehearsalsPage{Meta: h.Meta(c, "Peak rehearsal", "rehearsals"), Form: f, Now: now()}
	conns, err := h.Store.ListConnections(ctx)
	if err != nil {
		return p, err
	}
	for _, cn := range conns {
		if cn.Kind == vocab.KindShopify && !cn.IsProduction() {
			p.Form.Connections = append(p.Form.Connections, components.Option{Value: strconv.FormatInt(cn.ID, 10), Label: cn.Name})
		}
	}
	if h.Runner != nil {
		if p.Form.BusiestHour, p.Form.BusiestHourAt, err = h.Runner.BusiestOrderHour(ctx); err != nil {
			return p, err
		}
	}
	rs, err := h.Store.ListRehearsals(ctx, 100)
	if err != nil {
		return p, err
	}
	for _, r := range rs {
		p.Rehearsals = append(p.Rehearsals, rehearsalRow(r))
	}
	p.Summary = engine.RehearsalsSummary(rs, p.Form.BusiestHour)
	return p, nil
}

// List shows the form and the kept reports.
func (h Rehearsals) List(c *fiber.Ctx) error {
	p, err := h.page(c, views.RehearsalForm{Profile: store.RehearsalRate, Multiple: "3", OrdersPerMin: "60", Minutes: "5", UpdatesPerOrder: "2"})
	if err != nil {
		return err
	}
	return Render(c, views.Rehearsals(p))
}

// Start validates the form and queues the rehearsal.
func (h Rehearsals) Start(c *fiber.Ctx) error {
	f := views.RehearsalForm{ConnectionID: c.FormValue("connection"), Profile: c.FormValue("profile"), Multiple: strings.TrimSpace(c.FormValue("multiple")),
		OrdersPerMin: strings.TrimSpace(c.FormValue("orders_per_min")), Minutes: strings.TrimSpace(c.FormValue("minutes")),
		UpdatesPerOrder: strings.TrimSpace(c.FormValue("updates_per_order"))}
	fe := vocab.FieldErrors{}
	in := store.NewRehearsal{Profile: f.Profile}
	in.ConnectionID, _ = strconv.ParseInt(f.ConnectionID, 10, 64)
	numField := func(v, key, msg string) float64 {
		x, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", ""), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			fe[key] = msg
		}
		return x
	}
	if f.Profile == store.RehearsalBestHour {
		in.Multiple = numField(f.Multiple, "multiple", "Enter the multiple as a number, for example 3.")
	} else {
		in.OrdersPerMin = numField(f.OrdersPerMin, "orders_per_min", "Enter the orders per minute as a number, for example 1500.")
	}
	mins := numField(f.Minutes, "duration", "Enter the minutes as a number, for example 10.")
	in.DurationSeconds = int(math.Round(mins * 60))
	u, err := strconv.Atoi(f.UpdatesPerOrder)
	if err != nil {
		fe["updates_per_order"] = "Enter a whole number of inventory updates per order, for example 5."
	}
	in.UpdatesPerOrder = u
	if len(fe) == 0 {
		if h.Runner == nil {
			fe["connection"] = "The sync engine is not running in this process, so no rehearsal can run: start Crossdock with its engine."
		} else {
			if in.Profile == store.RehearsalBestHour {
				in.OrdersPerMin = 1 // replaced from the busiest hour by the engine
			}
			var r store.Rehearsal
			r, err = h.Runner.StartRehearsal(c.UserContext(), Actor(c), in, engine.RehearsalArgs{})
			var ferr vocab.FieldErrors
			if errors.As(err, &ferr) {
				fe = ferr
			} else if err != nil {
				return err
			} else {
				h.Flash(c, "success", "The rehearsal runs in the background; this page shows its report when it is done. You can leave and come back.")
				return Redirect(c, fmt.Sprintf("/rehearsals/%d", r.ID))
			}
		}
	}
	f.Errors = fe
	p, perr := h.page(c, f)
	if perr != nil {
		return perr
	}
	return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Rehearsals(p))
}

// Show is one rehearsal's report.
func (h Rehearsals) Show(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return store.ErrNotFound
	}
	r, err := h.Store.Rehearsal(c.UserContext(), int64(id))
	if err != nil {
		return err
	}
	rep, err := r.Report()
	if err != nil {
		return err
	}
	p := views.RehearsalPage{Meta: h.Meta(c, fmt.Sprintf("Peak rehearsal #%d", r.ID), "rehearsals"), Row: rehearsalRow(r),
		Running: !r.Done(), Error: r.Error, Now: now()}
	if r.Done() && r.State != store.RehearsalFailed {
		p.Figures, p.Failures = rehearsalFigures(rep)
		p.Chart = lagChart(rep)
	}
	return Render(c, views.Rehearsal(p))
}

// Cancel stops a queued or running rehearsal; what it did so far is reported.
func (h Rehearsals) Cancel(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return store.ErrNotFound
	}
	r, err := h.Store.CancelRehearsal(c.UserContext(), Actor(c), int64(id))
	switch {
	case errors.Is(err, store.ErrConflict):
		h.Flash(c, "info", "This rehearsal had already ended; its report is below.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "The rehearsal stops within a second; the report covers what it sent until then.")
	}
	return Redirect(c, fmt.Sprintf("/rehearsals/%d", r.ID))
}

func rehearsalFigures(rep store.RehearsalReport) (figs, fails []views.RehearsalFigure) {
	limitMs := float64(engine.ShopifyAnswerLimit.Milliseconds())
	figs = []views.RehearsalFigure{
		{Label: "Orders per minute asked", Value: num(rep.AskedOrdersPerMin)},
		{Label: "Orders per minute received", Value: num(math.Round(rep.SentOrdersPerMin*10) / 10), Bad: rep.SentOrdersPerMin < 0.95*rep.AskedOrdersPerMin,
			Note: fmt.Sprintf("%d orders and %d stock updates sent in %.1f s", rep.OrdersSent, rep.UpdatesSent, rep.SendSeconds)},
		{Label: "Orders per minute synced", Value: num(math.Round(rep.ProcessedOrdersPerMin*10) / 10), Note: "from the first delivery until the queue was empty"},
		{Label: "Webhooks accepted", Value: fmt.Sprintf("%d of %d", rep.WebhooksAccepted, rep.WebhooksAccepted+rep.WebhooksRefused), Bad: rep.WebhooksRefused > 0},
		{Label: "Webhook answer time, median", Value: fmt.Sprintf("%s ms", num(rep.AnswerP50Ms)), Note: "Shopify waits 5 s at most"},
		{Label: "Webhook answer time, 99 in 100", Value: fmt.Sprintf("%s ms", num(rep.AnswerP99Ms)), Bad: rep.AnswerP99Ms >= limitMs,
			Note: fmt.Sprintf("slowest %s ms; %d over 5 s", num(rep.AnswerMaxMs), rep.OverLimit)},
		{Label: "Longest queue lag", Value: fmt.Sprintf("%s s", num(math.Round(rep.MaxLagSec))), Bad: rep.MaxLagSec >= 60},
		{Label: "Queue empty after the last delivery", Value: fmt.Sprintf("%.1f s", rep.DrainSeconds), Bad: !rep.Drained,
			Note: map[bool]string{true: "", false: fmt.Sprintf("not empty: %d syncs still waited when the rehearsal stopped watching", rep.Waiting)}[rep.Drained]},
	}
	if rep.Variants > 0 {
		figs = append(figs, endToEndFigures(rep)...)
	} else {
		// Reports of rehearsals that sent made-up products: intake only.
		figs = append(figs, views.RehearsalFigure{Label: "API calls to the connected systems", Value: strconv.Itoa(rep.APICalls), Note: fmt.Sprintf("%d failed", rep.APIFailed), Bad: rep.APIFailed > 0})
	}
	figs = append(figs, views.RehearsalFigure{Label: "Syncs", Value: strconv.Itoa(rep.Syncs), Note: fmt.Sprintf("%d succeeded, %d failed or refused, %d still waiting", rep.Succeeded, rep.Failed, rep.Waiting)})
	classes := make([]string, 0, len(rep.FailedByClass))
	for k := range rep.FailedByClass {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	for _, k := range classes {
		fails = append(fails, views.RehearsalFigure{Label: failureClassLabel(k), Value: strconv.Itoa(rep.FailedByClass[k]), Note: "syncs"})
	}
	return figs, fails
}

// endToEndFigures are the figures of a rehearsal whose orders were made of
// mapped variants: what reached the ERP, how fast, and what it cost in the
// connected systems' API budgets.
func endToEndFigures(rep store.RehearsalReport) []views.RehearsalFigure {
	erps := strings.Join(rep.Targets, " and ")
	budget := "no answer reported a cost"
	if rep.ShopifyMax > 0 {
		budget = fmt.Sprintf("the bucket went down to %s of %s", vocab.Thousands(int(rep.ShopifyLowest)), vocab.Thousands(int(rep.ShopifyMax)))
	}
	return []views.RehearsalFigure{
		{Label: "Orders created in " + erps, Value: fmt.Sprintf("%s of %s", vocab.Thousands(rep.OrdersSynced), vocab.Thousands(rep.OrdersSent)), Bad: rep.OrdersSynced < rep.OrdersSent,
			Note: fmt.Sprintf("made of %d mapped variants", rep.Variants)},
		{Label: "Orders per minute created in " + erps, Value: num(math.Round(rep.SyncedOrdersPerMin*10) / 10), Bad: rep.SyncedOrdersPerMin < 0.95*rep.AskedOrdersPerMin,
			Note: "from the first delivery until the last order was created"},
		{Label: "Order: Shopify sent it → created in " + erps, Value: fmt.Sprintf("%s ms median, %s ms for 99 in 100", num(math.Round(rep.OrderE2EP50Ms)), num(math.Round(rep.OrderE2EP99Ms))),
			Bad: rep.OrderE2EP99Ms >= 60_000},
		stockFigure(rep, erps),
		{Label: "Shopify API budget", Value: fmt.Sprintf("spent %s cost points; %s", vocab.Thousands(int(math.Round(rep.ShopifyCost))), budget), Bad: rep.ShopifyThrottled > 0,
			Note: fmt.Sprintf("%s calls, %d answered THROTTLED", vocab.Thousands(rep.ShopifyCalls), rep.ShopifyThrottled)},
		{Label: "Calls to " + erps, Value: vocab.Thousands(rep.OdooCalls), Note: fmt.Sprintf("%d failed", rep.OdooFailed), Bad: rep.OdooFailed > 0},
	}
}

// stockFigure accounts for every stock level sent: applied, superseded by a
// newer level of the same item at the same location (not sent, and rightly
// so: the newer one was), failed, or still waiting. Reports from before the
// superseded levels were counted have no receivers recorded and show the
// applied ones only.
func stockFigure(rep store.RehearsalReport, erps string) views.RehearsalFigure {
	timing := fmt.Sprintf("%s ms median, %s ms for 99 in 100 from Shopify sending them", num(math.Round(rep.StockE2EP50Ms)), num(math.Round(rep.StockE2EP99Ms)))
	if rep.StockReceivers == 0 {
		return views.RehearsalFigure{Label: "Stock levels applied in " + erps, Value: fmt.Sprintf("%s of %s", vocab.Thousands(rep.StockSynced), vocab.Thousands(rep.UpdatesSent)),
			Note: fmt.Sprintf("at %d mapped locations; %s (a level superseded by a newer one is skipped, not applied)", rep.Locations, timing)}
	}
	sent := rep.UpdatesSent * rep.StockReceivers
	note := fmt.Sprintf("%s superseded by a newer level of the same item at the same location (not sent: the newer one was), %s failed",
		vocab.Thousands(rep.StockSuperseded), vocab.Thousands(rep.StockFailed))
	if rep.StockWaiting > 0 {
		note += fmt.Sprintf(", %s still waiting", vocab.Thousands(rep.StockWaiting))
	}
	if missing := sent - rep.StockSynced - rep.StockSuperseded - rep.StockFailed - rep.StockWaiting; missing > 0 {
		note += fmt.Sprintf(", %s never reached the queue (see the webhooks refused)", vocab.Thousands(missing))
	}
	if rep.StockReceivers > 1 {
		note += fmt.Sprintf("; each level goes to %d systems", rep.StockReceivers)
	}
	note += fmt.Sprintf("; at %d mapped locations; %s", rep.Locations, timing)
	return views.RehearsalFigure{Label: "Stock levels applied in " + erps, Value: fmt.Sprintf("%s of %s", vocab.Thousands(rep.StockSynced), vocab.Thousands(sent)),
		Note: note, Bad: rep.StockFailed > 0 || rep.StockSynced+rep.StockSuperseded+rep.StockFailed < sent}
}

func failureClassLabel(k string) string {
	switch k {
	case "transient":
		return "The other system was briefly unavailable"
	case "rate_limited":
		return "Slowed down by the other system's rate limit"
	case "auth":
		return "Access refused"
	case "validation":
		return "Refused by the other system as invalid"
	case "unmapped":
		return "Product or record not mapped"
	case "ownership":
		return "Not allowed by the sources of truth"
	}
	return "Other: " + k
}

// lagChart draws the queue lag samples as a polyline, scaled to at least
// one minute so that the 1-minute line is always on the chart.
func lagChart(rep store.RehearsalReport) views.LagChart {
	ch := views.LagChart{Width: 300, Height: 60, LimitY: -1}
	top := math.Max(60, rep.MaxLagSec*1.1)
	end := 1.0
	for _, s := range rep.Lag {
		end = math.Max(end, s.AtSec)
	}
	var pts []string
	for _, s := range rep.Lag {
		x := s.AtSec / end * float64(ch.Width)
		y := float64(ch.Height) - s.LagSec/top*float64(ch.Height)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
	}
	ch.Points = strings.Join(pts, " ")
	ch.LimitY = int(math.Round(float64(ch.Height) - 60/top*float64(ch.Height)))
	ch.MaxLabel = fmt.Sprintf("%s s", num(math.Round(top)))
	ch.EndLabel = fmt.Sprintf("%s s", num(math.Round(end)))
	ch.Summary = fmt.Sprintf("%d samples over %s s; the queue lagged %s s at most (the dashed line is 1 minute).", len(rep.Lag), num(math.Round(end)), num(math.Round(rep.MaxLagSec)))
	return ch
}
