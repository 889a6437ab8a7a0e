package main

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"crossdock/web"
)

// Config is Crossdock's configuration, read from the environment.
type Config struct {
	DatabaseURL string // DATABASE_URL; empty: the embedded cluster in DataDir
	Addr        string // CROSSDOCK_ADDR
	DataDir     string // CROSSDOCK_DATA_DIR
	SecretKey   string // CROSSDOCK_SECRET_KEY; empty: generated into DataDir
	BaseURL     string // CROSSDOCK_BASE_URL
	LogLevel    string // CROSSDOCK_LOG_LEVEL: debug, info, warn, error
	// MetricsAddr serves /metrics on a listener of its own, without a token
	// (CROSSDOCK_METRICS_ADDR); MetricsToken opens /metrics on the console's
	// address to requests carrying it (CROSSDOCK_METRICS_TOKEN).
	MetricsAddr  string
	MetricsToken string
	// TrustedProxies lists the proxies in front of Crossdock
	// (CROSSDOCK_TRUSTED_PROXIES, comma-separated IPs and CIDR ranges):
	// only for requests from them is X-Forwarded-For read for the client's
	// address, which sign-in throttling and the audit log use.
	TrustedProxies string
}

// LoadConfig reads the environment and fills in defaults.
func LoadConfig(getenv func(string) string) Config {
	c := Config{
		DatabaseURL:    strings.TrimSpace(getenv("DATABASE_URL")),
		Addr:           cmp.Or(strings.TrimSpace(getenv("CROSSDOCK_ADDR")), "127.0.0.1:8080"),
		DataDir:        cmp.Or(strings.TrimSpace(getenv("CROSSDOCK_DATA_DIR")), "./.crossdock"),
		SecretKey:      getenv("CROSSDOCK_SECRET_KEY"),
		BaseURL:        strings.TrimRight(strings.TrimSpace(getenv("CROSSDOCK_BASE_URL")), "/"),
		LogLevel:       cmp.Or(strings.ToLower(strings.TrimSpace(getenv("CROSSDOCK_LOG_LEVEL"))), "info"),
		MetricsAddr:    strings.TrimSpace(getenv("CROSSDOCK_METRICS_ADDR")),
		MetricsToken:   strings.TrimSpace(getenv("CROSSDOCK_METRICS_TOKEN")),
		TrustedProxies: strings.TrimSpace(getenv("CROSSDOCK_TRUSTED_PROXIES")),
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + displayAddr(c.Addr)
	}
	return c
}

// Validate names the first variable that is wrong and says why.
func (c Config) Validate() error {
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("DATABASE_URL must look like postgres://user:password@host:5432/dbname")
		}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return fmt.Errorf("CROSSDOCK_ADDR must be host:port, like 127.0.0.1:8080 (got %q)", c.Addr)
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return errors.New("CROSSDOCK_SECRET_KEY must be at least 32 characters (try: openssl rand -hex 32)")
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("CROSSDOCK_BASE_URL must be an http(s) address like https://crossdock.example.com (got %q)", c.BaseURL)
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return fmt.Errorf("CROSSDOCK_METRICS_ADDR must be host:port, like 127.0.0.1:9090 (got %q)", c.MetricsAddr)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return errors.New("CROSSDOCK_METRICS_TOKEN must be at least 16 characters (try: openssl rand -hex 16)")
	}
	if _, err := web.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("CROSSDOCK_TRUSTED_PROXIES must list IP addresses or CIDR ranges separated by commas, like 10.0.0.0/8,192.168.1.7: %w", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("CROSSDOCK_LOG_LEVEL must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	return nil
}

// trustedProxies returns the parsed CROSSDOCK_TRUSTED_PROXIES (validated).
func (c Config) trustedProxies() []netip.Prefix {
	p, _ := web.ParseTrustedProxies(c.TrustedProxies)
	return p
}

// SecureCookies reports whether Crossdock is served over https.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

func (c Config) slogLevel() slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(c.LogLevel)) //nolint:errcheck // validated
	return l
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// ensureDataDir creates the data directory. It is traversable (0711) because
// the embedded PostgreSQL runs as the postgres user when Crossdock runs as root.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("CROSSDOCK_DATA_DIR %s cannot be created: %w", dir, err)
	}
	return nil
}

// resolveSecretKey returns CROSSDOCK_SECRET_KEY, or the key stored in the data
// directory, generating and storing one on first run.
func resolveSecretKey(c Config, log *slog.Logger) ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	if err := ensureDataDir(c.DataDir); err != nil {
		return nil, err
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < 32 {
			return nil, fmt.Errorf("%s holds a key shorter than 32 characters: fix it or set CROSSDOCK_SECRET_KEY", path)
		}
		return []byte(key), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	key := hex.EncodeToString(raw)
	// O_EXCL: two processes starting together must not write two different keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return resolveSecretKey(c, log)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(key + "\n"); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	log.Info("generated a secret key; keep it safe, it protects sessions and stored credentials", "path", path)
	return []byte(key), nil
}
