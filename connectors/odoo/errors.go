package odoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// ErrorKind classifies a failed Odoo call by what the caller should do about it.
type ErrorKind string

// Error kinds. Only KindTransient is worth retrying as is; the others need a
// person (credentials, rights, data) or a code change.
const (
	// KindAuth: the login, password or API key was refused (AccessDenied,
	// authenticate answering false, HTTP 401).
	KindAuth ErrorKind = "auth"
	// KindAccess: the user is known but lacks rights on a model (AccessError, 403).
	KindAccess ErrorKind = "access"
	// KindValidation: Odoo refused the data (ValidationError, UserError, 422).
	KindValidation ErrorKind = "validation"
	// KindMissing: the record, model or database does not exist (MissingError, 404).
	KindMissing ErrorKind = "missing"
	// KindTransient: network trouble, timeouts, 5xx answers, database conflicts.
	KindTransient ErrorKind = "transient"
	// KindProtocol: the answer was not what the protocol promises (not JSON, no
	// result), or the request did not fit this Odoo (unknown method, wrong API).
	KindProtocol ErrorKind = "protocol"
)

// maxEvidence bounds how much of a raw answer an Error keeps.
const maxEvidence = 4096

// Error is a failed Odoo call. It keeps Odoo's own exception name and message
// and, as evidence for the failed-sync page, a truncated copy of the raw answer.
type Error struct {
	Kind    ErrorKind
	Name    string // Odoo's exception class, e.g. odoo.exceptions.AccessDenied
	Message string // Odoo's own message, or ours when Odoo gave none
	Debug   string // server traceback when Odoo sent one
	Status  int    // HTTP status code, 0 when no answer arrived
	Body    []byte // raw answer, truncated to a few KiB
	Model   string // model of the call, when there was one
	Method  string // method of the call, or the JSON-RPC service method
	Err     error  // underlying cause (network error, context deadline), if any
}

// Error says what went wrong in plain words, keeping Odoo's own message.
func (e *Error) Error() string {
	var lead string
	switch e.Kind {
	case KindAuth:
		lead = "Odoo did not accept the login"
	case KindAccess:
		lead = "the Odoo user is not allowed to do this"
	case KindValidation:
		lead = "Odoo rejected the change"
	case KindMissing:
		lead = "Odoo could not find it"
	case KindTransient:
		lead = "Odoo could not be reached or had a temporary problem"
	default:
		lead = "Odoo answered in an unexpected way"
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		return lead
	}
	return lead + ": " + msg
}

// Unwrap returns the underlying cause, so errors.Is(err, context.DeadlineExceeded) works.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying the same call later may succeed.
func (e *Error) Temporary() bool { return e.Kind == KindTransient }

// KindOf returns the kind of an *Error anywhere in err's chain, or "" if there is none.
func KindOf(err error) ErrorKind {
	var oe *Error
	if errors.As(err, &oe) {
		return oe.Kind
	}
	return ""
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k ErrorKind) bool { return KindOf(err) == k }

func evidence(body []byte) []byte {
	if len(body) > maxEvidence {
		body = body[:maxEvidence]
	}
	return append([]byte(nil), body...)
}

// errorData is the serialized exception Odoo puts in a JSON-RPC error's data
// and, from 19.0, as the whole body of a JSON-2 error.
type errorData struct {
	Name      string `json:"name"`
	Message   string `json:"message"`
	Debug     string `json:"debug"`
	Arguments []any  `json:"arguments"`
}

// Odoo ≤18 raises a UserError, not a MissingError, for an unknown model on
// execute_kw; recognise it so callers see "missing" on every version.
var unknownModelMessage = regexp.MustCompile(`^Object \S+ doesn't exist$`)

