import CirrusServiceKit
import Foundation
import Logging
import Metrics
import PostgresNIO

/// A stored content of one owner.
struct BlobRecord: Sendable, Equatable {
    var ownerID: UUID
    var sha256: String
    var size: Int64
    var contentType: String
    var objectKey: String
    var refCount: Int

    /// The content address events and metadata use.
    var blobID: String { "sha256:" + sha256 }
}

/// The blob index: per-owner deduplication and reference counts, in blob's own database.
struct BlobIndex: Sendable {
    let client: PostgresClient
    let logger: Logger

    private static let storedBytes = Gauge(label: "cirrus_blob_stored_bytes")
    private static let storedObjects = Gauge(label: "cirrus_blob_stored_objects")

    /// The reference ids among `ids` that blob holds, with their content's index row (metadata's
    /// content audit: `POST /internal/known/references`).
    func knownReferences(_ ids: [UUID]) async throws -> [UUID] {
        let rows = try await client.query(
            """
            SELECT r.ref_id FROM blob_refs r JOIN blobs b ON b.owner_id = r.owner_id AND b.sha256 = r.sha256
            WHERE r.ref_id = ANY(\(ids))
            """, logger: logger)
        var known: [UUID] = []
        for try await id in rows.decode(UUID.self) { known.append(id) }
        return known
    }

    /// `cirrus_blob_stored_bytes` / `cirrus_blob_stored_objects`: what the index holds (each
    /// object once, whatever its references).
    func sampleStoredBytes() async throws {
        let rows = try await client.query("SELECT coalesce(sum(size), 0)::BIGINT, count(*)::BIGINT FROM blobs", logger: logger)
        for try await (bytes, objects) in rows.decode((Int64, Int64).self) {
            Self.storedBytes.record(bytes)
            Self.storedObjects.record(objects)
        }
    }

    enum Registration: Sendable, Equatable {
        /// The upload's object is now the owner's copy of this content.
        case stored(BlobRecord)
        /// The owner already had this content: the upload's object is redundant and must be
        /// deleted (by the caller, after commit); the existing record gained the reference.
        case deduplicated(BlobRecord, redundantObjectKey: String)
    }

    /// Record that `fileID` uses content `sha256` of `ownerID`, just uploaded to `objectKey`,
    /// under reference `referenceID` (the upload's id; defaults to the file id). Idempotent per
    /// reference. Runs inside the caller's transaction (which also writes the outbox).
    func register(
        ownerID: UUID, fileID: UUID, referenceID: UUID? = nil, sha256: String, size: Int64, contentType: String, objectKey: String,
        on connection: PostgresConnection
    ) async throws -> Registration {
        // One round trip: `blob_register` (migration 0005) inserts or locks the owner's row for
        // this content and adds the reference, as `addReference` does in three statements.
        let rows = try await connection.query(
            """
            SELECT stored_new, stored_size, stored_type, stored_key, stored_refs
            FROM blob_register(\(ownerID), \(sha256), \(size), \(contentType), \(objectKey), \(fileID), \(referenceID ?? fileID))
            """, logger: logger)
        for try await (isNew, size, contentType, key, refCount) in rows.decode((Bool, Int64, String, String, Int).self) {
            let record = BlobRecord(ownerID: ownerID, sha256: sha256, size: size, contentType: contentType, objectKey: key, refCount: refCount)
            return isNew ? .stored(record) : .deduplicated(record, redundantObjectKey: objectKey)
        }
        throw ProblemError.conflict("The content disappeared while it was being registered; retry the upload.")
    }

    /// Another use of content the owner already has (a copy): nil when the owner has no such
    /// content (any more). Idempotent per reference.
    func addReference(ownerID: UUID, sha256: String, fileID: UUID, referenceID: UUID, on connection: PostgresConnection) async throws -> BlobRecord? {
        guard let record = try await locked(ownerID: ownerID, sha256: sha256, on: connection) else { return nil }
        return try await reference(record, fileID: fileID, referenceID: referenceID, on: connection)
    }

