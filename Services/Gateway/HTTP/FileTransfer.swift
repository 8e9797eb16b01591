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

/// Uploads and downloads: the bytes stream between the client and blob, never buffered
/// whole; metadata reserves, authorises and completes around them.
///
/// Upload: verify the caller → metadata reserves (name, folder, quota, largest upload) and
/// grants → the body streams to blob (hashed, sniffed, limited) → metadata completes with
/// blob's receipt → 201 with the file. A failed transfer cancels the reservation.
/// Download: metadata authorises and grants a read → blob streams with `Range`, `ETag`,
/// `If-None-Match`; the gateway adds `Content-Disposition` with the file's name.
struct FileTransfer: Sendable {
    let peers: Peers
    let verifier: TokenVerifier
    /// A whole transfer may take this long; a stalled one fails sooner (the client's read timeout).
    var transferTimeout: TimeAmount = .hours(6)

    static let checksumHeader = HTTPField.Name("X-Content-SHA256")!

    func register(on router: Router<GatewayRequestContext>) {
        // Every route here is the caller's: the token is verified once, before the handler
        // (and forwarded to metadata, which verifies it again).
        let router = router.authenticated(by: verifier)
        router.post("/v1/files") { request, context in try await upload(request, context, replacing: nil) }
        router.put("/v1/files/:id/content") { request, context in
            try await upload(request, context, replacing: try context.parameters.uuid("id", resource: "file"))
        }
        router.get("/v1/files/:id/content") { request, context in try await download(request, context, head: false) }
        router.head("/v1/files/:id/content") { request, context in try await download(request, context, head: true) }
        router.get("/v1/files/:id/thumbnails/:size") { request, context in try await thumbnail(request, context) }
    }

    // MARK: - Upload

    /// Form fields an upload may carry besides the file part (`folder_id`, `name`, `sha256`
    /// and a few a browser form may add), and their total size: the gateway holds them in
    /// memory, so both are bounded. Beyond either: 413 naming the limit.
    static let maxFormFields = 16
    static let maxFormBytes = 64 * 1024

