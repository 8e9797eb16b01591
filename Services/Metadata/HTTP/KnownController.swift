import CirrusContracts
import CirrusServiceKit
import Foundation
import Hummingbird

/// `POST /internal/known/references` and `POST /internal/known/files`: which of the given ids
/// metadata still has (blob's and thumbnail's reconcilers; internal port only). The answer
/// reveals only whether ids the caller already holds exist.
struct KnownController: Sendable {
    let known: Known

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/internal/known/references") { request, context in
            let query = try await Self.query(request, context)
            return try Response.json(KnownIDsReply(known: try await known.references(query.ids), checked: query.ids.count))
        }
        router.post("/internal/known/files") { request, context in
            let query = try await Self.query(request, context)
            return try Response.json(KnownIDsReply(known: try await known.files(query.ids), checked: query.ids.count))
        }
    }

    static func query(_ request: Request, _ context: ServiceRequestContext) async throws -> KnownIDsQuery {
        let query = try await request.decodeJSON(KnownIDsQuery.self, context: context)
        guard query.ids.count <= KnownIDsQuery.limit else {
            throw ProblemError.validation(field: "ids", "at most \(KnownIDsQuery.limit) ids per request")
        }
        return query
    }
}
