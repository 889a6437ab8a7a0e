package views

import "testing"

func TestNumbersAreWrittenOneWay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{Thousands(0), "0"},
		{Thousands(999), "999"},
		{Thousands(1000), "1,000"},
		{Thousands(10142), "10,142"},
		{Thousands(1234567), "1,234,567"},
		{Thousands(-2500), "-2,500"},
		{Count(1, "sync"), "1 sync"},
		{Count(2500, "open failed sync"), "2,500 open failed syncs"},
		{Count(3, "price fix", "price fixes"), "3 price fixes"},
		{plural(10142, "attempt"), "10,142 attempts"},
		{Percent(0, 0), ""},
		{Percent(0, 10), "0%"},
		{Percent(53, 100), "53%"},
		{Percent(1, 3), "33%"},
		{Percent(2, 3), "67%"},
		{Percent(1, 1000), "<1%"},
		{Percent(999, 1000), ">99%"},
		{Percent(10, 10), "100%"},
		{Percent(5371, 10142), "53%"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
