import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// `GET /v1/status`: the readiness of all five services, asked concurrently.
final class StatusController: Sendable {
    let client: HTTPClient
    let upstreams: Upstreams
    let readiness: Readiness

    init(client: HTTPClient, upstreams: Upstreams, readiness: Readiness) {
        self.client = client
        self.upstreams = upstreams
        self.readiness = readiness
    }

    /// The last report and when it was made: `/v1/status` is public, so one report serves
    /// every caller for `cacheTime` (an anonymous flood costs no more than one caller).
    let cache = Mutex<(made: ContinuousClock.Instant, ready: Bool, body: ByteBuffer)?>(nil)
    static let cacheTime: Duration = .seconds(2)

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/status") { _, _ in try await self.status() }
    }

    func status() async throws -> Response {
        let now = ContinuousClock.now
        let cached = cache.withLock { cached in cached.flatMap { now - $0.made < Self.cacheTime ? ($0.ready, $0.body) : nil } }
        let report = if let cached { cached } else { try await fresh(at: now) }
        return Response(
            status: report.0 ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: report.1)
        )
    }

    private func fresh(at now: ContinuousClock.Instant) async throws -> (Bool, ByteBuffer) {
        var services: [String: ReadinessReport] = [:]
        services["gateway"] = await readiness.report()
        await withTaskGroup(of: (String, ReadinessReport).self) { group in
            for (name, baseURL) in upstreams.all {
                group.addTask { (name, await self.fetch(name: name, url: baseURL + "/readyz")) }
            }
            for await (name, report) in group { services[name] = report }
        }
        let status = SystemStatus(ready: services.values.allSatisfy(\.ready), services: services)
        let body = ByteBuffer(bytes: try ContractCoding.encoder().encode(status))
        cache.withLock { $0 = (now, status.ready, body) }
        return (status.ready, body)
    }

    /// A service that does not answer, or answers something unreadable, is reported not ready.
    private func fetch(name: String, url: String) async -> ReadinessReport {
        do {
            let request = HTTPClientRequest(url: url)
            let response = try await client.execute(request, timeout: .seconds(3))
            let body = try await response.body.collect(upTo: 1 << 20)
            return try ContractCoding.decoder().decode(ReadinessReport.self, from: Data(body.readableBytesView))
        } catch {
            return ReadinessReport(service: name, ready: false, checks: ["reachable": CheckResult(ok: false, detail: "unreachable", latencyMs: nil)])
        }
    }
}
