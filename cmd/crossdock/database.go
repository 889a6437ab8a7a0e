package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"crossdock/store"
	"crossdock/store/pgembed"
)

// openDatabase connects to DATABASE_URL, or starts (if needed) the embedded
// cluster of the data directory. close stops what this process started.
func openDatabase(ctx context.Context, c Config, log *slog.Logger) (st *store.Store, closeFn func(), err error) {
	url := c.DatabaseURL
	var cluster *pgembed.Cluster
	if url == "" {
		if err := ensureDataDir(c.DataDir); err != nil {
			return nil, nil, err
		}
		cluster, err = pgembed.New(filepath.Join(c.DataDir, "postgres"), pgembed.Options{Logger: log})
		if errors.Is(err, pgembed.ErrNoBinaries) {
			return nil, nil, fmt.Errorf("DATABASE_URL is not set, so Crossdock wants to run its own PostgreSQL, but %w", err)
		}
		if err != nil {
			return nil, nil, err
		}
		if err := cluster.Start(ctx); err != nil {
			return nil, nil, err
		}
		url = cluster.URL()
	}
	st, err = store.Open(ctx, url)
	if err != nil {
		if cluster != nil {
			cluster.Stop(context.Background()) //nolint:errcheck
		}
		return nil, nil, err
	}
	return st, func() {
		st.Close()
		if cluster != nil {
			if err := cluster.Stop(context.Background()); err != nil {
				log.Error("stop embedded PostgreSQL", "err", err)
			}
		}
	}, nil
}
