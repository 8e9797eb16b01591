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
        var items: [[String: Any]] = []
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
            let object = try? JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any]
            items += object?["items"] as? [[String: Any]] ?? []
        }
        items.sort { ($0["last_failed_at"] as? String ?? "") > ($1["last_failed_at"] as? String ?? "") }
        let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 100
        let data = try JSONSerialization.data(withJSONObject: ["items": Array(items.prefix(limit)), "unavailable": unavailable], options: [.sortedKeys, .withoutEscapingSlashes])
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
        var replayed = 0, failed = 0
        var topic: Any = NSNull()
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
            let object = try? JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any]
            replayed += object?["replayed"] as? Int ?? 0
            failed += object?["failed"] as? Int ?? 0
            topic = object?["topic"] ?? topic
        }
        let body: [String: Any] = ["topic": topic, "replayed": replayed, "failed": failed, "unavailable": unavailable]
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
