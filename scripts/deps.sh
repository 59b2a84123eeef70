#!/usr/bin/env bash
# What this exporter adds to a collector: generates (ocb, no compilation) a
# collector with only the OTLP receiver and the debug exporter, and the same
# with this exporter, then lists the modules whose packages the exporter
# adds to the build and the modules whose version it raises.
#
#   scripts/deps.sh [ocb]     (make deps)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OCB=${1:-.tools/bin/builder}
REPO=$PWD
WORK=$REPO/_build/deps
rm -rf "$WORK" && mkdir -p "$WORK"

manifest() { # name, extra exporter lines
  cat <<YAML
dist:
  name: otelcol-$1
  module: example.com/$1
  output_path: $WORK/$1
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.0
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v0.162.0
$2
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v1.68.0
YAML
}
manifest base "" >"$WORK/base.yaml"
manifest posthog "  - gomod: github.com/posthogexporter/posthogexporter v0.1.0
    path: $REPO" >"$WORK/posthog.yaml"

for n in base posthog; do
  "$OCB" --config "$WORK/$n.yaml" --skip-compilation >"$WORK/$n.log" 2>&1
  (cd "$WORK/$n" && go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' . | sort -u >"$WORK/$n.built")
  (cd "$WORK/$n" && go list -m -f '{{.Path}} {{.Version}}' all | sort >"$WORK/$n.graph")
done

echo "Modules whose packages the exporter adds to a collector:"
join -v 2 "$WORK/base.built" "$WORK/posthog.built" | grep -v '^example.com/' | sed 's/^/  /'
echo "Modules whose version it raises (base -> with the exporter):"
join "$WORK/base.graph" "$WORK/posthog.graph" | awk '$2 != $3 {print "  " $1 " " $2 " -> " $3}'
