package csvfile_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store/csvfile"
)

func TestFormulaCellsAreWrittenAsText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, cell, want string }{
		{"equals", `=HYPERLINK("http://evil.test","Click")`, `'=HYPERLINK("http://evil.test","Click")`},
		{"plus", `+cmd|'/C calc'!A0`, `'+cmd|'/C calc'!A0`},
		{"minus", `-2+3+cmd|'/C calc'!A0`, `'-2+3+cmd|'/C calc'!A0`},
		{"at", `@SUM(1+1)`, `'@SUM(1+1)`},
		{"tab", "\t=1+1", "'\t=1+1"},
		{"carriage return", "\r=1+1", "'\r=1+1"},
		{"tab before a number", "\t12", "'\t12"},
		{"negative number", "-12.5", "-12.5"},
		{"signed number", "+3", "+3"},
		{"plain text", "SKU-001", "SKU-001"},
		{"empty", "", ""},
		{"equals inside", "a=b", "a=b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := csvfile.NewWriter(&buf)
			require.NoError(t, w.Write([]string{tc.cell, "x"}))
			w.Flush()
			require.NoError(t, w.Error())
			rec, err := csv.NewReader(&buf).Read()
			require.NoError(t, err)
			require.Equal(t, []string{tc.want, "x"}, rec)
			require.Equal(t, tc.cell, csvfile.Unescape(rec[0]), "reading the file back gives the value")
		})
	}
}
