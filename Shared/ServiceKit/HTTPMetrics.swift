import Dispatch
import Hummingbird
import Metrics
import NIOConcurrencyHelpers

/// Request metrics named as Prometheus expects (Hummingbird's own `MetricsMiddleware` writes
/// `hb_requests` without `_total` and durations without a unit):
/// `cirrus_http_requests_total{method,route,status}`,
/// `cirrus_http_request_duration_seconds{method,route}` (a histogram: until the response's head
/// is ready — a streamed body's transfer is not in it, so a download's figure is its time to
/// first byte) and
/// `cirrus_http_requests_in_flight`. `route` is the matched route's pattern
/// (`/v1/files/{id}`), never the raw path, so the number of series stays bounded; requests that
/// match no route count as `unmatched`.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let cache = HTTPMetricsCache()

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        cache.inFlight.increment()
        do {
            let response = try await next(request, context)
            cache.record(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code, since: started)
            cache.inFlight.decrement()
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            cache.record(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, since: started)
            cache.inFlight.decrement()
            throw error
        }
    }
}

final class HTTPMetricsCache: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    struct DurationKey: Hashable {
        var route: String
        var method: String
    }

    let inFlight = Meter(label: "cirrus_http_requests_in_flight")
    private let counters = NIOLockedValueBox<[Key: Counter]>([:])
    private let timers = NIOLockedValueBox<[DurationKey: Timer]>([:])

    func record(route: String, method: String, status: Int, since started: UInt64) {
        let key = Key(route: route, method: method, status: status)
        let counter = counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let made = Counter(label: "cirrus_http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))])
            counters[key] = made
            return made
        }
        let durationKey = DurationKey(route: route, method: method)
        let timer = timers.withLockedValue { timers in
            if let timer = timers[durationKey] { return timer }
            let made = Timer(
                label: "cirrus_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], preferredDisplayUnit: .seconds)
            timers[durationKey] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
    }
}
