import AsyncHTTPClient
import CirrusContracts
import NIOHTTP1

/// The trace context and request id of the work in progress: a request (set by
/// `RequestIDMiddleware`) or a consumed event (set by `EventHandlers`). Child tasks and
/// `Task {}` inherit it, so a render started by an event still knows its request.
public enum TraceScope {
    @TaskLocal public static var current = TraceContext()
}

extension HTTPClientRequest {
    /// Forwards the current request id and trace context (`X-Request-Id`, `traceparent`,
    /// `tracestate`) to the service called, so its log lines name the same request.
    public mutating func propagateTrace(_ trace: TraceContext = TraceScope.current) {
        if let id = trace.requestID { headers.replaceOrAdd(name: "X-Request-Id", value: id) }
        if let traceparent = trace.traceparent { headers.replaceOrAdd(name: "traceparent", value: traceparent) }
        if let tracestate = trace.tracestate { headers.replaceOrAdd(name: "tracestate", value: tracestate) }
    }
}
