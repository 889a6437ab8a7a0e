package quickbooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrorKind classifies a failed QuickBooks call by what the caller should do.
type ErrorKind string

// Error kinds.
const (
	KindAuth       ErrorKind = "auth"       // 401 / code 120 / invalid_grant: connect again
	KindThrottled  ErrorKind = "throttled"  // 429 / code 3001 / 003001: wait and send again
	KindStale      ErrorKind = "stale"      // code 5010: read again and retry
	KindDuplicate  ErrorKind = "duplicate"  // codes 6240 (name) and 6210 (document number)
	KindNotFound   ErrorKind = "not_found"  // code 610, 404
	KindValidation ErrorKind = "validation" // other ValidationFault codes
	KindTransient  ErrorKind = "transient"  // network trouble, 5xx
	KindProtocol   ErrorKind = "protocol"   // an answer that is not what the API promises
)

// Fault codes Crossdock acts on.
const (
	CodeAuth          = "120"
	CodeNotFound      = "610"
	CodeStale         = "5010"
	CodeDuplicateDoc  = "6210"
	CodeDuplicateName = "6240"
	CodeThrottled     = "3001"
	CodeInvalidGrant  = "invalid_grant"
)

// maxEvidence bounds how much of a raw answer an Error keeps.
const maxEvidence = 4096

// FaultError is one entry of a fault envelope's Error list.
type FaultError struct {
	Message string `json:"Message"`
	Detail  string `json:"Detail"`
	Code    string `json:"code"`
	Element string `json:"element"`
}

// Fault is QuickBooks' error envelope:
// {"Fault":{"Error":[{"Message","Detail","code","element"}],"type":"ValidationFault"},"time":"…"}.
type Fault struct {
	Error []FaultError `json:"Error"`
	Type  string       `json:"type"`
}

type faultEnvelope struct {
	Fault *Fault `json:"Fault"`
	Time  string `json:"time"`
}

// oauthError is the token endpoint's error body: {"error","error_description"}.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// Error is a failed QuickBooks call.
type Error struct {
	Kind      ErrorKind
	Status    int // HTTP status, 0 when no answer arrived
	Code      string
	Message   string
	Detail    string
	Element   string
	FaultType string
	Entity    string // the entity called (salesreceipt, customer…), when known
	TID       string // the intuit_tid header: Intuit support asks for it
	Body      []byte // the raw answer, truncated
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("QuickBooks")
	if e.Code != "" {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	} else if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	b.WriteString(": ")
	msg := strings.TrimSpace(e.Detail)
	if msg == "" {
		msg = strings.TrimSpace(e.Message)
	}
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = string(e.Kind)
	}
	b.WriteString(msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is a QuickBooks error of kind k.
func IsKind(err error, k ErrorKind) bool {
	var qe *Error
	return errors.As(err, &qe) && qe.Kind == k
}

func truncate(b []byte) []byte {
	if len(b) > maxEvidence {
		return append([]byte(nil), b[:maxEvidence]...)
	}
	return append([]byte(nil), b...)
}

// kindOfCode classifies a fault code; status is the HTTP status it came with.
func kindOfCode(code string, status int) ErrorKind {
	switch code {
	case CodeAuth, CodeInvalidGrant, "100":
		return KindAuth
	case CodeStale:
		return KindStale
	case CodeDuplicateDoc, CodeDuplicateName:
		return KindDuplicate
	case CodeNotFound:
		return KindNotFound
	case CodeThrottled, "003001":
		return KindThrottled
	}
	switch {
	case status == 401 || status == 403:
		return KindAuth
	case status == 429:
		return KindThrottled
	case status == 404:
		return KindNotFound
	case status >= 500:
		return KindTransient
	}
	return KindValidation
}

// parseFault reads a fault envelope from body; nil when body holds none. A
// 200 answer may carry a fault too (node-quickbooks treats it as an error).
func parseFault(body []byte) *Fault {
	var env faultEnvelope
	if json.Unmarshal(body, &env) != nil || env.Fault == nil || len(env.Fault.Error) == 0 {
		return nil
	}
	return env.Fault
}

// faultError turns an answer into an Error: its fault envelope when it has
// one, else the status.
func faultError(status int, body []byte, tid, entity string) *Error {
	e := &Error{Status: status, Body: truncate(body), TID: tid, Entity: entity}
	if f := parseFault(body); f != nil {
		fe := f.Error[0]
		e.Code, e.Message, e.Detail, e.Element, e.FaultType = fe.Code, fe.Message, fe.Detail, fe.Element, f.Type
		e.Kind = kindOfCode(fe.Code, status)
		if status == 429 {
			e.Kind = KindThrottled
		}
		return e
	}
	var oe oauthError
	if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
		e.Code, e.Message = oe.Error, oe.Description
		e.Kind = kindOfCode(oe.Error, status)
		return e
	}
	e.Kind = kindOfCode("", status)
	if e.Kind == KindValidation && status < 400 {
		e.Kind = KindProtocol
	}
	e.Message = strings.TrimSpace(string(e.Body))
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "…"
	}
	return e
}

// Explain turns a QuickBooks error into a sentence for a merchant; ok is
// false for errors that are not QuickBooks'.
func Explain(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", false
	}
	detail := strings.TrimSpace(cmpStr(e.Detail, e.Message))
	switch {
	case e.Code == CodeInvalidGrant:
		return "QuickBooks no longer accepts Crossdock's authorisation (it was revoked, or not used for too long). Use \"Connect to QuickBooks\" on the connection's page, then try again.", true
	case e.Kind == KindAuth:
		return "QuickBooks refused Crossdock's authorisation. Use \"Connect to QuickBooks\" on the connection's page to sign in again, then try again.", true
	case e.Kind == KindThrottled:
		return "QuickBooks is limiting how fast Crossdock may call it (500 requests a minute per company); Crossdock waits and sends the change again.", true
	case e.Code == CodeStale:
		return "Someone changed this record in QuickBooks while Crossdock was updating it; Crossdock reads it again and retries. If this keeps happening, try again in a few minutes.", true
	case e.Code == CodeDuplicateName:
		return "QuickBooks already has a customer, supplier or employee with this name (names must be unique across all three). Rename one of them in QuickBooks, then try again. (" + detail + ")", true
	case e.Code == CodeDuplicateDoc:
		return "QuickBooks already has a document with this number. Check whether it was entered by hand in QuickBooks; remove or renumber it, then try again. (" + detail + ")", true
	case e.Code == CodeNotFound:
		return "Something this refers to is deleted or inactive in QuickBooks (" + detail + "). Make it active again in QuickBooks, or change the mapping, then try again.", true
	case e.Kind == KindTransient:
		return "QuickBooks could not be reached or had a temporary problem; Crossdock sends the change again shortly.", true
	case e.Kind == KindValidation:
		return "QuickBooks refused the change: " + detail + ". Correct it in QuickBooks or in the mapping, then try again.", true
	}
	return e.Error(), true
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FaultFromAnswer reads a non-success answer (or a 200 holding a fault) as
// an Error: for tests and for callers that made the HTTP call themselves.
func FaultFromAnswer(status int, body []byte) error {
	return faultError(status, body, "", "")
}
