// Package storetest gives tests a real, migrated PostgreSQL database of their
// own in about 20 ms: a private cluster on tmpfs (or TEST_DATABASE_URL), one
// migrated template database per test binary, and a clone of it per test.
//
// Use it from a package's TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// and in a test:
//
//	st := storetest.New(t)
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"crossdock/store"
	"crossdock/store/pgembed"
)

var (
	mu       sync.Mutex
	inMain   bool
	once     sync.Once
	onceErr  error
	cluster  *pgembed.Cluster
	adminURL string // maintenance database of the server
	template string // migrated template database
)

// Main runs the package's tests and then stops the private cluster, if one was
// started. Call it from TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain that has more to clean up.
func Run(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	cleanup()
	return code
}

func cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if template != "" && adminURL != "" {
		if db, err := sql.Open("postgres", adminURL); err == nil {
			db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+template) //nolint:errcheck
			db.Close()
		}
	}
	if cluster != nil {
		cluster.Stop(ctx)                    //nolint:errcheck
		cluster.Remove()                     //nolint:errcheck
		os.Remove(filepath.Dir(cluster.Dir)) //nolint:errcheck // the temporary parent made for it
	}
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		adminURL = u
	} else {
		base := "/dev/shm"
		if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
			base = os.TempDir()
		}
		dir, err := os.MkdirTemp(base, "crossdock-test-pg-")
		if err != nil {
			return err
		}
		os.Chmod(dir, 0o711) //nolint:errcheck // the postgres user must reach its cluster below
		c, err := pgembed.New(filepath.Join(dir, "pg"), pgembed.Options{Ephemeral: true, MaxConnections: 300, Database: "postgres"})
		if err != nil {
			return err
		}
		if err := c.Start(ctx); err != nil {
			return err
		}
		cluster = c
		adminURL = c.AdminURL()
	}
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	template = "crossdock_tpl_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+template); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	st, err := store.Open(ctx, withDB(adminURL, template))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	// The sync engine's queue tables (River's own migrations) too, so every
	// clone is a complete Crossdock database.
	return st.MigrateQueue(ctx)
}

// URL returns the connection string of a fresh migrated database, dropped when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	ok := inMain
	mu.Unlock()
	if !ok {
		t.Fatal("storetest: add `func TestMain(m *testing.M) { storetest.Main(m) }` to this package")
	}
	once.Do(func() { onceErr = setup() })
	if onceErr != nil {
		t.Fatalf("storetest: start test database: %v", onceErr)
	}
	ctx := context.Background()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "crossdock_t_" + randomSuffix()
	// file_copy clones the template's files directly: ~15 ms on tmpfs.
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY file_copy`, name, template)); err != nil {
		t.Fatalf("storetest: clone template: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", adminURL)
		if err != nil {
			return
		}
		defer db.Close()
		db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) //nolint:errcheck
	})
	return withDB(adminURL, name)
}

// New returns a Store on a fresh migrated database, closed and dropped when
// the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	u := URL(t)
	db, err := sqlx.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	// As many idle as open: a reconnect costs a SCRAM handshake (PBKDF2),
	// which otherwise dominates the CPU of busy tests and benchmarks.
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	t.Cleanup(func() { db.Close() })
	st := store.New(db)
	st.PasswordCost = bcrypt.MinCost
	urls.Store(st, u)
	t.Cleanup(func() { urls.Delete(st) })
	return st
}

// urls remembers the database of each Store New made.
var urls sync.Map

// URLOf returns the connection string of the database a Store from New
// uses: a test opens a second pool on it (a second replica, say).
func URLOf(t testing.TB, st *store.Store) string {
	t.Helper()
	u, ok := urls.Load(st)
	if !ok {
		t.Fatal("storetest: URLOf a Store New did not make")
	}
	return u.(string)
}

func withDB(rawURL, db string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		// key=value form
		return strings.TrimSpace(rawURL) + " dbname=" + db
	}
	u.Path = "/" + db
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
