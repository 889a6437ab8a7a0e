package components

import "testing"

func TestNumberSeparatesThousandsWithAComma(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 4498: "4,498", 1234567: "1,234,567", -1520: "-1,520"} {
		if got := Number(n); got != want {
			t.Errorf("Number(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Count(1, "failed sync", "failed syncs"); got != "1 failed sync" {
		t.Errorf("Count(1) = %q", got)
	}
	if got := Count(4430, "failed sync", "failed syncs"); got != "4,430 failed syncs" {
		t.Errorf("Count(4430) = %q", got)
	}
}
