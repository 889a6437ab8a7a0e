package views

import (
	"strconv"
	"strings"

	"crossdock/views/components"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func lower(s string) string { return strings.ToLower(s) }

// plural says "1 thing" or "n things", n with thousands separators.
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return Thousands(n) + " " + unit + "s"
}

// Thousands formats a whole number the one way the product writes numbers:
// a comma between thousands ("10,142", "-2,500"). It is components.Number,
// for the views and handlers that speak of this package.
func Thousands(n int) string { return components.Number(n) }

// Count says "1 sync" or "2,500 syncs": a number with its noun, plural when
// not one (many is the plural when it is not noun+"s").
func Count(n int, noun string, many ...string) string {
	plural := noun + "s"
	if len(many) > 0 {
		plural = many[0]
	}
	return components.Count(n, noun, plural)
}

// Percent says part of total the one way the product writes shares: whole
// percents, rounded half up, with no space ("53%"); a share that is not zero
// never reads "0%" ("<1%") and one short of all never reads "100%" (">99%").
// A total of zero has no share: "".
func Percent(part, total int) string {
	if total <= 0 {
		return ""
	}
	switch {
	case part <= 0:
		return "0%"
	case part >= total:
		return "100%"
	}
	p := (part*100 + total/2) / total
	switch {
	case p < 1:
		return "<1%"
	case p > 99:
		return ">99%"
	}
	return strconv.Itoa(p) + "%"
}
