import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// `/v1/admin/dead-letters`: each consuming service (metadata, blob, thumbnail) keeps the dead
/// letters of its own consumers and checks the admin itself; the gateway asks all of them and
/// merges. A dead letter's id is unique, so the routes on one id go to whichever service
/// knows it.
struct DeadLetterEndpoints: Sendable {
    let services: [UpstreamProxy]

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/admin/dead-letters") { request, context in try await list(request, context: context) }
        router.post("/v1/admin/dead-letters/replay") { request, context in try await replayTopic(request, context: context) }
        router.get("/v1/admin/dead-letters/:id") { request, context in try await one(request, context: context) }
        router.delete("/v1/admin/dead-letters/:id") { request, context in try await one(request, context: context) }
        router.post("/v1/admin/dead-letters/:id/replay") { request, context in try await one(request, context: context) }
    }

    /// Every service's list, newest failure first, cut to the limit asked for. A service that
    /// does not answer is named in `unavailable` rather than failing the whole list.
    func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        // Collected once: a request body can be read only once, and each service gets a copy.
        var request = request
        request.body = RequestBody(buffer: try await request.collectBody(limit: 64 * 1024))
        var items: [DeadLetters.Entry] = []
        var unavailable: [String] = []
        for service in services {
            let answer: (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer)
            do {
                answer = try await service.fetch(request, context: context, path: nil)
            } catch {
                unavailable.append(service.service)
                continue
            }
            // A refusal (401, 403, 422) is the same from every service: relay the first.
            guard answer.status == .ok else { return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body)) }
            items += (try? ContractCoding.decoder().decode(DeadLetterPage.self, from: Data(buffer: answer.body)))?.items ?? []
        }
        items.sort { $0.lastFailedAt > $1.lastFailedAt }
        let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 100
        let data = try ContractCoding.encoder().encode(MergedPage(items: Array(items.prefix(limit)), unavailable: unavailable))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Show, replay or discard one: the first service whose answer is not 404.
    func one(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        request.body = RequestBody(buffer: try await request.collectBody(limit: 64 * 1024))
        var last: Response?
        var unreachable: ProblemError?
        for service in services {
            do {
                let answer = try await service.fetch(request, context: context, path: nil)
                let response = Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
                if answer.status != .notFound { return response }
                last = response
            } catch let error as ProblemError {
                unreachable = error
            }
        }
        // Not found anywhere that answered; if a service did not answer, it may be there.
        if let unreachable { throw unreachable }
        return last ?? Response(status: .notFound)
    }

    /// Replay a topic's dead letters in every service; the counts add up.
    func replayTopic(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        request.body = RequestBody(buffer: try await request.collectBody(limit: 64 * 1024))
        var replayed = 0
        var failed = 0
        var topic: String?
        var unavailable: [String] = []
        for service in services {
            let answer: (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer)
            do {
                answer = try await service.fetch(request, context: context, path: nil)
            } catch {
                unavailable.append(service.service)
                continue
            }
            guard answer.status == .ok else { return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body)) }
            let summary = try? ContractCoding.decoder().decode(DeadLetters.Summary.self, from: Data(buffer: answer.body))
            replayed += summary?.replayed ?? 0
            failed += summary?.failed ?? 0
            topic = summary?.topic ?? topic
        }
        let data = try ContractCoding.encoder().encode(MergedSummary(topic: topic, replayed: replayed, failed: failed, unavailable: unavailable))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

/// The merged list: every consuming service's dead letters, newest failure first, and the
/// services that did not answer.
struct MergedPage: Encodable {
    var items: [DeadLetters.Entry]
    var unavailable: [String]
}

/// The merged replay of a topic: `topic` is null when no service answered.
struct MergedSummary: Encodable {
    var topic: String?
    var replayed: Int
    var failed: Int
    var unavailable: [String]

    enum CodingKeys: String, CodingKey { case topic, replayed, failed, unavailable }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(topic, forKey: .topic)  // null, not omitted
        try container.encode(replayed, forKey: .replayed)
        try container.encode(failed, forKey: .failed)
        try container.encode(unavailable, forKey: .unavailable)
    }
}
