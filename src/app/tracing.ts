import { context, propagation, trace } from '@opentelemetry/api';
import { tracingOf, type TracingConfig } from '../config/sections/tracing.js';

/** The started SDK: `shutdown` exports what is still buffered, then stops. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for a Docket process (the server, the CLI worker) when its
 * environment asks for traces (config/sections/tracing.ts): a tracer provider with a batch span
 * processor and the OTLP/HTTP exporter, W3C trace context and baggage propagation, and an
 * AsyncLocalStorage context manager so a handler's own spans and calls join its attempt's span.
 * The SDK packages are loaded only then: with tracing off (the default) Docket's spans are the
 * no-ops of @opentelemetry/api. `serviceName` is the default of OTEL_SERVICE_NAME.
 */
export async function startTracing(config: TracingConfig, serviceName: string): Promise<Tracing> {
  const [sdk, core, resources, hooks] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
  ]);
  const exporter =
    config.exporter === 'console'
      ? new sdk.ConsoleSpanExporter()
      : config.protocol === 'http/json'
        ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
        : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over Docket's default name.
  const resource = resources.resourceFromAttributes({ 'service.name': serviceName }).merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    sampler: samplerOf(sdk, config.sampler),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...config.batch })],
  });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

type Sdk = typeof import('@opentelemetry/sdk-trace');

function samplerOf(sdk: Sdk, { name, ratio }: TracingConfig['sampler']) {
  const root = name.endsWith('always_off') ? new sdk.AlwaysOffSampler() : name.endsWith('traceidratio') ? new sdk.TraceIdRatioBasedSampler(ratio) : new sdk.AlwaysOnSampler();
  return name.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root;
}

/** startTracing when the environment's OTEL_* variables ask for traces; null (nothing started) otherwise. */
export async function startTracingFromEnv(env: Readonly<Record<string, string | undefined>>, serviceName: string): Promise<(Tracing & { config: TracingConfig }) | null> {
  const config = tracingOf(env);
  return config ? { config, ...(await startTracing(config, serviceName)) } : null;
}
