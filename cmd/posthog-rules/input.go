package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"gopkg.in/yaml.v3"
)

// telemetry is what one input holds: OTLP traces and logs, in file order.
type telemetry struct {
	traces []ptrace.Traces
	logs   []plog.Logs
}

// readInput reads one input file ("-" is stdin):
//   - OTLP/JSON: one document, or one document per line (what the collector's
//     file exporter writes); each holds resourceSpans or resourceLogs;
//   - YAML with the same structure (the layout of our golden cases);
//   - OTLP protobuf: one ExportTraceServiceRequest or ExportLogsServiceRequest.
func readInput(path string) (*telemetry, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path) //nolint:gosec // G304: the input file the user named on the command line
	}
	if err != nil {
		return nil, err
	}
	t, err := parseTelemetry(path, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func parseTelemetry(path string, data []byte) (*telemetry, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		js, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		t := &telemetry{}
		return t, t.addJSON(js)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		t := &telemetry{}
		if json.Valid(trimmed) {
			return t, t.addJSON(trimmed)
		}
		sc := bufio.NewScanner(bytes.NewReader(trimmed))
		sc.Buffer(nil, 256<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			if err := t.addJSON(sc.Bytes()); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		}
		return t, sc.Err()
	}
	return parseProto(data)
}

// addJSON adds one OTLP/JSON document, traces or logs by its top-level key.
func (t *telemetry) addJSON(doc []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(doc, &keys); err != nil {
		return fmt.Errorf("not OTLP/JSON: %w", err)
	}
	_, spans := keys["resourceSpans"]
	_, logs := keys["resourceLogs"]
	switch {
	case spans:
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(doc)
		if err != nil {
			return fmt.Errorf("OTLP/JSON traces: %w", err)
		}
		t.traces = append(t.traces, td)
	case logs:
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(doc)
		if err != nil {
			return fmt.Errorf("OTLP/JSON logs: %w", err)
		}
		t.logs = append(t.logs, ld)
	default:
		return errors.New("neither resourceSpans nor resourceLogs at the top level: not OTLP traces or logs (metrics and profiles are not mapped)")
	}
	return nil
}

// parseProto reads an OTLP protobuf export request. Traces and logs requests
// share their outer field numbers, but not the wire types of their records'
// first fields, so at most one of the two decodes a non-empty request.
func parseProto(data []byte) (*telemetry, error) {
	treq := ptraceotlp.NewExportRequest()
	terr := treq.UnmarshalProto(data)
	lreq := plogotlp.NewExportRequest()
	lerr := lreq.UnmarshalProto(data)
	spans, logs := 0, 0
	if terr == nil {
		spans = treq.Traces().SpanCount()
	}
	if lerr == nil {
		logs = lreq.Logs().LogRecordCount()
	}
	switch {
	case terr != nil && lerr != nil:
		return nil, fmt.Errorf("neither OTLP/JSON nor an OTLP protobuf traces or logs request (as traces: %w; as logs: %w)", terr, lerr)
	case terr == nil && spans >= logs:
		return &telemetry{traces: []ptrace.Traces{treq.Traces()}}, nil
	default:
		return &telemetry{logs: []plog.Logs{lreq.Logs()}}, nil
	}
}
