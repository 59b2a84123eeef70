package posthogtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Body limits of PostHog's capture, after decompression.
const (
	BatchBodyLimit = 20 << 20 // POST /batch/
	EventBodyLimit = 2 << 20  // POST /e/, /capture/, /i/v0/e/
)

// answer is a response the server is about to write.
type answer struct {
	status     int
	body       string
	retryAfter string
}

var okAnswer = answer{status: http.StatusOK, body: `{"status":1}`}

func errorAnswer(status int, kind, code, detail string) answer {
	b, _ := json.Marshal(map[string]string{"type": kind, "code": code, "detail": detail})
	return answer{status: status, body: string(b)}
}

// ServeHTTP answers one capture request: it reads the body, applies any
// programmed failure, validates like PostHog does, applies the refusal
// predicate, then records and acknowledges the events.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
	var accepted []Event
	a := s.handle(r, &rec, &accepted)
	rec.Status = a.status
	rec.Response = a.body
	s.record(rec, accepted)
	s.notify(accepted)

	w.Header().Set("Content-Type", "application/json")
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (s *Server) handle(r *http.Request, rec *Request, accepted *[]Event) answer {
	limit, batchRoute := routeLimit(r.URL.Path)
	if limit == 0 {
		return errorAnswer(http.StatusNotFound, "invalid_request", "not_found", "unknown route "+r.URL.Path)
	}
	if batchRoute {
		limit = s.maxBatchBytes
	} else {
		limit = min(limit, s.maxBatchBytes)
	}
	if r.Method != http.MethodPost {
		return errorAnswer(http.StatusMethodNotAllowed, "invalid_request", "method_not_allowed", "use POST")
	}

	raw, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return errorAnswer(http.StatusBadRequest, "validation_error", "request_read_error", err.Error())
	}
	rec.CompressedBytes = len(raw)
	if len(raw) > limit {
		return errorAnswer(http.StatusRequestEntityTooLarge, "validation_error", "payload_too_large", "request body too large")
	}
	body := raw
	if isGzip(r, raw) {
		rec.Gzip = true
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return errorAnswer(http.StatusBadRequest, "validation_error", "request_decoding_error", "bad gzip: "+err.Error())
		}
		body, err = io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return errorAnswer(http.StatusBadRequest, "validation_error", "request_decoding_error", "bad gzip: "+err.Error())
		}
	}
	rec.UncompressedBytes = len(body)
	if len(body) > limit {
		return errorAnswer(http.StatusRequestEntityTooLarge, "validation_error", "payload_too_large", "request body too large")
	}

	p, bad := parsePayload(body, batchRoute, s.apiKey)
	rec.Events = p.count
	rec.HistoricalMigration = p.historical
	if f, ok := s.nextFailure(); ok {
		// A programmed failure wins over validation: the server is "down".
		a := errorAnswer(f.status, "server_error", "injected_failure", "injected failure")
		a.retryAfter = f.retryAfter
		return a
	}
	if bad != nil {
		return *bad
	}
	if refuse := s.refusal(); refuse != nil {
		for _, ev := range p.events {
			if refuse(ev) {
				return errorAnswer(http.StatusBadRequest, "validation_error", "invalid_event",
					fmt.Sprintf("event %q (uuid %s, distinct_id %q) refused", ev.Name, ev.UUID, ev.DistinctID))
			}
		}
	}
	*accepted = p.events
	return okAnswer
}

// routeLimit returns the body limit of a capture route, 0 for other paths.
func routeLimit(path string) (limit int, batch bool) {
	switch strings.TrimSuffix(path, "/") {
	case "/batch":
		return BatchBodyLimit, true
	case "/e", "/capture", "/i/v0/e", "/track", "/engage":
		return EventBodyLimit, false
	}
	return 0, false
}

// isGzip follows capture: Content-Encoding, ?compression=gzip, or the gzip
// magic bytes.
func isGzip(r *http.Request, body []byte) bool {
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		return true
	}
	if c := r.URL.Query().Get("compression"); strings.EqualFold(c, "gzip") || strings.EqualFold(c, "gzip-js") {
		return true
	}
	return len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b
}
