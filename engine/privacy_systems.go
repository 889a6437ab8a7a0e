package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/store"
	"crossdock/vocab"
)

// A customer's erasure reaches the connected systems: when it is planned,
// every connection other than the shop that asked gets one row saying what
// the erasure does there — sent (the admin's setting is on and the system
// can erase), not sent (the setting is off), or not supported (the system
// cannot: erase by hand). Rows to send are sent by every replica's erasure
// loop, one at a time, beside and never before Crossdock's own erasure, which
// they never hold up. A failure is tried again with a growing wait;
// anonymising twice is harmless, so a retry is too.

const (
	// erasureSendLease is how long a claimed erasure is held: a replica that
	// dies while sending leaves it to the others after that.
	erasureSendLease = 5 * time.Minute
	// erasureSendTimeout bounds one attempt in the other system.
	erasureSendTimeout = time.Minute
	// erasureMaxAttempts is how often a failing erasure is tried before an
	// admin is left to try it again from the request's page.
	erasureMaxAttempts = 10
)

// erasureRetryAfter is the wait after the n-th failed attempt: 1, 2, 4…
// minutes, at most 2 hours (10 attempts span about 8 hours).
func erasureRetryAfter(n int) time.Duration {
	return min(time.Minute<<min(max(n-1, 0), 10), 2*time.Hour)
}

// ErasurePseudonym is the name a customer's record in a connected system
// takes when it is erased: it names the privacy request, so the merchant can
// tell which request erased it.
func ErasurePseudonym(requestID int64) string { return fmt.Sprintf("Erased customer %d", requestID) }

// planSystemErasures records what the erasure of request w does in each
// connected system. Call it on the Tx that plans the erasure.
func (e *Engine) planSystemErasures(ctx context.Context, tx *store.Tx, w store.Erasure) error {
	settings, err := tx.ErasureSettings(ctx)
	if err != nil {
		return err
	}
	var rows []store.SystemErasure
	for _, s := range settings {
		if s.Kind == privacyKind {
			continue // the shop erases its own data; another shop gets its own request
		}
		r := store.SystemErasure{RequestID: w.ID, ConnectionID: s.ConnectionID}
		switch {
		case !e.kinds.Can(s.Kind, vocab.Customers, connectors.Erase):
			r.Outcome, r.Detail = store.SystemErasureNotSupported, "not supported — erase by hand in "+s.Name
		case !s.Send:
			r.Outcome, r.Detail = store.SystemErasureNotSent, fmt.Sprintf("not sent: the setting “Send erasures to %s” is off", s.Name)
		default:
			r.Outcome, r.Detail, r.LookupEmail = store.SystemErasureSending, "waiting to be sent", w.CustomerEmail
		}
		rows = append(rows, r)
	}
	return tx.PlanSystemErasures(ctx, rows)
}

// SendErasureOnce sends the erasure due first to its system and records
// what came of it. It reports whether there was one to send.
func (e *Engine) SendErasureOnce(ctx context.Context) (bool, error) {
	w, err := e.st.ClaimSystemErasure(ctx, erasureSendLease)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res := e.sendErasure(ctx, w)
	// Recorded even when ctx ends: the attempt happened.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return true, e.st.FinishSystemErasure(wctx, res)
}

