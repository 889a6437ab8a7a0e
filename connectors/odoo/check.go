package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// VersionInfo is the server version Odoo reports.
type VersionInfo struct {
	Version string // e.g. "17.0", "saas~18.3", "19.0"
	Major   int
	Minor   int
	Info    []any // version_info as Odoo sent it, e.g. [19, 0, 0, "final", 0, ""]
}

// AtLeast reports whether the server is version major.minor or newer.
func (v VersionInfo) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func parseVersionInfo(version string, info []any) VersionInfo {
	v := VersionInfo{Version: version, Info: info}
	if len(info) > 0 {
		if f, ok := info[0].(float64); ok {
			v.Major = int(f)
		}
	}
	if len(info) > 1 {
		if f, ok := info[1].(float64); ok {
			v.Minor = int(f)
		}
	}
	if v.Major == 0 {
		// Fall back on the string: "17.0", "saas~18.3".
		s := strings.TrimPrefix(version, "saas~")
		_, _ = fmt.Sscanf(s, "%d.%d", &v.Major, &v.Minor)
	}
	return v
}

// Version asks the server for its version: common.version over JSON-RPC,
// GET /web/version for JSON-2. Neither needs credentials.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	var v VersionInfo
	if c.cfg.Protocol == ProtocolJSON2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/web/version", nil)
		if err != nil {
			return v, fmt.Errorf("odoo: build request: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "crossdock")
		status, answer, err := c.do(req)
		if err != nil {
			return v, err
		}
		if status != http.StatusOK {
			e := fromJSON2(status, answer)
			e.Method = "version"
			if status == http.StatusNotFound {
				e.Kind, e.Message = KindProtocol, "there is no Odoo version endpoint (/web/version) at this URL"
			}
			return v, e
		}
		var wv struct {
			VersionInfo []any  `json:"version_info"`
			Version     string `json:"version"`
		}
		if err := json.Unmarshal(answer, &wv); err != nil || wv.Version == "" {
			return v, &Error{Kind: KindProtocol, Status: status, Body: evidence(answer), Method: "version", Err: err,
				Message: "the version answer is not Odoo's: is this URL an Odoo server?"}
		}
		v = parseVersionInfo(wv.Version, wv.VersionInfo)
	} else {
		raw, err := c.jsonrpc(ctx, "common", "version", []any{})
		if err != nil {
			return v, err
		}
		var cv struct {
			ServerVersion     string `json:"server_version"`
			ServerVersionInfo []any  `json:"server_version_info"`
		}
		if err := json.Unmarshal(raw, &cv); err != nil || cv.ServerVersion == "" {
			return v, &Error{Kind: KindProtocol, Body: evidence(raw), Method: "version", Err: err,
				Message: "the version answer is not Odoo's: is this URL an Odoo server?"}
		}
		v = parseVersionInfo(cv.ServerVersion, cv.ServerVersionInfo)
	}
	c.verMu.Lock()
	c.version = &v
	c.verMu.Unlock()
	return v, nil
}

// serverVersion returns the cached version, asking the server once.
func (c *Client) serverVersion(ctx context.Context) (VersionInfo, error) {
	c.verMu.Lock()
	v := c.version
	c.verMu.Unlock()
	if v != nil {
		return *v, nil
	}
	return c.Version(ctx)
}

// ModelAccess says whether the connection can use one model.
type ModelAccess struct {
	Model      string
	Purpose    string // what Crossdock uses it for, in plain words
	Accessible bool
	Problem    string // plain words when not accessible
}

// CheckResult is the outcome of a connection test, step by step.
type CheckResult struct {
	Reachable        bool
	CredentialsValid bool
	Version          VersionInfo
	Database         string
	Protocol         Protocol
	UserID           int // JSON-RPC only
	Models           []ModelAccess
	// Problems lists everything that is wrong, in plain words; empty when OK.
	Problems []string
}

// OK reports whether every step of the check passed.
func (r CheckResult) OK() bool { return len(r.Problems) == 0 }

