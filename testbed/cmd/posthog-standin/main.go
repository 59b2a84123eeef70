// Command posthog-standin is a local PostHog-compatible capture endpoint for
// demos: it accepts what PostHog's capture API accepts (see
// internal/posthogtest) and prints every accepted event as one table row:
// the event's time (UTC; the time of the span or log record it was made
// from, not the time it arrived), event, distinct_id and a few properties.
// With -full N the first N events are also printed whole, as sent; with
// -json every event is printed as the JSON line it was sent as.
//
//	posthog-standin [-addr 127.0.0.1:8765] [-expect N] [-timeout 60s] [-min N] [-full N] [-json]
//
// It runs until SIGINT or SIGTERM, or with -expect N until N events arrived
// (exit status 1 if -timeout passes first). On exit it prints the number of
// events per event name, and exits 1 if fewer than -min events arrived.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8765", "address to listen on")
	expect := flag.Int("expect", 0, "exit after this many events (0: run until SIGINT/SIGTERM)")
	timeout := flag.Duration("timeout", 0, "with -expect: give up after this long and exit 1 (0: no limit)")
	asJSON := flag.Bool("json", false, "print each event as the JSON line it was sent as, instead of a table row")
	full := flag.Int("full", 0, "print the first N events whole, as sent, before the table")
	nprops := flag.Int("props", 5, "properties shown per row")
	hide := flag.String("hide", "environment,service", "comma-separated properties not shown in rows (besides $-properties such as $trace_id)")
	minEvents := flag.Int("min", 0, "exit 1 if fewer events than this arrived")
	flag.Parse()
	hidden = map[string]bool{}
	for _, k := range strings.Split(*hide, ",") {
		if k = strings.TrimSpace(k); k != "" {
			hidden[k] = true
		}
	}
	code := run(*addr, *expect, *timeout, *asJSON, *full, *nprops, os.Stdout)
	if code == 0 && total < *minEvents {
		fmt.Printf("posthog-standin: expected at least %d events\n", *minEvents)
		code = 1
	}
	os.Exit(code)
}

var (
	total  int             // events received, for main
	hidden map[string]bool // properties not shown in rows
)

func run(addr string, expect int, timeout time.Duration, asJSON bool, full, nprops int, out io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "posthog-standin: %v\n", err)
		return 2
	}

	p := &printer{out: out, json: asJSON, full: full, nprops: nprops, counts: map[string]int{}, enough: make(chan struct{}), expect: expect}
	srv := posthogtest.NewServer()
	srv.OnAccept(p.print)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	fmt.Fprintf(out, "posthog-standin: PostHog capture stand-in listening on http://%s\n", ln.Addr())
	if !asJSON && full <= 0 {
		p.header()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	var deadline <-chan time.Time
	if expect > 0 && timeout > 0 {
		deadline = time.After(timeout)
	}
	code := 0
	select {
	case s := <-sig:
		fmt.Fprintf(out, "posthog-standin: %v, stopping\n", s)
	case <-p.enough:
	case <-deadline:
		fmt.Fprintf(out, "posthog-standin: timed out after %s waiting for %d events\n", timeout, expect)
		code = 1
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "posthog-standin: %v\n", err)
		code = 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "posthog-standin: shutdown: %v\n", err)
	}
	total = p.summary()
	return code
}

type printer struct {
	mu     sync.Mutex
	out    io.Writer
	json   bool
	full   int // events still to print whole
	nprops int
	counts map[string]int
	total  int
	expect int
	enough chan struct{}
}

const rowFormat = "%-13s  %-34s  %-16s  %s\n"

func (p *printer) header() {
	fmt.Fprintln(p.out, "TIME is each event's timestamp: the time of the span (its end, or its start with timestamp: start)\n"+
		"or log record it was made from, not the time it arrived. Rows are in the order of arrival.")
	fmt.Fprintf(p.out, rowFormat, "TIME (UTC)", "EVENT", "DISTINCT_ID", "PROPERTIES")
}

// printFull prints an event whole, indented, as it was in the request.
func (p *printer) printFull(e posthogtest.Event) {
	var b bytes.Buffer
	if err := json.Indent(&b, e.Raw, "  ", "  "); err != nil {
		b.Reset()
		b.Write(e.Raw)
	}
	fmt.Fprintf(p.out, "one event, exactly as the exporter sent it (an element of the \"batch\" array of a POST to /batch/):\n  %s\n\n", b.Bytes())
}

func (p *printer) print(e posthogtest.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[e.Name]++
	p.total++
	if p.full > 0 {
		p.printFull(e)
		if p.full--; p.full == 0 && !p.json {
			p.header()
		}
	}
	if p.json {
		var b bytes.Buffer
		if err := json.Compact(&b, e.Raw); err != nil {
			b.Write(e.Raw)
		}
		fmt.Fprintf(p.out, "%s\n", b.Bytes())
	} else {
		fmt.Fprintf(p.out, rowFormat, shortTime(e.Timestamp), clip(e.Name, 34), clip(e.DistinctID, 16), props(e.Properties, p.nprops))
	}
	if p.expect > 0 && p.total == p.expect {
		close(p.enough)
	}
}

func (p *printer) summary() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "posthog-standin: %d events received\n", p.total)
	names := make([]string, 0, len(p.counts))
	for n := range p.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(p.out, "  %-36s %4d\n", n, p.counts[n])
	}
	return p.total
}

func shortTime(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return clip(ts, 13)
	}
	return t.UTC().Format("15:04:05.000Z")
}

// shownDollarKeys are PostHog's own keys that say what an event is about:
// without them a $feature_flag_called row would be empty.
var shownDollarKeys = map[string]bool{"$feature_flag": true, "$feature_flag_response": true}

// props renders up to n properties, skipping PostHog's own ($...) but for
// shownDollarKeys and the hidden ones, as k=v pairs in key order. An
// $exception_list is shown as its first exception's type and message.
func props(m map[string]any, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if (strings.HasPrefix(k, "$") && !shownDollarKeys[k]) || hidden[k] {
			continue
		}
		keys = append(keys, k)
	}
	if exc := firstException(m["$exception_list"]); exc != "" {
		m = maps.Clone(m)
		m["exception"] = exc
		keys = append(keys, "exception")
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i == n {
			fmt.Fprintf(&b, " +%d", len(keys)-n)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(value(m[k]))
	}
	return b.String()
}

func value(v any) string {
	switch v := v.(type) {
	case string:
		if strings.ContainsAny(v, " \t\n\"") {
			return strconv.Quote(clip(v, 28))
		}
		return clip(v, 28)
	case float64:
		return fmt.Sprintf("%g", v)
	case nil:
		return "null"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return clip(string(b), 28)
	}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// firstException returns "type: value" of an $exception_list's first item.
func firstException(list any) string {
	items, _ := list.([]any)
	if len(items) == 0 {
		return ""
	}
	item, _ := items[0].(map[string]any)
	typ, _ := item["type"].(string)
	val, _ := item["value"].(string)
	return typ + ": " + val
}
