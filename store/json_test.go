package store_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// jsonb refuses the NUL character; JSON turns it into U+FFFD and leaves an
// escaped backslash followed by "u0000" (the six characters) alone.
func TestJSONReplacesOnlyNULCharacters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"no NUL", `{"a":"b"}`, `{"a":"b"}`},
		{"a NUL", `{"a":"x\u0000y"}`, `{"a":"x\ufffdy"}`},
		{"two", `["\u0000\u0000"]`, `["\ufffd\ufffd"]`},
		{"an escaped backslash before u0000", `{"a":"\\u0000"}`, `{"a":"\\u0000"}`},
		{"an escaped backslash, then a NUL", `{"a":"\\\u0000"}`, `{"a":"\\\ufffd"}`},
		{"NUL in a key", `{"\u0000":1}`, `{"\ufffd":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.JSON(json.RawMessage(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}
