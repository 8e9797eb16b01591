import AsyncHTTPClient
import NIOCore
import ServiceLifecycle

/// The HTTP client a service uses to call the others: connections pooled, a short connect
/// timeout (a service that is down fails a call in seconds, not after AsyncHTTPClient's
/// default 90 s, so retries and dead-lettering stay prompt), a read timeout for stalls.
/// Run it as a service of the runtime so it is shut down after the server stopped.
public struct HTTPClientService: Service {
    public let client: HTTPClient

    public init(connectTimeout: TimeAmount = .seconds(3), readTimeout: TimeAmount = .seconds(60)) {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: connectTimeout, read: readTimeout))
        // AHC bounds the wait for a pooled connection by the connect timeout too: with its
        // default of 8 connections per host, a 9th concurrent call (say, a 9th upload streaming
        // to blob) would fail as "unavailable" after a few seconds. The pool must not be the limit.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        // No retried connection attempts with backoff: AHC's backoff grows to a minute while a
        // service is down, and then keeps failing calls with the old "connection refused" for
        // up to that long after the service is back (seen in Tests/api/operations.py: the
        // gateway answered 503 for blob for 10+ s after blob was listening again). A failed
        // attempt fails the waiting calls at once; the next call tries afresh.
        configuration.connectionPool.retryConnectionEstablishment = false
        // No spans or trace headers of AHC's own: calls between services are traced by
        // `CirrusTracing.call` (a client span named after the peer) and carry its context once
        // (AHC would add a second `traceparent`, which the server then cannot parse).
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public init(client: HTTPClient) {
        self.client = client
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
