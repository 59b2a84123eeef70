package stacktrace

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// hexNumber matches addresses and offsets (0xc000012345, +0x1d), which
// change from run to run.
var hexNumber = regexp.MustCompile(`0x[0-9a-fA-F]+`)

// Fingerprint groups exceptions whose stack did not parse, for
// $exception_fingerprint. Without frames PostHog groups by type and message,
// and a message that carries an id ("order 8812 not found") would open an
// issue per id. The fingerprint is built from the type and the stack's first
// frame line instead: the first non-blank line that is not the exception's
// own header (which repeats the message), with addresses blanked.
func Fingerprint(excType, stack string) string {
	h := sha256.New()
	h.Write([]byte(strings.TrimSpace(excType)))
	h.Write([]byte{0})
	h.Write([]byte(firstFrameLine(excType, stack)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func firstFrameLine(excType, stack string) string {
	excType = strings.TrimSpace(excType)
	for _, l := range splitLines(stack) {
		l = strings.TrimSpace(l)
		if l == "" || isHeaderLine(l, excType) {
			continue
		}
		return hexNumber.ReplaceAllString(l, "0x")
	}
	return ""
}

// isHeaderLine reports lines that introduce a stack rather than locate code:
// they may carry the message.
func isHeaderLine(l, excType string) bool {
	if excType != "" && strings.HasPrefix(l, excType) {
		return true
	}
	for _, p := range [...]string{"Traceback (most recent call last)", "goroutine ", "panic: ", "Exception in thread ", "Caused by: "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	// "SomeError: message" before any frame, whatever the type's spelling.
	typ, _, ok := strings.Cut(l, ": ")
	return ok && !strings.ContainsAny(typ, " \t/\\(")
}
