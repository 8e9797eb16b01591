import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// tus 1.0 resumable uploads at `/v1/uploads` (https://tus.io/protocols/resumable-upload),
/// with the creation, creation-with-upload, creation-defer-length, termination, expiration
/// and checksum (sha256) extensions.
///
/// The gateway speaks the protocol and keeps nothing: metadata reserves the upload exactly as
/// for a one-request upload (name rules, folder, quota, the tier's largest upload) and, for
/// each later request, checks that the upload is the caller's and grants one request to blob;
/// blob stages the bytes, keeps the offset and the running SHA-256, and registers the content
/// when the last byte is in; metadata then completes the file with blob's receipt, and the
/// usual `file.uploaded` → thumbnails flow follows. Every request and answer carries
/// `Tus-Resumable: 1.0.0`; the file's id comes back in `Cirrus-File-Id` once it is complete.
struct ResumableUploadEndpoints: Sendable {
    let peers: Peers
    let verifier: TokenVerifier
    /// One PATCH may take this long (a stalled one fails sooner: the read timeout).
    var transferTimeout: TimeAmount = .hours(6)

    static let version = "1.0.0"
    static let extensions = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
    static let offsetContentType = "application/offset+octet-stream"

    static let tusResumable = HTTPField.Name("Tus-Resumable")!
    static let tusVersion = HTTPField.Name("Tus-Version")!
    static let tusExtension = HTTPField.Name("Tus-Extension")!
    static let tusMaxSize = HTTPField.Name("Tus-Max-Size")!
    static let tusChecksumAlgorithm = HTTPField.Name("Tus-Checksum-Algorithm")!
    static let uploadOffset = HTTPField.Name("Upload-Offset")!
    static let uploadLength = HTTPField.Name("Upload-Length")!
    static let uploadDeferLength = HTTPField.Name("Upload-Defer-Length")!
    static let uploadMetadata = HTTPField.Name("Upload-Metadata")!
    static let uploadExpires = HTTPField.Name("Upload-Expires")!
    static let uploadChecksum = HTTPField.Name("Upload-Checksum")!
    static let fileID = HTTPField.Name("Cirrus-File-Id")!

    func register(on router: Router<GatewayRequestContext>) {
        router.on("/v1/uploads", method: .options) { request, context in try await options(request, context) }
        router.on("/v1/uploads/:id", method: .options) { request, context in try await options(request, context) }
        let router = router.group().add(middleware: TusHeaders()).authenticated(by: verifier)
        router.post("/v1/uploads") { request, context in try await create(request, context) }
        router.head("/v1/uploads/:id") { request, context in try await head(request, context) }
        router.patch("/v1/uploads/:id") { request, context in try await append(request, context) }
        router.delete("/v1/uploads/:id") { request, context in try await terminate(request, context) }
    }

