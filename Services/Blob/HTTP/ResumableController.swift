import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Blob's side of resumable (tus) uploads, called by the gateway with an upload grant from
/// metadata (the same grant a one-request upload gets: owner, file, upload id, most bytes).
///
/// - `POST /internal/resumable/{upload}`: begins the staging (`ResumableUploadCreation`) → 201.
/// - `GET /internal/resumable/{upload}`: the offset (waiting briefly for a session that is
///   still ending, so a client resuming after a cut sees every byte that session kept).
/// - `PATCH /internal/resumable/{upload}`: `Upload-Offset` must be the current offset (409
///   with the right one in `Upload-Offset` otherwise; 409 too while another session holds
///   the upload). The bytes are appended, hashed and made durable before the answer; with
///   `Upload-Checksum: sha256 <base64>` the chunk is kept only if it matches (460). A session
///   cut short without a checksum keeps what arrived. When the last byte is in, the whole
///   file's SHA-256 is checked against the declared one, the object appears (constant time on
///   either store) and is registered with `file.uploaded`, exactly as a one-request upload.
/// - `DELETE /internal/resumable/{upload}`: the staging and the record go.
struct ResumableController: Sendable {
    let store: any StagedObjectStore
    let uploads: ResumableUploads
    let signer: InternalGrantSigner
    /// Registration and receipts, as for a one-request upload.
    let uploadsController: BlobController
    var logger: Logger { uploads.logger }
    /// How long a GET waits for a session that is still ending.
    var settleWait: Duration = .seconds(5)

