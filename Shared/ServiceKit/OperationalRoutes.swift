import CirrusContracts
import Crypto
import Foundation
import Hummingbird
import Metrics
import NIOCore
import Prometheus

/// The process-wide Prometheus registry behind swift-metrics, bootstrapped on first use.
public enum CirrusMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

/// Who may read `/metrics`.
public enum MetricsExposure: Sendable, Equatable {
    /// Anyone who reaches the port (an internal service's port, not published).
    case open
    /// Only `Authorization: Bearer <token>` (`CIRRUS_METRICS_TOKEN`).
    case token(String)
    /// Not served (the gateway's public port without a token: 404 like any unknown path).
    case hidden

    /// The exposure for a service: a configured token always; otherwise open on internal
    /// ports and hidden on the public one.
    public static func forService(token: String?, publicPort: Bool) -> MetricsExposure {
        if let token { return .token(token) }
        return publicPort ? .hidden : .open
    }

    /// Whether `authorization` (the request's header) may read the metrics.
    func allows(_ authorization: String?) -> Bool {
        switch self {
        case .open: return true
        case .hidden: return false
        case .token(let token):
            guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return false }
            // Compare digests: constant time whatever the lengths.
            return SHA256.hash(data: Data(authorization.dropFirst(7).utf8)) == SHA256.hash(data: Data(token.utf8))
        }
    }
}

/// The paths `addOperationalRoutes` serves (probes and scrapes: no request spans for them).
let operationalPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]

extension Router {
    /// `/healthz` (the process answers), `/readyz` (it can do its job) and `/metrics` (as `metrics` allows).
    public func addOperationalRoutes(
        readiness: Readiness, metrics: MetricsExposure = .open, registry: PrometheusCollectorRegistry = CirrusMetrics.registry
    ) {
        get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        get("/readyz") { _, _ in
            let report = await readiness.report()
            let body = try ContractCoding.encoder().encode(report)
            return Response(
                status: report.ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        if metrics == .hidden { return }
        get("/metrics") { request, _ in
            guard metrics.allows(request.headers[.authorization]) else {
                throw ProblemError(.unauthorized, detail: "The metrics need the configured bearer token.", headers: [.wwwAuthenticate: "Bearer"])
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricHelp.annotate(registry.emitToBuffer())))
            )
        }
    }
}
