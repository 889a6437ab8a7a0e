package engine

import (
	"context"
	"errors"
	"fmt"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/vocab"
)

// QuickBooks Online: what the engine adds for its connector — the keeper
// of its rotating refresh tokens and the classes of its errors. Its flows
// are quickbooks_*.go.

// connTokens keeps one connection's refresh token in its sealed secrets
// (connectors.TokenKeeper).
type connTokens struct {
	e  *Engine
	id int64
}

func (e *Engine) tokenKeeper(id int64) connectors.TokenKeeper { return connTokens{e: e, id: id} }

// LoadToken reads the newest stored token: from the database, not the
// pool's copy, since another replica may have rotated it.
func (k connTokens) LoadToken(ctx context.Context) (connectors.RefreshToken, error) {
	c, err := k.e.st.ConnectionByID(ctx, k.id)
	if err != nil {
		return connectors.RefreshToken{}, err
	}
	sec, err := store.ConnectionSecrets(k.e.box, c)
	if err != nil {
		return connectors.RefreshToken{}, err
	}
	return connectors.StoredToken(sec), nil
}

// SwapToken stores next in place of old, by compare-and-swap. Its own
// context bounds it: a refresh whose answer arrived must be saved even when
// the caller gives up.
func (k connTokens) SwapToken(ctx context.Context, old string, next connectors.RefreshToken) (bool, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	ok, err := k.e.st.SwapConnectionSecrets(sctx, k.e.box, k.id, connectors.SecretRefreshToken, old, connectors.TokenSecrets(next))
	if err != nil {
		// The stored token still works for a day: the next refresh starts
		// from it.
		k.e.log.Warn("save a rotated refresh token", "connection_id", k.id, "err", err)
	}
	return ok, err
}

// classifyQuickBooks turns a QuickBooks error into a class and a sentence.
// Throttling is rate_limited (retried, and the client has already waited
// and sent again several times); a stale SyncToken left after the client's
// own re-reads is transient.
func classifyQuickBooks(qe *quickbooks.Error, system string, err error) *failure {
	sentence, _ := quickbooks.Explain(qe)
	out := &failure{message: system + ": " + sentence, err: err, evidence: quickbooksEvidence(qe)}
	switch qe.Kind {
	case quickbooks.KindAuth:
		out.class = vocab.ClassAuth
	case quickbooks.KindThrottled:
		out.class = vocab.ClassRateLimited
	case quickbooks.KindStale, quickbooks.KindTransient:
		out.class = vocab.ClassTransient
	case quickbooks.KindDuplicate:
		out.class = vocab.ClassConflict
	case quickbooks.KindNotFound:
		out.class = vocab.ClassNotFound
	case quickbooks.KindValidation:
		out.class = vocab.ClassValidation
	default:
		out.class = vocab.ClassInternal
	}
	return out
}

func quickbooksEvidence(e *quickbooks.Error) map[string]any {
	m := map[string]any{"kind": string(e.Kind)}
	for k, v := range map[string]string{"code": e.Code, "message": e.Message, "detail": e.Detail, "element": e.Element,
		"fault_type": e.FaultType, "entity": e.Entity, "intuit_tid": e.TID, "body": string(e.Body)} {
		if v != "" {
			m[k] = v
		}
	}
	if e.Status != 0 {
		m["status"] = e.Status
	}
	return m
}

// QuickBooksClient returns the pooled client of an enabled QuickBooks
// connection, for work outside the engine package (the OAuth sign-in).
func (e *Engine) QuickBooksClient(ctx context.Context, id int64) (*quickbooks.Client, store.Connection, error) {
	return e.quickbooks(ctx, id)
}

// qbLabel names a QuickBooks sales document in sentences.
func qbLabel(entity string) string {
	switch entity {
	case quickbooks.EntitySalesReceipt:
		return "sales receipt"
	case quickbooks.EntityInvoice:
		return "invoice"
	case quickbooks.EntityRefundReceipt:
		return "refund receipt"
	case quickbooks.EntityCreditMemo:
		return "credit memo"
	}
	return fmt.Sprint(entity)
}

func asQB(err error) (*quickbooks.Error, bool) {
	var qe *quickbooks.Error
	ok := errors.As(err, &qe)
	return qe, ok
}
