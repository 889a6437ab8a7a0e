// Package rehearsal runs peak rehearsals: signed Shopify webhooks at a
// chosen rate POSTed to the console's own endpoint, made of mapped variants
// so that they become real orders and stock in a test ERP, then a report of
// what kept up. It is the only production code besides the demo that uses a
// sandbox twin (the Shopify sandbox's signed sender), and it sits above the
// engine's core, on its queue.
package rehearsal

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/mask"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// queueRehearsals runs peak rehearsals, one at a time per replica.
const queueRehearsals = "rehearsals"

// Service starts and runs peak rehearsals on the engine's queue, against
// the console's own webhook address (the engine's BaseURL).
type Service struct {
	e        *engine.Engine
	st       *store.Store
	box      *secretbox.Box
	log      *slog.Logger
	baseURL  string
	rulesTTL time.Duration
}

// New adds the rehearsals to a built engine, before it starts: their queue
// and job.
func New(e *engine.Engine) (*Service, error) {
	ec := e.Config()
	s := &Service{e: e, st: ec.Store, box: e.SecretBox(), log: ec.Logger, baseURL: ec.BaseURL, rulesTTL: ec.RulesTTL}
	if err := e.AddQueue(queueRehearsals, 1); err != nil {
		return nil, err
	}
	engine.AddWorker(e, &worker{s: s})
	return s, nil
}

// ShopifyAnswerLimit is how long Shopify waits for a webhook answer before it
// counts the delivery as failed.
const ShopifyAnswerLimit = 5 * time.Second

// Args runs one peak rehearsal.
type Args struct {
	ID int64 `json:"id"`
	// DrainLimit bounds the wait for the queue to empty after the last
	// delivery [the rehearsal's duration, at least 1 min, at most 15 min].
	DrainLimit time.Duration `json:"drain_limit,omitempty"`
}

// Kind names the job.
func (Args) Kind() string { return "crossdock_rehearsal" }

type worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

func drainLimit(a Args, r store.Rehearsal) time.Duration {
	if a.DrainLimit > 0 {
		return a.DrainLimit
	}
	return min(max(time.Duration(r.DurationSeconds)*time.Second, time.Minute), 15*time.Minute)
}

// Timeout lets a rehearsal run its whole length plus its drain.
func (w *worker) Timeout(j *river.Job[Args]) time.Duration {
	return 2*time.Hour + 20*time.Minute
}

func (w *worker) Work(ctx context.Context, j *river.Job[Args]) error {
	return w.s.run(ctx, j.Args)
}

// BusiestOrderHour returns the most orders Crossdock synced in one hour
// over the last 30 days (rehearsals left out), and when; zero when none.
func (s *Service) BusiestOrderHour(ctx context.Context) (int, time.Time, error) {
	return s.st.BusiestOrderHour(ctx, time.Now().Add(-30*24*time.Hour))
}

// ErrNoBusiestHour refuses a "multiple of your busiest hour" rehearsal when no
// order was ever synced.
var ErrNoBusiestHour = vocab.FieldErrors{"multiple": "Crossdock has not synced any order in the last 30 days, so there is no busiest hour to multiply: ask for a number of orders per minute instead."}

