import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO

/// Public links (docs/sharing.md): the owner's `POST/GET /v1/public-links`,
/// `DELETE /v1/public-links/{id}`; and what the gateway asks for an anonymous visitor,
/// `/internal/public/{token}/…` (the link's password travels as `X-Link-Password`). Also the
/// listing of a folder's ZIP for a signed-in caller, `GET /internal/folders/{id}/archive`.
struct PublicLinksController: Sendable {
    let links: PublicLinks
    let listing: Listing
    let verifier: TokenVerifier
    let grants: InternalGrantSigner
    var drive: Drive { links.drive }

    static let passwordHeader = HTTPField.Name("X-Link-Password")!
    /// How long a ZIP's file reads may go on (the gateway's longest read from blob).
    static let archiveGrantLifetime: Duration = .seconds(6 * 3600)

    struct Visit: Encodable {
        struct LinkInfo: Encodable {
            var id: UUID
            var hasPassword: Bool
            var expiresAt: Date?
            var downloads: Int64
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                try c.encode(hasPassword, forKey: .hasPassword)
                try c.encode(expiresAt, forKey: .expiresAt)
                try c.encode(downloads, forKey: .downloads)
            }
            enum CodingKeys: String, CodingKey {
                case id
                case hasPassword = "has_password"
                case expiresAt = "expires_at"
                case downloads
            }
        }
        var link: LinkInfo
        var item: ItemResource
    }

    func register(on router: Router<ServiceRequestContext>) {
        let signedIn = router.authenticated(by: verifier)
        signedIn.post("/v1/public-links") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(PublicLinks.Input.self, context: context)
            return try Response.json(try await links.create(identity, input: input), status: .created, headers: [.cacheControl: "no-store"])
        }
        signedIn.get("/v1/public-links") { request, context in
            let identity = try context.caller
            return try Response.json(["items": try await links.list(identity)], headers: [.cacheControl: "no-store"])
        }
        signedIn.delete("/v1/public-links/:id") { request, context in
            let identity = try context.caller
            try await links.delete(identity, id: try context.parameters.uuid("id", resource: "public link"))
            return Response(status: .noContent)
        }
        signedIn.get("/internal/folders/:id/archive") { request, context in
            let identity = try context.caller
            let (folder, access) = try await drive.accessible(
                try context.parameters.uuid("id", resource: "folder"), caller: identity.userID, kind: .folder)
            var listing = try await drive.archive(of: folder, owner: access.ownerID)
            listing.grant = grants.sign(
                InternalGrant(purpose: .archive, ownerID: identity.userID, fileID: folder.id, lifetime: Self.archiveGrantLifetime))
            return try Response.json(listing)
        }
        // Each file of a signed-in caller's ZIP, under the listing's archive grant (the ZIP may
        // outlive the caller's access token): the reader must still be active and still reach
        // the file (a share revoked meanwhile ends the reads), and the file must be below the
        // grant's folder.
        router.get("/internal/archive/files/:id/content") { request, context in
            guard let token = request.headers[HTTPField.Name(InternalGrant.header)!],
                let grant = try? grants.verify(token, purpose: .archive)
            else {
                throw ProblemError(.forbidden, detail: "A valid archive grant is required.")
            }
            guard let folder = grant.fileID, try await drive.isActive(grant.ownerID) else { throw ProblemError.notFound("file") }
            let content = try await drive.content(
                of: try context.parameters.uuid("id", resource: "file"), version: nil, caller: grant.ownerID)
            // Only the files of the archive's folder: the grant is no key to the rest of what the reader may read.
            guard try await drive.client.withConnection({ try await drive.isInSubtree(content.item.id, of: folder, on: $0) }) else {
                throw ProblemError.notFound("file")
            }
            let read = grants.sign(InternalGrant(purpose: .read, ownerID: content.owner, blobID: content.blobID, lifetime: .seconds(300)))
            return try Response.json(
                ContentGrant(
                    fileID: content.item.id, name: content.item.name, blobID: content.blobID, size: content.size,
                    contentType: content.contentType, sha256: content.sha256, grant: read))
        }

        router.get("/internal/public/:token") { request, context in
            let link = try await open(request, context)
            var item = ItemResource(link.item)
            item.parentID = nil
            let info = Visit.LinkInfo(id: link.id, hasPassword: link.passwordHash != nil, expiresAt: link.expiresAt, downloads: link.downloads)
            return try Response.json(Visit(link: info, item: item), headers: [.cacheControl: "no-store"])
        }
        router.get("/internal/public/:token/children") { request, context in
            let link = try await open(request, context)
            let folder = try await links.item(try Self.optionalID(request, "folder_id"), in: link, kind: .folder)
            let scope = Listing.Scope.children(folder: folder.id)
            let query = try ListQuery(parameters: request.queryParameters, scope: scope.name)
            let page = try await listing.list(owner: link.ownerID, scope: scope, query: query)
            return try Response.json(page, headers: [.cacheControl: "no-store"])
        }
        router.get("/internal/public/:token/files/:id/content") { request, context in
            let link = try await open(request, context)
            let file = try await links.item(try context.parameters.uuid("id", resource: "file"), in: link, kind: .file)
            guard let blobID = file.blobID, let contentType = file.contentType, let sha256 = file.sha256 else { throw ProblemError.notFound("file") }
            if request.queryParameters["count"] == "true" { try await links.countDownload(link) }
            let grant = grants.sign(InternalGrant(purpose: .read, ownerID: link.ownerID, blobID: blobID, lifetime: .seconds(300)))
            return try Response.json(
                ContentGrant(
                    fileID: file.id, name: file.name, blobID: blobID, size: file.size, contentType: contentType, sha256: sha256, grant: grant))
        }
        router.get("/internal/public/:token/files/:id/thumbnails/:size") { request, context in
            let link = try await open(request, context)
            let file = try await links.item(try context.parameters.uuid("id", resource: "file"), in: link, kind: .file)
            guard let size = context.parameters.get("size").flatMap(Int.init) else { throw ProblemError.notFound("thumbnail size") }
            guard file.isImage, let blobID = file.blobID, let contentType = file.contentType else {
                throw ProblemError(.notFound, detail: "This file has no thumbnails (it is not an image).")
            }
            guard let account = try await drive.client.withConnection({ try await drive.accounts.find(link.ownerID, on: $0) }),
                account.tier.thumbnailSizes.contains(size)
            else {
                throw ProblemError.notFound("thumbnail size")
            }
            let grant = grants.sign(
                InternalGrant(
                    purpose: .read, ownerID: link.ownerID, fileID: file.id, blobID: blobID, size: Int64(size), contentType: contentType,
                    lifetime: .seconds(300)))
            return try Response.json(ThumbnailGrant(fileID: file.id, grant: grant, name: file.name))
        }
        router.get("/internal/public/:token/archive") { request, context in
            let link = try await open(request, context)
            let folder = try await links.item(try Self.optionalID(request, "folder_id"), in: link, kind: .folder)
            let archive = try await drive.archive(of: folder, owner: link.ownerID)
            try await links.countDownload(link)
            return try Response.json(archive)
        }
    }

    private func open(_ request: Request, _ context: ServiceRequestContext) async throws -> PublicLinks.Link {
        try await links.open(context.parameters.get("token") ?? "", password: request.headers[Self.passwordHeader])
    }

    /// An optional id in the query: absent means the link's own item; not an id → 404.
    static func optionalID(_ request: Request, _ name: String) throws -> UUID? {
        guard let raw = request.queryParameters[name], !raw.isEmpty else { return nil }
        guard let id = UUID(uuidString: raw) else { throw ProblemError.notFound("folder") }
        return id
    }
}
