package engine

import (
	"context"
	"slices"
	"sync"
	"time"

	"crossdock/connectors/shipbob"
)

// trackingUploads gathers, per ShipBob connection, the shipments whose
// tracking reached Shopify, and tells ShipBob in batches
// (POST /shipment:batchUpdateTrackingUpload, up to shipbob.TrackingUploadBatch
// shipments a request) instead of once per order: at 150 requests a minute,
// one request per order would cost as much as sending the orders.
//
// The batch lives in memory. A batch lost with its replica (a crash before
// the flush) loses nothing: ShipBob keeps listing those shipments as not
// uploaded, the next tracking check queues them again, and the run finds
// their tracking in Shopify already and marks them then.
type trackingUploads struct {
	e *Engine
	// linger is how long a partial batch waits for more before it is sent.
	linger time.Duration

	mu      sync.Mutex
	pending map[int64][]int64 // connection → shipment ids
	timers  map[int64]*time.Timer
	// sending serialises flushes per connection, so a check that flushes
	// before it reads waits for a flush already under way.
	sending map[int64]*sync.Mutex
}

func newTrackingUploads(e *Engine, linger time.Duration) *trackingUploads {
	return &trackingUploads{e: e, linger: linger, pending: map[int64][]int64{}, timers: map[int64]*time.Timer{}, sending: map[int64]*sync.Mutex{}}
}

// add queues shipments of a connection to be marked; a full batch is sent
// at once (by the caller), a partial one after the linger.
func (u *trackingUploads) add(ctx context.Context, conn int64, ids []int64) {
	if len(ids) == 0 {
		return
	}
	u.mu.Lock()
	u.pending[conn] = append(u.pending[conn], ids...)
	full := len(u.pending[conn]) >= shipbob.TrackingUploadBatch
	if !full && u.timers[conn] == nil {
		u.timers[conn] = time.AfterFunc(u.linger, func() { u.flush(context.WithoutCancel(ctx), conn) })
	}
	u.mu.Unlock()
	if full {
		u.flush(ctx, conn)
	}
}

// flush sends the connection's pending shipments. Ids ShipBob did not take
// (it refused, or could not be reached) wait for the next flush.
func (u *trackingUploads) flush(ctx context.Context, conn int64) {
	u.mu.Lock()
	send := u.sending[conn]
	if send == nil {
		send = &sync.Mutex{}
		u.sending[conn] = send
	}
	u.mu.Unlock()
	send.Lock()
	defer send.Unlock()
	u.mu.Lock()
	ids := u.pending[conn]
	delete(u.pending, conn)
	if t := u.timers[conn]; t != nil {
		t.Stop()
		delete(u.timers, conn)
	}
	u.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	cl, _, err := u.e.shipbob(ctx, conn)
	for len(ids) > 0 && err == nil {
		n := min(len(ids), shipbob.TrackingUploadBatch)
		if err = cl.MarkTrackingUploaded(ctx, ids[:n]); err == nil {
			ids = ids[n:]
		}
	}
	if err != nil {
		u.e.log.Warn("mark ShipBob tracking uploaded", "connection_id", conn, "shipments", len(ids), "err", err)
		u.mu.Lock()
		u.pending[conn] = append(u.pending[conn], ids...)
		u.mu.Unlock()
	}
}

// flushAll sends every connection's pending shipments (the engine stops).
func (u *trackingUploads) flushAll(ctx context.Context) {
	u.mu.Lock()
	conns := make([]int64, 0, len(u.pending))
	for c := range u.pending {
		conns = append(conns, c)
	}
	u.mu.Unlock()
	for _, c := range conns {
		u.flush(ctx, c)
	}
}
