package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Webhook formats: QuickBooks moved every app from the legacy body to a
// CloudEvents array (FACTS-next §1); the twin speaks both.
const (
	FormatLegacy      = "legacy"
	FormatCloudEvents = "cloudevents"
)

// Change is one change a webhook announces.
type Change struct {
	Entity    string // Customer, SalesReceipt… as the API spells it
	ID        string
	Operation string // Create, Update, Delete, Merge, Void
	At        time.Time
}

var pastTense = map[string]string{"Create": "created", "Update": "updated", "Delete": "deleted", "Merge": "merged", "Void": "voided", "Emailed": "emailed"}

// Notification builds a delivery of changes in a format, signed with the
// verifier token as QuickBooks signs it: the intuit-signature header is
// base64(HMAC-SHA256(verifier token, body)).
func (s *Server) Notification(format, verifier string, changes []Change) (body []byte, signature string) {
	if format == FormatCloudEvents {
		var evs []map[string]any
		for _, c := range changes {
			evs = append(evs, map[string]any{
				"specversion": "1.0", "id": newToken(""), "source": "intuit.sandbox",
				"type":            "qbo." + strings.ToLower(c.Entity) + "." + pastTense[c.Operation] + ".v1",
				"datacontenttype": "application/json", "time": c.At.UTC().Format(time.RFC3339Nano),
				"intuitentityid": c.ID, "intuitaccountid": s.opts.RealmID, "data": map[string]any{},
			})
		}
		body, _ = json.Marshal(evs)
	} else {
		var ents []map[string]any
		for _, c := range changes {
			ents = append(ents, map[string]any{"id": c.ID, "operation": c.Operation, "name": c.Entity,
				"lastUpdated": c.At.UTC().Format("2006-01-02T15:04:05.000Z")})
		}
		body, _ = json.Marshal(map[string]any{"eventNotifications": []any{map[string]any{"realmId": s.opts.RealmID,
			"dataChangeEvent": map[string]any{"entities": ents}}}})
	}
	m := hmac.New(sha256.New, []byte(verifier))
	m.Write(body)
	return body, base64.StdEncoding.EncodeToString(m.Sum(nil))
}
