package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/engine/recon"
	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// dbProxy carries one replica's connections to PostgreSQL, until kill cuts
// them all at once and refuses new ones: what the database sees of a replica
// killed with SIGKILL or cut off from it. Nothing of the replica reaches the
// database afterwards, so nothing is cleaned up.
type dbProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	dead   bool
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dbProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.kill)
	return p
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.dead {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

func (p *dbProxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// holdGate holds a replica's calls to the connected systems once armed:
// every Shopify call, and Odoo's partner and sale order calls, wait until the
// replica is killed and never reach the system. It counts the Odoo stock
// reads it lets through.
type holdGate struct {
	armed      atomic.Bool
	killed     chan struct{}
	heldShop   atomic.Int64
	heldOrders atomic.Int64
	quantReads atomic.Int64

	mu         sync.Mutex
	cancelled  []time.Time // when held calls ended because their job's context did
	firstOrder time.Time   // the first partner or sale order call
}

func (g *holdGate) orderCallAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.firstOrder
}

func (g *holdGate) cancelledAt() []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.cancelled)
}

func newHoldGate() *holdGate { return &holdGate{killed: make(chan struct{})} }

func (g *holdGate) RoundTrip(req *http.Request) (*http.Response, error) {
	p := req.URL.Path
	odoo := strings.Contains(p, "/json/2/")
	if strings.Contains(p, "/stock.quant/") {
		g.quantReads.Add(1)
	}
	orderCall := odoo && (strings.Contains(p, "/sale.order/") || strings.Contains(p, "/res.partner/"))
	if orderCall {
		g.mu.Lock()
		if g.firstOrder.IsZero() {
			g.firstOrder = time.Now()
		}
		g.mu.Unlock()
	}
	if g.armed.Load() {
		var held *atomic.Int64
		switch {
		case !odoo:
			held = &g.heldShop
		case orderCall:
			held = &g.heldOrders
		}
		if held != nil {
			held.Add(1)
			select {
			case <-req.Context().Done():
				g.mu.Lock()
				g.cancelled = append(g.cancelled, time.Now())
				g.mu.Unlock()
			case <-g.killed:
			}
			return nil, errors.New("the replica was killed")
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// replicas is a test database shared by two engines: A (the harness's
// engine) reaches it through a proxy the test cuts, B directly. Each calls
// the systems through its own gate.
type replicas struct {
	env          *env
	a            *engine.Engine
	cfgB         engine.Config
	gateA, gateB *holdGate
	killDB       func()
	// reconA is reconciliation on replica A; B runs its own.
	reconA *recon.Service
}

// The tests' beat and dead-after, much shorter than the defaults (5 s, 20 s)
// so that a takeover takes seconds, not long enough that a busy machine's
// slow beat (a second copy of the suite beside this one) makes the replica
// taking over cut itself off: it does so when its beat stalls for three
// quarters of the dead-after.
const testBeat, testDeadAfter = 250 * time.Millisecond, 4 * time.Second

func twoReplicas(t *testing.T, beat, dead time.Duration) *replicas {
	t.Helper()
	r := &replicas{gateA: newHoldGate(), gateB: newHoldGate()}
	r.env = setup(t, options{configure: func(c *engine.Config) {
		c.ReplicaBeat, c.ReplicaDeadAfter = beat, dead
		r.cfgB = *c
		r.cfgB.HTTPClient = &http.Client{Timeout: time.Minute, Transport: r.gateB}
		u, err := url.Parse(storetest.URLOf(t, c.Store))
		if err != nil || u.Host == "" {
			t.Skip("the test database's address is not a URL")
		}
		proxy := newDBProxy(t, u.Host)
		r.killDB = proxy.kill
		u.Host = proxy.ln.Addr().String()
		db, err := sqlx.Open("postgres", u.String())
		require.NoError(t, err)
		db.SetMaxOpenConns(30)
		db.SetMaxIdleConns(30)
		c.Store = store.New(db)
		c.HTTPClient = &http.Client{Timeout: time.Minute, Transport: r.gateA}
	}})
	r.a = r.env.eng
	var err error
	r.reconA, err = recon.New(r.a, recon.Config{})
	require.NoError(t, err)
	t.Cleanup(func() {
		// Let the killed replica's goroutines end; it can no longer write.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped := make(chan struct{})
		go func() { _ = r.a.Stop(sctx); close(stopped) }()
		select {
		case <-stopped:
		case <-sctx.Done():
		}
	})
	return r
}

// startB starts replica B on the database directly.
func (r *replicas) startB(t *testing.T) {
	t.Helper()
	r.cfgB.Store = r.env.st
	b, err := engine.New(r.cfgB)
	require.NoError(t, err)
	_, err = recon.New(b, recon.Config{})
	require.NoError(t, err)
	a := r.env.eng
	r.env.eng = b
	r.env.start(t)
	r.env.eng = a
}

// Two engines on one database. Replica A runs a reconciliation (its Odoo
// snapshot pulled, the Shopify one under way), a bulk replay (its failures
// taken, its first chunk waiting) and three order replays (waiting on Odoo);
// then it is killed: its database connections cut, its context cancelled,
// nothing cleaned up. Replica B finishes all of it, each well within two
// minutes: the run resumes from the snapshot it had and says so, the bulk
// replay resumes and says so, and every order reaches Odoo exactly once.
// CROSSDOCK_TAKEOVER_DEFAULTS=1 runs it with the default beat and dead-after
// (5 s, 20 s) to measure the takeover times a merchant gets.
func TestDeadReplicaWorkIsTakenOver(t *testing.T) {
	t.Parallel()
	beat, dead := testBeat, testDeadAfter
	if os.Getenv("CROSSDOCK_TAKEOVER_DEFAULTS") != "" {
		beat, dead = 0, 0 // the engine's defaults
	}
	began := time.Now()
	r := twoReplicas(t, beat, dead)
	e, a, gateA, gateB, killDB := r.env, r.a, r.gateA, r.gateB, r.killDB
	ctx := context.Background()
	e.mapInDB(t)
	ctxA, cancelA := context.WithCancel(ctx)
	require.NoError(t, a.Start(ctxA))

	t.Logf("set up in %s", time.Since(began).Round(time.Millisecond))
	// Six orders, failed as not mapped; the three replayed one by one are of
	// three customers (a customer's orders take turns).
	v := e.shop.Variants()[0]
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", v.GID())
	var fails []store.Sync
	customers := e.shop.ShopCustomers()
	for i := range 6 {
		o, err := e.shop.AddOrder(shopsandbox.NewOrder{CustomerID: customers[i%len(customers)].GID(), Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 1}}})
		require.NoError(t, err)
		payload, err := e.shop.OrderCreatePayload(o.GID())
		require.NoError(t, err)
		s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
		require.Equal(t, vocab.ClassUnmapped, s.Class(), s.Message)
		fails = append(fails, s)
	}
	e.mapVariant(v)
	t.Logf("failures made in %s", time.Since(began).Round(time.Millisecond))
	gateA.armed.Store(true)

	// Three order replays, held on Odoo by A.
	var replays []int64
	for _, f := range fails[:3] {
		r, err := a.Replay(ctx, store.SystemActor("Ana"), f.ID)
		require.NoError(t, err)
		replays = append(replays, r.ID)
	}
	// A bulk replay of the other three: its first step takes them, the
	// next waits on their rows, which the test holds (a long chunk).
	lock, err := e.st.DB.BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer lock.Rollback() //nolint:errcheck
	var ids []int64
	for _, f := range fails[3:] {
		ids = append(ids, f.ID)
	}
	_, err = lock.ExecContext(ctx, `SELECT id FROM syncs WHERE id = ANY($1) FOR UPDATE`, pq.Array(ids))
	require.NoError(t, err)
	batch, err := a.StartReplayBatch(ctx, store.SystemActor("Ana"), store.NewReplayBatch{IDs: ids, Description: "the other three"})
	require.NoError(t, err)
	// A comparison of stock: Odoo decides it and is pulled first; the
	// Shopify export is held.
	run, err := r.reconA.RequestReconciliation(ctx, store.ReconInventory, "manual", "test")
	require.NoError(t, err)

	wait(t, "replica A to hold the comparison, the bulk replay and the orders", func() bool {
		r, err := e.st.ReconRunByID(ctx, run.ID)
		require.NoError(t, err)
		b, err := e.st.ReplayBatchByID(ctx, batch.ID)
		require.NoError(t, err)
		return slices.Contains(r.Pulled, e.odooConn.ID) && gateA.heldShop.Load() > 0 &&
			b.Taken != nil && gateA.heldOrders.Load() >= 3
	})
	require.Zero(t, gateB.quantReads.Load())
	t.Logf("replica A holds the work after %s", time.Since(began).Round(time.Millisecond))

	r.startB(t)

	killed := time.Now()
	killDB()
	cancelA()
	close(gateA.killed)
	require.NoError(t, lock.Rollback())

	limit := killed.Add(2 * time.Minute)
	var ordersAt, runAt, batchAt time.Time
	var endRun store.ReconRun
	for ordersAt.IsZero() || runAt.IsZero() || batchAt.IsZero() {
		if time.Now().After(limit) {
			var jobs []struct {
				ID    int64  `db:"id"`
				Kind  string `db:"kind"`
				State string `db:"state"`
				Queue string `db:"queue"`
				By    string `db:"by"`
				Errs  string `db:"errs"`
			}
			_ = e.st.DB.SelectContext(ctx, &jobs, `SELECT id, kind, state, queue, coalesce(array_to_string(attempted_by, ','), '') AS by,
  coalesce(array_to_string(errors, ' | '), '') AS errs FROM river_job ORDER BY id`)
			for _, j := range jobs {
				t.Logf("job %+v", j)
			}
			for _, id := range replays {
				s := e.sync(t, id)
				t.Logf("replay %d: %s %s", id, s.Status, s.Message)
			}
			t.Fatalf("not taken over within 2 minutes: orders %v, comparison %v, bulk replay %v", !ordersAt.IsZero(), !runAt.IsZero(), !batchAt.IsZero())
		}
		if ordersAt.IsZero() {
			done := 0
			for _, id := range replays {
				if s := e.sync(t, id); s.Status == vocab.SyncSucceeded {
					done++
				}
			}
			if done == len(replays) {
				ordersAt = time.Now()
			}
		}
		if runAt.IsZero() {
			endRun, err = e.st.ReconRunByID(ctx, run.ID)
			require.NoError(t, err)
			if endRun.Ended() {
				runAt = time.Now()
			}
		}
		if batchAt.IsZero() {
			p, err := e.st.ReplayBatchProgress(ctx, batch.ID)
			require.NoError(t, err)
			if p.Succeeded == len(ids) {
				batchAt = time.Now()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("taken over after the kill (beat %s, dead after %s): order replays done in %s, comparison done in %s, bulk replay done in %s",
		cmpDur(beat, 5*time.Second), cmpDur(dead, 20*time.Second), ordersAt.Sub(killed).Round(10*time.Millisecond),
		runAt.Sub(killed).Round(10*time.Millisecond), batchAt.Sub(killed).Round(10*time.Millisecond))

	require.Equal(t, store.RunSucceeded, endRun.Status, endRun.Message)
	require.Equal(t, 1, endRun.Resumes, "the run says it resumed after a restart")
	require.NotNil(t, endRun.ResumedAt)
	require.Zero(t, gateB.quantReads.Load(), "the Odoo snapshot pulled before the kill was kept, not pulled again")
	require.Positive(t, endRun.Compared, "the Shopify snapshot was pulled by B and compared")
	res, err := e.st.ReplayBatchResumed(ctx, batch.ID)
	require.NoError(t, err)
	require.Equal(t, 1, res.Times, "the bulk replay says it resumed after a restart")
	for _, f := range fails {
		require.Len(t, e.saleOrdersWithRef(f.EntityRef), 1, "one sale order for %s, none lost, none twice", f.EntityKey)
	}
}

func cmpDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// A replica takes from the queue only the orders it can send: with Odoo
// slow and twenty orders waiting, eight jobs run (Odoo's limit per replica)
// and the others stay in the queue for any replica, instead of twenty taken
// and twelve of them waiting inside a replica that might die.
func TestReplicaTakesOnlyTheOrdersItCanSend(t *testing.T) {
	t.Parallel()
	gate := newHoldGate()
	e := setup(t, options{start: true, transport: gate})
	ctx := t.Context()
	gate.armed.Store(true)
	defer close(gate.killed)
	v := e.shop.Variants()[0]
	for i := range 20 {
		c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Buyer", LastName: strconv.Itoa(i), Email: fmt.Sprintf("buyer%d@shop.test", i)})
		o, err := e.shop.AddOrder(shopsandbox.NewOrder{CustomerID: c.GID(), Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 1}}})
		require.NoError(t, err)
		payload, err := e.shop.OrderCreatePayload(o.GID())
		require.NoError(t, err)
		e.deliver(t, "orders/create", payload)
	}
	running := func() (n int) {
		t.Helper()
		require.NoError(t, e.st.DB.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'crossdock_sync' AND state = 'running'`))
		return n
	}
	var waiting int
	wait(t, "eight orders to be held at Odoo and the others to wait in the queue", func() bool {
		require.NoError(t, e.st.DB.GetContext(ctx, &waiting, `SELECT count(*) FROM river_job WHERE kind = 'crossdock_sync' AND state IN ('available', 'scheduled')`))
		return gate.heldOrders.Load() >= 8 && waiting >= 12
	})
	// Never more: a hundred looks, each a query apart.
	most := 0
	for range 100 {
		most = max(most, running())
	}
	require.Equal(t, 8, most, "taken: only what may call Odoo at once")
}

// A replica cut off from the database but still running (its context not
// cancelled: a network split, a stalled database connection) stops its own
// jobs before the others take them over, so the same order is never sent
// from two replicas at once.
func TestCutOffReplicaStopsItsJobsBeforeOthersTakeOver(t *testing.T) {
	t.Parallel()
	r := twoReplicas(t, testBeat, testDeadAfter)
	e := r.env
	require.NoError(t, r.a.Start(context.Background()))
	r.gateA.armed.Store(true)
	o, payload := e.order(t)
	ev := e.deliver(t, "orders/create", payload)
	wait(t, "replica A to hold the order at Odoo", func() bool { return r.gateA.heldOrders.Load() > 0 })
	r.startB(t)

	cut := time.Now()
	r.killDB()
	ss := e.endedSyncs(t, ev)
	t.Logf("the order reached Odoo %s after A was cut off", time.Since(cut).Round(10*time.Millisecond))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	took := r.gateB.orderCallAt()
	require.False(t, took.IsZero())
	stopped := r.gateA.cancelledAt()
	require.Len(t, stopped, int(r.gateA.heldOrders.Load()), "every call A held ended with its job's context")
	for _, at := range stopped {
		require.True(t, at.Before(took), "A stopped its job %s before B took it over", took.Sub(at))
	}
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
}
