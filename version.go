package posthogexporter // import "github.com/posthogexporter/posthogexporter"

// Version of this exporter, sent in $lib_version and the User-Agent.
const Version = "0.1.0"