    /// Every answer (refusals too) says which version it speaks; a request in another version
    /// is refused with the versions this server speaks (412).
    struct TusHeaders: RouterMiddleware {
        typealias Context = GatewayRequestContext

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            guard request.headers[tusResumable] == version else {
                throw ProblemError(
                    .preconditionFailed,
                    detail: "This server speaks tus \(version): send Tus-Resumable: \(version).",
                    errors: [FieldError(field: "Tus-Resumable", message: "must be \(version)")],
                    headers: [tusResumable: version, tusVersion: version])
            }
            do {
                var response = try await next(request, context)
                response.headers[tusResumable] = version
                return response
            } catch var error as ProblemError {
                error.headers[tusResumable] = version
                throw error
            }
        }
    }

    // MARK: - OPTIONS

    /// What this server supports; with a valid token also the caller's largest upload.
    func options(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        var headers: HTTPFields = [
            Self.tusResumable: Self.version, Self.tusVersion: Self.version, Self.tusExtension: Self.extensions,
            Self.tusChecksumAlgorithm: "sha256", .allow: "OPTIONS, POST, HEAD, PATCH, DELETE",
        ]
        if let token = TokenVerifier.token(from: request),
            let reply = try? await peers.metadata.send(.GET, "/internal/upload-limits", as: .bearer(token)),
            let limits = try? reply.decode(UploadLimits.self)
        {
            headers[Self.tusMaxSize] = String(limits.maxBytes)
        }
        return Response(status: .noContent, headers: headers)
    }

    // MARK: - Headers

    static func number(_ request: Request, _ name: HTTPField.Name) throws -> Int64? {
        guard let value = request.headers[name] else { return nil }
        guard !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = Int64(value) else {
            throw ProblemError.validation(field: name.canonicalName, "must be a whole number, 0 or more")
        }
        return number
    }

    /// `Upload-Metadata`: comma-separated `key base64value` pairs (a value may be absent).
    static func metadata(_ raw: String) throws -> [String: String] {
        guard raw.utf8.count <= 4096 else { throw ProblemError.validation(field: "Upload-Metadata", "may be at most 4096 bytes") }
        var pairs: [String: String] = [:]
        for entry in raw.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true)
            guard (1...2).contains(parts.count), let key = parts.first, !key.isEmpty, pairs[String(key)] == nil else {
                throw ProblemError.validation(
                    field: "Upload-Metadata", "must be unique keys, each with an optional Base64 value, separated by commas")
            }
            var value = ""
            if parts.count == 2 {
                guard let data = Data(base64Encoded: String(parts[1])), let text = String(data: data, encoding: .utf8) else {
                    throw ProblemError.validation(field: "Upload-Metadata", "the value of \(key) must be Base64 of UTF-8 text")
                }
                value = text
            }
            pairs[String(key)] = value
        }
        return pairs
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    static func location(_ uploadID: UUID) -> String { "/v1/uploads/" + uploadID.uuidString.lowercased() }

    // MARK: - POST: creation

    func create(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let length = try Self.number(request, Self.uploadLength)
        let deferred = request.headers[Self.uploadDeferLength]
        if let deferred, deferred != "1" { throw ProblemError.validation(field: "Upload-Defer-Length", "must be 1") }
        if length != nil, deferred != nil {
            throw ProblemError.validation(field: "Upload-Length", "cannot be sent with Upload-Defer-Length")
        }
        if length == nil, deferred == nil {
            throw ProblemError.validation(field: "Upload-Length", "is required (or Upload-Defer-Length: 1 to give it later)")
        }
        let rawMetadata = request.headers[Self.uploadMetadata]
        let metadata = try rawMetadata.map(Self.metadata) ?? [:]
        guard let folder = metadata["folder_id"], !folder.isEmpty else {
            throw ProblemError.validation(field: "folder_id", "is required (in Upload-Metadata)")
        }
        guard let folderID = UUID(uuidString: folder) else { throw ProblemError.validation(field: "folder_id", "must be a folder id (UUID)") }
        // tus clients commonly send `filename`; `name` wins when both come.
        let name = metadata["name"] ?? metadata["filename"] ?? ""
        let sha256 = metadata["sha256"].map { $0.trimmingCharacters(in: .whitespaces) }
        if let sha256, !FileTransfer.isSHA256(sha256) {
            throw ProblemError.validation(field: "sha256", "must be 64 hexadecimal digits (the SHA-256 of the content)")
        }
        let withBody = request.headers[.contentType].map { $0.lowercased().hasPrefix(Self.offsetContentType) } ?? false
        if request.headers[.contentType] != nil, !withBody, (Self.declaredBody(request) ?? 0) > 0 {
            throw ProblemError(.unsupportedMediaType, detail: "An upload's bytes are sent as \(Self.offsetContentType).")
        }

        let answer = try await peers.metadata.send(
            .POST, "/internal/uploads", as: .bearer(token),
            json: UploadReservationRequest(folderID: folderID, name: name, size: length, resumable: true))
        guard let reservation = try answer.decode(UploadReservation.self, status: 201) else { return FileTransfer.relay(answer) }
        let uploadID = reservation.uploadID.uuidString.lowercased()
        let created: InternalReply
        do {
            created = try await peers.blob.send(
                .POST, "/internal/resumable/" + uploadID, as: .grant(reservation.grant),
                json: ResumableUploadCreation(length: length, metadata: rawMetadata, sha256: sha256?.lowercased(), expiresAt: reservation.expiresAt))
        } catch {
            await cancel(uploadID, token: token)
            throw error
        }
        guard let state = try created.decode(ResumableUploadState.self, status: 201) else {
            await cancel(uploadID, token: token)
            return Self.relay(created)
        }
        var headers: HTTPFields = [.location: Self.location(reservation.uploadID), Self.uploadExpires: Self.httpDate(state.expiresAt)]
        if withBody || length == 0 {
            // creation-with-upload (or an empty file, complete at once): the first bytes now.
            // If they are refused the client never learns the upload's URL, so it is
            // terminated rather than left holding the name and the quota until it expires.
            let appended: Appended
            do {
                appended = try await send(
                    request, uploadID: uploadID, grant: reservation.grant, offset: 0, token: token, context: context)
            } catch {
                await terminate(uploadID, grant: reservation.grant, token: token)
                throw error
            }
            switch appended {
            case .refused(let response):
                await terminate(uploadID, grant: reservation.grant, token: token)
                return response
            case .accepted(let headersOfAppend):
                for field in headersOfAppend { headers[field.name] = field.value }
            }
        }
        return Response(status: .created, headers: headers)
    }

    /// Discards an upload's bytes and its reservation (a creation whose first bytes failed).
    private func terminate(_ uploadID: String, grant: String, token: String) async {
        _ = try? await peers.blob.send(.DELETE, "/internal/resumable/" + uploadID, as: .grant(grant))
        await cancel(uploadID, token: token)
    }

    static func declaredBody(_ request: Request) -> Int64? { request.headers[.contentLength].flatMap(Int64.init) }

    // MARK: - HEAD

    func head(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "upload")
        let (reservation, refusal) = try await authorise(id, token: token)
        guard let reservation else { return Self.bodiless(refusal!) }
        let reply = try await peers.blob.send(.GET, "/internal/resumable/" + id.uuidString.lowercased(), as: .grant(reservation.grant))
        guard let state = try reply.decode(ResumableUploadState.self) else { return Self.bodiless(Self.relay(reply)) }
        var headers: HTTPFields = [
            Self.uploadOffset: String(state.offset), .cacheControl: "no-store", Self.uploadExpires: Self.httpDate(state.expiresAt),
        ]
        if let length = state.length { headers[Self.uploadLength] = String(length) } else { headers[Self.uploadDeferLength] = "1" }
        if let metadata = state.metadata { headers[Self.uploadMetadata] = metadata }
        return Response(status: .ok, headers: headers)
    }

    /// A HEAD's refusal: its status and headers, no body.
    static func bodiless(_ response: Response) -> Response {
        var headers = response.headers
        headers[.contentLength] = nil
        return Response(status: response.status, headers: headers)
    }

    /// Metadata's fresh grant for the caller's upload, or its refusal (404 for anyone else's).
    func authorise(_ id: UUID, token: String) async throws -> (UploadReservation?, Response?) {
        let reply = try await peers.metadata.send(.GET, "/internal/uploads/" + id.uuidString.lowercased(), as: .bearer(token))
        guard let reservation = try reply.decode(UploadReservation.self) else { return (nil, FileTransfer.relay(reply)) }
        return (reservation, nil)
    }

    // MARK: - PATCH

    func append(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "upload")
        guard request.headers[.contentType]?.lowercased().hasPrefix(Self.offsetContentType) == true else {
            throw ProblemError(.unsupportedMediaType, detail: "A PATCH carries its bytes as \(Self.offsetContentType).")
        }
        guard let offset = try Self.number(request, Self.uploadOffset) else {
            throw ProblemError.validation(field: "Upload-Offset", "is required")
        }
        _ = try Self.number(request, Self.uploadLength)
        let (reservation, refusal) = try await authorise(id, token: token)
        guard let reservation else { return refusal! }
        switch try await send(
            request, uploadID: id.uuidString.lowercased(), grant: reservation.grant, offset: offset, token: token, context: context)
        {
        case .refused(let response): return response
        case .accepted(let headers): return Response(status: .noContent, headers: headers)
        }
    }

    enum Appended {
        case accepted(HTTPFields)
        case refused(Response)
    }

    /// Streams the request's bytes to blob at `offset`; when they complete the upload, metadata
    /// completes the file. The headers of a tus answer, or the refusal to pass on.
    func send(
        _ request: Request, uploadID: String, grant: String, offset: Int64, token: String, context: GatewayRequestContext
    ) async throws -> Appended {
        var headers = HTTPHeaders()
        headers.add(name: "Upload-Offset", value: String(offset))
        for name in [Self.uploadLength, Self.uploadChecksum] {
            if let value = request.headers[name] { headers.add(name: name.rawName, value: value) }
        }
        let declared = Self.declaredBody(request)
        let body = ClientBody(request.body)
        let reply: InternalReply
        do {
            let response = try await peers.blob.streamOrUnreachable(
                .PATCH, "/internal/resumable/" + uploadID, as: .grant(grant), headers: headers,
                body: .stream(body, length: declared.map { .known($0) } ?? .unknown), timeout: transferTimeout)
            reply = InternalReply(status: Int(response.status.code), headers: response.headers, body: try await response.body.collect(upTo: 1 << 20))
        } catch {
            await body.detach()
            if let problem = body.failed { throw problem }
            let cause = (error as? InternalClient.Unreachable)?.underlying ?? error
            if cause is ProblemError { throw cause }
            context.logger.warning("resumable upload to blob failed", metadata: ["error": "\(cause)"])
            throw ProblemError.unavailable("The storage service is unavailable; the upload keeps the bytes acknowledged before.")
        }
        guard let state = try reply.decode(ResumableUploadState.self) else {
            await body.detach()
            if reply.status == 422 { await cancel(uploadID, token: token) }  // the whole file's checksum failed: nothing was kept
            return .refused(Self.relay(reply))
        }
        var fields: HTTPFields = [Self.uploadOffset: String(state.offset), Self.uploadExpires: Self.httpDate(state.expiresAt)]
        if let stored = state.stored {
            let completed = try await peers.metadata.send(
                .POST, "/internal/uploads/\(uploadID)/complete", as: .bearer(token), json: UploadCompletion(receipt: stored.receipt))
            guard completed.status == 200 else { return .refused(FileTransfer.relay(completed)) }
            fields[Self.fileID] = stored.fileID.uuidString.lowercased()
        }
        return .accepted(fields)
    }

    /// Blob's refusal with the headers a tus client needs (the right offset of a 409).
    static func relay(_ reply: InternalReply) -> Response {
        var response = FileTransfer.relay(reply)
        if let offset = reply.headers.first(name: "Upload-Offset") { response.headers[uploadOffset] = offset }
        return response
    }

    // MARK: - DELETE: termination

    func terminate(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "upload")
        let (reservation, refusal) = try await authorise(id, token: token)
        guard let reservation else { return refusal! }
        let reply = try await peers.blob.send(.DELETE, "/internal/resumable/" + id.uuidString.lowercased(), as: .grant(reservation.grant))
        guard reply.status == 204 || reply.status == 404 else { return Self.relay(reply) }
        await cancel(id.uuidString.lowercased(), token: token)
        return Response(status: .noContent)
    }

    private func cancel(_ uploadID: String, token: String) async {
        _ = try? await peers.metadata.send(.DELETE, "/internal/uploads/\(uploadID)", as: .bearer(token))
    }
}
