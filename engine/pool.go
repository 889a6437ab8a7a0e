package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/vocab"
)

// The client pool: one client per connection, built from the connection's
// kind (Config.Kinds) and reused while the connection is unchanged, by every
// caller — syncs, sweeps, comparisons, the catalogue, and the console's
// connection test and webhook subscriptions. A Shopify client holds the
// shop's rate-limit bucket and an Odoo client its session, so sharing one
// shares the API budget; every client's calls go through the engine's HTTP
// client, so the calls health sees them all (callhealth.go).

type shopEntry struct {
	updatedAt time.Time
	conn      store.Connection
	client    *shopify.Client
}

type odooEntry struct {
	updatedAt time.Time
	conn      store.Connection
	client    *odoo.Client
}

// otherEntry holds the client of a kind the flows do not call by type.
type otherEntry struct {
	updatedAt time.Time
	conn      store.Connection
	client    any
}

var (
	errSecretsUnreadable = errors.New("the saved credentials cannot be opened")
	errIncomplete        = errors.New("the settings are incomplete")
)

// connection reads a connection; a disabled one is a transient failure: its
// syncs wait (and retry) until someone enables it again.
func (e *Engine) connection(ctx context.Context, id int64) (store.Connection, error) {
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Connection{}, fail(vocab.ClassNotFound, fmt.Sprintf("The connection #%d no longer exists.", id), err)
		}
		return store.Connection{}, err
	}
	if !c.Enabled {
		return store.Connection{}, fail(vocab.ClassTransient, fmt.Sprintf("%s is disabled; Crossdock tries again later, and sends the change once it is enabled.", c.Name), nil)
	}
	return c, nil
}

// pooled returns the client of connection c from the pool, building it when
// c changed since. Its errors wrap errSecretsUnreadable or errIncomplete.
func (e *Engine) pooled(c store.Connection) (any, error) {
	e.clientsMu.Lock()
	defer e.clientsMu.Unlock()
	if en := e.shops[c.ID]; en != nil && en.updatedAt.Equal(c.UpdatedAt) {
		return en.client, nil
	}
	if en := e.odoos[c.ID]; en != nil && en.updatedAt.Equal(c.UpdatedAt) {
		return en.client, nil
	}
	if en := e.others[c.ID]; en != nil && en.updatedAt.Equal(c.UpdatedAt) {
		return en.client, nil
	}
	k, ok := e.kinds.Kind(c.Kind)
	if !ok {
		return nil, fmt.Errorf("%w: Crossdock does not know %q connections", errIncomplete, c.Kind)
	}
	secrets, err := store.ConnectionSecrets(e.box, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSecretsUnreadable, err)
	}
	cl, err := k.NewClient(connectors.Conn{ID: c.ID, Name: c.Name, Settings: c.Settings, Secrets: secrets}, e.httpClientFor(c))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errIncomplete, err)
	}
	// A client whose refresh tokens rotate stores each new one through the
	// connection's keeper (quickbooks_tokens.go).
	if k, ok := cl.(connectors.KeepsTokens); ok {
		k.KeepTokensWith(e.tokenKeeper(c.ID))
	}
	delete(e.shops, c.ID)
	delete(e.odoos, c.ID)
	delete(e.others, c.ID)
	switch cl := cl.(type) {
	case *shopify.Client:
		e.shops[c.ID] = &shopEntry{updatedAt: c.UpdatedAt, conn: c, client: cl}
	case *odoo.Client:
		e.odoos[c.ID] = &odooEntry{updatedAt: c.UpdatedAt, conn: c, client: cl}
	default:
		e.others[c.ID] = &otherEntry{updatedAt: c.UpdatedAt, conn: c, client: cl}
	}
	return cl, nil
}

// poolFailure says in plain words why the pool has no client for c.
func poolFailure(c store.Connection, err error) error {
	if errors.Is(err, errSecretsUnreadable) {
		return fail(vocab.ClassAuth, fmt.Sprintf("The saved credentials of %s cannot be opened (was the secret key changed?). Enter them again on the connection's page.", c.Name), err)
	}
	return fail(vocab.ClassAuth, fmt.Sprintf("The settings of %s are incomplete: %s", c.Name, incompleteReason(err)), err)
}

// incompleteReason is what the kind said of incomplete settings, without
// the pool's own prefix. (errors.Unwrap gives nil here: the pool's error
// wraps two.)
func incompleteReason(err error) string {
	return strings.TrimPrefix(err.Error(), errIncomplete.Error()+": ")
}

// client returns the pooled client of an enabled connection as a C.
func client[C any](ctx context.Context, e *Engine, id int64, system string) (C, store.Connection, error) {
	var zero C
	c, err := e.connection(ctx, id)
	if err != nil {
		return zero, store.Connection{}, err
	}
	cl, err := e.pooled(c)
	if err != nil {
		return zero, c, poolFailure(c, err)
	}
	typed, ok := cl.(C)
	if !ok {
		return zero, c, fail(vocab.ClassAuth, fmt.Sprintf("The settings of %s are incomplete: connection %q is not a %s connection", c.Name, c.Name, system), nil)
	}
	return typed, c, nil
}

// shopify returns the client of a Shopify connection from the pool.
func (e *Engine) shopify(ctx context.Context, id int64) (*shopify.Client, store.Connection, error) {
	return client[*shopify.Client](ctx, e, id, "Shopify")
}

// odoo returns the client of an Odoo connection from the pool.
func (e *Engine) odoo(ctx context.Context, id int64) (*odoo.Client, store.Connection, error) {
	return client[*odoo.Client](ctx, e, id, "Odoo")
}

