// Package number writes numbers the one way Crossdock shows them, on pages,
// in alerts, audit summaries and sync messages. It is a leaf every layer may
// import (views included): it imports nothing from Crossdock.
package number

import "strconv"

// Thousands writes n with its thousands separated by a comma ("12,345").
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
