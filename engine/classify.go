package engine

import (
	"context"
	"errors"
	"net"

	"crossdock/connectors/odoo"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/vocab"
)

// failure is a sync failure already put in words: its class, a sentence a
// merchant understands, and the evidence (an answer) to keep.
type failure struct {
	class    vocab.ErrorClass
	message  string
	evidence any
	err      error
	// waiting marks a record that depends on another not there yet (a refund
	// before its order): worth retrying, but the system answered fine, so it
	// must not count towards its circuit breaker.
	waiting bool
}

func (f *failure) Error() string {
	if f.err != nil {
		return f.message + ": " + f.err.Error()
	}
	return f.message
}

func (f *failure) Unwrap() error { return f.err }

func fail(class vocab.ErrorClass, message string, err error) *failure {
	return &failure{class: class, message: message, err: err}
}

// waitFor is a transient failure of a record whose dependency has not arrived
// yet: it is retried like one, without counting against the system.
func waitFor(message string) *failure {
	return &failure{class: vocab.ClassTransient, message: message, waiting: true}
}

// retryable reports whether a class is worth retrying as is. The others need
// a person (a mapping, a credential, a rule, the data) and fail at once.
func retryable(class vocab.ErrorClass) bool {
	return class == vocab.ClassTransient || class == vocab.ClassRateLimited
}

// tripsBreaker reports whether a failure of this class says the system itself
// is in trouble (rather than one record).
func tripsBreaker(class vocab.ErrorClass) bool {
	return class == vocab.ClassTransient || class == vocab.ClassRateLimited || class == vocab.ClassAuth
}

// classify turns any error of a flow into a class, a message and evidence.
// system names the system called, for the sentence.
func classify(err error, system string) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	var se *shopify.Error
	if errors.As(err, &se) {
		out := &failure{message: system + ": " + se.Error(), err: err, evidence: shopifyEvidence(se)}
		switch se.Kind {
		case shopify.KindTransient:
			out.class = vocab.ClassTransient
		case shopify.KindThrottled:
			out.class = vocab.ClassRateLimited
			out.message = system + " is rate-limiting Crossdock; the change is sent again shortly."
		case shopify.KindAuth:
			out.class = vocab.ClassAuth
			out.message = system + " refused Crossdock's access token or permissions. Check the connection, then try again. (" + se.Error() + ")"
		case shopify.KindNotFound:
			out.class = vocab.ClassNotFound
		case shopify.KindValidation:
			out.class = vocab.ClassValidation
			out.message = system + " refused the change: " + se.Message
		case shopify.KindConflict:
			out.class = vocab.ClassConflict
		default:
			out.class = vocab.ClassInternal
		}
		return out
	}
	var oe *odoo.Error
	if errors.As(err, &oe) {
		out := &failure{message: system + ": " + oe.Error(), err: err, evidence: odooEvidence(oe)}
		switch oe.Kind {
		case odoo.KindTransient:
			out.class = vocab.ClassTransient
		case odoo.KindAuth, odoo.KindAccess:
			out.class = vocab.ClassAuth
			out.message = system + " refused Crossdock's user or its rights. Check the connection, then try again. (" + oe.Error() + ")"
		case odoo.KindValidation:
			out.class = vocab.ClassValidation
			out.message = system + " refused the change: " + oe.Message
		case odoo.KindMissing:
			out.class = vocab.ClassNotFound
		default:
			out.class = vocab.ClassInternal
		}
		return out
	}
	var qe *quickbooks.Error
	if errors.As(err, &qe) {
		return classifyQuickBooks(qe, system, err)
	}
	var be *shipbob.Error
	if errors.As(err, &be) {
		return classifyShipBob(be, system, err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &failure{class: vocab.ClassTransient, message: system + " did not answer in time; the change is sent again shortly.", err: err}
	}
	if errors.As(err, &ne) {
		return &failure{class: vocab.ClassTransient, message: system + " could not be reached; the change is sent again shortly.", err: err}
	}
	return &failure{class: vocab.ClassInternal, message: "Crossdock hit an internal error: " + err.Error(), err: err}
}

func shopifyEvidence(e *shopify.Error) map[string]any {
	m := map[string]any{"kind": e.Kind.String()}
	if e.Status != 0 {
		m["status"] = e.Status
	}
	if e.Code != "" {
		m["code"] = e.Code
	}
	if len(e.UserErrors) > 0 {
		m["user_errors"] = e.UserErrors
	}
	if len(e.Body) > 0 {
		m["body"] = string(e.Body)
	}
	return m
}

func odooEvidence(e *odoo.Error) map[string]any {
	m := map[string]any{"kind": string(e.Kind)}
	if e.Status != 0 {
		m["status"] = e.Status
	}
	if e.Name != "" {
		m["exception"] = e.Name
	}
	if e.Message != "" {
		m["message"] = e.Message
	}
	if e.Model != "" {
		m["model"], m["method"] = e.Model, e.Method
	}
	if len(e.Body) > 0 {
		m["body"] = string(e.Body)
	}
	return m
}

// classifyShipBob turns a ShipBob error into a class and a sentence.
func classifyShipBob(be *shipbob.Error, system string, err error) *failure {
	sentence, _ := shipbob.Explain(be)
	out := &failure{message: system + ": " + sentence, err: err, evidence: shipbobEvidence(be)}
	switch be.Kind {
	case shipbob.KindTransient:
		out.class = vocab.ClassTransient
	case shipbob.KindThrottled:
		out.class = vocab.ClassRateLimited
	case shipbob.KindAuth, shipbob.KindNoChannel:
		out.class = vocab.ClassAuth
	case shipbob.KindNotFound:
		out.class = vocab.ClassNotFound
	case shipbob.KindValidation, shipbob.KindDuplicate:
		out.class = vocab.ClassValidation
	default:
		out.class = vocab.ClassInternal
	}
	return out
}

func shipbobEvidence(e *shipbob.Error) map[string]any {
	m := map[string]any{"kind": e.Kind.String(), "request": e.Method + " " + e.Path}
	if e.Status != 0 {
		m["status"] = e.Status
	}
	if e.Code != "" {
		m["code"] = e.Code // the sign-in alert reads invalid_grant here
	}
	if len(e.Fields) > 0 {
		m["errors"] = e.Fields
	}
	if e.RetryAfter > 0 {
		m["retry_after_seconds"] = e.RetryAfter.Seconds()
	}
	if len(e.Body) > 0 {
		m["body"] = string(e.Body)
	}
	return m
}
