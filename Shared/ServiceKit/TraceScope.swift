import AsyncHTTPClient
import CirrusContracts
import NIOHTTP1

/// The trace context and request id of the work in progress: a request (set by
/// `RequestIDMiddleware`) or a consumed event (set by `EventHandlers`). Child tasks and
/// `Task {}` inherit it, so a render started by an event still knows its request.
/// With tracing on, the span in progress (`ServiceContext.current`) is the parent that
/// calls and events carry instead of the caller's `traceparent` (`CirrusTracing.outgoing`).
public enum TraceScope {
    @TaskLocal public static var current = TraceContext()
}

extension HTTPClientRequest {
    /// Forwards the current request id and trace context (`X-Request-Id`, `traceparent`,
    /// `tracestate`) to the service called, so its log lines name the same request and its
    /// spans join the same trace.
    public mutating func propagateTrace(_ trace: TraceContext = CirrusTracing.outgoing()) {
        headers.propagateTrace(trace)
    }
}