// StartRehearsal records a rehearsal and queues its run in one transaction.
// A best-hour profile gets its rate from the busiest recorded hour.
func (s *Service) StartRehearsal(ctx context.Context, a store.Actor, in store.NewRehearsal, args Args) (store.Rehearsal, error) {
	if in.Profile == store.RehearsalBestHour {
		best, _, err := s.BusiestOrderHour(ctx)
		if err != nil {
			return store.Rehearsal{}, err
		}
		if best == 0 {
			return store.Rehearsal{}, ErrNoBusiestHour
		}
		in.OrdersPerMin = math.Round(float64(best)*in.Multiple/60*10) / 10
		if in.OrdersPerMin <= 0 {
			in.OrdersPerMin = 0.1
		}
	}
	var r store.Rehearsal
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if r, err = tx.CreateRehearsal(ctx, a, in); err != nil {
			return err
		}
		// After CreateRehearsal, which refuses production and non-Shopify
		// connections in its own words; refusing here rolls the row back.
		set, err := s.Ready(ctx, in.ConnectionID, in.UpdatesPerOrder)
		if err != nil {
			return err
		}
		// Every rehearsal writes into test systems only today; the scope is
		// checked all the same, so that stays true for whoever starts one.
		if err := tx.MayWriteInto(ctx, a, append([]int64{in.ConnectionID}, set.Targets...)...); err != nil {
			return err
		}
		args.ID = r.ID
		return s.e.InsertJobTx(ctx, tx, args, &river.InsertOpts{Queue: queueRehearsals, MaxAttempts: 1})
	})
	return r, err
}

// delivery is one webhook the rehearsal sends.
type delivery struct {
	topic   string
	payload []byte
}

