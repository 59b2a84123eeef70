package exporter

import (
	"fmt"
	"sync"

	"go.uber.org/zap"
)

// upgradeLog reports on queue entries left by the previous version of this
// exporter, which queued spans and logs (exporterhelper's pdata requests)
// instead of events. Those entries are read and mapped with the current
// rules as the queue reaches them: one line when the first one is met, one
// with the totals at shutdown.
type upgradeLog struct {
	logger *zap.Logger

	mu                        sync.Mutex
	requests, records, events int64
	dropped                   int64
	firstErr                  error
}

func (u *upgradeLog) mapped(records int, r *eventsRequest, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		_ = u.failLocked(err) // counted and logged there; the caller drops the entry
		return
	}
	if u.requests == 0 {
		u.logger.Info("The sending queue holds spans or logs queued by a previous version of this exporter; they are mapped to events with the current rules as they are read.")
	}
	u.requests++
	u.records += int64(records)
	u.events += int64(r.ItemsCount())
}

// failed counts an entry that could not be read; the queue then drops it.
func (u *upgradeLog) failed(err error) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.failLocked(err)
}

func (u *upgradeLog) failLocked(err error) error {
	err = fmt.Errorf("posthog: dropping a queue entry written by a previous version of this exporter: %w", err)
	if u.dropped == 0 {
		u.firstErr = err
		u.logger.Warn("A queue entry written by a previous version of this exporter could not be read or mapped; it is dropped.", zap.Error(err))
	}
	u.dropped++
	return err
}

func (u *upgradeLog) summary() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.requests == 0 && u.dropped == 0 {
		return
	}
	u.logger.Info("Queue entries left by a previous version of this exporter (spans and logs, not events)",
		zap.Int64("mapped_requests", u.requests),
		zap.Int64("records", u.records),
		zap.Int64("events", u.events),
		zap.Int64("dropped_requests", u.dropped),
		zap.NamedError("first_error", u.firstErr))
}
