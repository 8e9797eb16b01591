import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Blob's internal HTTP API, called by the gateway (uploads, downloads) and thumbnail (reads).
/// Every call carries an internal grant from metadata naming the owner; blob checks the owner
/// against its own index, so one user's grant never reaches another user's bytes.
///
/// - `PUT /internal/uploads/{upload_id}`: the body streams into the store (hashed, counted,
///   limited to the grant's size); the content is registered (deduplicated per owner) and
///   `file.uploaded` written to the outbox in one transaction, which commits only once the
///   object is durable (`register(…, committing:)`). 201 with a
///   receipt grant metadata trusts for size and checksum.
/// - `GET|HEAD /internal/blobs/{blob_id}`: the content, streamed, with one `Range`, `ETag`
///   (the SHA-256), `If-None-Match` and `If-Range`.
struct BlobController: Sendable {
    let store: any ObjectStore
    let index: BlobIndex
    let signer: InternalGrantSigner
    var logger: Logger { index.logger }

    static let checksumHeader = HTTPField.Name("X-Content-SHA256")!

    func register(on router: Router<ServiceRequestContext>) {
        router.put("/internal/uploads/:upload") { request, context in try await upload(request, context) }
        router.post("/internal/uploads/:upload/copy") { request, context in try await copy(request, context) }
        router.post("/internal/references") { request, _ in try await addReference(request) }
        // Which of these reference ids blob holds (metadata's content audit; internal port only:
        // it tells only whether ids the caller already has exist).
        router.post("/internal/known/references") { request, context in
            let query = try await request.decodeJSON(KnownIDsQuery.self, context: context)
            guard query.ids.count <= KnownIDsQuery.limit else {
                throw ProblemError.validation(field: "ids", "at most \(KnownIDsQuery.limit) ids per request")
            }
            return try Response.json(KnownIDsReply(known: try await index.knownReferences(query.ids), checked: query.ids.count))
        }
        router.get("/internal/blobs/:blob") { request, context in try await download(request, context, head: false) }
        router.head("/internal/blobs/:blob") { request, context in try await download(request, context, head: true) }
    }

    // MARK: - Upload

    func upload(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let grant = try request.grant(.upload, signer: signer)
        let uploadID = try context.parameters.uuid("upload", resource: "upload")
        guard grant.uploadID == uploadID, let fileID = grant.fileID, let limit = grant.maxBytes else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        var expected: String?
        if let checksum = request.headers[Self.checksumHeader] {
            let value = checksum.trimmingCharacters(in: .whitespaces).lowercased()
            guard value.count == 64, value.allSatisfy(\.isHexDigit) else {
                throw ProblemError.validation(field: "X-Content-SHA256", "must be 64 hexadecimal digits (the SHA-256 of the content)")
            }
            expected = value
        }
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > limit {
            throw Self.tooLarge(limit)
        }
        // A fresh key per attempt: a retried or concurrent upload never overwrites another's object.
        let objectKey = BlobObjects.key(uploadID: UUID())
        let writer = try await store.makeWriter(key: objectKey)
        let content: UploadedContent
        do {
            content = try await UploadPipeline.receive(body: ClientBody(request.body), into: writer, limit: limit, expectedSHA256: expected)
        } catch UploadError.tooLarge(let limit) {
            throw Self.tooLarge(limit)
        } catch UploadError.checksumMismatch(_, let actual) {
            throw ProblemError(
                .unprocessableContent, type: "https://cirrus.dev/problems/checksum-mismatch", title: "Checksum mismatch",
                detail: "The content received does not match X-Content-SHA256; nothing was kept.",
                errors: [FieldError(field: "X-Content-SHA256", message: "does not match the content received (sha256 \(actual))")])
        }
        let stored = try await register(
            StoredContent(ownerID: grant.ownerID, fileID: fileID, uploadID: uploadID, objectKey: objectKey, content: content),
            trace: request.traceContext, committing: writer)
        return try Response.json(stored, status: .created)
    }

