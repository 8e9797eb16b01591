import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import Logging
import PostgresNIO

/// One resumable (tus) upload as blob keeps it: how far the acknowledged bytes reach, the
/// running SHA-256 of them, the first bytes (for content sniffing) and the store's staging.
struct ResumableUpload: Sendable {
    var id: UUID
    var ownerID: UUID
    var fileID: UUID
    var maxBytes: Int64
    var length: Int64?
    var offset: Int64
    var metadata: String?
    var expectedSHA256: String?
    var hashState: [UInt8]
    var prefix: [UInt8]
    var staged: StagedWrite
    /// Once complete: what was stored (its receipt is signed afresh for each answer).
    var stored: StoredUpload?
    var expiresAt: Date

    var state: ResumableUploadState {
        ResumableUploadState(uploadID: id, offset: offset, length: length, metadata: metadata, expiresAt: expiresAt)
    }
}

/// The `resumable_uploads` table. A PATCH works under a lease (a token and a time bound,
/// renewed while the bytes flow): one session at a time per upload, and a session whose
/// process died releases the upload when its lease runs out.
struct ResumableUploads: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How long a lease lasts without renewal (a crashed session blocks the upload this long).
    var leaseDuration: Duration = .seconds(15)

    static let columns =
        "id, owner_id, file_id, max_bytes, length, upload_offset, metadata, expected_sha256, hash_state, prefix, staged, stored, expires_at"
    static let qualifiedColumns = columns.split(separator: ", ").map { "resumable_uploads." + $0 }.joined(separator: ", ")

    typealias Row = (UUID, UUID, UUID, Int64, Int64?, Int64, String?, String?, ByteBuffer, ByteBuffer, String, String?, Date)

    static func upload(_ row: Row) throws -> ResumableUpload {
        let (id, owner, file, maxBytes, length, offset, metadata, expected, hashState, prefix, staged, stored, expiresAt) = row
        return ResumableUpload(
            id: id, ownerID: owner, fileID: file, maxBytes: maxBytes, length: length, offset: offset, metadata: metadata,
            expectedSHA256: expected, hashState: Array(hashState.readableBytesView), prefix: Array(prefix.readableBytesView),
            staged: try JSONDecoder().decode(StagedWrite.self, from: Data(staged.utf8)),
            stored: try stored.map { try ContractCoding.decoder().decode(StoredUpload.self, from: Data($0.utf8)) }, expiresAt: expiresAt)
    }

    static func json(_ staged: StagedWrite) throws -> String {
        String(decoding: try JSONEncoder().encode(staged), as: UTF8.self)
    }

    /// Records a new upload; an upload already recorded for the same owner is returned as it is
    /// (a creation retried after its answer was lost).
    func create(_ upload: ResumableUpload) async throws -> ResumableUpload {
        let staged = try Self.json(upload.staged)
        let rows = try await client.query(
            """
            INSERT INTO resumable_uploads (id, owner_id, file_id, max_bytes, length, metadata, expected_sha256, hash_state, staged, expires_at)
            VALUES (\(upload.id), \(upload.ownerID), \(upload.fileID), \(upload.maxBytes), \(upload.length), \(upload.metadata),
                    \(upload.expectedSHA256), \(ByteBuffer(bytes: upload.hashState)), \(staged), \(upload.expiresAt))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows { return upload }
        guard let existing = try await find(upload.id, owner: upload.ownerID) else { throw ProblemError.notFound("upload") }
        return existing
    }

    func find(_ id: UUID, owner: UUID) async throws -> ResumableUpload? {
        let rows = try await client.query(
            "SELECT \(unescaped: Self.columns) FROM resumable_uploads WHERE id = \(id) AND owner_id = \(owner)", logger: logger)
        for try await row in rows.decode(Row.self) { return try Self.upload(row) }
        return nil
    }

    /// Is a session holding the upload now?
    func isLeased(_ id: UUID) async throws -> Bool {
        let rows = try await client.query(
            "SELECT 1 FROM resumable_uploads WHERE id = \(id) AND lease IS NOT NULL AND lease_until > now()", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    enum Lease: Sendable {
        case acquired(ResumableUpload)
        case busy
        case missing
    }

    /// Takes the upload for one session under `token`. Leases are not worth a WAL flush (a
    /// lease lost in a crash only runs out), so their statements commit without waiting for
    /// it (`synchronous_commit` off for that transaction alone); the offsets do wait.
    func acquire(_ id: UUID, owner: UUID, token: UUID) async throws -> Lease {
        let seconds = Double(leaseDuration.components.seconds)
        let rows = try await client.query(
            """
            WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
            UPDATE resumable_uploads SET lease = \(token), lease_until = now() + make_interval(secs => \(seconds))
            FROM relaxed
            WHERE id = \(id) AND owner_id = \(owner) AND (lease IS NULL OR lease_until < now())
            RETURNING \(unescaped: Self.qualifiedColumns)
            """, logger: logger)
        for try await row in rows.decode(Row.self) { return .acquired(try Self.upload(row)) }
        return try await find(id, owner: owner) == nil ? .missing : .busy
    }

    /// Keeps the lease while the bytes flow.
    func renew(_ id: UUID, token: UUID) async throws {
        let seconds = Double(leaseDuration.components.seconds)
        try await client.query(
            """
            WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
            UPDATE resumable_uploads SET lease_until = now() + make_interval(secs => \(seconds)) FROM relaxed
            WHERE id = \(id) AND lease = \(token)
            """, logger: logger)
    }

    func release(_ id: UUID, token: UUID) async {
        _ = try? await client.query(
            """
            WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
            UPDATE resumable_uploads SET lease = NULL, lease_until = NULL FROM relaxed WHERE id = \(id) AND lease = \(token)
            """, logger: logger)
    }

    /// Records what a session made durable and releases its lease (unless `keepLease`: the
    /// session goes on to complete the upload); false when the lease was lost (expired and
    /// taken by another session): nothing is recorded then.
    func checkpoint(_ upload: ResumableUpload, token: UUID, keepLease: Bool = false) async throws -> Bool {
        let staged = try Self.json(upload.staged)
        let lease: UUID? = keepLease ? token : nil
        let rows = try await client.query(
            """
            UPDATE resumable_uploads SET upload_offset = \(upload.offset), length = \(upload.length),
              hash_state = \(ByteBuffer(bytes: upload.hashState)), prefix = \(ByteBuffer(bytes: upload.prefix)), staged = \(staged),
              lease = \(lease), lease_until = CASE WHEN \(keepLease) THEN lease_until ELSE NULL END, updated_at = now()
            WHERE id = \(upload.id) AND lease = \(token) RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The upload is complete: what was stored is kept, so a retried last PATCH gets it again.
    func recordCompletion(_ id: UUID, offset: Int64, stored: StoredContent, on connection: PostgresConnection) async throws {
        let content = stored.content
        let record = StoredUpload(
            uploadID: stored.uploadID, fileID: stored.fileID, blobID: "sha256:" + content.sha256, sha256: content.sha256, size: content.size,
            contentType: content.contentType, receipt: "")
        let json = String(decoding: try ContractCoding.encoder().encode(record), as: UTF8.self)
        try await connection.query(
            """
            UPDATE resumable_uploads SET stored = \(json), upload_offset = \(offset), lease = NULL, lease_until = NULL, updated_at = now()
            WHERE id = \(id)
            """, logger: logger)
    }

    func delete(_ id: UUID) async throws {
        try await client.query("DELETE FROM resumable_uploads WHERE id = \(id)", logger: logger)
    }

    /// Up to `limit` uploads past their expiry and not in a session, removed; their staging is
    /// the caller's to discard (completed ones have none left).
    func claimExpired(limit: Int) async throws -> [ResumableUpload] {
        let rows = try await client.query(
            """
            DELETE FROM resumable_uploads WHERE id IN (
              SELECT id FROM resumable_uploads WHERE expires_at < now() AND (lease IS NULL OR lease_until < now())
              ORDER BY expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            ) RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        var expired: [ResumableUpload] = []
        for try await row in rows.decode(Row.self) { expired.append(try Self.upload(row)) }
        return expired
    }
}
