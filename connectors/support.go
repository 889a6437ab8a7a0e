package connectors

import (
	"fmt"
	"strings"
	"time"
)

// SupportWarning is how long before an API version's end of support the
// console starts warning.
const SupportWarning = 90 * 24 * time.Hour

// Support is where the API version of a connection stands.
type Support struct {
	Version string
	End     time.Time
	// Ended is true once the system no longer serves the version; Ending
	// while its end is less than SupportWarning away.
	Ended, Ending bool
	// Notice says so to a merchant, with what to do; empty when the version
	// is far from its end (or the kind has none).
	Notice string
}

// Support says where the API version a connection uses stands at now.
func (k Kind) Support(settings map[string]string, now time.Time) Support {
	if k.APIVersion == nil || k.EndOfSupport == nil {
		return Support{}
	}
	s := Support{Version: k.APIVersion(settings)}
	end, ok := k.EndOfSupport(s.Version)
	if !ok {
		return s
	}
	s.End = end
	s.Ended = !now.Before(end)
	s.Ending = !s.Ended && end.Sub(now) <= SupportWarning
	what := "Edit the connection, set the API version to " + k.DefaultAPIVersion + " (or leave it empty), and test it."
	if s.Version == k.DefaultAPIVersion {
		// Crossdock's own default is the one going: only a newer Crossdock helps.
		what = "Update Crossdock to a release written for a newer " + k.Label + " API version, then test the connection."
	}
	date := end.UTC().Format("2 January 2006")
	switch {
	case s.Ended:
		s.Notice = fmt.Sprintf("%s stopped supporting the API version this connection uses (%s) on %s. %s now answers with another version, "+
			"so syncs may fail or read data differently. %s", k.Label, s.Version, date, k.Label, what)
	case s.Ending:
		s.Notice = fmt.Sprintf("%s stops supporting the API version this connection uses (%s) on %s, in %s. Before then: %s",
			k.Label, s.Version, date, daysWord(end.Sub(now)), lowerFirst(what))
	}
	return s
}

func daysWord(d time.Duration) string {
	n := int((d + 24*time.Hour - 1) / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

// ShopifyLocation reads a Shopify location a person typed into a
// connection's settings — its number, its GID or the admin address ending
// in it — as its GID; "" when it is none of those.
func ShopifyLocation(v string) string {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if i := strings.LastIndex(v, "/"); i >= 0 {
		v = v[i+1:]
	}
	if len(v) == 0 || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
		return ""
	}
	return "gid://shopify/Location/" + v
}
