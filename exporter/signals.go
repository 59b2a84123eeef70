package exporter

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	pdatareq "go.opentelemetry.io/collector/pdata/xpdata/request"
)

// NewTraces returns the traces exporter of cfg.
func NewTraces(ctx context.Context, set exporter.Settings, cfg *Config) (exporter.Traces, error) {
	e, err := newPostHogExporter(cfg, set)
	if err != nil {
		return nil, err
	}
	enc := eventsEncoding{legacy: func(ctx context.Context, data []byte) (*eventsRequest, error) {
		_, td, err := pdatareq.UnmarshalTraces(data)
		if err != nil {
			return nil, e.upgrade.failed(err)
		}
		r, err := e.convertTraces(ctx, td)
		e.upgrade.mapped(td.SpanCount(), r, err)
		return r, err
	}}
	helper, err := xexporterhelper.NewTracesRequest(ctx, set, requestFromContext[ptrace.Traces], e.push, e.options(enc)...)
	if err != nil {
		return nil, err
	}
	self := newSignalExporter(e, cfg, true, func(ctx context.Context, r *eventsRequest) error {
		return helper.ConsumeTraces(context.WithValue(ctx, requestKey{}, r), ptrace.NewTraces())
	})
	return &tracesExporter{Traces: helper, e: e, self: self}, nil
}

// NewLogs returns the logs exporter of cfg.
func NewLogs(ctx context.Context, set exporter.Settings, cfg *Config) (exporter.Logs, error) {
	e, err := newPostHogExporter(cfg, set)
	if err != nil {
		return nil, err
	}
	enc := eventsEncoding{legacy: func(ctx context.Context, data []byte) (*eventsRequest, error) {
		_, ld, err := pdatareq.UnmarshalLogs(data)
		if err != nil {
			return nil, e.upgrade.failed(err)
		}
		r, err := e.convertLogs(ctx, ld)
		e.upgrade.mapped(ld.LogRecordCount(), r, err)
		return r, err
	}}
	helper, err := xexporterhelper.NewLogsRequest(ctx, set, requestFromContext[plog.Logs], e.push, e.options(enc)...)
	if err != nil {
		return nil, err
	}
	self := newSignalExporter(e, cfg, false, func(ctx context.Context, r *eventsRequest) error {
		return helper.ConsumeLogs(context.WithValue(ctx, requestKey{}, r), plog.NewLogs())
	})
	return &logsExporter{Logs: helper, e: e, self: self}, nil
}

func (e *posthogExporter) convertTraces(ctx context.Context, td ptrace.Traces) (*eventsRequest, error) {
	res := getResult()
	defer putResult(res)
	err := e.mapper.MapTraces(ctx, td, res)
	return e.toRequest(ctx, err, res)
}

func (e *posthogExporter) convertLogs(ctx context.Context, ld plog.Logs) (*eventsRequest, error) {
	res := getResult()
	defer putResult(res)
	err := e.mapper.MapLogs(ctx, ld, res)
	return e.toRequest(ctx, err, res)
}

// The records are mapped in front of exporterhelper rather than in its
// converter, so that a push whose records match no rule returns at once:
// exporterhelper would queue (and with a persistent queue, write to disk) an
// empty request. The request made here reaches the converter through the
// context.
type tracesExporter struct {
	exporter.Traces
	e    *posthogExporter
	self *signalExporter
}

func (t *tracesExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	var req *eventsRequest
	var err error
	if w := t.self.share.waiting; w != nil {
		req, err = w.consumeTraces(ctx, t.e, td)
	} else {
		req, err = t.e.convertTraces(ctx, td)
	}
	if err != nil || req.ItemsCount() == 0 {
		return err
	}
	return t.Traces.ConsumeTraces(context.WithValue(ctx, requestKey{}, req), td)
}

func (t *tracesExporter) Start(ctx context.Context, host component.Host) error {
	if err := t.Traces.Start(ctx, host); err != nil {
		return err
	}
	t.self.start()
	return nil
}

// Shutdown: with trace_context, the last exporter of the config to stop
// queues what still waits, before exporterhelper drains its queue.
func (t *tracesExporter) Shutdown(ctx context.Context) error {
	t.self.stop(ctx)
	return t.Traces.Shutdown(ctx)
}

type logsExporter struct {
	exporter.Logs
	e    *posthogExporter
	self *signalExporter
}

func (l *logsExporter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var req *eventsRequest
	var err error
	if w := l.self.share.waiting; w != nil {
		req, err = w.consumeLogs(ctx, l.e, ld)
	} else {
		req, err = l.e.convertLogs(ctx, ld)
	}
	if err != nil || req.ItemsCount() == 0 {
		return err
	}
	return l.Logs.ConsumeLogs(context.WithValue(ctx, requestKey{}, req), ld)
}

func (l *logsExporter) Start(ctx context.Context, host component.Host) error {
	if err := l.Logs.Start(ctx, host); err != nil {
		return err
	}
	l.self.start()
	return nil
}

func (l *logsExporter) Shutdown(ctx context.Context) error {
	l.self.stop(ctx)
	return l.Logs.Shutdown(ctx)
}

type requestKey struct{}

var errNoRequest = errors.New("posthog: no events request in the context (the exporter's Consume makes it)")

// requestFromContext is exporterhelper's converter: the request the
// exporter's Consume made.
func requestFromContext[T any](ctx context.Context, _ T) (xexporterhelper.Request, error) {
	req, ok := ctx.Value(requestKey{}).(*eventsRequest)
	if !ok {
		return nil, errNoRequest
	}
	return req, nil
}
