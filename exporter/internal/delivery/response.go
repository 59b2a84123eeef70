package delivery

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// class is what an HTTP answer means for the events of its request.
type class uint8

const (
	classSuccess      class = iota // 2xx: delivered
	classRetryable                 // 408, 429, 5xx: retry the push later
	classUnauthorized              // 401, 403: the key is wrong; nothing will get through
	classTooLarge                  // 413: split the request
	classBadRequest                // 400: some event is refused; isolate it
	classRejected                  // other statuses: permanent
)

func classify(status int) class {
	switch {
	case status >= 200 && status < 300:
		return classSuccess
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return classRetryable
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return classUnauthorized
	case status == http.StatusRequestEntityTooLarge:
		return classTooLarge
	case status == http.StatusBadRequest:
		return classBadRequest
	default:
		return classRejected
	}
}

// outcomeOf is what sendBatch will do with a request of n events that got
// this status (0: no answer).
func (s *Sender) outcomeOf(st *sendState, status, n int) string {
	c := classify(status)
	switch {
	case status == 0 || c == classRetryable:
		if s.set.Retry {
			return OutcomeWillRetry
		}
		return OutcomeGivenUp
	case c == classSuccess:
		return OutcomeSuccess
	case c == classTooLarge && n > 1, c == classBadRequest && n > 1 && st.bisectBudget >= 2:
		return OutcomeSplit
	}
	return OutcomeGivenUp
}

// maxResponseRead bounds how much of an answer is read: enough for any
// PostHog message, and reading the body to its end lets the connection be
// reused.
const maxResponseRead = 64 << 10

// maxMessage bounds the part of an answer quoted in logs and errors.
const maxMessage = 256

type response struct {
	status     int
	message    string        // the start of the body, for logs and errors
	retryAfter time.Duration // > 0 when the answer asked for a delay
}

// readResponse reads (a bounded part of) the body and closes it.
func (s *Sender) readResponse(resp *http.Response) response {
	r := response{status: resp.StatusCode}
	if classify(resp.StatusCode) == classSuccess {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	} else {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
		r.message = s.sanitize(b)
		if classify(resp.StatusCode) == classRetryable {
			r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
		}
	}
	_ = resp.Body.Close()
	return r
}

// sanitize makes a response body fit to quote: without the API key should a
// server ever echo it (removed before cutting, so no part of it survives),
// valid UTF-8, short.
func (s *Sender) sanitize(b []byte) string {
	msg := redactKey(string(b), string(s.set.APIKey))
	cut := len(msg) > maxMessage
	if cut {
		msg = msg[:maxMessage]
	}
	msg = strings.TrimSpace(strings.ToValidUTF8(msg, "\uFFFD"))
	if cut {
		msg += "…"
	}
	return msg
}

// minKeyPrefix is the shortest start of the API key that redactKey removes:
// "phc_" and two characters of the secret.
const minKeyPrefix = 6

// redactKey replaces the key in msg with [REDACTED], and also any cut-off
// start of it (at least minKeyPrefix bytes): a server or proxy that echoes a
// truncated request body may cut it inside the key.
func redactKey(msg, key string) string {
	if key == "" {
		return msg
	}
	probe := key[:min(len(key), minKeyPrefix)]
	i := strings.Index(msg, probe)
	if i < 0 {
		return msg
	}
	var b strings.Builder
	for i >= 0 {
		j := len(probe)
		for j < len(key) && i+j < len(msg) && msg[i+j] == key[j] {
			j++
		}
		b.WriteString(msg[:i])
		b.WriteString("[REDACTED]")
		msg = msg[i+j:]
		i = strings.Index(msg, probe)
	}
	b.WriteString(msg)
	return b.String()
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
// It returns 0 when there is none or it asks for no delay.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Anything longer than a day is nonsense, and large values overflow.
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}
