package main

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// maxBodyBytes bounds one OTLP/HTTP request, after decompression.
const maxBodyBytes = 64 << 20

// serveLive accepts OTLP from services pointed at it, over HTTP and/or gRPC,
// and explains every record as it arrives, until ctx is done.
func serveLive(ctx context.Context, httpAddr, grpcAddr string, e *explainer, emit func(*recordReport), stderr io.Writer, ready liveReady) error {
	var httpLn, grpcLn net.Listener
	var err error
	if httpAddr != "" {
		if httpLn, err = net.Listen("tcp", httpAddr); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		defer httpLn.Close()
	}
	if grpcAddr != "" {
		if grpcLn, err = net.Listen("tcp", grpcAddr); err != nil {
			return fmt.Errorf("--grpc-listen: %w", err)
		}
		defer grpcLn.Close()
	}
	l := &liveReceiver{e: e, emit: emit}
	errc := make(chan error, 2)

	var httpSrv *http.Server
	var httpBound string
	if httpLn != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/traces", l.serveTraces)
		mux.HandleFunc("/v1/logs", l.serveLogs)
		httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		httpBound = httpLn.Addr().String()
		go func() {
			if err := httpSrv.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var grpcSrv *grpc.Server
	var grpcBound string
	if grpcLn != nil {
		grpcSrv = grpc.NewServer()
		ptraceotlp.RegisterGRPCServer(grpcSrv, &grpcTraces{l: l})
		plogotlp.RegisterGRPCServer(grpcSrv, &grpcLogs{l: l})
		grpcBound = grpcLn.Addr().String()
		go func() {
			if err := grpcSrv.Serve(grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- err
			}
		}()
	}
	fmt.Fprintf(stderr, "posthog-rules: explaining %s; Ctrl-C to stop\n", describeAddr(httpBound, grpcBound))
	if ready != nil {
		ready(httpBound, grpcBound)
	}

	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(stopCtx)
	}
	if grpcSrv != nil {
		grpcSrv.Stop()
	}
	return err
}

// liveReceiver explains what the servers receive.
type liveReceiver struct {
	e    *explainer
	emit func(*recordReport)
}

// otlpMessage is an OTLP request or response of either signal.
type otlpMessage interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type otlpResponse interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func (l *liveReceiver) serveTraces(w http.ResponseWriter, r *http.Request) {
	req := ptraceotlp.NewExportRequest()
	isJSON, ok := readOTLP(w, r, req)
	if !ok {
		return
	}
	l.e.traces(r.Context(), req.Traces(), l.emit)
	writeOTLP(w, ptraceotlp.NewExportResponse(), isJSON)
}

func (l *liveReceiver) serveLogs(w http.ResponseWriter, r *http.Request) {
	req := plogotlp.NewExportRequest()
	isJSON, ok := readOTLP(w, r, req)
	if !ok {
		return
	}
	l.e.logs(r.Context(), req.Logs(), l.emit)
	writeOTLP(w, plogotlp.NewExportResponse(), isJSON)
}

// readOTLP reads an OTLP/HTTP request body into msg, as protobuf or JSON by
// its Content-Type, gzipped or not. It answers the request itself on error.
func readOTLP(w http.ResponseWriter, r *http.Request, msg otlpMessage) (isJSON, ok bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "OTLP/HTTP takes POST", http.StatusMethodNotAllowed)
		return false, false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		isJSON = true
	case "application/x-protobuf", "":
	default:
		http.Error(w, "Content-Type must be application/x-protobuf or application/json", http.StatusUnsupportedMediaType)
		return false, false
	}
	var body io.Reader = r.Body
	switch r.Header.Get("Content-Encoding") {
	case "gzip":
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body: "+err.Error(), http.StatusBadRequest)
			return false, false
		}
		body = gz
	case "", "identity":
	default:
		http.Error(w, "Content-Encoding must be gzip or none", http.StatusUnsupportedMediaType)
		return false, false
	}
	data, err := io.ReadAll(io.LimitReader(body, maxBodyBytes+1))
	if err == nil && len(data) > maxBodyBytes {
		err = fmt.Errorf("body over %d bytes", maxBodyBytes)
	}
	if err == nil {
		if isJSON {
			err = msg.UnmarshalJSON(data)
		} else {
			err = msg.UnmarshalProto(data)
		}
	}
	if err != nil {
		http.Error(w, "bad OTLP request: "+err.Error(), http.StatusBadRequest)
		return false, false
	}
	return isJSON, true
}

func writeOTLP(w http.ResponseWriter, resp otlpResponse, isJSON bool) {
	var data []byte
	var err error
	if isJSON {
		w.Header().Set("Content-Type", "application/json")
		data, err = resp.MarshalJSON()
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
		data, err = resp.MarshalProto()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(data)
}

type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	l *liveReceiver
}

func (g *grpcTraces) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	g.l.e.traces(ctx, req.Traces(), g.l.emit)
	return ptraceotlp.NewExportResponse(), nil
}

type grpcLogs struct {
	plogotlp.UnimplementedGRPCServer
	l *liveReceiver
}

func (g *grpcLogs) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	g.l.e.logs(ctx, req.Logs(), g.l.emit)
	return plogotlp.NewExportResponse(), nil
}
