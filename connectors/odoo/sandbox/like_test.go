package sandbox

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// likeRegexp is LIKE as a regular expression, the way the twin matched
// before likeMatch walked the pattern itself (with the escaped and literal
// characters taken as whole runes): the reference likeMatch must agree with.
func likeRegexp(s, pattern string, fold bool) bool {
	var re strings.Builder
	re.WriteString("^(?s)")
	if fold {
		re.WriteString("(?i)")
	}
	for i := 0; i < len(pattern); {
		c, w := utf8.DecodeRuneInString(pattern[i:])
		i += w
		switch c {
		case '\\':
			if i < len(pattern) {
				c, w = utf8.DecodeRuneInString(pattern[i:])
				i += w
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		case '%':
			re.WriteString(".*")
		case '_':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

func TestLikeMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		s, pattern string
		fold, want bool
	}{
		{"ann@example.com", "ann@example.com", false, true},
		{"Ann@Example.com", "ann@example.com", false, false},
		{"Ann@Example.com", "ann@example.com", true, true},
		{"deco_addict82@example.com", `deco\_addict82@example.com`, true, true},
		{"decoXaddict82@example.com", `deco\_addict82@example.com`, true, false},
		{"decoXaddict82@example.com", `deco_addict82@example.com`, true, true},
		{"SKU-0042", "sku-%", true, true},
		{"SKU-0042", "sku-%", false, false},
		{"a%b_c%", `a\%b\_c\%`, false, true},
		{"aXb_c%", `a\%b\_c\%`, false, false},
		{"abc", "%", false, true},
		{"", "%", false, true},
		{"", "", false, true},
		{"", "_", false, false},
		{"abc", "a%c", false, true},
		{"abbbc", "a%b%c", false, true},
		{"abc", "a%b%b%c", false, false},
		{"aaa", "%a%a%a%", false, true},
		{"aa", "%a%a%a%", false, false},
		{"line\nbreak", "line_break", false, true},
		{"Ünïcödé", "üNÏCÖDÉ", true, true},
		{"Ünïcödé", "_nïcödé", false, true},
		{"straße", "STRASSE", true, false},
		{"ſ", "S", true, true},       // long s folds to s, as (?i) does
		{"K", "\u212a", true, true},  // Kelvin sign
		{"abc", `abc\`, false, true}, // a trailing lone backslash escapes nothing
		{`abc\`, `abc\\`, false, true},
		{"ab", "a__", false, false},
		{"a\xffb", "a_b", false, true},
	}
	for _, c := range cases {
		if got := likeMatch(c.s, c.pattern, c.fold); got != c.want {
			t.Errorf("likeMatch(%q, %q, fold %v) = %v, want %v", c.s, c.pattern, c.fold, got, c.want)
		}
		if ref := likeRegexp(c.s, c.pattern, c.fold); ref != c.want {
			t.Errorf("reference(%q, %q, fold %v) = %v, want %v", c.s, c.pattern, c.fold, ref, c.want)
		}
	}
}

func FuzzLikeMatch(f *testing.F) {
	f.Add("ann@example.com", "%@EXAMPLE.com", true)
	f.Add("a%b_c", `a\%b\_c`, false)
	f.Add("abcabc", "%b_a%", false)
	f.Fuzz(func(t *testing.T, s, pattern string, fold bool) {
		if !utf8.ValidString(s) || !utf8.ValidString(pattern) || len(pattern) > 64 {
			return
		}
		if got, want := likeMatch(s, pattern, fold), likeRegexp(s, pattern, fold); got != want {
			t.Fatalf("likeMatch(%q, %q, fold %v) = %v, the regular expression says %v", s, pattern, fold, got, want)
		}
	})
}

func BenchmarkLikeMatch(b *testing.B) {
	for b.Loop() {
		likeMatch("rehearsal+417@example.com", `rehearsal+416@example.com`, true)
	}
}
