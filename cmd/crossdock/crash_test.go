package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// serveChildEnv makes the test binary run `crossdock serve` instead of the
// tests (TestMain), so the crash test can kill a real server process.
const serveChildEnv = "CROSSDOCK_TEST_SERVE_CHILD"

// serveChild runs serve from the environment, as `crossdock serve` does,
// with the engine's waits shortened so that the test stays short: a sync left
// running by the killed process is picked up after 5 s instead of 3 minutes,
// retries start at 50 ms instead of 2 minutes, and an open circuit breaker
// closes again after 2 s instead of 30.
func serveChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := LoadConfig(os.Getenv)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.slogLevel()}))
	err := serveWith(ctx, cfg, log, io.Discard, func(c *engine.Config) {
		c.JobTimeout, c.RescueAfter = 6*time.Second, 7*time.Second
		c.RetryBase, c.MaxAttempts, c.BreakerCooldown = 50*time.Millisecond, 12, 2*time.Second
		c.IntakeInterval, c.FetchPollInterval = 20*time.Millisecond, 50*time.Millisecond
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crossdock:", err)
		return 1
	}
	return 0
}

const crashSecret = "crash-test-secret-key-0123456789abcdef"

// server is one run of the server process.
type server struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{} // closed once the process has ended and cmd.ProcessState is set
}

// wait waits for the process to end (one goroutine calls cmd.Wait).
func (s *server) wait() { <-s.done }

