package store

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"crossdock/migrations"
)

func migrator(s *Store) (*goose.Provider, error) {
	// A session-level advisory lock: two replicas starting at once apply each
	// migration exactly once; the second waits, then finds nothing to do.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.DB.DB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration and returns how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, err := migrator(s)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("store: migrate: %w", err)
	}
	return len(res), nil
}

// MigrateQueue applies the sync engine's queue schema (River's job, leader
// and queue tables). Call it after Migrate: River's migrator keeps its own
// version table.
func (s *Store) MigrateQueue(ctx context.Context) error {
	m, err := rivermigrate.New(riverdatabasesql.New(s.DB.DB), nil)
	if err != nil {
		return fmt.Errorf("store: queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: queue migrate: %w", err)
	}
	return nil
}

// MigrationsCurrent reports whether the schema is at the binary's latest version.
func (s *Store) MigrationsCurrent(ctx context.Context) (bool, error) {
	p, err := migrator(s)
	if err != nil {
		return false, err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return false, fmt.Errorf("store: migration versions: %w", err)
	}
	return current >= target, nil
}