// Summary says the outcome in one or two plain sentences.
func (r CheckResult) Summary() string {
	if r.OK() {
		return fmt.Sprintf("Connected to Odoo %s, database %q: all %d needed models are accessible.",
			r.Version.Version, r.Database, len(r.Models))
	}
	return strings.Join(r.Problems, " ")
}

// checkedModels are the models Crossdock's flows need, with the reason.
func checkedModels() []ModelAccess {
	return []ModelAccess{
		{Model: "product.product", Purpose: "products and prices"},
		{Model: "stock.location", Purpose: "stock locations"},
		{Model: "stock.warehouse", Purpose: "warehouses"},
		{Model: "stock.quant", Purpose: "stock levels"},
		{Model: "res.partner", Purpose: "customers"},
		{Model: "sale.order", Purpose: "sales orders"},
		{Model: "account.move", Purpose: "credit notes"},
	}
}

// Check is the "Test connection" button: it checks that the server answers,
// its version fits the protocol, the credentials work, and which needed models
// the user can read. It returns an error only when the check could not get
// past a step (unreachable, refused login); a model without access is a
// Problem in the result, not an error.
//
// Access is probed with search(domain=[], limit=1), which works on every
// version from 14 (check_access_rights is deprecated from 18 and search_count
// takes no limit before 16) and proves read access the way a sweep needs it.
func (c *Client) Check(ctx context.Context) (CheckResult, error) {
	r := CheckResult{Database: c.cfg.Database, Protocol: c.cfg.Protocol}
	v, err := c.Version(ctx)
	if err != nil {
		r.Problems = append(r.Problems, "Odoo could not be reached at "+c.base+": "+err.Error()+".")
		return r, err
	}
	r.Reachable, r.Version = true, v
	if c.cfg.Protocol == ProtocolJSON2 && !v.AtLeast(19, 0) {
		err := &Error{Kind: KindProtocol, Method: "version",
			Message: fmt.Sprintf("this Odoo (%s) does not offer the JSON-2 API (needs 19+); use the JSON-RPC protocol", v.Version)}
		r.Problems = append(r.Problems, "This Odoo is version "+v.Version+
			", which does not offer the JSON-2 API (it needs Odoo 19 or newer). Choose JSON-RPC instead.")
		return r, err
	}
	if c.cfg.Protocol == ProtocolJSONRPC {
		c.uid.Store(0) // a connection test must prove the credentials now
		uid, err := c.login(ctx)
		if err != nil {
			r.Problems = append(r.Problems, credentialsProblem(err))
			return r, err
		}
		r.UserID = int(uid)
	}
	r.Models = checkedModels()
	for i := range r.Models {
		m := &r.Models[i]
		err := c.Call(ctx, m.Model, "search", []any{[]any{}}, map[string]any{"limit": 1}, nil)
		if err == nil {
			m.Accessible = true
			r.CredentialsValid = true
			continue
		}
		switch KindOf(err) {
		case KindAuth:
			// JSON-2 has no login call: the first refused model call is the verdict.
			r.Problems = append(r.Problems, credentialsProblem(err))
			return r, err
		case KindAccess:
			m.Problem = fmt.Sprintf("The Odoo user may not read %s (%s).", m.Purpose, m.Model)
		case KindMissing:
			m.Problem = fmt.Sprintf("%s (%s) do not exist in this database: is the app installed?", capitalise(m.Purpose), m.Model)
		default:
			var oe *Error
			if !errors.As(err, &oe) || oe.Kind == KindTransient {
				r.Problems = append(r.Problems, "Odoo stopped answering during the check: "+err.Error()+".")
				return r, err
			}
			m.Problem = fmt.Sprintf("Reading %s (%s) failed: %s.", m.Purpose, m.Model, err)
		}
		r.Problems = append(r.Problems, m.Problem)
	}
	if c.cfg.Protocol == ProtocolJSONRPC {
		r.CredentialsValid = true
	}
	return r, nil
}

func credentialsProblem(err error) string {
	if IsKind(err, KindAuth) {
		return "Odoo refused the login: check the user, the database name and the API key."
	}
	return "Logging in to Odoo failed: " + err.Error() + "."
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
