import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The drive's routes. Public ones (`/v1/...`) are reached through the gateway, which
/// forwards the caller's token; metadata verifies it again, so a request that bypasses the
/// gateway gains nothing. `/internal/...` routes serve the gateway's upload and download flows.
struct DriveController: Sendable {
    let drive: Drive
    let listing: Listing
    let uploads: Uploads
    let blob: BlobClient
    let verifier: TokenVerifier
    let signer: InternalGrantSigner

    var paths: Paths { Paths(client: drive.client, drive: drive, accounts: drive.accounts, logger: drive.logger) }
    var locks: DAVLocks { DAVLocks(client: drive.client, accounts: drive.accounts, logger: drive.logger) }

    /// A lock path as sent: `/` and names, NFC like every name.
    static func lockPath(_ raw: String?) throws -> String {
        guard let raw, raw.hasPrefix("/"), raw.utf8.count <= 16_384 else { throw ProblemError.validation(field: "path", "is required") }
        return "/" + raw.split(separator: "/").map { String($0).precomposedStringWithCanonicalMapping }.joined(separator: "/")
    }

    struct ItemInput: Decodable {
        var name: String?
        var parentID: UUID?
        enum CodingKeys: String, CodingKey {
            case name
            case parentID = "parent_id"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        // Every route here is the caller's: the token is verified once, before the handler.
        let router = router.authenticated(by: verifier)
        // Folders
        router.get("/v1/folders/root") { request, context in
            try Response.json(ItemResource(try await drive.root(of: try context.caller)))
        }
        router.post("/v1/folders") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(ItemInput.self, context: context)
            return try Response.json(
                ItemResource(try await drive.createFolder(identity, name: input.name, parentID: input.parentID)), status: .created)
        }
        router.get("/v1/folders/:id") { request, context in
            let identity = try context.caller
            let (item, access) = try await drive.accessible(
                try context.parameters.uuid("id", resource: "folder"), caller: identity.userID, kind: .folder)
            return try Response.json(ItemResource(item, access: access))
        }
        router.get("/v1/folders/:id/children") { request, context in
            let identity = try context.caller
            let id = try context.parameters.uuid("id", resource: "folder")
            let scope = Listing.Scope.children(folder: id)
            let query = try ListQuery(parameters: request.queryParameters, scope: scope.name)
            let page = try await listing.list(owner: identity.userID, scope: scope, query: query)
            // The statement checked the folder; an empty page is a 404 when there is no such
            // folder, or the page of a folder shared with the caller (in its owner's drive).
            if page.items.isEmpty {
                let access = try await drive.accessible(id, caller: identity.userID, kind: .folder).access
                if !access.isOwner { return try Response.json(try await listing.list(owner: access.ownerID, scope: scope, query: query)) }
            }
            return try Response.json(page)
        }
        router.patch("/v1/folders/:id") { request, context in try await update(request, context, kind: .folder) }
        router.delete("/v1/folders/:id") { request, context in try await trash(request, context, kind: .folder) }

        // Files
        router.get("/v1/files") { request, context in
            let identity = try context.caller
            let parameters = request.queryParameters
            // `folder_id`: search that folder and below it (the caller's, or one shared with them).
            if let raw = parameters["folder_id"] {
                guard let folder = UUID(uuidString: raw) else { throw ProblemError.validation(field: "folder_id", "must be a folder id (UUID)") }
                let owner: UUID
                do {
                    owner = try await drive.accessible(folder, caller: identity.userID, kind: .folder).access.ownerID
                } catch let error as ProblemError where error.status == .notFound {
                    throw ProblemError.validation(field: "folder_id", "does not name a folder you can read")
                }
                let scope = Listing.Scope.filesBelow(folder: folder)
                let query = try ListQuery(parameters: parameters, scope: scope.name)
                return try Response.json(try await listing.list(owner: owner, scope: scope, query: query))
            }
            let query = try ListQuery(parameters: parameters, scope: Listing.Scope.files.name)
            return try Response.json(try await listing.list(owner: identity.userID, scope: .files, query: query))
        }
        router.get("/v1/files/:id") { request, context in
            let identity = try context.caller
            let (item, access) = try await drive.accessible(try context.parameters.uuid("id", resource: "file"), caller: identity.userID, kind: .file)
            return try Response.json(ItemResource(item, access: access))
        }
        router.get("/v1/files/:id/versions") { request, context in
            let identity = try context.caller
            let versions = try await drive.versions(of: try context.parameters.uuid("id", resource: "file"), caller: identity.userID)
            return try Response.json(["versions": versions])
        }
        router.patch("/v1/files/:id") { request, context in try await update(request, context, kind: .file) }
        router.delete("/v1/files/:id") { request, context in try await trash(request, context, kind: .file) }
        router.post("/v1/files/:id/thumbnails/retry") { request, context in
            let identity = try context.caller
            let id = try context.parameters.uuid("id", resource: "file")
            let item = try await uploads.retryThumbnails(identity, fileID: id, trace: request.traceContext)
            return try Response.json(try await resource(item, caller: identity.userID), status: .accepted)
        }
        router.post("/v1/files/:id/copy") { request, context in
            let identity = try context.caller
            let id = try context.parameters.uuid("id", resource: "file")
            let input = try await request.decodeJSON(ItemInput.self, context: context)
            do {
                let copy = try await drive.copy(identity, fileID: id, parentID: input.parentID, name: input.name, blob: blob)
                return try Response.json(ItemResource(copy), status: .created)
            } catch let error as ProblemError where error.problem.type == Drive.copyAcrossDrives {
                // From a drive shared with the caller into their own (or the reverse): the bytes are copied.
                let copy = try await uploads.copyAcross(
                    identity, fileID: id, parentID: input.parentID!, name: input.name, blob: blob, trace: request.traceContext)
                return try Response.json(ItemResource(copy), status: .created)
            }
        }