    /// Adds the reference under the content row's lock (taken by the caller).
    private func reference(_ locked: BlobRecord, fileID: UUID, referenceID: UUID, on connection: PostgresConnection) async throws -> BlobRecord {
        var record = locked
        let (ownerID, sha256) = (record.ownerID, record.sha256)
        let referenced = try await connection.query(
            """
            INSERT INTO blob_refs (owner_id, sha256, file_id, ref_id) VALUES (\(ownerID), \(sha256), \(fileID), \(referenceID))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        var newReference = false
        for try await _ in referenced { newReference = true }
        if newReference {
            try await connection.query(
                """
                UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL
                WHERE owner_id = \(ownerID) AND sha256 = \(sha256)
                """, logger: logger)
            record.refCount += 1
        }
        return record
    }

    /// Drop references (from `file.deleted`): the listed ones, or when none are listed every
    /// reference of `fileID`. Contents left without references become candidates for garbage
    /// collection. Idempotent.
    func release(ownerID: UUID, fileID: UUID, referenceIDs: [UUID]? = nil, on connection: PostgresConnection) async throws {
        let released =
            if let referenceIDs {
                try await connection.query(
                    """
                    DELETE FROM blob_refs WHERE owner_id = \(ownerID) AND ref_id = ANY(\(referenceIDs)) RETURNING sha256
                    """, logger: logger)
            } else {
                try await connection.query(
                    """
                    DELETE FROM blob_refs WHERE owner_id = \(ownerID) AND file_id = \(fileID) RETURNING sha256
                    """, logger: logger)
            }
        var releasedCounts: [String: Int] = [:]
        for try await sha in released.decode(String.self) { releasedCounts[sha, default: 0] += 1 }
        // One content may lose several references at once (two copies purged together).
        for (sha, count) in releasedCounts {
            try await connection.query(
                """
                UPDATE blobs SET ref_count = ref_count - \(count),
                  unreferenced_since = CASE WHEN ref_count - \(count) = 0 THEN now() ELSE unreferenced_since END
                WHERE owner_id = \(ownerID) AND sha256 = \(sha)
                """, logger: logger)
        }
    }

    /// One page of references older than `grace`, in (owner, reference) order after `after`.
    func references(olderThan grace: Duration, after: (owner: UUID, ref: UUID)?, limit: Int) async throws -> [(owner: UUID, ref: UUID, file: UUID)] {
        let seconds = Int(grace.components.seconds)
        let start =
            after ?? (UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        let rows = try await client.query(
            """
            SELECT owner_id, ref_id, file_id FROM blob_refs
            WHERE (owner_id, ref_id) > (\(start.owner), \(start.ref)) AND created_at < now() - make_interval(secs => \(seconds))
            ORDER BY owner_id, ref_id LIMIT \(limit)
            """, logger: logger)
        var page: [(owner: UUID, ref: UUID, file: UUID)] = []
        for try await (owner, ref, file) in rows.decode((UUID, UUID, UUID).self) { page.append((owner, ref, file)) }
        return page
    }

    func find(ownerID: UUID, sha256: String) async throws -> BlobRecord? {
        let rows = try await client.query(
            """
            SELECT owner_id, sha256, size, content_type, object_key, ref_count FROM blobs
            WHERE owner_id = \(ownerID) AND sha256 = \(sha256)
            """, logger: logger)
        for try await row in rows.decode((UUID, String, Int64, String, String, Int).self) { return BlobRecord(row) }
        return nil
    }

    private func locked(ownerID: UUID, sha256: String, on connection: PostgresConnection) async throws -> BlobRecord? {
        let rows = try await connection.query(
            """
            SELECT owner_id, sha256, size, content_type, object_key, ref_count FROM blobs
            WHERE owner_id = \(ownerID) AND sha256 = \(sha256) FOR UPDATE
            """, logger: logger)
        for try await row in rows.decode((UUID, String, Int64, String, String, Int).self) { return BlobRecord(row) }
        return nil
    }

    /// Claim up to `limit` contents unreferenced for longer than `grace` and remove their rows;
    /// returns their object keys for the caller to delete *after* this transaction commits.
    /// `FOR UPDATE SKIP LOCKED` plus the `ref_count = 0` re-check under the lock means a content
    /// referenced again meanwhile is never claimed.
    func claimGarbage(grace: Duration, limit: Int, on connection: PostgresConnection) async throws -> [String] {
        let seconds = Int(grace.components.seconds)
        let rows = try await connection.query(
            """
            DELETE FROM blobs WHERE (owner_id, sha256) IN (
                SELECT owner_id, sha256 FROM blobs
                WHERE ref_count = 0 AND unreferenced_since < now() - make_interval(secs => \(seconds))
                ORDER BY unreferenced_since LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ) AND ref_count = 0
            RETURNING object_key
            """, logger: logger)
        var keys: [String] = []
        for try await key in rows.decode(String.self) { keys.append(key) }
        return keys
    }

    /// Every object key the index knows (for the sweep of objects no row references).
    func knownObjectKeys(among keys: [String]) async throws -> Set<String> {
        var known = Set<String>()
        let rows = try await client.query("SELECT object_key FROM blobs WHERE object_key = ANY(\(keys))", logger: logger)
        for try await key in rows.decode(String.self) { known.insert(key) }
        return known
    }
}

extension BlobRecord {
    init(_ row: (UUID, String, Int64, String, String, Int)) {
        let (ownerID, sha256, size, contentType, objectKey, refCount) = row
        self.init(ownerID: ownerID, sha256: sha256, size: size, contentType: contentType, objectKey: objectKey, refCount: refCount)
    }
}
