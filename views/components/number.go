package components

import (
	"crossdock/vocab"
)

// Number formats n the one way numbers appear in Crossdock (vocab.Thousands):
// thousands separated by a comma ("12,345").
func Number[T ~int | ~int32 | ~int64](n T) string { return vocab.Thousands(n) }

// Count says "1 thing" or "1,234 things", with the noun's own plural.
func Count[T ~int | ~int32 | ~int64](n T, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Number(n) + " " + many
}