// shipbob returns the client of a ShipBob connection from the pool.
func (e *Engine) shipbob(ctx context.Context, id int64) (*shipbob.Client, store.Connection, error) {
	return client[*shipbob.Client](ctx, e, id, "ShipBob")
}

// quickbooks returns the client of a QuickBooks Online connection from the pool.
func (e *Engine) quickbooks(ctx context.Context, id int64) (*quickbooks.Client, store.Connection, error) {
	return client[*quickbooks.Client](ctx, e, id, "QuickBooks Online")
}

// ShipBobClient returns the pooled client of an enabled ShipBob connection.
func (e *Engine) ShipBobClient(ctx context.Context, id int64) (*shipbob.Client, store.Connection, error) {
	return e.shipbob(ctx, id)
}

// ShopifyClient returns the pooled client of an enabled Shopify connection,
// for work outside the engine package that calls the shop.
func (e *Engine) ShopifyClient(ctx context.Context, id int64) (*shopify.Client, store.Connection, error) {
	return e.shopify(ctx, id)
}

// OdooClient returns the pooled client of an enabled Odoo connection.
func (e *Engine) OdooClient(ctx context.Context, id int64) (*odoo.Client, store.Connection, error) {
	return e.odoo(ctx, id)
}

// Kinds returns the kinds of systems the engine connects to.
func (e *Engine) Kinds() *connectors.Registry { return e.kinds }

// WebhookURL is the address a connection's webhook subscriptions must use.
func (e *Engine) WebhookURL(c store.Connection) string {
	return connectors.WebhookURL(e.cfg.BaseURL, c.Kind, c.ID)
}

// checkTimeout bounds a connection test.
const checkTimeout = 20 * time.Second

// CheckConnection tests a connection — disabled ones too — with its pooled
// client, and says what works in plain words. The test waits for one of the
// connection's slots like a sync; a success closes an open circuit breaker
// (the system answers again), while a failure does not open one: a person
// testing settings must not stop the syncs. The calls it made are written
// to the connection's health before it returns, so the page shows them.
func (e *Engine) CheckConnection(ctx context.Context, id int64) (connectors.CheckResult, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil {
		return connectors.CheckResult{}, err
	}
	k, ok := e.kinds.Kind(c.Kind)
	if !ok {
		return connectors.CheckResult{Summary: "Unknown kind of connection."}, nil
	}
	cl, err := e.pooled(c)
	switch {
	case errors.Is(err, errSecretsUnreadable):
		return connectors.CheckResult{Summary: store.ErrSecretsUnreadable.Error()}, nil
	case err != nil:
		return connectors.CheckResult{Summary: "The settings are incomplete: " + incompleteReason(err) + "."}, nil
	}
	release, ok := e.limits.acquire(ctx, id, checkTimeout/2)
	if !ok {
		return connectors.CheckResult{Summary: fmt.Sprintf("Crossdock is already sending %s as many requests as it allows; test again in a moment.", c.Name)}, nil
	}
	res := k.Check(ctx, cl)
	release()
	if res.OK {
		e.limits.record(id, true, false)
	}
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer wcancel()
	if len(res.Budget) > 0 {
		if err := e.st.RecordConnectionCall(wctx, id, store.ConnectionCall{OK: true, Budget: res.Budget}); err != nil {
			e.log.Warn("record the budget of a connection test", "connection_id", id, "err", err)
		}
	}
	if err := e.FlushConnectionHealth(wctx); err != nil {
		e.log.Warn("write connection health after a test", "connection_id", id, "err", err)
	}
	return res, nil
}

// subscriber returns the pooled client of a connection whose system pushes
// webhooks.
func (e *Engine) subscriber(ctx context.Context, id int64) (connectors.Subscriber, store.Connection, error) {
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil {
		return nil, c, err
	}
	cl, err := e.pooled(c)
	if err != nil {
		return nil, c, poolFailure(c, err)
	}
	sub, ok := cl.(connectors.Subscriber)
	if !ok {
		return nil, c, fmt.Errorf("engine: %s: %w", c.Name, connectors.ErrNoWebhooks)
	}
	return sub, c, nil
}

// WebhookSubscriptions compares a connection's webhook subscriptions with
// the topics Crossdock needs at its webhook address.
func (e *Engine) WebhookSubscriptions(ctx context.Context, id int64) ([]connectors.Subscription, error) {
	sub, c, err := e.subscriber(ctx, id)
	if err != nil {
		return nil, err
	}
	return connectors.Subscriptions(ctx, sub, e.WebhookURL(c))
}

// RegisterWebhooks subscribes the topics a connection is missing at its
// webhook address and returns how many it registered.
func (e *Engine) RegisterWebhooks(ctx context.Context, id int64) (int, error) {
	sub, c, err := e.subscriber(ctx, id)
	if err != nil {
		return 0, err
	}
	return connectors.RegisterMissing(ctx, sub, e.WebhookURL(c))
}

// kindOf returns the kind of a connection, from the pool when it holds the
// connection's client.
func (e *Engine) kindOf(ctx context.Context, id int64) (connectors.Kind, bool, error) {
	e.clientsMu.Lock()
	key := vocab.Kind("")
	switch {
	case e.shops[id] != nil:
		key = e.shops[id].conn.Kind
	case e.odoos[id] != nil:
		key = e.odoos[id].conn.Kind
	case e.others[id] != nil:
		key = e.others[id].conn.Kind
	}
	e.clientsMu.Unlock()
	if key == "" {
		c, err := e.st.ConnectionByID(ctx, id)
		if err != nil {
			return connectors.Kind{}, false, err
		}
		key = c.Kind
	}
	k, ok := e.kinds.Kind(key)
	return k, ok, nil
}
