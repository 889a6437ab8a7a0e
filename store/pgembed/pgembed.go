// Package pgembed runs a private PostgreSQL cluster from the PostgreSQL binaries
// installed on this machine. It is Crossdock's default database when
// DATABASE_URL is unset, and the test suite's database server.
//
// The cluster lives in a directory of its own (data, log, password, lock). Any
// Crossdock process may start it on demand; a process stops it on exit only
// when it was the one that started it, so `crossdock user add` can run beside a
// running `crossdock serve`.
package pgembed

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the cluster is reached through lib/pq like any other
)

// Options tune a cluster.
type Options struct {
	// Database is created on first start and named in URL; default "crossdock".
	Database string
	// Ephemeral trades durability for speed (no fsync, no full-page writes):
	// for test clusters on tmpfs, never for a merchant's data.
	Ephemeral bool
	// MaxConnections; default 100.
	MaxConnections int
	Logger         *slog.Logger
}

// Cluster is one private PostgreSQL cluster under Dir.
type Cluster struct {
	Dir     string
	binDir  string
	opts    Options
	cred    *syscall.Credential // non-nil when running as root: postgres refuses root
	started bool                // this process started the server
	port    int
}

const superuser = "crossdock"

// ErrNoBinaries says no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (looked for initdb and pg_ctl in PATH and /usr/lib/postgresql/*/bin): install them (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to an existing PostgreSQL")

// FindBinaries returns the directory holding initdb and pg_ctl: the newest
// /usr/lib/postgresql/N/bin, else the one on PATH.
func FindBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// New prepares a cluster in dir; nothing runs until Start.
func New(dir string, opts Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	opts.Database = cmp.Or(opts.Database, "crossdock")
	opts.MaxConnections = cmp.Or(opts.MaxConnections, 100)
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	c := &Cluster{Dir: abs, binDir: bin, opts: opts}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root; run them as the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgembed: running as root needs a 'postgres' system user to own the database files: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return c, nil
}

func (c *Cluster) dataDir() string  { return filepath.Join(c.Dir, "data") }
func (c *Cluster) logFile() string  { return filepath.Join(c.Dir, "postgres.log") }
func (c *Cluster) passFile() string { return filepath.Join(c.Dir, "password") }

// Start initialises the cluster on first use and starts it unless it already
// runs. It is safe to call from several processes at once.
func (c *Cluster) Start(ctx context.Context) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("pgembed: create %s: %w", c.Dir, err)
	}
	// Serialise init/start across processes (serve and a CLI command started together).
	lock, err := os.OpenFile(filepath.Join(c.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("pgembed: lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return err
		}
	}
	if port, ok := c.runningPort(); ok {
		c.port = port
		return c.ensureDatabase(ctx)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	settings := []string{
		"-p " + strconv.Itoa(port),
		"-c listen_addresses=127.0.0.1",
		"-c unix_socket_directories=''",
		"-c max_connections=" + strconv.Itoa(c.opts.MaxConnections),
	}
	if c.opts.Ephemeral {
		settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	start := time.Now()
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60",
		"-o", strings.Join(settings, " "), "start"); err != nil {
		return fmt.Errorf("pgembed: start PostgreSQL in %s: %w\n%s\n(see %s)", c.dataDir(), err, out, c.logFile())
	}
	c.port, c.started = port, true
	c.opts.Logger.Info("embedded PostgreSQL started", "dir", c.Dir, "port", port, "took", time.Since(start).Round(time.Millisecond))
	return c.ensureDatabase(ctx)
}

func (c *Cluster) initdb(ctx context.Context) error {
	if err := os.MkdirAll(c.dataDir(), 0o700); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	pw := make([]byte, 24)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	if err := os.WriteFile(c.passFile(), []byte(password), 0o600); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	// initdb reads the password from a file it can open as the postgres user.
	pwFile := filepath.Join(c.Dir, "initdb-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	defer os.Remove(pwFile)
	for _, p := range []string{c.Dir, c.dataDir(), pwFile} {
		if err := c.chown(p); err != nil {
			return err
		}
	}
	args := []string{"-D", c.dataDir(), "-U", superuser, "--pwfile", pwFile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"}
	if c.opts.Ephemeral {
		args = append(args, "--no-sync")
	}
	if out, err := c.run(ctx, "initdb", args...); err != nil {
		hint := ""
		if c.cred != nil {
			hint = fmt.Sprintf("\nThe database files are owned by the 'postgres' user, which must be able to reach %s; pick another CROSSDOCK_DATA_DIR or set DATABASE_URL.", c.Dir)
		}
		return fmt.Errorf("pgembed: initdb in %s: %w\n%s%s", c.dataDir(), err, out, hint)
	}
	c.opts.Logger.Info("embedded PostgreSQL cluster created", "dir", c.Dir)
	return nil
}

func (c *Cluster) chown(p string) error {
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	return nil
}

// runningPort reads the port from postmaster.pid when the server runs.
func (c *Cluster) runningPort() (int, bool) {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, _ := strconv.Atoi(strings.TrimSpace(lines[3]))
	if pid <= 0 || port <= 0 || syscall.Kill(pid, 0) != nil {
		return 0, false // stale pid file after a crash: pg_ctl start cleans it up
	}
	return port, true
}

func (c *Cluster) ensureDatabase(ctx context.Context) error {
	db, err := sql.Open("postgres", c.url("postgres"))
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, c.opts.Database).Scan(&exists); err != nil {
		return fmt.Errorf("pgembed: connect: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(c.opts.Database)); err != nil {
		var again bool
		// Another process may have created it between our check and our create.
		if db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, c.opts.Database).Scan(&again); again {
			return nil
		}
		return fmt.Errorf("pgembed: create database: %w", err)
	}
	return nil
}

// URL is the connection string of the cluster's database.
func (c *Cluster) URL() string { return c.url(c.opts.Database) }

// AdminURL is the connection string of the maintenance database "postgres".
func (c *Cluster) AdminURL() string { return c.url("postgres") }

func (c *Cluster) url(db string) string {
	pw, _ := os.ReadFile(c.passFile())
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, strings.TrimSpace(string(pw))),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server if this process started it; a server another process
// started is left running for that process.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.started {
		return nil
	}
	c.started = false
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pgembed: stop: %w\n%s", err, out)
	}
	c.opts.Logger.Info("embedded PostgreSQL stopped", "dir", c.Dir)
	return nil
}

// Remove deletes the cluster's directory (test clusters only).
func (c *Cluster) Remove() error { return os.RemoveAll(c.Dir) }

func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	// Own process group: a Ctrl-C in the terminal reaches Crossdock, which then
	// stops PostgreSQL in order, instead of killing the server under it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgembed: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