// sendErasure asks one system to erase the customer, through the client
// pool and within the connection's limits.
func (e *Engine) sendErasure(ctx context.Context, w store.SystemErasureWork) store.SystemErasureResult {
	res := store.SystemErasureResult{RequestID: w.RequestID, ConnectionID: w.ConnectionID}
	// retry is false for a failure that trying again as is cannot fix (the
	// system refused the change itself): a person fixes it, then sends again.
	retry := true
	failed := func(why string) store.SystemErasureResult {
		res.Outcome, res.Detail = store.SystemErasureFailed, "failed: "+strings.TrimSuffix(why, ".")
		if retry && w.Attempts < erasureMaxAttempts {
			at := time.Now().Add(erasureRetryAfter(w.Attempts))
			res.RetryAt = &at
		}
		return res
	}
	c, err := e.st.ConnectionByID(ctx, w.ConnectionID)
	if err != nil {
		return failed("Crossdock could not read the connection (" + err.Error() + ")")
	}
	if !c.Enabled {
		return failed(c.Name + " is disabled; the erasure is sent once it is enabled again")
	}
	cl, err := e.pooled(c)
	if err != nil {
		return failed(plain(poolFailure(c, err)))
	}
	eraser, ok := cl.(connectors.Eraser)
	if !ok {
		res.Outcome, res.Detail = store.SystemErasureNotSupported, "not supported — erase by hand in "+c.Name
		return res
	}
	release, ok := e.limits.acquire(ctx, c.ID, erasureSendTimeout/2)
	if !ok {
		return failed(fmt.Sprintf("Crossdock is already sending %s as many requests as it allows", c.Name))
	}
	actx, cancel := context.WithTimeout(ctx, erasureSendTimeout)
	out, err := eraser.EraseCustomer(actx, connectors.ErasureSubject{Ref: customerGID(w.CustomerID), Email: w.LookupEmail,
		RecordID: w.RecordID, Pseudonym: ErasurePseudonym(w.RequestID)})
	cancel()
	release()
	if err != nil {
		if ctx.Err() != nil {
			// This replica is stopping: not the system's fault.
			return failed("Crossdock stopped while sending it; it is sent again shortly")
		}
		f := classify(err, c.Name)
		e.limits.record(c.ID, false, tripsBreaker(f.class))
		if f.message == "" {
			f.message = e.kinds.Explain(err)
		}
		retry = retryable(f.class) || f.class == vocab.ClassAuth || f.class == vocab.ClassInternal
		return failed(f.message)
	}
	e.limits.record(c.ID, true, false)
	res.RecordID, res.Record = out.RecordID, out.Record
	switch {
	case !out.Found():
		res.Outcome, res.Detail = store.SystemErasureNotFound, "nothing to erase: "+c.Name+" holds no record of this customer"
	case len(out.Kept) > 0:
		res.Outcome, res.Detail = store.SystemErasureKept, "kept: "+strings.Join(out.Kept, ", ")
	case out.Erased:
		res.Outcome, res.Detail = store.SystemErasureErased, fmt.Sprintf("erased: %s archived and anonymised (now “%s”)", out.Record, ErasurePseudonym(w.RequestID))
	default:
		return failed(c.Name + " found " + out.Record + " but neither erased nor kept it")
	}
	return res
}

// customerGID is a Shopify customer's GraphQL id, as the customers flow
// stores it on the records it copies ("" for none).
func customerGID(id string) string {
	if id == "" {
		return ""
	}
	return "gid://shopify/Customer/" + id
}

// ErasureSetting is one connected system's erasure setting, for the
// Privacy page.
type ErasureSetting struct {
	store.ErasureSetting
	// Supported is false for a system that cannot erase (by hand, then).
	Supported bool
}

// ErasureSettings lists the connected systems that may receive erasures
// (every connection but the stores that send the requests) with their
// setting and whether they can erase at all.
func (e *Engine) ErasureSettings(ctx context.Context) ([]ErasureSetting, error) {
	ss, err := e.st.ErasureSettings(ctx)
	if err != nil {
		return nil, err
	}
	var out []ErasureSetting
	for _, s := range ss {
		if s.Kind == privacyKind {
			continue
		}
		out = append(out, ErasureSetting{ErasureSetting: s, Supported: e.kinds.Can(s.Kind, vocab.Customers, connectors.Erase)})
	}
	return out, nil
}

// SetErasureSetting turns sending erasures to a connection on or off. A
// system that cannot erase cannot be turned on, nor a production one by
// someone limited to test systems (*store.OutOfScopeError).
func (e *Engine) SetErasureSetting(ctx context.Context, a store.Actor, connectionID int64, send bool) error {
	c, err := e.st.ConnectionByID(ctx, connectionID)
	if err != nil {
		return err
	}
	if send && !e.kinds.Can(c.Kind, vocab.Customers, connectors.Erase) {
		return fmt.Errorf("%w: Crossdock cannot erase customers in %s; erase them by hand there", ErrNotSupported, c.Name)
	}
	if send {
		// Erasures write into the system on the admin's say-so.
		if err := e.st.MayWriteInto(ctx, a, connectionID); err != nil {
			return err
		}
	}
	return e.st.InTx(ctx, func(tx *store.Tx) error { return tx.SetErasureSetting(ctx, a, connectionID, send) })
}

// privacyKind is the kind of system whose stores send privacy requests
// (privacy.go): each store erases its own data.
const privacyKind = vocab.KindShopify

// ErrNotSupported is returned for a setting a system cannot take.
var ErrNotSupported = errors.New("not supported")