    static let offsetHeader = HTTPField.Name("Upload-Offset")!
    static let lengthHeader = HTTPField.Name("Upload-Length")!
    static let checksumHeader = HTTPField.Name("Upload-Checksum")!

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/internal/resumable/:upload") { request, context in try await create(request, context) }
        router.get("/internal/resumable/:upload") { request, context in try await status(request, context) }
        router.patch("/internal/resumable/:upload") { request, context in try await append(request, context) }
        router.delete("/internal/resumable/:upload") { request, context in try await discard(request, context) }
    }

    /// The grant for this upload: its owner, file and most bytes.
    func grant(_ request: Request, _ context: ServiceRequestContext) throws -> (grant: InternalGrant, id: UUID, fileID: UUID, maxBytes: Int64) {
        let grant = try request.grant(.upload, signer: signer)
        let id = try context.parameters.uuid("upload", resource: "upload")
        guard grant.uploadID == id, let fileID = grant.fileID, let maxBytes = grant.maxBytes else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        return (grant, id, fileID, maxBytes)
    }

    // MARK: - Create

    func create(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (grant, id, fileID, maxBytes) = try grant(request, context)
        let input = try await request.decodeJSON(ResumableUploadCreation.self, context: context)
        if let length = input.length {
            guard length >= 0 else { throw ProblemError.validation(field: "length", "must be 0 or more") }
            guard length <= maxBytes else { throw BlobController.tooLarge(maxBytes) }
        }
        if let metadata = input.metadata, metadata.utf8.count > 4096 {
            throw ProblemError.validation(field: "metadata", "may be at most 4096 bytes")
        }
        var expected: String?
        if let sha256 = input.sha256 {
            let value = sha256.lowercased()
            guard value.utf8.count == 64, value.allSatisfy(\.isHexDigit) else {
                throw ProblemError.validation(field: "sha256", "must be 64 hexadecimal digits (the SHA-256 of the content)")
            }
            expected = value
        }
        if let existing = try await uploads.find(id, owner: grant.ownerID) {
            return try Response.json(existing.state, status: .created)  // a creation retried: the same answer
        }
        let staged = try await store.beginStaged(key: BlobObjects.key(uploadID: UUID()), id: id.uuidString.lowercased())
        let upload = ResumableUpload(
            id: id, ownerID: grant.ownerID, fileID: fileID, maxBytes: maxBytes, length: input.length, offset: 0,
            metadata: input.metadata, expectedSHA256: expected, hashState: ResumableSHA256().state, prefix: [], staged: staged,
            stored: nil, expiresAt: input.expiresAt)
        let recorded: ResumableUpload
        do {
            recorded = try await uploads.create(upload)
        } catch {
            await store.discardStaged(staged)
            throw error
        }
        if recorded.staged != staged { await store.discardStaged(staged) }  // a concurrent creation won
        return try Response.json(recorded.state, status: .created)
    }

    // MARK: - Status

    func status(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (grant, id, _, _) = try grant(request, context)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: settleWait)
        while try await uploads.isLeased(id), clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let upload = try await uploads.find(id, owner: grant.ownerID) else { throw ProblemError.notFound("upload") }
        return try Response.json(try await state(of: upload))
    }

    /// The state, with what was stored (and a fresh receipt) when the upload is complete.
    func state(of upload: ResumableUpload) async throws -> ResumableUploadState {
        var state = upload.state
        if let stored = upload.stored { state.stored = uploadsController.receipt(for: stored, owner: upload.ownerID) }
        return state
    }

    // MARK: - Append

    static func checksumMismatch(_ detail: String) -> ProblemError {
        ProblemError(
            HTTPResponse.Status(code: 460, reasonPhrase: "Checksum Mismatch"), type: "https://cirrus.dev/problems/checksum-mismatch",
            title: "Checksum mismatch", detail: detail,
            errors: [FieldError(field: "Upload-Checksum", message: "does not match the bytes received")])
    }

    static func offsetConflict(_ offset: Int64, _ detail: String) -> ProblemError {
        ProblemError(.conflict, detail: detail, headers: [offsetHeader: String(offset)])
    }

    /// `Upload-Checksum: sha256 <base64 digest>`: the digest; other algorithms are refused.
    static func chunkChecksum(_ value: String?) throws -> [UInt8]? {
        guard let value else { return nil }
        let parts = value.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw ProblemError.validation(field: "Upload-Checksum", "must be an algorithm and a Base64 digest: sha256 <digest>")
        }
        guard parts[0].lowercased() == "sha256" else {
            throw ProblemError.validation(field: "Upload-Checksum", "uses an unsupported algorithm (supported: sha256)")
        }
        guard let digest = Data(base64Encoded: String(parts[1])), digest.count == 32 else {
            throw ProblemError.validation(field: "Upload-Checksum", "must carry the 32-byte SHA-256 digest in Base64")
        }
        return Array(digest)
    }

    static func nonNegative(_ value: String?, _ field: String) throws -> Int64? {
        guard let value else { return nil }
        guard let number = Int64(value), number >= 0 else { throw ProblemError.validation(field: field, "must be a whole number, 0 or more") }
        return number
    }

    func append(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (grant, id, _, _) = try grant(request, context)
        guard let offset = try Self.nonNegative(request.headers[Self.offsetHeader], "Upload-Offset") else {
            throw ProblemError.validation(field: "Upload-Offset", "is required")
        }
        let declaredLength = try Self.nonNegative(request.headers[Self.lengthHeader], "Upload-Length")
        let checksum = try Self.chunkChecksum(request.headers[Self.checksumHeader])
        let token = UUID()
        var upload: ResumableUpload
        switch try await uploads.acquire(id, owner: grant.ownerID, token: token) {
        case .missing: throw ProblemError.notFound("upload")
        case .busy:
            throw ProblemError(.conflict, detail: "Another request is sending bytes to this upload; retry when it has ended.")
        case .acquired(let found): upload = found
        }
        // Every way out gives the lease back before the answer, so the client's next request
        // finds the upload free.
        var released = false
        do {
            if upload.expiresAt < Date() { throw ProblemError(.gone, detail: "This upload expired; nothing more can be added to it.") }
            if upload.stored != nil {
                // Complete already (the answer to the last PATCH was lost): the same answer again.
                guard offset == upload.offset else { throw Self.offsetConflict(upload.offset, "The upload is complete.") }
                await uploads.release(id, token: token)
                released = true
                return try Response.json(try await state(of: upload))
            }
            guard offset == upload.offset else {
                throw Self.offsetConflict(upload.offset, "Upload-Offset must be the upload's offset, \(upload.offset).")
            }
            if let declaredLength {
                if let length = upload.length, length != declaredLength {
                    throw ProblemError.validation(field: "Upload-Length", "cannot change once set (it is \(length))")
                }
                guard declaredLength >= upload.offset else {
                    throw ProblemError.validation(field: "Upload-Length", "cannot be less than the bytes already received (\(upload.offset))")
                }
                guard declaredLength <= upload.maxBytes else { throw BlobController.tooLarge(upload.maxBytes) }
                upload.length = declaredLength
            }
            let limit = min(upload.length ?? upload.maxBytes, upload.maxBytes)
            guard let hashState = ResumableSHA256(state: upload.hashState) else {
                throw ProblemError(.internalServerError, detail: "The upload's saved state cannot be read.")
            }
            let appender = try await store.appendStaged(upload.staged)
            let renewal = Task { [uploads] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    if Task.isCancelled { return }
                    try? await uploads.renew(id, token: token)
                }
            }
            let session: Session
            do {
                session = try await receive(ClientBody(request.body), into: appender, from: upload, limit: limit, hash: hashState)
            } catch {
                renewal.cancel()
                await appender.close(persisted: nil)
                throw error
            }
            renewal.cancel()
            // Keep the chunk only if it is whole and, when a checksum came, matches it.
            if let checksum {
                guard session.broke == nil else {
                    await appender.close(persisted: nil)
                    throw session.broke!
                }
                guard Array(session.chunkDigest!) == checksum else {
                    await appender.close(persisted: nil)
                    throw Self.checksumMismatch(
                        "The chunk's SHA-256 does not match Upload-Checksum; it was discarded (the offset stays \(upload.offset)).")
                }
            }
            if session.tooLarge {
                await appender.close(persisted: nil)
                throw BlobController.tooLarge(limit)
            }
            let staged: StagedWrite
            do {
                staged = try await appender.checkpoint()
            } catch {
                await appender.close(persisted: nil)
                throw (error as? StorageError)?.problem ?? error
            }
            upload.staged = staged
            upload.offset = staged.size
            upload.hashState = session.hash.state
            upload.prefix = session.prefix
            let completes = session.broke == nil && upload.length == upload.offset
            // The request that completes the upload keeps its lease until the content is registered.
            guard try await uploads.checkpoint(upload, token: token, keepLease: completes) else {
                await appender.close(persisted: nil)
                throw ProblemError(.conflict, detail: "This request took too long and lost the upload to another one; nothing it sent was kept.")
            }
            released = !completes
            await appender.close(persisted: staged)
            if let broke = session.broke { throw broke }  // the client is gone; what came is kept
            guard completes else { return try Response.json(upload.state) }
            let state = try await complete(upload, hash: session.hash, trace: request.traceContext)
            released = true  // recording the completion released the lease
            return try Response.json(state)
        } catch {
            if !released { await uploads.release(id, token: token) }
            throw error
        }
    }

    struct Session {
        var hash: ResumableSHA256
        var chunkDigest: SHA256Digest?
        var prefix: [UInt8]
        var tooLarge = false
        /// The body broke off (the client went away): what arrived until then is in.
        var broke: (any Error)?
    }

    /// Reads the body into the staging, hashing it, until it ends, breaks off or passes `limit`.
    private func receive<Body: AsyncSequence>(
        _ body: Body, into appender: any StagedAppender, from upload: ResumableUpload, limit: Int64, hash: ResumableSHA256
    ) async throws -> Session where Body.Element == ByteBuffer {
        var session = Session(hash: hash, prefix: upload.prefix)
        var chunkHasher = SHA256()
        var size = upload.offset
        var pending = ByteBuffer()
        do {
            for try await chunk in body {
                if size + Int64(chunk.readableBytes) > limit {
                    session.tooLarge = true
                    break
                }
                size += Int64(chunk.readableBytes)
                chunk.withUnsafeReadableBytes { bytes in
                    session.hash.update(bytes)
                    chunkHasher.update(bufferPointer: bytes)
                }
                if session.prefix.count < ContentSniffer.prefixLength {
                    session.prefix += chunk.readableBytesView.prefix(ContentSniffer.prefixLength - session.prefix.count)
                }
                var chunk = chunk
                pending.writeBuffer(&chunk)
                if pending.readableBytes >= UploadPipeline.writeSize {
                    try await appender.write(pending)
                    pending = ByteBuffer()
                }
            }
        } catch let error as StorageError {
            throw error.problem
        } catch {
            session.broke = error
        }
        if pending.readableBytes > 0 { try await appender.write(pending) }
        session.chunkDigest = chunkHasher.finalize()
        return session
    }

    // MARK: - Complete

    /// The last byte is in: check the whole file's hash, make the object appear and register it.
    private func complete(_ upload: ResumableUpload, hash: ResumableSHA256, trace: TraceContext) async throws -> ResumableUploadState {
        let sha256 = hash.hexDigest()
        if let expected = upload.expectedSHA256, expected != sha256 {
            await store.discardStaged(upload.staged)
            try await uploads.delete(upload.id)
            throw ProblemError(
                .unprocessableContent, type: "https://cirrus.dev/problems/checksum-mismatch", title: "Checksum mismatch",
                detail: "The content received does not match the declared SHA-256; nothing was kept.",
                errors: [FieldError(field: "sha256", message: "does not match the content received (sha256 \(sha256))")])
        }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await store.completeStaged(upload.staged)
        } catch let error as StorageError {
            throw error.problem
        }
        let storeTime = clock.now - started
        let content = StoredContent(
            ownerID: upload.ownerID, fileID: upload.fileID, uploadID: upload.id, objectKey: upload.staged.key,
            content: UploadedContent(size: upload.offset, sha256: sha256, contentType: ContentSniffer.sniff(upload.prefix)))
        let stored = try await uploadsController.register(content, trace: trace) { [uploads] _, connection in
            try await uploads.recordCompletion(upload.id, offset: upload.offset, stored: content, on: connection)
        }
        logger.info(
            "resumable upload completed",
            metadata: [
                "upload_id": "\(upload.id)", "size": "\(upload.offset)", "parts": "\(upload.staged.parts.count)",
                "store_complete_ms": "\(Self.milliseconds(storeTime))", "complete_ms": "\(Self.milliseconds(clock.now - started))",
            ])
        var state = upload.state
        state.stored = stored
        return state
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    // MARK: - Discard

    func discard(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let (grant, id, _, _) = try grant(request, context)
        let token = UUID()
        switch try await uploads.acquire(id, owner: grant.ownerID, token: token) {
        case .missing: throw ProblemError.notFound("upload")
        case .busy:
            throw ProblemError(.conflict, detail: "Another request is sending bytes to this upload; retry when it has ended.")
        case .acquired(let upload):
            if upload.stored == nil { await store.discardStaged(upload.staged) }
            try await uploads.delete(id)
            return Response(status: .noContent)
        }
    }
}

/// Content an upload stored, ready to be registered.
struct StoredContent: Sendable {
    var ownerID: UUID
    var fileID: UUID
    var uploadID: UUID
    var objectKey: String
    var content: UploadedContent
}
