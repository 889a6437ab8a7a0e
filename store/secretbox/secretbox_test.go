package secretbox_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store/secretbox"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	sealed := box.Seal([]byte(`{"access_token":"shpat_x"}`), "connection:1")
	require.False(t, bytes.Contains(sealed, []byte("shpat_x")), "no clear text in the sealed value")
	pt, err := box.Open(sealed, "connection:1")
	require.NoError(t, err)
	require.Equal(t, `{"access_token":"shpat_x"}`, string(pt))
	require.NotEqual(t, sealed, box.Seal(pt, "connection:1"), "a fresh nonce every time")

	tests := []struct {
		name    string
		box     *secretbox.Box
		sealed  []byte
		context string
	}{
		{"other row", box, sealed, "connection:2"},
		{"other key", mustBox(t, "another key, another key, another key"), sealed, "connection:1"},
		{"damaged", box, append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), "connection:1"},
		{"too short", box, []byte{1, 2}, "connection:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.box.Open(tc.sealed, tc.context)
			require.ErrorIs(t, err, secretbox.ErrOpen)
		})
	}
	_, err = secretbox.New([]byte("short"))
	require.Error(t, err)
}

func mustBox(t *testing.T, key string) *secretbox.Box {
	b, err := secretbox.New([]byte(key))
	require.NoError(t, err)
	return b
}
