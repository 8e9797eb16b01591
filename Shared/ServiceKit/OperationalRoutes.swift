import CirrusContracts
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

extension Router {
    /// `/healthz` (the process answers), `/readyz` (it can do its job) and `/metrics`.
    public func addOperationalRoutes(readiness: Readiness, registry: PrometheusCollectorRegistry = CirrusMetrics.registry) {
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
        get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}