    /// A copy into another owner's drive (a recipient copies a shared file into their own):
    /// contents are per owner, so the bytes are copied into a new object of the upload's
    /// owner — read with the source's read grant (in the body), written as an upload with the
    /// upload grant — then registered like any upload, answering the same receipt.
    func copy(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let grant = try request.grant(.upload, signer: signer)
        let uploadID = try context.parameters.uuid("upload", resource: "upload")
        guard grant.uploadID == uploadID, let fileID = grant.fileID, let limit = grant.maxBytes else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        let input = try await request.decodeJSON(ContentCopy.self, context: context)
        guard let source = try? signer.verify(input.source, purpose: .read), let blobID = source.blobID, blobID.hasPrefix("sha256:") else {
            throw ProblemError(.forbidden, detail: "The source grant is not valid.")
        }
        guard let record = try await index.find(ownerID: source.ownerID, sha256: String(blobID.dropFirst("sha256:".count))) else {
            throw ProblemError.notFound("content")
        }
        if record.size > limit { throw Self.tooLarge(limit) }
        let objectKey = BlobObjects.key(uploadID: UUID())
        let read = try await store.read(key: record.objectKey, range: nil)
        let writer = try await store.makeWriter(key: objectKey)
        let content = try await UploadPipeline.receive(body: read.body, into: writer, limit: limit, expectedSHA256: record.sha256)
        let stored = try await register(
            StoredContent(ownerID: grant.ownerID, fileID: fileID, uploadID: uploadID, objectKey: objectKey, content: content),
            trace: request.traceContext, committing: writer)
        return try Response.json(stored, status: .created)
    }

    /// Registers content stored under `objectKey` (deduplicated per owner) with its
    /// `file.uploaded` event in one transaction (plus `alsoOn`'s writes, given the receipt),
    /// and answers with blob's signed receipt. Not registered: the object is deleted.
    ///
    /// `committing`: the object's writer, all bytes written but not yet committed. The local
    /// store's commit (fsync, rename, fsync of the directory) runs while the index statements
    /// do, and the transaction commits only after it: an acknowledged upload is durable in the
    /// store before its row is, as when the object was committed first, without waiting for the
    /// two in turn (docs/performance.md, "Small uploads"). A remote store's commit (S3: the last
    /// part, CompleteMultipartUpload) runs first, so no database connection waits on the network.
    func register(
        _ stored: StoredContent, trace: TraceContext, committing writer: (any ObjectWriter)? = nil,
        alsoOn: (@Sendable (_ receipt: String, _ connection: PostgresConnection) async throws -> Void)? = nil
    ) async throws -> StoredUpload {
        let overlapped: (any ObjectWriter)?
        if let writer, !writer.commitsLocally {
            try await writer.commit()  // aborts the object itself when it fails
            overlapped = nil
        } else {
            overlapped = writer
        }
        let (content, uploadID, fileID, ownerID) = (stored.content, stored.uploadID, stored.fileID, stored.ownerID)
        let reply = receipt(
            for: StoredUpload(
                uploadID: uploadID, fileID: fileID, blobID: "sha256:" + content.sha256, sha256: content.sha256, size: content.size,
                contentType: content.contentType, receipt: ""), owner: ownerID)
        let registration: BlobIndex.Registration
        do {
            registration = try await index.client.transaction(logger: logger) { connection in
                // Left unawaited when a statement fails: Swift cancels and awaits it on the way out.
                async let durable: Void = Self.commit(overlapped)
                let registration = try await index.register(
                    ownerID: ownerID, fileID: fileID, referenceID: uploadID, sha256: content.sha256, size: content.size,
                    contentType: content.contentType, objectKey: stored.objectKey, on: connection)
                let event = FileUploaded(
                    fileID: fileID, ownerID: ownerID, uploadID: uploadID, blobID: reply.blobID,
                    sha256: content.sha256, size: content.size, contentType: content.contentType)
                try await Outbox.enqueue(EventEnvelope(producer: "blob", trace: trace, payload: event), on: connection, logger: logger)
                try await alsoOn?(reply.receipt, connection)
                try await durable
                return registration
            }
        } catch {
            // Not registered: the object is nobody's. Delete it now (the sweep would, later).
            await overlapped?.abort()
            try? await store.delete(key: stored.objectKey)
            throw error
        }
        if case .deduplicated(_, let redundant) = registration {
            try? await store.delete(key: redundant)
        }
        return reply
    }