// run drives the load: signed orders/create and
// inventory_levels/update webhooks POSTed to the console's own endpoint at the
// asked rate, while it samples the queue lag; then it waits for the queue to
// drain and writes the report.
func (s *Service) run(ctx context.Context, a Args) error {
	r, err := s.st.Rehearsal(ctx, a.ID)
	if err != nil {
		return err
	}
	ok, err := s.st.StartRehearsalRun(ctx, r.ID)
	if err != nil || !ok {
		return err // cancelled before it started
	}
	fail := func(msg string) error {
		return s.st.FinishRehearsal(context.WithoutCancel(ctx), r.ID, store.RehearsalFailed, store.RehearsalReport{}, "", msg)
	}
	if s.baseURL == "" {
		return fail("Crossdock does not know its own address (CROSSDOCK_BASE_URL), so the rehearsal cannot reach its webhook endpoint: set it and start again.")
	}
	conn, err := s.st.ConnectionByID(ctx, r.ConnectionID)
	if err != nil {
		return fail("The connection was removed before the rehearsal started.")
	}
	if conn.IsProduction() {
		return fail("The connection was switched to production: a rehearsal only runs against test systems.")
	}
	secrets, err := store.WebhookSecrets(s.box, conn, time.Now())
	if err != nil || len(secrets) == 0 {
		return fail("The connection has no readable API secret key to sign the webhooks with: enter it again on the connection.")
	}
	// The sources of truth or the mappings may have changed since it was
	// queued: check again that everything it writes goes to test systems.
	set, err := s.Ready(ctx, conn.ID, r.UpdatesPerOrder)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		return fail(fe["connection"])
	} else if err != nil {
		return err
	}
	// Every replica plans webhooks from a snapshot of the rules up to
	// RulesTTL old: rules saved just now would refuse the first deliveries.
	if w := s.rulesTTL - time.Since(set.RulesAt); w > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w):
		}
	}
	shop, _, err := s.e.ShopifyClient(ctx, conn.ID)
	if err != nil {
		return fail("Crossdock cannot call " + conn.Name + ": " + err.Error())
	}
	variants := make([]string, 0, len(set.Variants))
	for _, v := range set.Variants {
		variants = append(variants, v.ExternalID)
	}
	items, err := shop.InventoryItemIDs(ctx, variants)
	if err != nil {
		return fail("Crossdock could not read the inventory items of the mapped variants from " + conn.Name + ": " + err.Error())
	}
	if r.UpdatesPerOrder > 0 && len(items) == 0 {
		return fail(conn.Name + " does not know any of the mapped variants any more, so there is no stock to update: refresh its catalogue and check the mappings.")
	}
	// What Crossdock asks of the systems during the run: Shopify's cost
	// bucket as its answers report it, and the calls to each Odoo.
	meter := shop.MeterCost()
	defer meter.Stop() // also when the run fails before its report
	odooBefore := map[int64][2]int64{}
	odoos := map[int64]*odoo.Client{}
	for _, id := range set.Targets {
		if cl, _, err := s.e.OdooClient(ctx, id); err == nil {
			n, f := cl.Calls()
			odooBefore[id], odoos[id] = [2]int64{n, f}, cl
		}
	}
	shopBefore := shop.Stats()
	client := &http.Client{Timeout: ShopifyAnswerLimit, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	sender := &sandbox.Sender{URL: s.e.WebhookURL(conn),
		Secret: secrets[0], ShopDomain: conn.Settings["shop_domain"], Client: client}

	people, err := s.people(ctx)
	if err != nil {
		return err
	}
	run := newRehearsalRun(r, set, items, people)
	start := time.Now().Add(-time.Millisecond) // created_at of the first sync is after this

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cancelled atomic.Bool
	var lagMu sync.Mutex
	var lag []store.LagSample
	sampleEvery := max(time.Duration(r.DurationSeconds)*time.Second/60, time.Second)
	samplerDone := make(chan struct{})
	go func() { // cancel checks and queue-lag samples
		defer close(samplerDone)
		t := time.NewTicker(min(sampleEvery, time.Second))
		defer t.Stop()
		last := time.Time{}
		for {
			select {
			case <-rctx.Done():
				return
			case now := <-t.C:
				if c, err := s.st.RehearsalCancelRequested(rctx, r.ID); err == nil && c {
					cancelled.Store(true)
					cancel()
					return
				}
				if now.Sub(last) < sampleEvery {
					continue
				}
				last = now
				l, n, err := s.st.RehearsalLag(rctx, conn.ID, start, now)
				if err != nil {
					continue
				}
				lagMu.Lock()
				lag = append(lag, store.LagSample{AtSec: now.Sub(start).Seconds(), LagSec: l.Seconds(), Waiting: n})
				lagMu.Unlock()
			}
		}
	}()

	// Send: order i is due at start + i/rate; each is followed by its
	// inventory updates. Up to 64 deliveries are in flight at once.
	interval := time.Duration(float64(time.Minute) / r.OrdersPerMin)
	total := int(math.Round(r.OrdersPerMin * float64(r.DurationSeconds) / 60))
	total = max(total, 1)
	var answers []time.Duration
	var ansMu sync.Mutex
	var accepted, refused, ordersSent, updatesSent atomic.Int64
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	send := func(d delivery) {
		defer wg.Done()
		defer func() { <-sem }()
		t0 := time.Now()
		st, err := sender.Send(rctx, d.topic, d.payload, sandbox.SendOptions{})
		took := time.Since(t0)
		if errors.Is(err, context.Canceled) {
			return
		}
		ansMu.Lock()
		answers = append(answers, took)
		ansMu.Unlock()
		if err == nil && st >= 200 && st < 300 {
			accepted.Add(1)
		} else {
			refused.Add(1)
		}
	}
sending:
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			select {
			case <-rctx.Done():
				break sending
			case <-time.After(w):
			}
		}
		for _, d := range run.order(i) {
			select {
			case <-rctx.Done():
				break sending
			case sem <- struct{}{}:
			}
			if d.topic == "orders/create" {
				ordersSent.Add(1)
			} else {
				updatesSent.Add(1)
			}
			wg.Add(1)
			go send(d)
		}
	}
	wg.Wait()
	sentAt := time.Now()

	// Drain: wait for every stored event to become syncs and every sync to
	// end (or the limit).
	drained := false
	deadline := sentAt.Add(drainLimit(a, r))
	for !cancelled.Load() && time.Now().Before(deadline) {
		_, unprocessed, err1 := s.st.RehearsalWebhooks(rctx, conn.ID, start)
		_, waiting, err2 := s.st.RehearsalLag(rctx, conn.ID, start, time.Now())
		if err1 == nil && err2 == nil && unprocessed == 0 && waiting == 0 {
			drained = true
			break
		}
		select {
		case <-rctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	endAt := time.Now()
	cancel()
	<-samplerDone

	fctx := context.WithoutCancel(ctx)
	rep := store.RehearsalReport{AskedOrdersPerMin: r.OrdersPerMin, OrdersSent: int(ordersSent.Load()), UpdatesSent: int(updatesSent.Load()),
		WebhooksAccepted: int(accepted.Load()), WebhooksRefused: int(refused.Load()), SendSeconds: sentAt.Sub(start).Seconds(),
		DrainSeconds: endAt.Sub(sentAt).Seconds(), Drained: drained, Cancelled: cancelled.Load(), Lag: lag}
	if rep.SendSeconds > 0 {
		// Orders per minute over the time the load was asked to last (or took,
		// when sending fell behind).
		window := max(rep.SendSeconds, float64(total-1)*interval.Seconds())
		if window > 0 {
			rep.SentOrdersPerMin = float64(rep.OrdersSent) / window * 60
		}
	}
	slices.Sort(answers)
	rep.AnswerP50Ms, rep.AnswerP99Ms = ms(quantile(answers, 0.50)), ms(quantile(answers, 0.99))
	if len(answers) > 0 {
		rep.AnswerMaxMs = ms(answers[len(answers)-1])
	}
	for _, d := range answers {
		if d >= ShopifyAnswerLimit {
			rep.OverLimit++
		}
	}
	// A final lag sample at the end.
	if l, n, err := s.st.RehearsalLag(fctx, conn.ID, start, endAt); err == nil {
		rep.Lag = append(rep.Lag, store.LagSample{AtSec: endAt.Sub(start).Seconds(), LagSec: l.Seconds(), Waiting: n})
	}
	for _, s := range rep.Lag {
		rep.MaxLagSec = max(rep.MaxLagSec, s.LagSec)
	}
	byStatus, byClass, byFlow, err := s.st.RehearsalSyncCounts(fctx, conn.ID, start)
	if err != nil {
		return fail("The rehearsal ran but its results could not be read: " + err.Error())
	}
	rep.ByStatus, rep.FailedByClass = byStatus, byClass
	// Every stock level sent becomes one sync per receiving ERP, including
	// a level superseded by a newer one of the same item and location: it is
	// a skipped sync, whether intake or the worker found the newer one.
	stock := byFlow[engine.FlowStockLevels]
	rep.StockReceivers = len(set.Stock)
	rep.StockSynced, rep.StockSuperseded = stock[string(vocab.SyncSucceeded)], stock[string(vocab.SyncSkipped)]
	rep.StockFailed = stock[string(vocab.SyncFailed)] + stock[string(vocab.SyncRejected)]
	rep.StockWaiting = stock[string(vocab.SyncPending)] + stock[string(vocab.SyncRunning)] + stock[string(vocab.SyncRetrying)]
	for st, n := range byStatus {
		rep.Syncs += n
		switch st {
		case "succeeded":
			rep.Succeeded += n
		case "failed", "rejected":
			rep.Failed += n
		case "pending", "running", "retrying":
			rep.Waiting += n
		}
	}
	if done := rep.Syncs - rep.Waiting; done > 0 {
		rep.ProcessedOrdersPerMin = float64(rep.OrdersSent) * float64(done) / float64(rep.Syncs) / max(endAt.Sub(start).Seconds(), 1) * 60
	}
	rep.Variants, rep.Locations, rep.Targets = len(set.Variants), len(set.Locations), set.Names
	lat, err := s.st.RehearsalLatency(fctx, conn.ID, start)
	if err != nil {
		return fail("The rehearsal ran but its results could not be read: " + err.Error())
	}
	if o, ok := lat[string(vocab.Orders)]; ok {
		rep.OrdersSynced, rep.OrderE2EP50Ms, rep.OrderE2EP99Ms = o.Succeeded, round1(o.P50Ms), round1(o.P99Ms)
		// Over the time the orders were asked to take, or took.
		window := max(o.LastFinished.Sub(start).Seconds(), float64(total-1)*interval.Seconds(), 1)
		rep.SyncedOrdersPerMin = float64(o.Succeeded) / window * 60
	}
	if s, ok := lat[string(vocab.Inventory)]; ok {
		rep.StockE2EP50Ms, rep.StockE2EP99Ms = round1(s.P50Ms), round1(s.P99Ms)
	}
	// The clients may have been rebuilt during the run (a connection edited):
	// the counts then cover the run until that moment.
	use := meter.Stop()
	shopAfter := shop.Stats()
	rep.ShopifyCalls = int(shopAfter.Calls - shopBefore.Calls)
	rep.ShopifyCost, rep.ShopifyLowest, rep.ShopifyMax, rep.ShopifyThrottled = use.Spent, use.Lowest, use.Maximum, int(use.Throttled)
	for id, cl := range odoos {
		n, f := cl.Calls()
		rep.OdooCalls += int(n - odooBefore[id][0])
		rep.OdooFailed += int(f - odooBefore[id][1])
	}
	rep.APICalls = rep.ShopifyCalls + rep.OdooCalls
	rep.APIFailed = rep.OdooFailed
	best, _, _ := s.BusiestOrderHour(fctx)
	state := store.RehearsalFinished
	if rep.Cancelled {
		state = store.RehearsalCancelled
	}
	return s.st.FinishRehearsal(fctx, r.ID, state, rep, Verdict(r, rep, best), "")
}

func ms(d time.Duration) float64 { return round1(float64(d) / float64(time.Millisecond)) }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// KeptUp reports whether a rehearsal's report shows Crossdock keeping up:
// it received at least 95 % of the asked rate, answered every webhook within
// Shopify's limit at p99, its queue never lagged a minute, and (in reports
// of end-to-end rehearsals, which name their variants) orders were created in
// the ERP at 95 % of the asked rate: below that the lag grows for as long as
// the peak lasts, even if a short rehearsal ends before it reaches a minute.
func KeptUp(rep store.RehearsalReport) bool {
	return rep.SentOrdersPerMin >= 0.95*rep.AskedOrdersPerMin && rep.AnswerP99Ms < float64(ShopifyAnswerLimit/time.Millisecond) &&
		rep.WebhooksRefused == 0 && rep.Drained && rep.MaxLagSec < 60 && !syncedTooSlowly(rep)
}

// syncedTooSlowly: an end-to-end rehearsal whose orders reached the ERP at
// under 95 % of the asked rate.
func syncedTooSlowly(rep store.RehearsalReport) bool {
	return rep.Variants > 0 && rep.OrdersSent > 0 && rep.SyncedOrdersPerMin < 0.95*rep.AskedOrdersPerMin
}

func noOrderSynced(rep store.RehearsalReport) bool {
	return rep.Variants > 0 && rep.OrdersSent > 0 && rep.OrdersSynced == 0
}

func erpNames(rep store.RehearsalReport) string {
	if len(rep.Targets) == 0 {
		return "the ERP"
	}
	return strings.Join(rep.Targets, " and ")
}

// Verdict says in one or two plain sentences what the rehearsal showed.
func Verdict(r store.Rehearsal, rep store.RehearsalReport, busiestHour int) string {
	load := loadWords(r.OrdersPerMin, busiestHour)
	if rep.Cancelled {
		return fmt.Sprintf("Cancelled after %s orders of the load of %s: the figures cover only what was sent.", strconv.Itoa(rep.OrdersSent), load)
	}
	if KeptUp(rep) {
		v := fmt.Sprintf("Keeps up with %s: webhooks were answered in %s at worst for 99 in 100 (Shopify allows 5 s) and the queue never fell more than %s behind.",
			load, fmtMs(rep.AnswerP99Ms), fmtSec(rep.MaxLagSec))
		if rep.OrdersSynced > 0 {
			v += fmt.Sprintf(" %d orders reached %s, within %s of Shopify sending them for 99 in 100.", rep.OrdersSynced, erpNames(rep), fmtMs(rep.OrderE2EP99Ms))
		}
		if rep.Failed > 0 {
			v += fmt.Sprintf(" %d of %d syncs failed, mostly %s: see the failures below.", rep.Failed, rep.Syncs, topClass(rep.FailedByClass))
		}
		return v
	}
	var why []string
	switch {
	case noOrderSynced(rep):
		w := "no order reached " + erpNames(rep)
		if len(rep.FailedByClass) > 0 {
			w += " (the syncs failed mostly " + topClass(rep.FailedByClass) + ")"
		}
		why = append(why, w)
	case syncedTooSlowly(rep):
		why = append(why, fmt.Sprintf("orders were created in %s at only %s a minute, so over a longer peak the queue would keep falling behind",
			erpNames(rep), fmtRate(rep.SyncedOrdersPerMin)))
	}
	if rep.SentOrdersPerMin < 0.95*rep.AskedOrdersPerMin {
		why = append(why, fmt.Sprintf("only %s orders a minute got through", fmtRate(rep.SentOrdersPerMin)))
	}
	if rep.AnswerP99Ms >= float64(ShopifyAnswerLimit/time.Millisecond) || rep.OverLimit > 0 {
		why = append(why, fmt.Sprintf("%d webhook answers took longer than Shopify's 5 s, so Shopify would count them as failed", rep.OverLimit))
	}
	if rep.WebhooksRefused > 0 {
		why = append(why, fmt.Sprintf("%d webhooks were refused or not answered", rep.WebhooksRefused))
	}
	if rep.MaxLagSec >= 60 || !rep.Drained {
		why = append(why, fmt.Sprintf("the queue lagged %s behind", fmtSec(rep.MaxLagSec)))
		if !rep.Drained {
			why[len(why)-1] += fmt.Sprintf(" and still held %d syncs when the rehearsal stopped waiting", rep.Waiting)
		}
	}
	return fmt.Sprintf("Does not keep up with %s: %s.", load, strings.Join(why, "; "))
}

// loadWords names a rehearsal's load: orders a minute, and the multiple of
// the busiest recorded hour (orders in it) when there is one.
func loadWords(perMin float64, busiestHour int) string {
	if busiestHour > 0 {
		return fmt.Sprintf("%s× your busiest hour (%s orders a minute)", fmtRate(perMin*60/float64(busiestHour)), fmtRate(perMin))
	}
	return fmtRate(perMin) + " orders a minute"
}

func fmtRate(f float64) string {
	if f == math.Trunc(f) || f >= 100 {
		return strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

func fmtMs(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " ms"
}

func fmtSec(v float64) string {
	if v >= 120 {
		return strconv.FormatFloat(math.Round(v/60), 'f', 0, 64) + " minutes"
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " s"
}

// rehearsalRun makes the rehearsal's payloads: Shopify's REST webhook
// shapes, with order ids unique to the run so that no two deliveries are the
// same event, made of the mapped variants so that every order becomes a real
// quotation in the test ERP, and stock updates of those variants' inventory
// items at mapped locations.
type rehearsalRun struct {
	r        store.Rehearsal
	base     int64
	rng      *rand.Rand
	created  time.Time
	variants []rvariant
	stocked  []rvariant // variants whose inventory item Shopify answered
	locs     []int64
	// people are the rehearsal's customers: pseudonyms (people.go).
	people []mask.Person
}

type rvariant struct {
	id, item int64 // numeric Shopify ids
	sku      string
}

func gidNum(gid string) int64 {
	n, _ := strconv.ParseInt(engine.GIDTail(gid), 10, 64)
	return n
}

func newRehearsalRun(r store.Rehearsal, set rehearsalSetup, items map[string]string, people []mask.Person) *rehearsalRun {
	// Whole milliseconds: PostgreSQL keeps microseconds, and a watermark
	// rounded up past its own level would turn that level away as stale.
	w := &rehearsalRun{r: r, base: 9_000_000_000_000 + r.ID*10_000_000, rng: rand.New(rand.NewPCG(uint64(r.ID), 8)), created: time.Now().Truncate(time.Millisecond), people: people}
	for _, v := range set.Variants {
		rv := rvariant{id: gidNum(v.ExternalID), sku: v.SKU}
		if it, ok := items[v.ExternalID]; ok {
			rv.item = gidNum(it)
			w.stocked = append(w.stocked, rv)
		}
		w.variants = append(w.variants, rv)
	}
	for _, l := range set.Locations {
		w.locs = append(w.locs, gidNum(l.ExternalID))
	}
	return w
}

type rmoney struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

type rset struct {
	ShopMoney        rmoney `json:"shop_money"`
	PresentmentMoney rmoney `json:"presentment_money"`
}

func mset(a string) rset { return rset{rmoney{a, "EUR"}, rmoney{a, "EUR"}} }

// order returns order i's deliveries: its orders/create, then the
// inventory_levels/update of each of its updates.
func (w *rehearsalRun) order(i int) []delivery {
	id := w.base + int64(i)
	now := time.Now().UTC().Format("2006-01-02T15:04:05-07:00")
	lines := min(1+w.rng.IntN(3), len(w.variants))
	type line struct {
		ID                int64  `json:"id"`
		AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
		Name              string `json:"name"`
		Price             string `json:"price"`
		PriceSet          rset   `json:"price_set"`
		Quantity          int    `json:"quantity"`
		RequiresShipping  bool   `json:"requires_shipping"`
		SKU               string `json:"sku"`
		Title             string `json:"title"`
		VariantID         int64  `json:"variant_id"`
		Vendor            string `json:"vendor"`
		TotalDiscount     string `json:"total_discount"`
		TotalDiscountSet  rset   `json:"total_discount_set"`
		FulfillableQty    int    `json:"fulfillable_quantity"`
		Taxable           bool   `json:"taxable"`
	}
	var ls []line
	total := 0.0
	// Distinct variants per order, as a checkout would list them.
	for j, k := range w.rng.Perm(len(w.variants))[:lines] {
		v := w.variants[k]
		q := 1 + w.rng.IntN(3)
		price := float64(10+w.rng.IntN(90)) + 0.99
		total += price * float64(q)
		p := strconv.FormatFloat(price, 'f', 2, 64)
		ls = append(ls, line{ID: id*10 + int64(j), AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/LineItem/%d", id*10+int64(j)),
			Name: v.sku, Price: p, PriceSet: mset(p), Quantity: q, RequiresShipping: true, SKU: v.sku, Title: v.sku,
			VariantID: v.id, Vendor: "Crossdock rehearsal", TotalDiscount: "0.00", TotalDiscountSet: mset("0.00"), FulfillableQty: q, Taxable: true})
	}
	t := strconv.FormatFloat(total, 'f', 2, 64)
	name := fmt.Sprintf("#R%d-%d", w.r.ID, i+1)
	// 1,000 customers: orders of one customer take turns on the partner,
	// as on a real peak day with some repeat buyers. Fake people, never the
	// store's own customers.
	c := int64(i % len(w.people))
	who := w.people[c]
	email := who.Email
	order := map[string]any{
		"id": id, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Order/%d", id), "cancel_reason": nil, "cancelled_at": nil,
		"contact_email": email, "created_at": now, "currency": "EUR", "current_total_price": t, "email": email,
		"financial_status": "paid", "fulfillment_status": nil, "name": name, "order_number": i + 1, "processed_at": now,
		"subtotal_price": t, "subtotal_price_set": mset(t), "test": true, "total_price": t, "total_price_set": mset(t),
		"updated_at": now, "line_items": ls, "refunds": []any{}, "fulfillments": []any{},
		"customer": map[string]any{"id": 6_000_000 + c, "email": email, "first_name": who.FirstName, "last_name": who.LastName,
			"state": "enabled", "currency": "EUR", "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Customer/%d", 6_000_000+c),
			"created_at": now, "updated_at": now},
	}
	b, _ := json.Marshal(order)
	out := []delivery{{topic: "orders/create", payload: b}}
	if len(w.stocked) == 0 || len(w.locs) == 0 {
		return out
	}
	for k := range w.r.UpdatesPerOrder {
		v := w.stocked[w.rng.IntN(len(w.stocked))]
		loc := w.locs[w.rng.IntN(len(w.locs))]
		// Each update is a distinct moment: a later updated_at per (order, update)
		// so none is turned away as stale.
		at := w.created.Add(time.Duration(i*(w.r.UpdatesPerOrder+1)+k+1) * time.Millisecond).UTC().Format(time.RFC3339Nano)
		lv, _ := json.Marshal(map[string]any{"inventory_item_id": v.item, "location_id": loc, "available": w.rng.IntN(200),
			"updated_at": at, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", loc, v.item)})
		out = append(out, delivery{topic: "inventory_levels/update", payload: lv})
	}
	return out
}

// topClass names the most frequent failure class in plain words.
func topClass(byClass map[string]int) string {
	best, n := "", -1
	for k, v := range byClass {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	switch best {
	case "unmapped":
		return "because the products are not mapped"
	case "rate_limited":
		return "on the other system's rate limit"
	case "transient":
		return "because the other system was briefly unavailable"
	case "validation":
		return "refused as invalid by the other system"
	case "auth":
		return "because access was refused"
	case "ownership":
		return "because the sources of truth do not let this store send orders (set them on the Sources of truth page)"
	}
	return "for other reasons (" + best + ")"
}

// Summary reads the kept end-to-end rehearsals of a store
// together: the heaviest load that kept up and the lightest heavier one that
// did not, with how far the queue fell behind there ("keeps up with 3× your
// busiest hour; at 5× the queue lagged 4 min behind"). Cancelled and failed
// runs, and reports of the intake only (from before rehearsals wrote to the
// ERP), are left out; with several test stores, the store of the newest
// report is read. rs is newest first. "" when there is nothing to read yet.
func Summary(rs []store.Rehearsal, busiestHour int) string {
	type run struct {
		rate float64
		rep  store.RehearsalReport
	}
	var up, down []run
	var shop int64
	for _, r := range rs {
		if r.State != store.RehearsalFinished || (shop != 0 && r.ConnectionID != shop) {
			continue
		}
		rep, err := r.Report()
		if err != nil || rep.Variants == 0 || rep.OrdersSent == 0 {
			continue
		}
		shop = r.ConnectionID
		if KeptUp(rep) {
			up = append(up, run{rep.AskedOrdersPerMin, rep})
		} else {
			down = append(down, run{rep.AskedOrdersPerMin, rep})
		}
	}
	load := func(rate float64) string { return loadWords(rate, busiestHour) }
	behind := func(r run) string {
		s := fmt.Sprintf("the queue lagged %s behind", fmtSec(r.rep.MaxLagSec))
		if syncedTooSlowly(r.rep) {
			s += fmt.Sprintf(" and orders reached %s at %s a minute", erpNames(r.rep), fmtRate(r.rep.SyncedOrdersPerMin))
		}
		return s
	}
	if len(up) == 0 && len(down) == 0 {
		return ""
	}
	if len(up) == 0 {
		low := slices.MinFunc(down, func(a, b run) int { return cmp.Compare(a.rate, b.rate) })
		return fmt.Sprintf("No rehearsal kept up yet: at %s, the lightest so far, %s. Try a lighter load to find what it keeps up with.",
			load(low.rate), behind(low))
	}
	best := slices.MaxFunc(up, func(a, b run) int { return cmp.Compare(a.rate, b.rate) })
	var next *run
	for i := range down {
		if down[i].rate > best.rate && (next == nil || down[i].rate < next.rate) {
			next = &down[i]
		}
	}
	if next == nil {
		return fmt.Sprintf("Keeps up with %s, the heaviest rehearsal so far: try a heavier one to find the limit.", load(best.rate))
	}
	return fmt.Sprintf("Keeps up with %s; at %s %s.", load(best.rate), load(next.rate), behind(*next))
}
