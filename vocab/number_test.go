package vocab_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
)

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		require.Equal(t, want, vocab.Thousands(n))
	}
}
