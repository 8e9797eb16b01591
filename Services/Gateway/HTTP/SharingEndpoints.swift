import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Folder ZIPs and public links (docs/sharing.md). Metadata decides who may read what (an
/// owner, a recipient of a share, a visitor with a link's token and password); the gateway
/// streams: a ZIP is written as the files' bytes pass from blob (`ZipArchiveWriter`), each
/// file's read granted by metadata just before it streams (a signed-in caller's under the
/// listing's archive grant, a visitor's under the link's token and password).
struct SharingEndpoints: Sendable {
    let peers: Peers
    let transfer: FileTransfer
    let verifier: TokenVerifier
    let publicURL: String

    static let passwordHeader = HTTPField.Name("X-Link-Password")!
    static let robotsHeader = HTTPField.Name("X-Robots-Tag")!

    func register(on router: Router<GatewayRequestContext>) {
        router.authenticated(by: verifier).get("/v1/folders/:id/zip") { request, context in
            guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
            let id = try context.parameters.uuid("id", resource: "folder").uuidString.lowercased()
            // Each file's read goes under the listing's archive grant, not the access token: a
            // ZIP may stream for longer than the token lives.
            return try await zip(listing: "/internal/folders/\(id)/archive", credential: .bearer(token), headers: [:], context: context) {
                file, listing in
                ("/internal/archive/files/\(file.uuidString.lowercased())/content", .grant(listing.grant ?? ""))
            }
        }
        router.post("/v1/public-links") { request, context in try await decorated(request, context) }
        router.get("/v1/public-links") { request, context in try await decorated(request, context) }
        router.delete("/v1/public-links/:id") { request, context in
            let answer = try await UpstreamProxy(peer: peers.metadata).fetch(request, context: context, path: nil)
            return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
        }

        // Anyone with the token: every answer (refusals too) says noindex.
        let visitors = router.group("/v1/public").add(middleware: NoIndexMiddleware())
        visitors.get(":token") { request, context in try await json(request, context, "") }
        visitors.get(":token/children") { request, context in try await json(request, context, "/children") }
        visitors.get(":token/files/:file/content") { request, context in try await content(request, context, head: false) }
        visitors.head(":token/files/:file/content") { request, context in try await content(request, context, head: true) }
        visitors.post(":token/files/:file/content") { request, context in try await content(request, context, head: false) }
        visitors.get(":token/files/:file/thumbnails/:size") { request, context in try await thumbnail(request, context) }
        visitors.get(":token/zip") { request, context in try await publicZip(request, context) }
        visitors.post(":token/zip") { request, context in try await publicZip(request, context) }
    }

    // MARK: - Owner's links

    /// Metadata's answer with each link's `url` (under `CIRRUS_PUBLIC_URL`) beside its `path`.
    func decorated(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let answer = try await UpstreamProxy(peer: peers.metadata).fetch(request, context: context, path: nil)
        guard answer.status == .ok || answer.status == .created,
            var object = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: answer.body))
        else {
            return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
        }
        func withURL(_ link: JSONValue) -> JSONValue {
            var link = link
            if let path = link["path"]?.string { link["url"] = .string(publicURL + path) }
            return link
        }
        if case .array(let items)? = object["items"] {
            object["items"] = .array(items.map(withURL))
        } else {
            object = withURL(object)
        }
        let data = try ContractCoding.encoder().encode(object)
        return Response(
            status: answer.status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    // MARK: - Visitors

    /// The token as sent, refused early when it cannot be one (no database work for junk).
    static func token(_ context: GatewayRequestContext) throws -> String {
        guard let token = context.parameters.get("token"), token.utf8.count <= 64,
            token.utf8.allSatisfy({
                $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
                    || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            })
        else {
            throw ProblemError(
                .notFound, type: "https://cirrus.dev/problems/public-link-not-found", title: "No such link",
                detail: "This link does not exist or was revoked.")
        }
        return token
    }

    /// The link's password: the header, or (a browser form's POST) the form field `password`.
    static func password(_ request: Request, context: GatewayRequestContext) async throws -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let value = request.headers[passwordHeader] {
            headers.add(name: passwordHeader.rawName, value: value)
        } else if request.method == .post {
            var request = request
            let body = try await request.collectBody(upTo: 4096)
            let form = String(buffer: body)
            for pair in form.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0] == "password" else { continue }
                let value = parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                if !value.isEmpty, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    headers.add(name: passwordHeader.rawName, value: value)
                }
            }
        }
        return headers
    }

    func json(_ request: Request, _ context: GatewayRequestContext, _ suffix: String) async throws -> Response {
        let token = try Self.token(context)
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let reply = try await peers.metadata.send(
            .GET, "/internal/public/\(token)\(suffix)\(query)", headers: try await Self.password(request, context: context))
        var response = FileTransfer.relay(reply)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func content(_ request: Request, _ context: GatewayRequestContext, head: Bool) async throws -> Response {
        let token = try Self.token(context)
        guard let file = context.parameters.get("file").flatMap(UUID.init(uuidString:)) else { throw ProblemError.notFound("file") }
        // A download counts once: a whole GET, or the first range of one.
        let range = request.headers[.range]
        let counts = !head && (range == nil || range!.hasPrefix("bytes=0-"))
        let reply = try await peers.metadata.send(
            .GET, "/internal/public/\(token)/files/\(file.uuidString.lowercased())/content\(counts ? "?count=true" : "")",
            headers: try await Self.password(request, context: context))
        guard let grant = try reply.decode(ContentGrant.self) else { return FileTransfer.relay(reply) }
        var response = try await transfer.streamFromBlob(
            blobID: grant.blobID, grant: grant.grant, name: grant.name, request: request, context: context, head: head)
        response.headers[.cacheControl] = "private, no-store"
        return response
    }

    func thumbnail(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let token = try Self.token(context)
        guard let file = context.parameters.get("file").flatMap(UUID.init(uuidString:)) else { throw ProblemError.notFound("file") }
        guard let size = context.parameters.get("size").flatMap(Int.init), (1...10_000).contains(size) else {
            throw ProblemError.notFound("thumbnail size")
        }
        let reply = try await peers.metadata.send(
            .GET, "/internal/public/\(token)/files/\(file.uuidString.lowercased())/thumbnails/\(size)",
            headers: try await Self.password(request, context: context))
        guard let grant = try reply.decode(ThumbnailGrant.self) else { return FileTransfer.relay(reply) }
        var response = try await transfer.streamThumbnail(fileID: file, size: size, grant: grant.grant, request: request, context: context)
        response.headers[.cacheControl] = "private, no-store"
        return response
    }

    func publicZip(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let token = try Self.token(context)
        let headers = try await Self.password(request, context: context)
        var folder = ""
        if let raw = request.uri.queryParameters["folder_id"] {
            guard let id = UUID(uuidString: String(raw)) else { throw ProblemError.notFound("folder") }
            folder = "?folder_id=" + id.uuidString.lowercased()
        }
        return try await zip(listing: "/internal/public/\(token)/archive\(folder)", credential: .none, headers: headers, context: context) {
            file, _ in
            ("/internal/public/\(token)/files/\(file.uuidString.lowercased())/content", .none)
        }
    }

    // MARK: - ZIP

    /// A folder as a ZIP: metadata's listing first (a refusal is answered as it is), then each
    /// file's grant and bytes in turn, written as they stream. A file that went away meanwhile
    /// (deleted, trashed, no longer shared) is left out; a read that fails half-way ends the
    /// response without the archive's end, so the client sees a broken download, never a
    /// wrong file.
    func zip(
        listing path: String, credential: InternalClient.Credential, headers: HTTPHeaders, context: GatewayRequestContext,
        read: @escaping @Sendable (UUID, ArchiveListing) -> (path: String, credential: InternalClient.Credential)
    ) async throws -> Response {
        var metadata = peers.metadata
        metadata.replyLimit = 64 << 20  // 100,000 entries at most (metadata's bound)
        let reply = try await metadata.send(.GET, path, as: credential, headers: headers)
        guard let listing = try reply.decode(ArchiveListing.self) else { return FileTransfer.relay(reply) }
        let (peers, logger) = (self.peers, context.logger)
        let body = ResponseBody { writer in
            var zip = ZipArchiveWriter()
            for entry in listing.entries {
                guard let fileID = entry.fileID else {
                    try await writer.write(zip.folder(entry.path, modified: entry.modifiedAt))
                    continue
                }
                let request = read(fileID, listing)
                let granted = try await peers.metadata.send(.GET, request.path, as: request.credential, headers: headers)
                guard granted.status == 200, let grant = try granted.decode(ContentGrant.self) else {
                    if granted.status == 404 { continue }
                    throw ProblemError.unavailable("The archive could not be completed.")
                }
                let blob = try await peers.blob.stream(.GET, "/internal/blobs/" + grant.blobID, as: .grant(grant.grant), timeout: .hours(6))
                guard blob.status == .ok else {
                    logger.warning("zip: blob refused a file", metadata: ["status": "\(blob.status.code)", "file_id": "\(fileID)"])
                    throw ProblemError.unavailable("The archive could not be completed.")
                }
                try await writer.write(zip.fileStart(entry.path, size: UInt64(grant.size), modified: entry.modifiedAt))
                var crc = CRC32()
                var written: UInt64 = 0
                for try await chunk in blob.body {
                    crc.update(chunk)
                    written += UInt64(chunk.readableBytes)
                    try await writer.write(chunk)
                }
                guard written == UInt64(grant.size) else { throw ProblemError.unavailable("The archive could not be completed.") }
                try await writer.write(zip.fileEnd(crc: crc.value, size: written))
            }
            try await writer.write(zip.finish())
            try await writer.finish(nil)
        }
        let name = listing.name + ".zip"
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/zip", .contentDisposition: FileTransfer.contentDisposition(name),
                .cacheControl: "private, no-store", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ], body: body)
    }
}

/// `X-Robots-Tag: noindex` on every answer under `/v1/public/`, refusals included: a public
/// link's pages stay out of search engines.
struct NoIndexMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[SharingEndpoints.robotsHeader] = "noindex, nofollow"
        return response
    }
}
