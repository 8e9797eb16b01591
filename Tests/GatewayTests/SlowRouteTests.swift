import AsyncHTTPClient
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import Gateway

/// `ProxiedRoutes.slow` (a copy across drives answers only when its bytes are copied) goes
/// through the patient pool: AsyncHTTPClient applies its client's read timeout to every
/// request as the longest silence before the answer, so a per-request deadline alone would
/// not let such a route wait. Scaled down: the usual pool waits 0.5 s, the patient one 10 s,
/// and metadata answers after 1.5 s.
@Suite("Slow proxied routes")
struct SlowRouteTests {
    @Test func aCopyWaitsForItsAnswerWhereOtherRoutesTimeOut() async throws {
        let quick = HTTPClientService(connectTimeout: .seconds(2), readTimeout: .milliseconds(500)).client
        let patient = HTTPClientService(connectTimeout: .seconds(2), readTimeout: .seconds(10)).client
        do {
            try await run(quick: quick, patient: patient)
        } catch {
            try? await quick.shutdown()
            try? await patient.shutdown()
            throw error
        }
        try await quick.shutdown()
        try await patient.shutdown()
    }

    func run(quick: HTTPClient, patient: HTTPClient) async throws {
        try await FakePeer.serve({ _ in
            try await Task.sleep(for: .milliseconds(1500))
            return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }) { metadata in
            let unreachable = try FakePeer.unreachable().url
            let urls = try PeerURLs(
                reader: ConfigReader(environment: [
                    "CIRRUS_AUTH_URL": unreachable, "CIRRUS_METADATA_URL": metadata.url, "CIRRUS_BLOB_URL": unreachable,
                    "CIRRUS_THUMBNAIL_URL": unreachable,
                ]))
            let peers = Peers(http: quick, patient: patient, urls: urls, logger: FakePeer.logger)
            let router = Router(context: GatewayRequestContext.self)
            router.add(middleware: ErrorMiddleware())
            router.addProxiedRoutes(peers: peers)  // as GatewayApp wires them
            try await Application(router: router, logger: FakePeer.logger).test(.router) { client in
                let id = UUID().uuidString.lowercased()
                let copy = try await client.execute(uri: "/v1/files/\(id)/copy", method: .post, headers: [:], body: ByteBuffer(string: "{}"))
                #expect(copy.status == .created)
                let read = try await client.execute(uri: "/v1/files/\(id)", method: .get, headers: [:], body: nil)
                #expect(read.status.code >= 500)
            }
        }
    }
}
