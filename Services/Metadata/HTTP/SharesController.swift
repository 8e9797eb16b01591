import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird

/// Shares with other users (docs/sharing.md): `POST/GET /v1/{files|folders}/{id}/shares`,
/// `PATCH/DELETE /v1/shares/{id}`, `GET /v1/shared-with-me`.
struct SharesController: Sendable {
    let shares: Shares
    let verifier: TokenVerifier

    struct RoleInput: Decodable { var role: String? }

    func register(on router: Router<ServiceRequestContext>) {
        let router = router.authenticated(by: verifier)
        for kind in [Item.Kind.file, .folder] {
            let base = kind == .file ? "/v1/files/:id/shares" : "/v1/folders/:id/shares"
            router.post(RouterPath(base)) { request, context in
                let identity = try context.caller
                let id = try context.parameters.uuid("id", resource: kind.rawValue)
                let input = try await request.decodeJSON(Shares.Input.self, context: context)
                guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
                let (share, created) = try await shares.share(
                    identity, token: token, itemID: id, kind: kind, input: input, trace: request.traceContext)
                return try Response.json(share, status: created ? .created : .ok)
            }
            router.get(RouterPath(base)) { request, context in
                let identity = try context.caller
                let id = try context.parameters.uuid("id", resource: kind.rawValue)
                return try Response.json(["items": try await shares.shares(of: id, kind: kind, caller: identity.userID)])
            }
        }
        router.patch("/v1/shares/:id") { request, context in
            let identity = try context.caller
            let id = try context.parameters.uuid("id", resource: "share")
            let input = try await request.decodeJSON(RoleInput.self, context: context)
            return try Response.json(try await shares.update(identity, shareID: id, role: input.role, trace: request.traceContext))
        }
        router.delete("/v1/shares/:id") { request, context in
            let identity = try context.caller
            try await shares.delete(identity, shareID: try context.parameters.uuid("id", resource: "share"), trace: request.traceContext)
            return Response(status: .noContent)
        }
        router.get("/v1/shared-with-me") { request, context in
            let identity = try context.caller
            let (limit, cursor) = try ListQuery.newestFirstPage(request.queryParameters, fingerprint: "shared")
            return try Response.json(try await shares.sharedWith(identity, limit: limit, cursor: cursor))
        }
    }
}
