package shopify

import (
	"fmt"
	"strings"
)

// ErrorKind classifies a failed Shopify call so callers can decide what to do
// (retry later, ask the merchant to reconnect, fix a mapping...).
type ErrorKind int

// Error kinds, from the point of view of someone deciding what to do next.
const (
	// KindProtocol: the answer could not be read (not JSON, missing fields).
	KindProtocol ErrorKind = iota
	// KindAuth: the access token was refused (401/403), the app lacks a scope, or the shop is frozen.
	KindAuth
	// KindThrottled: the rate-limit bucket was empty and the context ended before it refilled.
	KindThrottled
	// KindNotFound: the shop does not exist (404).
	KindNotFound
	// KindTransient: 5xx, network errors and timeouts; retrying later may succeed.
	KindTransient
	// KindValidation: Shopify rejected the request (GraphQL errors or userErrors).
	KindValidation
	// KindConflict: a compare-and-set failed (CHANGE_FROM_QUANTITY_STALE): the value
	// changed in Shopify since it was read.
	KindConflict
)

// String returns a short stable name for logs and metrics.
func (k ErrorKind) String() string {
	switch k {
	case KindAuth:
		return "auth"
	case KindThrottled:
		return "throttled"
	case KindNotFound:
		return "not_found"
	case KindTransient:
		return "transient"
	case KindValidation:
		return "validation"
	case KindConflict:
		return "conflict"
	default:
		return "protocol"
	}
}

// UserError is one entry of a mutation's userErrors list.
type UserError struct {
	Code    string   `json:"code,omitempty"`
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

// Error is the error returned by every Client call that reached (or tried to reach) Shopify.
type Error struct {
	Kind    ErrorKind
	Message string
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// Code is Shopify's error code (extensions.code or a userError code) when there is one.
	Code string
	// Body is the raw answer, truncated, kept as evidence for the failed-sync page.
	Body []byte
	// UserErrors holds the mutation's userErrors, when that is what failed.
	UserErrors []UserError
	// Err is the underlying cause (network error, context error), if any.
	Err error
}

// maxEvidence caps how much of a raw answer an Error keeps.
const maxEvidence = 4096

func evidence(b []byte) []byte {
	if len(b) > maxEvidence {
		b = b[:maxEvidence]
	}
	return append([]byte(nil), b...)
}

// Error describes the failure in plain words.
func (e *Error) Error() string {
	var s string
	switch e.Kind {
	case KindAuth:
		if e.Status != 0 {
			s = fmt.Sprintf("Shopify refused the access token (%d)", e.Status)
		} else {
			s = "Shopify refused access"
		}
	case KindThrottled:
		s = "Shopify is rate-limiting requests and the wait ran out"
	case KindNotFound:
		s = fmt.Sprintf("Shopify shop not found (%d)", e.Status)
	case KindTransient:
		if e.Status != 0 {
			s = fmt.Sprintf("Shopify is temporarily unavailable (%d)", e.Status)
		} else {
			s = "could not reach Shopify"
		}
	case KindValidation:
		s = "Shopify rejected the request"
	case KindConflict:
		s = "the value changed in Shopify since it was read"
	default:
		s = "Shopify sent an answer that could not be read"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// userErrorsToError turns a non-empty userErrors list into an *Error.
// CHANGE_FROM_QUANTITY_STALE becomes KindConflict; everything else KindValidation.
func userErrorsToError(ues []UserError) error {
	if len(ues) == 0 {
		return nil
	}
	kind := KindValidation
	msgs := make([]string, 0, len(ues))
	for _, ue := range ues {
		if ue.Code == "CHANGE_FROM_QUANTITY_STALE" {
			kind = KindConflict
		}
		m := ue.Message
		if len(ue.Field) > 0 {
			m = strings.Join(ue.Field, ".") + ": " + m
		}
		msgs = append(msgs, m)
	}
	return &Error{Kind: kind, Code: ues[0].Code, Message: strings.Join(msgs, "; "), UserErrors: ues}
}