// ended reports whether the process has ended, without waiting.
func (s *server) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// lockedBuffer collects the process's output; the test reads it meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServer(t *testing.T, env []string, base string) *server {
	t.Helper()
	s := &server{log: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(os.Args[0], "-test.run=^$")
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	require.NoError(t, s.cmd.Start())
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		if !s.ended() {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			s.wait()
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	deadline := waitDeadline(t)
	for {
		res, err := http.Get(base + "/login")
		if err == nil {
			res.Body.Close()
			return s
		}
		if s.ended() {
			require.FailNow(t, "the server exited before answering", "%v\n%s", s.cmd.ProcessState, s.log.String())
		}
		require.True(t, time.Now().Before(deadline), "the server did not start: %v\n%s", err, s.log.String())
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKillNineUnderLoadLosesNothingAndDuplicatesNothing runs the real server
// process on its own database with the Shopify and Odoo sandboxes, posts a
// burst of signed orders/create webhooks to its webhook endpoint, kills it
// with SIGKILL while it is busy, starts it again, redelivers what it had not
// acknowledged (as Shopify retries), and checks Odoo's records and write log:
// every order became exactly one sale order, created once.
func TestKillNineUnderLoadLosesNothingAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process (about 20 s)")
	}
	t.Parallel()
	const orders = 300
	ctx := context.Background()
	setupAt := time.Now()
	url := storetest.URL(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	shop := shopsandbox.New(shopsandbox.Options{Seed: 100, Plan: "enterprise", BucketSize: 1e9, RestoreRate: 1e9})
	odoo := odoosandbox.New(odoosandbox.Options{Seed: 100})
	shopSrv, odooSrv := httptest.NewServer(shop), httptest.NewServer(odoo)
	t.Cleanup(shopSrv.Close)
	t.Cleanup(odooSrv.Close)

	// The workspace: two connections, the orders rule, approved mappings.
	box, err := secretbox.New([]byte(crashSecret))
	require.NoError(t, err)
	sys := store.SystemActor("test")
	shopConn, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": shop.Domain(), "api_base_url": shopSrv.URL},
		Secrets: map[string]string{"access_token": shop.AccessToken(), "api_secret": "whsec-crash"}})
	require.NoError(t, err)
	db, _, _, key := odoo.Credentials()
	odooConn, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
		Environment: vocab.EnvTest, Settings: map[string]string{"url": odooSrv.URL, "database": db, "protocol": "json2"},
		Secrets: map[string]string{"api_key": key}})
	require.NoError(t, err)
	_, err = st.SaveSourceRule(ctx, sys, store.SourceRuleInput{Family: vocab.Orders, Master: shopConn.ID, Receivers: []int64{odooConn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)
	mapVariants(t, st, shop.Variants()[:20], odoo, shopConn.ID, odooConn.ID)

	// The orders, placed in Shopify; their webhooks are sent below.
	variants, customers := shop.Variants()[:20], customersOf(shop)
	require.NotEmpty(t, customers)
	var payloads [][]byte
	var gids []string
	for i := range orders {
		v := variants[i%len(variants)]
		o, err := shop.AddOrder(shopsandbox.NewOrder{CustomerID: customers[i%len(customers)], Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 1 + i%3}}})
		require.NoError(t, err)
		p, err := shop.OrderCreatePayload(o.GID())
		require.NoError(t, err)
		payloads, gids = append(payloads, p), append(gids, o.GID())
	}

	began := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	base := "http://" + addr
	env := []string{serveChildEnv + "=1", "DATABASE_URL=" + url, "CROSSDOCK_ADDR=" + addr, "CROSSDOCK_BASE_URL=" + base,
		"CROSSDOCK_SECRET_KEY=" + crashSecret, "CROSSDOCK_LOG_LEVEL=" + cmpOr(os.Getenv("CRASH_LOG_LEVEL"), "warn"), "CROSSDOCK_DATA_DIR=" + t.TempDir()}
	first := startServer(t, env, base)
	t.Logf("workspace ready in %s, server started %s later", began.Sub(setupAt).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	sender := &shopsandbox.Sender{URL: fmt.Sprintf("%s/webhooks/shopify/%d", base, shopConn.ID), Secret: "whsec-crash",
		ShopDomain: shop.Domain(), Client: &http.Client{Timeout: 5 * time.Second}}
	webhookID := func(i int) string { return "crash-" + strconv.Itoa(i) }

	// Eight senders post the burst; the server is killed once Odoo has a
	// fifth of the orders, while webhooks are still arriving and syncs run.
	var mu sync.Mutex
	var unacked []int
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				status, err := sender.Send(ctx, "orders/create", payloads[i], shopsandbox.SendOptions{WebhookID: webhookID(i), EventID: webhookID(i)})
				if err != nil || status != http.StatusOK {
					mu.Lock()
					unacked = append(unacked, i)
					mu.Unlock()
				}
			}
		}()
	}
	killed := make(chan int, 1)
	go func() {
		until := time.Now().Add(3 * time.Minute) // a backstop, not a speed: the kill waits for work done
		for saleOrderCreates(odoo) < orders/5 && time.Now().Before(until) {
			time.Sleep(20 * time.Millisecond)
		}
		_ = first.cmd.Process.Kill() // SIGKILL: no shutdown, no cleanup
		first.wait()
		killed <- saleOrderCreates(odoo)
	}()
	for i := range orders {
		next <- i
	}
	close(next)
	wg.Wait()
	atKill := <-killed
	t.Logf("killed with %d of %d sale orders in Odoo; %d webhooks not acknowledged", atKill, orders, len(unacked))
	require.Positive(t, atKill, "the server must have been working")
	require.Less(t, atKill, orders, "the server must die with work left to do")
	ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v", first.cmd.ProcessState)

	// Restarted, it finishes what was accepted; Shopify redelivers the rest
	// (same webhook ids: an event stored before the kill is not stored twice).
	restarted := time.Now()
	startServer(t, env, base)
	t.Logf("restarted after %s", time.Since(restarted).Round(time.Millisecond))
	for _, i := range unacked {
		status, err := sender.Send(ctx, "orders/create", payloads[i], shopsandbox.SendOptions{WebhookID: webhookID(i), EventID: webhookID(i)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	deadline := waitDeadline(t)
	for {
		var open, succeeded int
		require.NoError(t, st.DB.GetContext(ctx, &open, `SELECT count(*) FROM syncs WHERE flow = 'orders.shopify_odoo' AND finished_at IS NULL`))
		require.NoError(t, st.DB.GetContext(ctx, &succeeded, `SELECT count(*) FROM syncs WHERE flow = 'orders.shopify_odoo' AND status = 'succeeded'`))
		if open == 0 && succeeded >= orders {
			break
		}
		if time.Now().After(deadline) {
			var stuck []struct {
				Status   string     `db:"status"`
				Attempts int        `db:"attempts"`
				Message  string     `db:"message"`
				Next     *time.Time `db:"next_attempt_at"`
			}
			_ = st.DB.SelectContext(ctx, &stuck, `SELECT status, attempts, message, next_attempt_at FROM syncs WHERE flow = 'orders.shopify_odoo' AND finished_at IS NULL LIMIT 8`)
			var jobs []struct {
				State string `db:"state"`
				N     int    `db:"n"`
			}
			_ = st.DB.SelectContext(ctx, &jobs, `SELECT state, count(*) AS n FROM river_job GROUP BY state`)
			var diag []string
			_ = st.DB.SelectContext(ctx, &diag, `SELECT leader_id || ' ' || elected_at::text || ' ' || expires_at::text || ' now ' || now()::text FROM river_leader
UNION ALL SELECT state || ' ' || attempt || ' ' || scheduled_at::text || ' ' || coalesce(errors::text, '') FROM river_job WHERE state <> 'completed' LIMIT 5`)
			t.Fatalf("%d of %d orders synced, %d syncs open: %+v; jobs %+v; %q", succeeded, orders, open, stuck, jobs, diag)
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Logf("burst posted and killed after %s; every order synced %s after the restart", restarted.Sub(began).Round(time.Millisecond),
		time.Since(restarted).Round(time.Millisecond))

	// Exactly once, by Odoo's own records and write log.
	byRef := map[string]int{}
	for _, so := range odoo.SaleOrders() {
		byRef[so.ClientOrderRef]++
	}
	creates := map[string]int{}
	for _, w := range odoo.Writes() {
		if w.Model == "sale.order" && w.Method == "create" {
			creates[w.Ref]++
		}
	}
	for _, g := range gids {
		require.Equal(t, 1, byRef[g], "sale orders for %s", g)
		require.Equal(t, 1, creates[g], "sale.order creates for %s", g)
	}
	require.Len(t, byRef, orders)
	var events, syncs int
	require.NoError(t, st.DB.GetContext(ctx, &events, `SELECT count(*) FROM webhook_events WHERE connection_id = $1`, shopConn.ID))
	require.NoError(t, st.DB.GetContext(ctx, &syncs, `SELECT count(*) FROM syncs WHERE flow = 'orders.shopify_odoo'`))
	require.Equal(t, orders, events, "one stored event per webhook")
	require.Equal(t, orders, syncs, "one sync per event")
}

// saleOrderCreates counts the sale orders created in Odoo, from its write
// log (cheaper to poll than reading every order).
func saleOrderCreates(odoo *odoosandbox.Server) int {
	n := 0
	for _, w := range odoo.Writes() {
		if w.Model == "sale.order" && w.Method == "create" {
			n++
		}
	}
	return n
}

// customersOf lists the customers (GIDs) of the shop's seeded orders, so
// that the test's orders are spread over many customers, as in a real sale.
func customersOf(shop *shopsandbox.Shop) []string {
	seen := map[int64]bool{}
	var out []string
	for _, o := range shop.Orders() {
		if o.CustomerID != 0 && !seen[o.CustomerID] {
			seen[o.CustomerID] = true
			out = append(out, "gid://shopify/Customer/"+strconv.FormatInt(o.CustomerID, 10))
		}
	}
	return out
}

// mapVariants maps Shopify variants to the Odoo products of the same SKU,
// through an approved change set.
func mapVariants(t *testing.T, st *store.Store, variants []shopsandbox.Variant, odoo *odoosandbox.Server, shopConn, odooConn int64) {
	t.Helper()
	ctx := context.Background()
	pw := "correct horse battery"
	admin, err := st.CreateUser(ctx, store.SystemActor("test"), store.NewUser{Email: "ada@shop.test", Name: "Ada", Role: vocab.RoleAdmin, Password: pw})
	require.NoError(t, err)
	op, err := st.CreateUser(ctx, store.SystemActor("test"), store.NewUser{Email: "olga@shop.test", Name: "Olga", Role: vocab.RoleOperator, Password: pw})
	require.NoError(t, err)
	products := map[string]int{}
	for _, p := range odoo.Products() {
		products[p.DefaultCode] = p.ID
	}
	var items []store.ItemInput
	for _, v := range variants {
		pid, ok := products[v.SKU]
		if !ok {
			continue
		}
		items = append(items,
			store.ItemInput{EntityType: "variant", ConnectionID: shopConn, EntityKey: v.SKU, ExternalID: v.GID(), SKU: store.Str(v.SKU)},
			store.ItemInput{EntityType: "variant", ConnectionID: odooConn, EntityKey: v.SKU, ExternalID: strconv.Itoa(pid), SKU: store.Str(v.SKU)})
	}
	opA, adminA := store.Actor{UserID: op.ID, Label: op.Email}, store.Actor{UserID: admin.ID, Label: admin.Email}
	cs, err := st.CreateChangeSet(ctx, opA, store.NewChangeSet{Reason: "crash test", Items: items})
	require.NoError(t, err)
	_, err = st.SubmitChangeSet(ctx, opA, cs.ID)
	require.NoError(t, err)
	_, err = st.ApproveChangeSet(ctx, adminA, cs.ID, "")
	require.NoError(t, err)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// waitDeadline is when a wait for the server gives up: shortly before the
// test binary's own deadline (go test -timeout), or in 5 minutes without
// one. Under -race on a busy machine starting the server and draining the
// burst take far longer than on an idle one; a fixed limit would be a speed
// check.
func waitDeadline(t *testing.T) time.Time {
	if end, ok := t.Deadline(); ok {
		return end.Add(-10 * time.Second)
	}
	return time.Now().Add(5 * time.Minute)
}
