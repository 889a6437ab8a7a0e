package odoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// DateTimeLayout is how Odoo writes datetimes on the wire: UTC, no zone.
const DateTimeLayout = "2006-01-02 15:04:05"

// DateLayout is how Odoo writes dates on the wire.
const DateLayout = "2006-01-02"

// Many2One is a many2one value as Odoo reads it: [id, "display name"], or
// false when empty (ID 0).
type Many2One struct {
	ID   int
	Name string
}

// UnmarshalJSON accepts [id, "name"], a bare id, false and null.
func (m *Many2One) UnmarshalJSON(b []byte) error {
	*m = Many2One{}
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("false")) || bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var pair []json.RawMessage
		if err := json.Unmarshal(b, &pair); err != nil {
			return err
		}
		if len(pair) == 0 {
			return nil
		}
		if err := json.Unmarshal(pair[0], &m.ID); err != nil {
			return fmt.Errorf("many2one id: %w", err)
		}
		if len(pair) > 1 {
			var name text
			if err := json.Unmarshal(pair[1], &name); err != nil {
				return fmt.Errorf("many2one name: %w", err)
			}
			m.Name = string(name)
		}
		return nil
	}
	return json.Unmarshal(b, &m.ID)
}

// text is a char field: Odoo reads an empty one as false, not "" or null.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("false")) || bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = text(s)
	return nil
}

// number is a float field that may read as false (e.g. when computed on an
// empty recordset).
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("false")) || bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = number(f)
	return nil
}

// datetime is a datetime field: "YYYY-MM-DD HH:MM:SS" in UTC, or false.
type datetime time.Time

func (d *datetime) UnmarshalJSON(b []byte) error {
	var s text
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*d = datetime{}
		return nil
	}
	layout := DateTimeLayout
	if len(s) == len(DateLayout) {
		layout = DateLayout
	}
	t, err := time.ParseInLocation(layout, string(s), time.UTC)
	if err != nil {
		return fmt.Errorf("odoo datetime %q: %w", s, err)
	}
	*d = datetime(t)
	return nil
}

// formatDateTime writes t as Odoo expects in domains and values.
func formatDateTime(t time.Time) string { return t.UTC().Format(DateTimeLayout) }

// Command encodes x2many commands ([0, 0, vals] and friends), the way create
// and write take one2many and many2many values.
type Command []any

// CreateCommand adds a new linked record with vals: [0, 0, vals].
func CreateCommand(vals map[string]any) Command { return Command{0, 0, vals} }

// SetCommand replaces the linked records with ids: [6, 0, ids].
func SetCommand(ids []int) Command { return Command{6, 0, ids} }