        // Trash
        router.get("/v1/trash") { request, context in
            let identity = try context.caller
            let (limit, cursor) = try ListQuery.newestFirstPage(request.queryParameters, fingerprint: "trash")
            return try Response.json(try await drive.trashList(identity, limit: limit, cursor: cursor))
        }
        router.post("/v1/trash/:id/restore") { request, context in
            let identity = try context.caller
            return try Response.json(ItemResource(try await drive.restore(identity, id: try context.parameters.uuid("id", resource: "trashed item"))))
        }
        router.delete("/v1/trash/:id") { request, context in
            let identity = try context.caller
            try await drive.purge(identity, id: try context.parameters.uuid("id", resource: "trashed item"), trace: request.traceContext)
            return Response(status: .noContent)
        }
        router.delete("/v1/trash") { request, context in
            let identity = try context.caller
            try await drive.purge(identity, id: nil, trace: request.traceContext)
            return Response(status: .noContent)
        }

        // Internal: uploads and downloads orchestrated by the gateway.
        router.post("/internal/uploads") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(UploadReservationRequest.self, context: context)
            if let size = input.size, size < 0 { throw ProblemError.validation(field: "size", "must be 0 or more") }
            let reservation = try await uploads.reserve(
                identity, folderID: input.folderID, name: input.name, replacing: input.fileID, declaredSize: input.size,
                resumable: input.resumable ?? false)
            return try Response.json(reservation, status: .created)
        }
        router.get("/internal/uploads/:id") { request, context in
            let identity = try context.caller
            return try Response.json(try await uploads.reservation(identity, uploadID: try context.parameters.uuid("id", resource: "upload")))
        }
        // The caller's largest upload (the gateway's Tus-Max-Size).
        router.get("/internal/upload-limits") { request, context in
            let identity = try context.caller
            let account = try await drive.accounts.account(for: identity)
            return try Response.json(UploadLimits(maxBytes: account.tier.maxUploadBytes))
        }
        router.post("/internal/uploads/:id/complete") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(UploadCompletion.self, context: context)
            let item = try await uploads.complete(
                identity, uploadID: try context.parameters.uuid("id", resource: "upload"), receipt: input.receipt,
                trace: request.traceContext)
            return try Response.json(try await resource(item, caller: identity.userID))
        }
        router.delete("/internal/uploads/:id") { request, context in
            let identity = try context.caller
            try await uploads.cancel(identity, uploadID: try context.parameters.uuid("id", resource: "upload"))
            return Response(status: .noContent)
        }
        router.get("/internal/files/:id/content") { request, context in
            let identity = try context.caller
            var version: UUID?
            if let raw = request.queryParameters["version"] {
                guard let parsed = UUID(uuidString: raw) else { throw ProblemError.notFound("version") }
                version = parsed
            }
            let content = try await drive.content(of: try context.parameters.uuid("id", resource: "file"), version: version, caller: identity.userID)
            let grant = signer.sign(InternalGrant(purpose: .read, ownerID: content.owner, blobID: content.blobID, lifetime: .seconds(300)))
            return try Response.json(
                ContentGrant(
                    fileID: content.item.id, name: content.item.name, blobID: content.blobID, size: content.size,
                    contentType: content.contentType, sha256: content.sha256, grant: grant))
        }
        router.get("/internal/files/:id/thumbnails/:size") { request, context in
            let identity = try context.caller
            let (file, access) = try await drive.accessible(try context.parameters.uuid("id", resource: "file"), caller: identity.userID, kind: .file)
            guard let size = context.parameters.get("size").flatMap(Int.init) else { throw ProblemError.notFound("thumbnail size") }
            guard file.isImage, let blobID = file.blobID, let contentType = file.contentType else {
                throw ProblemError(.notFound, detail: "This file has no thumbnails (it is not an image).")
            }
            // The sizes of the tier of the drive the file is in (a recipient sees what the owner's tier offers).
            let tier = try await drive.accounts.tier(of: access.ownerID, identity: identity)
            guard tier.thumbnailSizes.contains(size) else {
                let allowed = tier.thumbnailSizes.sorted().map(String.init).joined(separator: ", ")
                throw ProblemError(
                    .forbidden, type: "https://cirrus.dev/problems/tier", title: "Not in your tier",
                    detail:
                        "\(access.isOwner ? "Your" : "The owner's") tier includes thumbnails of these heights: \(allowed.isEmpty ? "none" : allowed)."
                )
            }
            let grant = signer.sign(
                InternalGrant(
                    purpose: .read, ownerID: access.ownerID, fileID: file.id, blobID: blobID, size: Int64(size),
                    contentType: contentType, lifetime: .seconds(300)))
            return try Response.json(ThumbnailGrant(fileID: file.id, grant: grant))
        }
        // WebDAV (through the gateway): what a path names, and folder copies (docs/webdav.md).
        router.get("/internal/paths") { request, context in
            let identity = try context.caller
            let parameters = request.queryParameters
            guard let path = parameters["path"], path.utf8.count <= 16_384 else { throw ProblemError.validation(field: "path", "is required") }
            let segments = path.split(separator: "/").map { String($0).precomposedStringWithCanonicalMapping }
            var limit = 1000
            if let raw = parameters["limit"] {
                guard let value = Int(raw), (1...1000).contains(value) else {
                    throw ProblemError.validation(field: "limit", "must be between 1 and 1000")
                }
                limit = value
            }
            return try Response.json(
                try await paths.lookup(
                    identity, segments: segments, children: parameters["children"] == "true", after: parameters["after"].map { String($0) },
                    limit: limit))
        }
        router.post("/internal/folders/:id/copy") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(FolderCopyRequest.self, context: context)
            let copy = try await paths.copyFolder(
                identity, id: try context.parameters.uuid("id", resource: "folder"), parentID: input.parentID, name: input.name,
                recursive: input.recursive, blob: blob)
            return try Response.json(Paths.entry(copy), status: .created)
        }
        router.patch("/internal/items/:id/properties") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(PropertyUpdate.self, context: context)
            try await paths.updateProperties(identity, id: try context.parameters.uuid("id", resource: "item"), update: input)
            return Response(status: .noContent)
        }
        router.get("/internal/locks") { request, context in
            let identity = try context.caller
            let path = try Self.lockPath(request.queryParameters["path"].map { String($0) })
            return try Response.json(LockList(locks: try await locks.relevant(owner: identity.userID, path: path)))
        }
        router.post("/internal/locks") { request, context in
            let identity = try context.caller
            var input = try await request.decodeJSON(LockRequest.self, context: context)
            input.path = try Self.lockPath(input.path)
            return try Response.json(try await locks.create(identity, input), status: .created)
        }
        router.post("/internal/locks/refresh") { request, context in
            let identity = try context.caller
            var input = try await request.decodeJSON(LockRefresh.self, context: context)
            input.path = try Self.lockPath(input.path)
            return try Response.json(try await locks.refresh(identity, input))
        }
        router.delete("/internal/locks") { request, context in
            let identity = try context.caller
            let parameters = request.queryParameters
            let path = try Self.lockPath(parameters["path"].map { String($0) })
            if let token = parameters["token"] {
                try await locks.unlock(identity, token: String(token), path: path)
            } else if parameters["subtree"] == "true" {
                try await locks.forget(identity, path: path)
            } else {
                throw ProblemError.validation(field: "token", "is required (or subtree=true)")
            }
            return Response(status: .noContent)
        }
        router.get("/internal/usage") { request, context in
            let identity = try context.caller
            let account = try await drive.accounts.account(for: identity)
            return try Response.json(
                StorageUsage(usedBytes: account.usedBytes, reservedBytes: account.reservedBytes, quotaBytes: account.tier.quotaBytes))
        }
    }

    /// An item as `caller` sees it after a write: a recipient does not see where the shared
    /// item sits in its owner's drive (one more statement, for recipients only).
    func resource(_ item: Item, caller: UUID) async throws -> ItemResource {
        guard item.ownerID != caller else { return ItemResource(item) }
        let access = try await drive.sharedAccess(to: item.id, caller: caller)
        guard let access else {
            var resource = ItemResource(item)
            resource.parentID = nil
            return resource
        }
        return ItemResource(item, access: access)
    }

    func update(_ request: Request, _ context: ServiceRequestContext, kind: Item.Kind) async throws -> Response {
        let identity = try context.caller
        let id = try context.parameters.uuid("id", resource: kind.rawValue)
        let input = try await request.decodeJSON(ItemInput.self, context: context)
        return try Response.json(ItemResource(try await drive.update(identity, id: id, kind: kind, name: input.name, parentID: input.parentID)))
    }

    func trash(_ request: Request, _ context: ServiceRequestContext, kind: Item.Kind) async throws -> Response {
        let identity = try context.caller
        try await drive.trash(identity, id: try context.parameters.uuid("id", resource: kind.rawValue), kind: kind)
        return Response(status: .noContent)
    }
}
