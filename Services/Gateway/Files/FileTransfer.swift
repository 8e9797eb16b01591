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
    let client: HTTPClient
    let upstreams: Upstreams
    let verifier: TokenVerifier
    /// A whole transfer may take this long; a stalled one fails sooner (the client's read timeout).
    var transferTimeout: TimeAmount = .hours(6)

    static let checksumHeader = HTTPField.Name("X-Content-SHA256")!

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/v1/files") { request, context in try await upload(request, context, replacing: nil) }
        router.put("/v1/files/:id/content") { request, context in
            _ = try await verifier.authenticate(request)
            return try await upload(request, context, replacing: try context.parameters.uuid("id", resource: "file"))
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
        ProblemError(.contentTooLarge, detail: "The multipart body has too many or too large form fields: \(limit).",
                     errors: [FieldError(field: "multipart", message: "may hold \(limit) besides the file part")])
    }

    func upload(_ request: Request, _ context: GatewayRequestContext, replacing: UUID?) async throws -> Response {
        _ = try await verifier.authenticate(request)
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
            var fieldCount = 0, fieldBytes = 0
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
                                if extra.name == "file" { throw ProblemError.validation(field: "file", "must be sent once: this body holds more than one file part") }
                                count += 1
                                guard count <= Self.maxFormFields else { throw Self.preambleTooLarge("at most \(Self.maxFormFields) form fields") }
                                _ = try await reader.readText()
                            }
                        }
                        return try await transfer(token: token, context: context, replacing: replacing, folderID: fields["folder_id"], name: name,
                                                  declaredSize: nil, checksum: checksum ?? fields["sha256"], body: MultipartPartBody(reader: reader),
                                                  clientBody: body, beforeCompleting: rest, request: request)
                    }
                    do {
                        let value = try await reader.readText()
                        fieldBytes += value.utf8.count + (part.name?.utf8.count ?? 0) + (part.filename?.utf8.count ?? 0)
                        guard fieldBytes <= Self.maxFormBytes else { throw Self.preambleTooLarge("at most \(Self.maxFormBytes / 1024) KiB of form fields") }
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
        return try await transfer(token: token, context: context, replacing: replacing, folderID: query["folder_id"].map(String.init),
                                  name: query["name"].map(String.init), declaredSize: contentLength, checksum: checksum, body: body,
                                  clientBody: body, beforeCompleting: nil, request: request)
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

    private func transfer<Body: AsyncSequence & Sendable>(token: String, context: GatewayRequestContext, replacing: UUID?, folderID: String?, name: String?,
                                                          declaredSize: Int64?, checksum: String?, body: Body, clientBody: ClientBody<RequestBody>,
                                                          beforeCompleting: (@Sendable () async throws -> Void)?, request: Request) async throws -> Response
    where Body.Element == ByteBuffer {
        // 1. Reserve.
        var reserve: [String: Any] = [:]
        if let replacing {
            reserve["file_id"] = replacing.uuidString
        } else {
            guard let folderID, !folderID.isEmpty else { throw ProblemError.validation(field: "folder_id", "is required") }
            guard UUID(uuidString: folderID) != nil else { throw ProblemError.validation(field: "folder_id", "must be a folder id (UUID)") }
            reserve["folder_id"] = folderID
            reserve["name"] = name ?? ""
        }
        if let declaredSize { reserve["size"] = declaredSize }
        let reservation = try await callMetadata(.POST, "/internal/uploads", token: token, json: reserve, context: context)
        guard reservation.status == 201, let object = reservation.json, let uploadID = object["upload_id"] as? String, let grant = object["grant"] as? String else {
            return reservation.relayed
        }
        // 2. Stream to blob.
        var put = HTTPClientRequest(url: upstreams.blob + "/internal/uploads/" + uploadID)
        put.method = .PUT
        put.headers.add(name: InternalGrant.header, value: grant)
        if let checksum { put.headers.add(name: "X-Content-SHA256", value: checksum) }
        put.body = .stream(body, length: declaredSize.map { .known($0) } ?? .unknown)
        let stored: (status: Int, body: ByteBuffer, headers: HTTPHeaders)
        do {
            let response = try await CirrusTracing.call("PUT", "blob") {
                put.headers.propagateTrace()
                return try await client.execute(put, timeout: transferTimeout)
            }
            stored = (Int(response.status.code), try await response.body.collect(upTo: 1 << 20), response.headers)
        } catch {
            await clientBody.detach()  // blob may have answered before reading it all: stop feeding it first
            await cancel(uploadID, token: token, context: context)
            // The client's body broke off or was malformed: their request, not our storage.
            if let problem = clientBody.failed { throw problem }
            if error is ProblemError { throw error }
            if case .malformed(let why)? = error as? MultipartReader<ClientBody<RequestBody>>.Failure {
                throw ProblemError(.badRequest, detail: "The multipart body is malformed: \(why). Nothing was kept.")
            }
            context.logger.warning("upload to blob failed", metadata: ["error": "\(error)"])
            throw ProblemError.unavailable("The storage service is unavailable; nothing was kept.")
        }
        guard stored.status == 201, let receipt = (try? JSONSerialization.jsonObject(with: Data(buffer: stored.body)) as? [String: Any])?["receipt"] as? String else {
            await clientBody.detach()  // blob may have answered before reading it all: stop feeding it first
            await cancel(uploadID, token: token, context: context)
            return Self.relay(status: stored.status, headers: stored.headers, body: stored.body)
        }
        if let beforeCompleting {
            do {
                try await beforeCompleting()
            } catch {
                // Stored but never completed: blob's file.uploaded finds no reservation and the
                // content is released (docs/metadata.md), like any upload that lost its reservation.
                await cancel(uploadID, token: token, context: context)
                if let problem = clientBody.failed { throw problem }
                switch error as? MultipartReader<ClientBody<RequestBody>>.Failure {
                case .malformed(let why)?: throw ProblemError(.badRequest, detail: "The multipart body is malformed: \(why). Nothing was kept.")
                case .notUTF8?: throw ProblemError(.badRequest, detail: "The multipart body is malformed: a part after the file is not UTF-8. Nothing was kept.")
                case nil: throw error
                }
            }
        }
        // 3. Complete.
        let completed = try await callMetadata(.POST, "/internal/uploads/\(uploadID)/complete", token: token, json: ["receipt": receipt], context: context)
        guard completed.status == 200 else { return completed.relayed }
        return Self.relay(status: replacing == nil ? 201 : 200, headers: completed.headers, body: completed.body)
    }

    private func cancel(_ uploadID: String, token: String, context: GatewayRequestContext) async {
        _ = try? await callMetadata(.DELETE, "/internal/uploads/\(uploadID)", token: token, json: nil, context: context)
    }

    // MARK: - Download

    func download(_ request: Request, _ context: GatewayRequestContext, head: Bool) async throws -> Response {
        _ = try await verifier.authenticate(request)
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "file")
        var path = "/internal/files/\(id.uuidString.lowercased())/content"
        if let version = request.uri.queryParameters["version"] {
            guard UUID(uuidString: String(version)) != nil else { throw ProblemError.notFound("version") }
            path += "?version=\(version)"
        }
        let authorised = try await callMetadata(.GET, path, token: token, json: nil, context: context)
        guard authorised.status == 200, let object = authorised.json, let blobID = object["blob_id"] as? String, let grant = object["grant"] as? String else {
            return authorised.relayed
        }
        return try await streamFromBlob(blobID: blobID, grant: grant, name: object["name"] as? String ?? "download", request: request, context: context, head: head)
    }

    /// A thumbnail: metadata checks the file and the caller's tier and grants; thumbnail serves
    /// (rendering it now if it is missing).
    func thumbnail(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        _ = try await verifier.authenticate(request)
        guard let token = TokenVerifier.token(from: request) else { throw TokenVerifier.unauthorized("Authentication is required.") }
        let id = try context.parameters.uuid("id", resource: "file")
        guard let size = context.parameters.get("size").flatMap(Int.init), (1...10_000).contains(size) else { throw ProblemError.notFound("thumbnail size") }
        let authorised = try await callMetadata(.GET, "/internal/files/\(id.uuidString.lowercased())/thumbnails/\(size)", token: token, json: nil, context: context)
        guard authorised.status == 200, let grant = authorised.json?["grant"] as? String else { return authorised.relayed }
        return try await streamThumbnail(fileID: id, size: size, grant: grant, request: request, context: context)
    }

    func streamThumbnail(fileID: UUID, size: Int, grant: String, request: Request, context: GatewayRequestContext) async throws -> Response {
        var get = HTTPClientRequest(url: upstreams.thumbnail + "/internal/thumbnails/\(fileID.uuidString.lowercased())/\(size)")
        get.headers.add(name: InternalGrant.header, value: grant)
        if let value = request.headers[.ifNoneMatch] { get.headers.add(name: "If-None-Match", value: value) }
        let response: HTTPClientResponse
        do {
            response = try await CirrusTracing.call("GET", "thumbnail") {
                get.headers.propagateTrace()
                return try await client.execute(get, timeout: .seconds(120))
            }
        } catch {
            context.logger.warning("thumbnail service unreachable", metadata: ["error": "\(error)"])
            throw ProblemError.unavailable("The thumbnail service is unavailable.")
        }
        var headers = HTTPFields()
        for name in ["Content-Type", "Content-Length", "ETag", "Cache-Control", "Retry-After"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = Int(response.status.code)
        if status == 304 { return Response(status: .notModified, headers: headers) }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(asyncSequence: response.body))
    }

    /// Blob's answer, streamed to the client with the file's name attached.
    func streamFromBlob(blobID: String, grant: String, name: String, request: Request, context: GatewayRequestContext, head: Bool,
                        disposition: String = "attachment") async throws -> Response {
        var get = HTTPClientRequest(url: upstreams.blob + "/internal/blobs/" + blobID)
        get.method = head ? .HEAD : .GET
        get.headers.add(name: InternalGrant.header, value: grant)
        for field in [HTTPField.Name.range, .ifNoneMatch, .ifRange] {
            if let value = request.headers[field] { get.headers.add(name: field.rawName, value: value) }
        }
        let response: HTTPClientResponse
        do {
            response = try await CirrusTracing.call(head ? "HEAD" : "GET", "blob") {
                get.headers.propagateTrace()
                return try await client.execute(get, timeout: transferTimeout)
            }
        } catch {
            context.logger.warning("download from blob failed", metadata: ["error": "\(error)"])
            throw ProblemError.unavailable("The storage service is unavailable.")
        }
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
        let fallback = String(name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0 != "%" ? Character($0) : "_" })
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "!#$&+-.^_`|~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? fallback
        return "\(type); filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }

    // MARK: - Metadata calls

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] }
        var relayed: Response { FileTransfer.relay(status: status, headers: headers, body: body) }
    }

    func callMetadata(_ method: HTTPMethod, _ path: String, token: String?, json: [String: Any]?, context: GatewayRequestContext) async throws -> Answer {
        var request = HTTPClientRequest(url: upstreams.metadata + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)))
        }
        do {
            let response = try await CirrusTracing.call(method.rawValue, "metadata") {
                request.headers.propagateTrace()
                return try await client.execute(request, timeout: .seconds(30))
            }
            return Answer(status: Int(response.status.code), headers: response.headers, body: try await response.body.collect(upTo: 4 << 20))
        } catch {
            context.logger.warning("metadata unreachable", metadata: ["error": "\(error)"])
            throw ProblemError.unavailable("The metadata service is unavailable.")
        }
    }

    static func relay(status: Int, headers: HTTPHeaders, body: ByteBuffer) -> Response {
        var fields = HTTPFields()
        for name in ["Content-Type", "Retry-After", "ETag", "Location"] {
            if let value = headers.first(name: name), let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(status: HTTPResponse.Status(code: status), headers: fields, body: .init(byteBuffer: body))
    }
}
