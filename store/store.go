// Package store is Crossdock's PostgreSQL layer: plain SQL through sqlx, one
// file per aggregate. Every state change writes its audit entry in the same
// transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a change collides with existing data (a unique key).
var ErrConflict = errors.New("already exists")

// Store is the database, on a connection pool.
type Store struct {
	q
	DB *sqlx.DB
	// PasswordCost is the bcrypt cost of new password hashes; 0 means
	// bcrypt.DefaultCost. Tests lower it: hashing dominates their run time.
	PasswordCost int
	// Now is the clock of sign-in throttling; nil means time.Now. Tests
	// move it instead of waiting for a back-off to pass.
	Now func() time.Time
	// AccountThrottle and AddressThrottle hold back repeated failed
	// sign-ins; zero values mean DefaultAccountThrottle and
	// DefaultAddressThrottle.
	AccountThrottle Throttle
	AddressThrottle Throttle

	dummy struct {
		once sync.Once
		hash []byte
	}
}

// Tx is the database inside one transaction. It has every query method the
// Store has, so a multi-step change composes them and commits once.
type Tx struct {
	q
	tx *sqlx.Tx
}

// q carries the query methods; it works on a pool or a transaction alike.
type q struct {
	ext sqlx.ExtContext
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// Idle equal to open: a pool that closes connections it needs again a
	// moment later pays the SCRAM handshake each time (measured: ~20% CPU
	// under the engine's load).
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return New(db), nil
}

// New wraps an open pool.
func New(db *sqlx.DB) *Store { return &Store{q: q{ext: db}, DB: db} }

// Close closes the pool.
func (s *Store) Close() error { return s.DB.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.DB.PingContext(ctx) }

// InTx runs fn in a transaction: committed when fn returns nil, rolled back otherwise.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback() //nolint:errcheck
			panic(p)
		}
		if err != nil {
			sqlTx.Rollback() //nolint:errcheck
		}
	}()
	if err = fn(&Tx{q: q{ext: sqlTx}, tx: sqlTx}); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// PlanAsLookups has PostgreSQL run the rest of a transaction's statements as
// the index lookups they are. The search-key index's estimates grow with the
// table, not with the customer: at 10,000,000 syncs it expects 50,000 rows
// for one e-mail and 583,786 for a dozen order ids, where a customer has 12.
// Past its cost thresholds the planner then JIT-compiles the plan and starts
// parallel workers (0.8–1.5 s of a lookup that runs in 1 ms), and for a dozen
// keys it prefers reading the whole table (22 s at 10,000,000 syncs, under
// load). Every statement of a customer's lookup and erasure has an index; a
// table scan is never the better plan. Outside a transaction it does nothing
// (SET LOCAL would not outlive the statement).
func (q q) PlanAsLookups(ctx context.Context) error {
	if _, ok := q.ext.(*sqlx.Tx); !ok {
		return nil
	}
	if _, err := q.ext.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off`); err != nil {
		return fmt.Errorf("store: plan as lookups: %w", err)
	}
	return nil
}

// ExplainAsLookup returns PostgreSQL's plan of a statement planned as
// PlanAsLookups plans it, for the benchmarks that check a lookup uses its
// index at size.
func (s *Store) ExplainAsLookup(ctx context.Context, query string, args ...any) ([]string, error) {
	var plan []string
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.PlanAsLookups(ctx); err != nil {
			return err
		}
		return sqlxSelect(ctx, tx.q, &plan, `EXPLAIN `+query, args...)
	})
	return plan, err
}

func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
