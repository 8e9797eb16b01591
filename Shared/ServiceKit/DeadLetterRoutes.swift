import Foundation
import Hummingbird

extension Router where Context: IdentityRequestContext {
    /// The admin API over this service's dead letters (the gateway merges the consuming
    /// services' answers under the same paths): list, show, replay one, replay a topic,
    /// discard. Each needs an admin's access token; each action is logged with the admin's id.
    public func addDeadLetterRoutes(_ deadLetters: DeadLetters, verifier: TokenVerifier) {
        @Sendable func admin(_ context: Context) throws -> UUID {
            let identity = try context.caller
            guard identity.role == .admin else { throw ProblemError(.forbidden, detail: "This needs the admin role.") }
            return identity.userID
        }
        let routes = authenticated(by: verifier)
        routes.get("/v1/admin/dead-letters") { request, context -> Response in
            _ = try admin(context)
            let topic = request.uri.queryParameters.get("topic")
            var limit = 100
            if let raw = request.uri.queryParameters.get("limit") {
                guard let value = Int(raw), (1...1000).contains(value) else {
                    throw ProblemError.validation(field: "limit", "Must be a whole number from 1 to 1000.")
                }
                limit = value
            }
            return try Response.json(DeadLetterPage(items: try await deadLetters.list(topic: topic, limit: limit)))
        }
        routes.get("/v1/admin/dead-letters/:id") { request, context -> Response in
            _ = try admin(context)
            let id = try context.parameters.uuid("id", resource: "dead letter")
            guard let entry = try await deadLetters.show(id) else { throw ProblemError.notFound("dead letter") }
            return try Response.json(entry)
        }
        routes.post("/v1/admin/dead-letters/:id/replay") { request, context -> Response in
            let adminID = try admin(context)
            let id = try context.parameters.uuid("id", resource: "dead letter")
            guard let outcome = try await deadLetters.replay(id, by: adminID) else { throw ProblemError.notFound("dead letter") }
            return try Response.json(outcome)
        }
        routes.post("/v1/admin/dead-letters/replay") { request, context -> Response in
            let adminID = try admin(context)
            let body = try await request.decodeJSON(ReplayTopic.self, context: context)
            guard !body.topic.isEmpty, body.topic.count <= 200 else {
                throw ProblemError.validation(field: "topic", "Name the topic whose dead letters to replay.")
            }
            return try Response.json(try await deadLetters.replayAll(topic: body.topic, by: adminID))
        }
        routes.delete("/v1/admin/dead-letters/:id") { request, context -> Response in
            let adminID = try admin(context)
            let id = try context.parameters.uuid("id", resource: "dead letter")
            guard try await deadLetters.discard(id, by: adminID) else { throw ProblemError.notFound("dead letter") }
            return Response(status: .noContent)
        }
    }
}

/// One service's list of dead letters (`GET /v1/admin/dead-letters`); the gateway merges them.
public struct DeadLetterPage: Codable, Sendable {
    public var items: [DeadLetters.Entry]

    public init(items: [DeadLetters.Entry]) {
        self.items = items
    }
}

struct ReplayTopic: Codable, Sendable {
    var topic: String
}
