const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const sdk = new NodeSDK({
  serviceName: 'shop',
  traceExporter: new OTLPTraceExporter({ url: process.env.OTLP + '/v1/traces' }),
  instrumentations: [
    new HttpInstrumentation({ headersToSpanAttributes: { server: { requestHeaders: ['x-posthog-session-id', 'x-posthog-window-id', 'x-posthog-distinct-id'] } } }),
    new ExpressInstrumentation(),
  ],
});
sdk.start();
process.on('SIGTERM', () => sdk.shutdown().then(() => process.exit(0)));
