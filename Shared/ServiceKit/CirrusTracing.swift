import AsyncHTTPClient
import CirrusContracts
import Logging
import NIOHTTP1
import OTel
import ServiceLifecycle
import Tracing

/// Spans, with `CIRRUS_TRACING=otlp`: a server span per request (`ServerSpanMiddleware`), a
/// client span per call to another service, one per SQL transaction, a producer span per
/// event the outbox relay publishes and a consumer span per event handled, all exported over
/// OTLP/HTTP (protobuf) by swift-otel to `OTEL_EXPORTER_OTLP_ENDPOINT` (OpenTelemetry's own
/// `OTEL_*` variables apply: `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_TRACES_SAMPLER`…).
///
/// Off (the default) nothing here runs: every helper checks `enabled` first and calls its
/// body directly, the server-span middleware is not installed, and the caller's
/// `traceparent` is forwarded unchanged as before.
public enum CirrusTracing {
    /// Set once, in `bootstrap`, before the server starts and before any span could be made;
    /// read-only afterwards.
    public nonisolated(unsafe) private(set) static var enabled = false

    /// Installs the OTel tracer for `service` when `mode` is `.otlp`. Returns the exporter's
    /// service, which must run in the service group (it flushes spans on shutdown).
    static func bootstrap(service: String, mode: ServiceConfiguration.TracingMode, logger: Logger) throws -> (any Service)? {
        guard mode == .otlp, !enabled else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "cirrus-\(service)"
        configuration.diagnosticLogger = .custom(logger)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.propagators = [.traceContext]
        let (tracer, exporter) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        enabled = true
        logger.info("tracing on: spans exported over OTLP/HTTP")
        return exporter
    }

    /// The trace context to hand on (to an event, or a call to another service): `base`
    /// (the request id, and the caller's context while tracing is off) with, when tracing is
    /// on, the current span as parent.
    public static func outgoing(_ base: TraceContext = TraceScope.current, context: ServiceContext? = ServiceContext.current) -> TraceContext {
        guard enabled, let context else { return base }
        var carrier = Carrier()
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: carrier)
        guard let traceparent = carrier.values["traceparent"] else { return base }
        var trace = base
        trace.traceparent = traceparent
        trace.tracestate = carrier.values["tracestate"]
        return trace
    }

    /// The service context a stored or received trace context names as parent.
    static func context(from trace: TraceContext) -> ServiceContext {
        var context = ServiceContext.topLevel
        var carrier = Carrier()
        carrier.values["traceparent"] = trace.traceparent
        carrier.values["tracestate"] = trace.tracestate
        InstrumentationSystem.instrument.extract(carrier, into: &context, using: carrier)
        return context
    }

    /// Runs `body` in a span (a child of the current one) when tracing is on; just runs it
    /// otherwise. An error thrown by `body` is recorded on the span and rethrown.
    /// `onlyInTrace`: no span unless one is in progress (background loops that poll, like the
    /// outbox relay, would otherwise start a trace every pass).
    public static func span<Result>(
        _ name: @autoclosure () -> String,
        kind: SpanKind = .internal,
        onlyInTrace: Bool = false,
        attributes: (inout SpanAttributes) -> Void = { _ in },
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        guard enabled, !onlyInTrace || ServiceContext.current != nil else { return try await body() }
        let span = startSpan(name(), context: ServiceContext.current ?? .topLevel, ofKind: kind)
        span.updateAttributes(attributes)
        defer { span.end() }
        do {
            return try await ServiceContext.$current.withValue(span.context) { try await body() }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// A call to another Cirrus service: a client span named `METHOD service`, whose context
    /// `body` forwards (build the request's trace headers inside it, with `propagateTrace()`).
    public static func call<Result>(
        _ method: String, _ peer: String,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        guard enabled else { return try await body() }
        return try await span(
            "\(method) \(peer)", kind: .client,
            attributes: {
                $0["http.request.method"] = method
                $0["peer.service"] = "cirrus-\(peer)"
            }, body)
    }

    /// Both directions of the W3C headers through a plain dictionary.
    struct Carrier: Injector, Extractor {
        var values: [String: String] = [:]
        func inject(_ value: String, forKey key: String, into carrier: inout Carrier) { carrier.values[key] = value }
        func extract(key: String, from carrier: Carrier) -> String? { carrier.values[key] }
    }
}

extension HTTPHeaders {
    /// Adds the request id and trace context (`X-Request-Id`, `traceparent`, `tracestate`)
    /// for a call to another service: the current span's when tracing is on, the caller's
    /// otherwise.
    public mutating func propagateTrace(_ trace: TraceContext = CirrusTracing.outgoing()) {
        if let id = trace.requestID { replaceOrAdd(name: "X-Request-Id", value: id) }
        if let traceparent = trace.traceparent { replaceOrAdd(name: "traceparent", value: traceparent) }
        if let tracestate = trace.tracestate { replaceOrAdd(name: "tracestate", value: tracestate) }
    }
}
