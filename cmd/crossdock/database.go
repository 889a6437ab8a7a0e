package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
		cluster, err = pgembed.New(clusterDir(c.DataDir, log), pgembed.Options{Logger: log})
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

// clusterDir is where the embedded cluster lives: in the data directory, unless
// Crossdock runs as root and the postgres user (who must own the database
// files) cannot reach it — a checkout under /root, say. Then the cluster goes
// under /var/lib/crossdock, one directory per data directory, and a log line
// says where.
func clusterDir(dataDir string, log *slog.Logger) string {
	dir := filepath.Join(dataDir, "postgres")
	abs, err := filepath.Abs(dir)
	if err != nil || os.Geteuid() != 0 || othersCanReach(filepath.Dir(abs)) {
		return dir
	}
	sum := sha256.Sum256([]byte(abs))
	alt := filepath.Join("/var/lib/crossdock", hex.EncodeToString(sum[:6]), "postgres")
	if err := os.MkdirAll(filepath.Dir(alt), 0o711); err != nil {
		return dir // initdb will then say what is wrong
	}
	log.Info("the postgres user cannot reach the data directory, so the embedded PostgreSQL lives elsewhere",
		"data_dir", dataDir, "cluster_dir", alt)
	return alt
}

// othersCanReach reports whether every directory from / down to dir can be
// traversed by a user who is neither its owner nor in its group.
func othersCanReach(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return !errors.Is(err, os.ErrNotExist) // not created yet: its parent decides
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}
