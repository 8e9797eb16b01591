import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import Hummingbird
import NIOCore

/// `GET /v1/status`: the readiness of all five services, asked concurrently.
struct StatusController {
    let client: HTTPClient
    let upstreams: Upstreams
    let readiness: Readiness

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/status") { _, _ in try await status() }
    }

    func status() async throws -> Response {
        var services: [String: ReadinessReport] = [:]
        services["gateway"] = await readiness.report()
        await withTaskGroup(of: (String, ReadinessReport).self) { group in
            for (name, baseURL) in upstreams.all {
                group.addTask { (name, await fetch(name: name, url: baseURL + "/readyz")) }
            }
            for await (name, report) in group { services[name] = report }
        }
        let status = SystemStatus(ready: services.values.allSatisfy(\.ready), services: services)
        let body = try ContractCoding.encoder().encode(status)
        return Response(
            status: status.ready ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
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
