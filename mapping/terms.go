package mapping

import "strings"

// andTerms splits an OTTL condition into the terms of its top-level `and`,
// so that the explainer can say which one was false. It reads the condition
// as OTTL's lexer does: strings are opaque, `and`, `or` and `not` are
// keywords only as whole words, and `or` binds looser than `and`.
//
//	a and b and c        -> a, b, c
//	a and (b and c)      -> a, b, c   (parentheses around an and are opened)
//	(a and b)            -> a, b
//	a and (b or c)       -> a, (b or c)
//	a and b or c         -> a and b or c   (a top-level or is one term)
//	not (a and b)        -> not (a and b)
//
// A part under `or` or `not` is not split further: which disjunct "failed"
// has no single answer, so the whole group is reported.
func andTerms(cond string) []string {
	cond = strings.TrimSpace(cond)
	if inner, ok := unwrapParens(cond); ok {
		if terms := andTerms(inner); len(terms) > 1 {
			return terms
		}
		return []string{cond} // as written, parentheses and all
	}
	parts := splitTopLevel(cond, "or")
	if len(parts) > 1 {
		return []string{cond}
	}
	parts = splitTopLevel(cond, "and")
	if len(parts) == 1 {
		return parts
	}
	var out []string
	for _, p := range parts {
		out = append(out, andTerms(p)...)
	}
	return out
}

// unwrapParens returns s without one pair of parentheses that encloses all of it.
func unwrapParens(s string) (string, bool) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return "", false
	}
	depth := 0
	closed := -1
	scan(s, func(i int, c byte) bool {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				closed = i
				return false
			}
		}
		return true
	}, nil)
	if closed != len(s)-1 {
		return "", false
	}
	return strings.TrimSpace(s[1 : len(s)-1]), true
}

// splitTopLevel splits s at the keyword kw where it stands outside any
// brackets and strings. A condition that does not parse is returned whole:
// the OTTL parser reports it.
func splitTopLevel(s, kw string) []string {
	var parts []string
	depth, start := 0, 0
	scan(s, func(_ int, c byte) bool {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		return true
	}, func(i int, word string) {
		if depth == 0 && word == kw {
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + len(word)
		}
	})
	parts = append(parts, strings.TrimSpace(s[start:]))
	for _, p := range parts {
		if p == "" {
			return []string{strings.TrimSpace(s)}
		}
	}
	return parts
}

// scan walks s as OTTL's lexer would, skipping string literals: punct gets
// every other byte outside a word (and may stop the walk), word every whole
// word ([A-Za-z0-9_]+, as the lexer's \b sees them) with its offset.
func scan(s string, punct func(i int, c byte) bool, word func(i int, w string)) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if word != nil {
				word(i, s[i:j])
			}
			i = j
		default:
			if !punct(i, c) {
				return
			}
			i++
		}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