    private static func commit(_ writer: (any ObjectWriter)?) async throws {
        try await writer?.commit()
    }

    /// `stored` with a freshly signed receipt: metadata trusts the receipt, not the other fields.
    func receipt(for stored: StoredUpload, owner: UUID) -> StoredUpload {
        var reply = stored
        reply.receipt = signer.sign(
            InternalGrant(
                purpose: .receipt, ownerID: owner, fileID: stored.fileID, uploadID: stored.uploadID, blobID: stored.blobID,
                sha256: stored.sha256, size: stored.size, contentType: stored.contentType))
        return reply
    }

    static func tooLarge(_ limit: Int64) -> ProblemError {
        ProblemError(.contentTooLarge, detail: "The content is larger than the \(limit) bytes this upload may have; nothing was kept.")
    }

    // MARK: - References

    /// A copy: the grant names the owner's content and the new reference (the copy's content
    /// id). 204 once recorded (idempotent); 404 when the owner has no such content.
    func addReference(_ request: Request) async throws -> Response {
        let grant = try request.grant(.reference, signer: signer)
        guard let blobID = grant.blobID, blobID.hasPrefix("sha256:"), let fileID = grant.fileID, let referenceID = grant.uploadID else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        let sha256 = String(blobID.dropFirst("sha256:".count))
        let record = try await index.client.transaction(logger: logger) { connection in
            try await index.addReference(ownerID: grant.ownerID, sha256: sha256, fileID: fileID, referenceID: referenceID, on: connection)
        }
        guard record != nil else { throw ProblemError.notFound("content") }
        return Response(status: .noContent)
    }

    // MARK: - Download

    func download(_ request: Request, _ context: ServiceRequestContext, head: Bool) async throws -> Response {
        let grant = try request.grant(.read, signer: signer)
        guard let blobID = context.parameters.get("blob"), grant.blobID == blobID, blobID.hasPrefix("sha256:") else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        guard let record = try await index.find(ownerID: grant.ownerID, sha256: String(blobID.dropFirst("sha256:".count))) else {
            throw ProblemError.notFound("content")
        }
        let etag = "\"\(record.sha256)\""
        var headers: HTTPFields = [.eTag: etag, .acceptRanges: "bytes", .cacheControl: "private, max-age=0, must-revalidate"]
        if EntityTag.matches(request.headers[.ifNoneMatch], etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        var range = RangeRequest.resolve(request.headers[.range], size: record.size)
        if let ifRange = request.headers[.ifRange], ifRange != etag { range = .whole }
        headers[.contentType] = record.contentType
        switch range {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(record.size)"
            throw ProblemError(
                .rangeNotSatisfiable, detail: "The requested range is beyond the end of the content (\(record.size) bytes).",
                headers: [.contentRange: "bytes */\(record.size)"])
        case .whole:
            headers[.contentLength] = String(record.size)
            if head { return Response(status: .ok, headers: headers) }
            let read = try await store.read(key: record.objectKey, range: nil)
            return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: read.body))
        case .partial(let byteRange):
            headers[.contentLength] = String(byteRange.count)
            headers[.contentRange] = "bytes \(byteRange.first)-\(byteRange.last)/\(record.size)"
            if head { return Response(status: .partialContent, headers: headers) }
            let read = try await store.read(key: record.objectKey, range: byteRange)
            return Response(status: .partialContent, headers: headers, body: ResponseBody(asyncSequence: read.body))
        }
    }
}
