#!/usr/bin/env bash
# End-to-end demo, run by `make demo`:
#   1. starts a local PostHog stand-in (testbed/cmd/posthog-standin) that prints the
#      first event whole, as sent, then each event as a table row, unless POSTHOG_API_KEY is set (then the events go to
#      that project at POSTHOG_HOST, default https://us.i.posthog.com),
#   2. starts the collector (_build/otelcol-posthog) with testdata/config/demo.yaml,
#   3. runs the demo service (testbed/cmd/demoapp), which sends OTLP traces and logs,
#   4. stops the collector (a graceful stop flushes its queue), then the
#      stand-in, which prints a count per event.
# It needs no input, ends by itself and stops the processes it started.
#
# Environment: POSTHOG_API_KEY, POSTHOG_HOST, DEMO_CONFIG (collector config,
# default testdata/config/demo.yaml), STANDIN_ADDR (default 127.0.0.1:8765),
# OTLP_HTTP_ENDPOINT / OTLP_GRPC_ENDPOINT (default 127.0.0.1:4318 / :4317),
# COLLECTOR_METRICS_PORT (default 8888).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OTELCOL=${OTELCOL_POSTHOG_BIN:-_build/otelcol-posthog}
DEMO_CONFIG=${DEMO_CONFIG:-testdata/config/demo.yaml}
STANDIN_ADDR=${STANDIN_ADDR:-127.0.0.1:8765}
export OTLP_HTTP_ENDPOINT=${OTLP_HTTP_ENDPOINT:-127.0.0.1:4318}
export OTLP_GRPC_ENDPOINT=${OTLP_GRPC_ENDPOINT:-127.0.0.1:4317}
export COLLECTOR_METRICS_PORT=${COLLECTOR_METRICS_PORT:-8888}
WORK=_build/demo
mkdir -p "$WORK"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# port_open HOST:PORT
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# wait_port HOST:PORT PID SECONDS: wait until the port accepts connections,
# failing early if PID exits.
wait_port() {
  local deadline=$((SECONDS + $3))
  until port_open "$1"; do
    kill -0 "$2" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# stop PID SECONDS: SIGTERM, wait, then SIGKILL. Returns the exit status.
stop() {
  local pid=$1 deadline=$((SECONDS + $2)) st=0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || st=$?; return "$st"; }
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo: pid $pid did not stop in $2s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || st=$?
  return "$st"
}

STANDIN_PID=
COLLECTOR_PID=
cleanup() {
  local rc=$?
  [[ -z $COLLECTOR_PID ]] || stop "$COLLECTOR_PID" 20 || true
  [[ -z $STANDIN_PID ]] || stop "$STANDIN_PID" 5 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -x $OTELCOL ]] || die "$OTELCOL not found: run 'make build' first"
[[ -f $DEMO_CONFIG ]] || die "$DEMO_CONFIG not found"

say "building the demo programs"
(cd testbed && go build -o "../$WORK/" ./cmd/demoapp ./cmd/posthog-standin)

for p in "$OTLP_HTTP_ENDPOINT" "$OTLP_GRPC_ENDPOINT" "127.0.0.1:$COLLECTOR_METRICS_PORT"; do
  ! port_open "$p" || die "$p is already in use (another collector?); set OTLP_HTTP_ENDPOINT, OTLP_GRPC_ENDPOINT or COLLECTOR_METRICS_PORT"
done

if [[ -z ${POSTHOG_API_KEY:-} ]]; then
  LOCAL=1
  export POSTHOG_API_KEY=phc_demo
  export POSTHOG_HOST="http://$STANDIN_ADDR"
  ! port_open "$STANDIN_ADDR" || die "$STANDIN_ADDR is already in use; set STANDIN_ADDR"
  say "starting the PostHog stand-in on $POSTHOG_HOST (POSTHOG_API_KEY is unset)"
  "$WORK/posthog-standin" -addr "$STANDIN_ADDR" -min 1 -full 1 </dev/null &
  STANDIN_PID=$!
  wait_port "$STANDIN_ADDR" "$STANDIN_PID" 10 || die "the stand-in did not start"
else
  LOCAL=0
  export POSTHOG_HOST=${POSTHOG_HOST:-https://us.i.posthog.com}
  say "sending to PostHog at $POSTHOG_HOST (POSTHOG_API_KEY is set)"
fi

say "starting the collector: $OTELCOL --config $DEMO_CONFIG (log: $WORK/collector.log)"
"$OTELCOL" --config "$DEMO_CONFIG" </dev/null >"$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!
if ! wait_port "$OTLP_HTTP_ENDPOINT" "$COLLECTOR_PID" 30; then
  tail -n 30 "$WORK/collector.log" >&2
  die "the collector did not start (log above)"
fi

say "running the demo service (testbed/cmd/demoapp): OTLP to http://$OTLP_HTTP_ENDPOINT"
"$WORK/demoapp" -endpoint "http://$OTLP_HTTP_ENDPOINT" </dev/null

# Give the collector a moment to batch and export while it runs; stopping it
# below flushes whatever is still queued anyway.
sleep "${DEMO_SETTLE_SECONDS:-2}"

if command -v curl >/dev/null; then
  say "the exporter's metrics (http://127.0.0.1:$COLLECTOR_METRICS_PORT/metrics)"
  curl -fsS "http://127.0.0.1:$COLLECTOR_METRICS_PORT/metrics" 2>/dev/null |
    grep -E '^otelcol_exporter_posthog_[a-z_]*(total)?\{' | sed -E 's/,?(otel_scope|service)_[a-z_]+="[^"]*"//g' || true
fi

say "stopping the collector (flushes what it holds)"
COLLECTOR_STATUS=0
stop "$COLLECTOR_PID" 30 || COLLECTOR_STATUS=$?
COLLECTOR_PID=
((COLLECTOR_STATUS == 0)) || echo "demo: the collector exited with status $COLLECTOR_STATUS" >&2
ERR_PATTERN=$'\t(error|fatal|panic)\t|^panic:'
if grep -E "$ERR_PATTERN" "$WORK/collector.log" >/dev/null; then
  echo "collector errors (from $WORK/collector.log):"
  grep -E "$ERR_PATTERN" "$WORK/collector.log" | cut -c1-300 | head -n 20
  ERRORS=1
else
  ERRORS=$((COLLECTOR_STATUS != 0))
fi

if ((LOCAL == 1)); then
  say "stopping the stand-in"
  stop "$STANDIN_PID" 5 || ERRORS=1
  STANDIN_PID=
else
  echo "events sent to $POSTHOG_HOST: see Activity in your PostHog project"
fi
exit "$ERRORS"
