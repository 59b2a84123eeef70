package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAndTerms(t *testing.T) {
	for _, tc := range []struct {
		cond string
		want []string
	}{
		{`a == 1`, []string{`a == 1`}},
		{`a == 1 and b == 2 and c == 3`, []string{`a == 1`, `b == 2`, `c == 3`}},
		{`a == 1 and (b == 2 and (c == 3 and d == 4))`, []string{`a == 1`, `b == 2`, `c == 3`, `d == 4`}},
		{`((a == 1 and b == 2))`, []string{`a == 1`, `b == 2`}},
		{`a == 1 and (b == 2 or c == 3)`, []string{`a == 1`, `(b == 2 or c == 3)`}},
		{`a == 1 and b == 2 or c == 3`, []string{`a == 1 and b == 2 or c == 3`}},
		{`not (a == 1 and b == 2) and c == 3`, []string{`not (a == 1 and b == 2)`, `c == 3`}},
		{`(a == 1) or (b == 2)`, []string{`(a == 1) or (b == 2)`}},
		// Keywords only as whole words, never inside strings, paths or names.
		{`span.name == "x and y" and span.attributes["or"] == "and"`, []string{`span.name == "x and y"`, `span.attributes["or"] == "and"`}},
		{`android == 1 and order == "a\" and b"`, []string{`android == 1`, `order == "a\" and b"`}},
		{`IsMatch(log.body, "a") and Len([1, 2]) > 1`, []string{`IsMatch(log.body, "a")`, `Len([1, 2]) > 1`}},
		// Not a valid condition: returned whole for the parser to report.
		{`a == 1 and`, []string{`a == 1 and`}},
	} {
		assert.Equal(t, tc.want, andTerms(tc.cond), tc.cond)
	}
}
