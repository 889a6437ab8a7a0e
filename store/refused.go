package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lib/pq"
)

// Refused reports whether err is the database (or the JSON encoding before
// it) refusing a value: a NUL character, bytes that are not UTF-8, a number
// out of range, a key too long to index. The same data fails the same way
// every time, so a batch that meets it must set the item aside rather than
// retry it; connection, lock and serialization errors are not refusals.
func Refused(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "22", "54": // data exception; program limit exceeded (index row too large)
			return true
		case "23": // integrity: a check or not-null constraint, never a race (23505 is handled by ON CONFLICT)
			return pqErr.Code != "23505"
		}
		return false
	}
	var unsupported *json.UnsupportedValueError
	var unsupportedType *json.UnsupportedTypeError
	return errors.As(err, &unsupported) || errors.As(err, &unsupportedType)
}

// RefusalWords says in plain words what a refused value was (Refused).
func RefusalWords(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "22021", "22P05":
			return "a character that cannot be stored (a NUL byte, or bytes that are not UTF-8 text)"
		case "22001", "54000":
			return "a value too long to be stored"
		case "22003":
			return "a number too large to be stored"
		case "22007", "22008":
			return "a date that cannot be read"
		}
		if pqErr.Code.Class() == "23" {
			return "a value that breaks a rule of Crossdock's database"
		}
	}
	return "a value Crossdock's database cannot store"
}

// FailWebhookEvent marks one event failed with the reason, if it is still
// waiting for intake (another replica may have handled it meanwhile).
func (q q) FailWebhookEvent(ctx context.Context, id int64, reason string) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE webhook_events SET status = 'failed', error = $2, processed_at = now()
WHERE id = $1 AND status = 'received'`, id, reason); err != nil {
		return fmt.Errorf("store: fail webhook event %d: %w", id, err)
	}
	return nil
}
