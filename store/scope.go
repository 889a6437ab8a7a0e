package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// OutOfScopeError refuses a write into a production system by a person an
// admin allowed to write into test systems only (Users page). Its message is
// the sentence the person reads.
type OutOfScopeError struct {
	System string // the production system's name
}

func (e *OutOfScopeError) Error() string {
	return "You may write only into test systems, and " + e.System + " is a production system. Ask an admin."
}

// mayWrite is the one rule of environment scopes: someone limited to test
// systems writes into test systems only; everyone else anywhere. A
// connection that does not say it is a test system counts as production.
func mayWrite(scope vocab.Scope, c Connection) error {
	if scope == vocab.ScopeAll || c.Environment == vocab.EnvTest {
		return nil
	}
	return &OutOfScopeError{System: c.Name}
}

// writeScope is where the actor may write, read now rather than from the
// session: a change on the Users page applies to the next click and to the
// work already queued on the person's behalf (the chunks of a bulk replay,
// the automatic replay after their approval). Crossdock itself (no user)
// writes anywhere; a user id that names nobody is held to test systems, so
// a mistake fails closed.
func (q q) writeScope(ctx context.Context, a Actor) (vocab.Scope, error) {
	if a.UserID == 0 {
		return vocab.ScopeAll, nil
	}
	var scope vocab.Scope
	err := notFound(sqlxGet(ctx, q, &scope, `SELECT environment_scope FROM users WHERE id = $1`, a.UserID))
	if errors.Is(err, ErrNotFound) {
		return vocab.ScopeTest, nil
	}
	if err != nil {
		return "", fmt.Errorf("store: scope of user %d: %w", a.UserID, err)
	}
	return scope, nil
}

// MayWriteInto is the check every path that writes into a connected system
// on someone's behalf makes before it writes or queues anything (replays,
// pushing a master's value, checking all systems now, catalogue refresh,
// webhook subscriptions, rehearsals): nil, or an *OutOfScopeError naming the
// first production system, by name, that the actor may not write into.
// Connections that no longer exist are left to the caller.
func (q q) MayWriteInto(ctx context.Context, a Actor, connectionIDs ...int64) error {
	scope, err := q.writeScope(ctx, a)
	if err != nil || scope == vocab.ScopeAll || len(connectionIDs) == 0 {
		return err
	}
	var cs []Connection
	if err := sqlxSelect(ctx, q, &cs, `SELECT id, name, environment FROM connections WHERE id = ANY($1) ORDER BY lower(name), id`,
		pq.Array(connectionIDs)); err != nil {
		return fmt.Errorf("store: scope check: %w", err)
	}
	for _, c := range cs {
		if err := mayWrite(scope, c); err != nil {
			return err
		}
	}
	return nil
}
