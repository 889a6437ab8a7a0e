package vocab

import "strings"

// FieldErrors maps a form field to what is wrong with it, in plain words. A
// form's Validate returns it; the page shows each message next to its field.
type FieldErrors map[string]string

// Error joins the messages, the person's own fields (email, name, role,
// password) first.
func (fe FieldErrors) Error() string {
	parts := make([]string, 0, len(fe))
	for _, k := range []string{"email", "name", "role", "password"} {
		if m, ok := fe[k]; ok {
			parts = append(parts, m)
		}
	}
	for k, m := range fe {
		if k != "email" && k != "name" && k != "role" && k != "password" {
			parts = append(parts, m)
		}
	}
	return strings.Join(parts, " ")
}

// First returns the message of the first of fields that has one, or "".
func (fe FieldErrors) First(fields ...string) string {
	for _, f := range fields {
		if m := fe[f]; m != "" {
			return m
		}
	}
	return ""
}