// kindForName maps Odoo's exception class to a kind. ok is false when the
// name says nothing decisive and the HTTP status or JSON-RPC code must decide.
func kindForName(name, message string) (ErrorKind, bool) {
	switch name {
	case "odoo.exceptions.AccessDenied", "werkzeug.exceptions.Unauthorized",
		"odoo.http.SessionExpiredException":
		return KindAuth, true
	case "odoo.exceptions.AccessError", "werkzeug.exceptions.Forbidden":
		return KindAccess, true
	case "odoo.exceptions.MissingError", "werkzeug.exceptions.NotFound":
		return KindMissing, true
	case "odoo.exceptions.UserError", "odoo.exceptions.except_orm":
		if unknownModelMessage.MatchString(message) {
			return KindMissing, true
		}
		return KindValidation, true
	case "odoo.exceptions.ValidationError", "odoo.exceptions.RedirectWarning",
		"werkzeug.exceptions.UnprocessableEntity", "werkzeug.exceptions.BadRequest":
		return KindValidation, true
	case "odoo.exceptions.ConcurrencyError", "odoo.exceptions.LockError",
		"werkzeug.exceptions.ServiceUnavailable", "werkzeug.exceptions.TooManyRequests",
		"werkzeug.exceptions.GatewayTimeout", "werkzeug.exceptions.BadGateway":
		return KindTransient, true
	}
	switch {
	case strings.HasPrefix(name, "psycopg2.") || strings.HasPrefix(name, "psycopg."):
		if strings.Contains(message, "database") && strings.Contains(message, "does not exist") {
			return KindMissing, true
		}
		// Serialization failures and lost connections: Odoo itself retries these.
		return KindTransient, true
	case strings.HasPrefix(name, "builtins."):
		// TypeError, ValueError, AttributeError, KeyError: the request does not
		// fit this Odoo (unknown field or method, wrong argument). Retrying won't help.
		return KindProtocol, true
	}
	return "", false
}

// kindForStatus maps a JSON-2 (or proxy) HTTP status to a kind.
func kindForStatus(status int) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindAccess
	case status == http.StatusNotFound || status == http.StatusGone:
		return KindMissing
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest ||
		status == http.StatusConflict:
		return KindValidation
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return KindTransient
	}
	return KindProtocol
}

// jsonrpcError is the "error" member of a JSON-RPC answer.
type jsonrpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// fromJSONRPC builds an *Error from a JSON-RPC error member. Odoo answers these
// with HTTP 200; code is 200 up to 18.0 and 0 from 18.1, so it says nothing,
// except 100 (session expired) and 404.
func fromJSONRPC(e jsonrpcError, status int, body []byte) *Error {
	var d errorData
	_ = json.Unmarshal(e.Data, &d) // data may be absent; the code and message still speak
	out := &Error{Name: d.Name, Message: d.Message, Debug: d.Debug, Status: status, Body: evidence(body)}
	if out.Message == "" {
		out.Message = e.Message
	}
	if k, ok := kindForName(d.Name, d.Message); ok {
		out.Kind = k
		return out
	}
	switch e.Code {
	case 100:
		out.Kind = KindAuth
	case 404:
		out.Kind = KindMissing
	default:
		// An Odoo exception we do not know by name: Odoo refused the request.
		out.Kind = KindValidation
		if d.Name == "" {
			out.Kind = KindProtocol
		}
	}
	return out
}

// fromJSON2 builds an *Error from a non-2xx JSON-2 answer. From 19.0 the body
// is a serialized exception object; pre-release servers (saas-18.x) sent a bare
// JSON string, and proxies send HTML. All three are accepted.
func fromJSON2(status int, body []byte) *Error {
	out := &Error{Status: status, Body: evidence(body), Kind: kindForStatus(status)}
	trimmed := strings.TrimSpace(string(body))
	switch {
	case strings.HasPrefix(trimmed, "{"):
		var d errorData
		if err := json.Unmarshal(body, &d); err == nil && (d.Name != "" || d.Message != "") {
			out.Name, out.Message, out.Debug = d.Name, d.Message, d.Debug
			if k, ok := kindForName(d.Name, d.Message); ok {
				// The status wins for werkzeug's generic classes; the name wins
				// for Odoo's own exceptions, which are more precise.
				if !strings.HasPrefix(d.Name, "werkzeug.") || status < 400 {
					out.Kind = k
				}
			}
			return out
		}
	case strings.HasPrefix(trimmed, `"`):
		var s string
		if err := json.Unmarshal(body, &s); err == nil {
			out.Message = s
			return out
		}
	}
	if status == http.StatusNotFound {
		// A JSON-2 route that answers with a non-JSON 404 is a server without
		// the JSON-2 API (Odoo ≤18), or a URL that is not Odoo at all.
		out.Kind = KindProtocol
		out.Message = "this Odoo does not offer the JSON-2 API (needs 19+); use the JSON-RPC protocol or check the URL"
		return out
	}
	out.Message = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	return out
}
