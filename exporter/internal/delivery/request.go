package delivery

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/posthogexporter/posthogexporter/mapping"
)

// bodyPrefix is what every request body starts with, up to the batch's
// first event. The key is JSON-escaped once here.
func bodyPrefix(apiKey configopaque.String, historical bool) []byte {
	b := append([]byte(nil), `{"api_key":`...)
	b = mapping.AppendString(b, string(apiKey))
	if historical {
		b = append(b, `,"historical_migration":true`...)
	}
	return append(b, `,"batch":[`...)
}

const bodySuffix = "]}"

// body is one request's payload, pooled. The transport may still read and
// close a request body after Client.Do returned (http.RoundTripper's
// contract), and may ask GetBody for fresh readers to replay the request on
// another connection; so the buffer goes back to the pool only once the
// Sender and every reader handed out are done with it.
type body struct {
	buf  []byte
	refs atomic.Int32
}

// keptBodies: a few concurrent sends' worth; a body holds one compressed
// request.
const keptBodies = 4

var bodies = newFreeList(keptBodies, func() *body { return new(body) })

func newBody() *body {
	b := bodies.get()
	b.buf = b.buf[:0]
	b.refs.Store(1) // the Sender's own reference
	return b
}

// Write lets the gzip writer append to the buffer.
func (b *body) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *body) reader() io.ReadCloser {
	b.refs.Add(1)
	r := &bodyReader{b: b}
	r.Reset(b.buf)
	return r
}

func (b *body) release() {
	if b.refs.Add(-1) == 0 {
		if cap(b.buf) > 32<<20 {
			b.buf = nil // do not keep a freak buffer alive
		}
		bodies.put(b)
	}
}

type bodyReader struct {
	bytes.Reader
	b      *body
	closed atomic.Bool
}

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.b.release()
	}
	return nil
}

// newGzipWriters keeps gzip writers of one level: each holds a few hundred
// KB of compressor state that is costly to allocate per request.
func newGzipWriters(level int) *freeList[*gzip.Writer] {
	return newFreeList(keptBodies, func() *gzip.Writer {
		w, err := gzip.NewWriterLevel(io.Discard, level)
		if err != nil { // an invalid level: Settings are validated, so only by mistake
			w, _ = gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		}
		return w
	})
}

// buildBody writes the request body for items; raw is the uncompressed size.
// With gzip the uncompressed JSON goes to st.raw (owned by this Send) and
// only the compressed bytes go into the pooled body.
func (s *Sender) buildBody(st *sendState, items []item) (b *body, raw int, err error) {
	b = newBody()
	dst := b.buf
	if s.set.Gzip {
		dst = st.raw[:0]
	}
	// Grown once to the body's size: appending event by event would grow
	// it from nothing through a dozen copies for a batch of 1,000 events.
	dst = slices.Grow(dst, bodySize(s.prefix, st, items))
	dst = append(dst, s.prefix...)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, st.events[it.ev].JSON...)
	}
	dst = append(dst, bodySuffix...)
	raw = len(dst)
	if !s.set.Gzip {
		b.buf = dst
		return b, raw, nil
	}
	st.raw = dst
	zw := s.gzipWriters.get()
	zw.Reset(b)
	_, err = zw.Write(dst)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	s.gzipWriters.put(zw)
	if err != nil {
		b.release()
		return nil, 0, err
	}
	return b, raw, nil
}

// bodySize is the uncompressed size of the body of items.
func bodySize(prefix []byte, st *sendState, items []item) int {
	n := len(prefix) + len(bodySuffix) + max(len(items)-1, 0)
	for _, it := range items {
		n += len(st.events[it.ev].JSON)
	}
	return n
}

// newRequest makes the POST for b. The request holds its own references to b.
func (s *Sender) newRequest(ctx context.Context, b *body) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Body = b.reader()
	req.GetBody = func() (io.ReadCloser, error) { return b.reader(), nil }
	req.ContentLength = int64(len(b.buf))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.set.UserAgent)
	if s.set.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	return req, nil
}
