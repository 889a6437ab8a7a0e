package vocab

import "strconv"

// Thousands writes n the one way numbers appear in Crossdock, on pages, in
// alerts, audit summaries and sync messages: thousands separated by a comma
// ("12,345").
func Thousands[T ~int | ~int32 | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