    static func isSHA256(_ value: String) -> Bool {
        value.utf8.count == 64 && value.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }
    }

    static func preambleTooLarge(_ limit: String) -> ProblemError {
        ProblemError(
            .contentTooLarge, detail: "The multipart body has too many or too large form fields: \(limit).",
            errors: [FieldError(field: "multipart", message: "may hold \(limit) besides the file part")])
    }

    func upload(_ request: Request, _ context: GatewayRequestContext, replacing: UUID?) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let contentLength = request.headers[.contentLength].flatMap(Int64.init)
        let checksum = request.headers[Self.checksumHeader]
        let body = ClientBody(request.body)
        if let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/") {
            guard let boundary = MultipartReader<ClientBody<RequestBody>>.boundary(contentType: type) else {
                guard type.lowercased().hasPrefix("multipart/form-data") else {
                    throw ProblemError(.unsupportedMediaType, detail: "Send the file as multipart/form-data or as the raw request body.")
                }
                throw ProblemError(.badRequest, detail: "The multipart/form-data content type needs a boundary parameter of 1 to 70 characters.")
            }
            let reader = MultipartReader(source: body, boundary: boundary)
            var fields: [String: String] = [:]
            var fieldCount = 0
            var fieldBytes = 0
            do {
                while let part = try await reader.nextPart() {
                    if part.name != "file" {
                        // The form fields are kept in memory until the file part: bounded in number and size.
                        fieldCount += 1
                        guard fieldCount <= Self.maxFormFields else { throw Self.preambleTooLarge("at most \(Self.maxFormFields) form fields") }
                    }
                    if part.name == "file" {
                        let name = fields["name"] ?? part.filename
                        // The form's checksum becomes a header to blob: anything but 64 hex digits
                        // is refused here (a control character would not even make a header).
                        if checksum == nil, let value = fields["sha256"], !Self.isSHA256(value.trimmingCharacters(in: .whitespaces)) {
                            throw ProblemError.validation(field: "sha256", "must be 64 hexadecimal digits (the SHA-256 of the content)")
                        }
                        // Whatever follows the file is read before the file is kept: a second file part is refused.
                        let rest: @Sendable () async throws -> Void = { [fieldCount] in
                            var count = fieldCount
                            while let extra = try await reader.nextPart() {
                                if extra.name == "file" {
                                    throw ProblemError.validation(field: "file", "must be sent once: this body holds more than one file part")
                                }
                                count += 1
                                guard count <= Self.maxFormFields else { throw Self.preambleTooLarge("at most \(Self.maxFormFields) form fields") }
                                _ = try await reader.readText()
                            }
                        }
                        return Self.relay(
                            try await transfer(
                                token: token, context: context, replacing: replacing, folderID: fields["folder_id"], name: name,
                                declaredSize: nil, checksum: checksum ?? fields["sha256"], body: MultipartPartBody(reader: reader),
                                clientBody: body, beforeCompleting: rest))
                    }
                    do {
                        let value = try await reader.readText()
                        fieldBytes += value.utf8.count + (part.name?.utf8.count ?? 0) + (part.filename?.utf8.count ?? 0)
                        guard fieldBytes <= Self.maxFormBytes else {
                            throw Self.preambleTooLarge("at most \(Self.maxFormBytes / 1024) KiB of form fields")
                        }
                        if let name = part.name { fields[name] = value }
                    } catch MultipartReader<ClientBody<RequestBody>>.Failure.notUTF8 {
                        throw ProblemError.validation(field: part.name ?? "name", "must be valid UTF-8")
                    }
                }
            } catch let failure as MultipartReader<ClientBody<RequestBody>>.Failure {
                switch failure {
                case .malformed(let why): throw ProblemError(.badRequest, detail: "The multipart body is malformed: \(why).")
                case .notUTF8: throw ProblemError.validation(field: "name", "must be valid UTF-8 (the file part's filename)")
                }
            }
            throw ProblemError.validation(field: "file", "is required: send the content as a part named \"file\" after the folder_id and name fields")
        }
        let query = request.uri.queryParameters
        if let raw = Self.rawQueryValue(request.uri.query, "name"), raw.removingPercentEncoding == nil {
            throw ProblemError.validation(field: "name", "must be valid UTF-8 (percent-encoded)")
        }
        return Self.relay(
            try await transfer(
                token: token, context: context, replacing: replacing, folderID: query["folder_id"].map(String.init),
                name: query["name"].map(String.init), declaredSize: contentLength, checksum: checksum, body: body,
                clientBody: body, beforeCompleting: nil))
    }

    /// A query parameter's value as sent (still percent-encoded), or nil. Hummingbird's decoded
    /// parameters replace bytes that are not UTF-8 with U+FFFD; this lets them be refused instead.
    static func rawQueryValue(_ query: String?, _ key: String) -> Substring? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let pieces = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pieces.first == Substring(key) { return pieces.count > 1 ? pieces[1] : "" }
        }
        return nil
    }

    /// One upload, from reservation to completion: metadata's answer with the file (201 for a
    /// new file, 200 for a new version), or the refusal of whichever step refused, to relay.
    /// (WebDAV's PUT uses it too.)
    func transfer<Body: AsyncSequence & Sendable>(
        token: String, context: GatewayRequestContext, replacing: UUID?, folderID: String?, name: String?,
        declaredSize: Int64?, checksum: String?, body: Body, clientBody: ClientBody<RequestBody>,
        beforeCompleting: (@Sendable () async throws -> Void)?
    ) async throws -> InternalReply
    where Body.Element == ByteBuffer {
        // 1. Reserve.
        let ask: UploadReservationRequest
        if let replacing {
            ask = UploadReservationRequest(size: declaredSize, fileID: replacing)
        } else {
            guard let folderID, !folderID.isEmpty else { throw ProblemError.validation(field: "folder_id", "is required") }
            guard let folder = UUID(uuidString: folderID) else { throw ProblemError.validation(field: "folder_id", "must be a folder id (UUID)") }
            ask = UploadReservationRequest(folderID: folder, name: name ?? "", size: declaredSize)
        }
        let answer = try await peers.metadata.send(.POST, "/internal/uploads", as: .bearer(token), json: ask)
        guard let reservation = try answer.decode(UploadReservation.self, status: 201) else { return answer }
        let uploadID = reservation.uploadID.uuidString.lowercased()
        // 2. Stream to blob.
        var headers = HTTPHeaders()
        if let checksum { headers.add(name: Self.checksumHeader.rawName, value: checksum) }
        let stored: InternalReply
        do {
            let response = try await peers.blob.streamOrUnreachable(
                .PUT, "/internal/uploads/" + uploadID, as: .grant(reservation.grant), headers: headers,
                body: .stream(body, length: declaredSize.map { .known($0) } ?? .unknown),
                timeout: transferTimeout)
            stored = InternalReply(status: Int(response.status.code), headers: response.headers, body: try await response.body.collect(upTo: 1 << 20))
        } catch {
            await clientBody.detach()  // blob may have answered before reading it all: stop feeding it first
            await cancel(uploadID, token: token)
            // The client's body broke off or was malformed: their request, not our storage.
            if let problem = clientBody.failed { throw problem }
            let cause = (error as? InternalClient.Unreachable)?.underlying ?? error
            if cause is ProblemError { throw cause }
            if case .malformed(let why)? = cause as? MultipartReader<ClientBody<RequestBody>>.Failure {
                throw ProblemError(.badRequest, detail: "The multipart body is malformed: \(why). Nothing was kept.")
            }
            context.logger.warning("upload to blob failed", metadata: ["error": "\(cause)"])
            throw ProblemError.unavailable("The storage service is unavailable; nothing was kept.")
        }
        let receipt: String?
        do {
            receipt = try stored.decode(StoredUpload.self, status: 201)?.receipt
        } catch {
            receipt = nil
            await clientBody.detach()
            await cancel(uploadID, token: token)
            throw error  // blob's 201 in a form this version does not read: 502, and nothing was kept
        }
        guard let receipt else {
            await clientBody.detach()  // blob may have answered before reading it all: stop feeding it first
            await cancel(uploadID, token: token)
            return stored
        }
        if let beforeCompleting {
            do {
                try await beforeCompleting()
            } catch {
                // Stored but never completed: blob's file.uploaded finds no reservation and the
                // content is released (docs/metadata.md), like any upload that lost its reservation.
                await cancel(uploadID, token: token)
                if let problem = clientBody.failed { throw problem }
                switch error as? MultipartReader<ClientBody<RequestBody>>.Failure {
                case .malformed(let why)?: throw ProblemError(.badRequest, detail: "The multipart body is malformed: \(why). Nothing was kept.")
                case .notUTF8?:
                    throw ProblemError(.badRequest, detail: "The multipart body is malformed: a part after the file is not UTF-8. Nothing was kept.")
                case nil: throw error
                }
            }
        }
        // 3. Complete.
        let completed = try await peers.metadata.send(
            .POST, "/internal/uploads/\(uploadID)/complete", as: .bearer(token), json: UploadCompletion(receipt: receipt))
        guard completed.status == 200 else { return completed }
        return InternalReply(status: replacing == nil ? 201 : 200, headers: completed.headers, body: completed.body, service: "metadata")
    }

    private func cancel(_ uploadID: String, token: String) async {
        _ = try? await peers.metadata.send(.DELETE, "/internal/uploads/\(uploadID)", as: .bearer(token))
    }

    // MARK: - Download

    func download(_ request: Request, _ context: GatewayRequestContext, head: Bool) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "file")
        var path = "/internal/files/\(id.uuidString.lowercased())/content"
        if let version = request.uri.queryParameters["version"] {
            guard UUID(uuidString: String(version)) != nil else { throw ProblemError.notFound("version") }
            path += "?version=\(version)"
        }
        let authorised = try await peers.metadata.send(.GET, path, as: .bearer(token))
        guard let content = try authorised.decode(ContentGrant.self) else { return Self.relay(authorised) }
        return try await streamFromBlob(
            blobID: content.blobID, grant: content.grant, name: content.name, request: request, context: context, head: head)
    }

    /// A thumbnail: metadata checks the file and the caller's tier and grants; thumbnail serves
    /// (rendering it now if it is missing).
    func thumbnail(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "file")
        guard let size = context.parameters.get("size").flatMap(Int.init), (1...10_000).contains(size) else {
            throw ProblemError.notFound("thumbnail size")
        }
        let authorised = try await peers.metadata.send(.GET, "/internal/files/\(id.uuidString.lowercased())/thumbnails/\(size)", as: .bearer(token))
        guard let thumbnail = try authorised.decode(ThumbnailGrant.self) else { return Self.relay(authorised) }
        return try await streamThumbnail(fileID: id, size: size, grant: thumbnail.grant, request: request, context: context)
    }

    func streamThumbnail(fileID: UUID, size: Int, grant: String, request: Request, context: GatewayRequestContext) async throws -> Response {
        var forwarded = HTTPHeaders()
        if let value = request.headers[.ifNoneMatch] { forwarded.add(name: "If-None-Match", value: value) }
        let response = try await peers.thumbnail.stream(
            .GET, "/internal/thumbnails/\(fileID.uuidString.lowercased())/\(size)", as: .grant(grant),
            headers: forwarded, timeout: .seconds(120))
        var headers = HTTPFields()
        for name in ["Content-Type", "Content-Length", "ETag", "Cache-Control", "Retry-After"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = Int(response.status.code)
        if status == 304 { return Response(status: .notModified, headers: headers) }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(asyncSequence: response.body))
    }

    /// Blob's answer, streamed to the client with the file's name attached.
    func streamFromBlob(
        blobID: String, grant: String, name: String, request: Request, context: GatewayRequestContext, head: Bool,
        disposition: String = "attachment"
    ) async throws -> Response {
        var forwarded = HTTPHeaders()
        for field in [HTTPField.Name.range, .ifNoneMatch, .ifRange] {
            if let value = request.headers[field] { forwarded.add(name: field.rawName, value: value) }
        }
        let response = try await peers.blob.stream(
            head ? .HEAD : .GET, "/internal/blobs/" + blobID, as: .grant(grant), headers: forwarded,
            timeout: transferTimeout)
        var headers = HTTPFields()
        for name in ["Content-Type", "Content-Length", "Content-Range", "ETag", "Accept-Ranges", "Cache-Control", "Retry-After"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = Int(response.status.code)
        if status == 200 || status == 206 || status == 304 {
            headers[.contentDisposition] = Self.contentDisposition(name, type: disposition)
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        }
        if head || status == 304 {
            return Response(status: HTTPResponse.Status(code: status), headers: headers)
        }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(asyncSequence: response.body))
    }

    /// RFC 6266: an ASCII fallback plus the exact UTF-8 name (RFC 8187).
    static func contentDisposition(_ name: String, type: String = "attachment") -> String {
        let fallback = String(
            name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0 != "%" ? Character($0) : "_" })
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "!#$&+-.^_`|~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? fallback
        return "\(type); filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }

    // MARK: - Answers passed on

    /// A peer's refusal (or its answer, with `status`), passed on to the client: its body and
    /// the headers a client may need.
    static func relay(_ reply: InternalReply, status: Int? = nil) -> Response {
        relay(status: status ?? reply.status, headers: reply.headers, body: reply.body)
    }

    static func relay(status: Int, headers: HTTPHeaders, body: ByteBuffer) -> Response {
        var fields = HTTPFields()
        for name in ["Content-Type", "Retry-After", "ETag", "Location"] {
            if let value = headers.first(name: name), let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(status: HTTPResponse.Status(code: status), headers: fields, body: .init(byteBuffer: body))
    }
}
