package exporter

import (
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/posthogexporter/posthogexporter/exporter/internal/delivery"
)

// dryRunLog logs the events a dry run would have sent: at most perWindow
// per window, each with its rule and JSON (cut at maxJSON bytes), and how
// many went unlogged since the last line, so a new rule can be watched in
// production without flooding the log.
type dryRunLog struct {
	logger    *zap.Logger
	window    time.Duration
	perWindow int

	mu       sync.Mutex
	start    time.Time
	logged   int
	unlogged int64
}

const dryRunMaxJSON = 4 << 10

func newDryRunLog(logger *zap.Logger) *dryRunLog {
	return &dryRunLog{logger: logger, window: 10 * time.Second, perWindow: 10}
}

func (d *dryRunLog) log(events []delivery.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range events {
		now := time.Now()
		if now.Sub(d.start) >= d.window {
			d.start, d.logged = now, 0
		}
		if d.logged >= d.perWindow {
			d.unlogged++
			continue
		}
		d.logged++
		ev := &events[i]
		json := ev.JSON
		if len(json) > dryRunMaxJSON {
			json = json[:dryRunMaxJSON]
		}
		d.logger.Info("dry_run: event not sent to PostHog",
			zap.String("rule", ev.Rule),
			zap.ByteString("event", json),
			zap.Bool("truncated", len(json) < len(ev.JSON)),
			zap.Int64("not_logged_since_last", d.unlogged))
		d.unlogged = 0
	}
}
