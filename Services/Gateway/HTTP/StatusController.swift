import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization

/// `GET /v1/status`: the readiness of all five services, asked concurrently.
final class StatusController: Sendable {
    let peers: [InternalClient]
    let readiness: Readiness

    init(peers: Peers, readiness: Readiness) {
        self.peers = [peers.auth, peers.metadata, peers.blob, peers.thumbnail]
        self.readiness = readiness
    }

    /// `/v1/status` is public, so one report serves every caller for `cacheTime`, and callers
    /// arriving while it is being made wait for that one: at most one round of `/readyz` calls
    /// is in flight, however many ask.
    private enum Cached {
        case made(ContinuousClock.Instant, ready: Bool, body: ByteBuffer)
        case making(Task<(Bool, ByteBuffer), any Error>)
    }
    private let cache = Mutex<Cached?>(nil)
    static let cacheTime: Duration = .seconds(2)

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/status") { _, _ in try await self.status() }
    }

    func status() async throws -> Response {
        let now = ContinuousClock.now
        let lookup: Cached = cache.withLock { state in
            switch state {
            case .made(let made, _, _)? where now - made < Self.cacheTime: return state!
            case .making?: return state!
            default:
                let running = Task { try await self.fresh() }
                state = .making(running)
                return .making(running)
            }
        }
        switch lookup {
        case .made(_, let ready, let body): return Self.response((ready, body))
        case .making(let running): return Self.response(try await running.value)
        }
    }

    static func response(_ report: (Bool, ByteBuffer)) -> Response {
        Response(
            status: report.0 ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: report.1)
        )
    }

    /// One round of `/readyz` calls; its report becomes the cached one (a failure clears the
    /// state, so the next caller tries again).
    private func fresh() async throws -> (Bool, ByteBuffer) {
        do {
            let report = try await gather()
            cache.withLock { $0 = .made(.now, ready: report.0, body: report.1) }
            return report
        } catch {
            cache.withLock { $0 = nil }
            throw error
        }
    }

    private func gather() async throws -> (Bool, ByteBuffer) {
        var services: [String: ReadinessReport] = [:]
        services["gateway"] = await readiness.report()
        await withTaskGroup(of: (String, ReadinessReport).self) { group in
            for peer in peers {
                group.addTask { (peer.service, await self.fetch(peer)) }
            }
            for await (name, report) in group { services[name] = report }
        }
        let status = SystemStatus(ready: services.values.allSatisfy(\.ready), services: services)
        return (status.ready, ByteBuffer(bytes: try ContractCoding.encoder().encode(status)))
    }

    /// A service that does not answer, or answers something unreadable, is reported not ready.
    private func fetch(_ peer: InternalClient) async -> ReadinessReport {
        do {
            let reply = try await peer.send(.GET, "/readyz", timeout: .seconds(3))
            return try ContractCoding.decoder().decode(ReadinessReport.self, from: Data(reply.body.readableBytesView))
        } catch {
            return ReadinessReport(
                service: peer.service, ready: false, checks: ["reachable": CheckResult(ok: false, detail: "unreachable", latencyMs: nil)])
        }
    }
}
