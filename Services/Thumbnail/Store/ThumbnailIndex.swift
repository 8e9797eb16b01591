import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// The index of stored renditions and of contents that cannot have any.
struct ThumbnailIndex: Sendable {
    let client: PostgresClient
    let logger: Logger

    func renditions(fileID: UUID, blobID: String, sizes: [Int]) async throws -> [Int: Rendition] {
        let rows = try await client.query(
            """
            SELECT size, width, height, bytes, format, object_key FROM thumbnails
            WHERE file_id = \(fileID) AND blob_id = \(blobID) AND size = ANY(\(sizes))
            """, logger: logger)
        var result: [Int: Rendition] = [:]
        for try await (size, width, height, bytes, format, objectKey) in rows.decode((Int, Int, Int, Int64, String, String).self) {
            result[size] = Rendition(size: size, width: width, height: height, bytes: bytes, format: format, objectKey: objectKey)
        }
        return result
    }

    enum Recorded: Equatable {
        /// Indexed; the object key of the rendition it replaced, if any.
        case recorded(replaced: String?)
        /// The file (or this content) was deleted meanwhile: not indexed, the caller deletes the object.
        case fileDeleted
    }

    /// Which of `keys` a rendition row names.
    func knownObjectKeys(among keys: [String]) async throws -> Set<String> {
        var known: Set<String> = []
        let rows = try await client.query("SELECT object_key FROM thumbnails WHERE object_key = ANY(\(keys))", logger: logger)
        for try await key in rows.decode(String.self) { known.insert(key) }
        return known
    }

    /// Serialises a file's renditions being indexed with their removal (`remove`).
    static func lockFile(_ fileID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await KeyedAdvisoryLock.thumbnailFile.lock(fileID.uuidString.lowercased(), on: connection, logger: logger)
    }

    /// Index a stored rendition, unless its file was deleted while it rendered.
    func record(_ source: SourceRef, _ rendition: Rendition) async throws -> Recorded {
        try await client.transaction(logger: logger) { connection in
            try await Self.lockFile(source.fileID, on: connection, logger: logger)
            let gone = try await connection.query(
                """
                SELECT 1 FROM thumbnail_tombstones WHERE file_id = \(source.fileID) LIMIT 1
                """, logger: logger)
            for try await _ in gone.decode(Int.self) { return .fileDeleted }
            return .recorded(replaced: try await insert(source, rendition, on: connection))
        }
    }

    private func insert(_ source: SourceRef, _ rendition: Rendition, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query(
            """
            WITH previous AS (
                SELECT object_key FROM thumbnails WHERE file_id = \(source.fileID) AND blob_id = \(source.blobID) AND size = \(rendition.size)
            )
            INSERT INTO thumbnails (file_id, blob_id, size, owner_id, width, height, bytes, format, object_key)
            VALUES (\(source.fileID), \(source.blobID), \(rendition.size), \(source.ownerID), \(rendition.width), \(rendition.height),
                    \(rendition.bytes), \(rendition.format), \(rendition.objectKey))
            ON CONFLICT (file_id, blob_id, size) DO UPDATE SET width = EXCLUDED.width, height = EXCLUDED.height, bytes = EXCLUDED.bytes,
              format = EXCLUDED.format, object_key = EXCLUDED.object_key, last_access_at = now()
            RETURNING (SELECT object_key FROM previous)
            """, logger: logger)
        for try await previous in rows.decode(String?.self) { return previous }
        return nil
    }

    /// Mark a rendition read now and return it (nil when it is not stored). Being touched
    /// keeps it from eviction, which re-checks the access time under the row lock.
    func touch(fileID: UUID, blobID: String, size: Int) async throws -> Rendition? {
        let rows = try await client.query(
            """
            UPDATE thumbnails SET last_access_at = now() WHERE file_id = \(fileID) AND blob_id = \(blobID) AND size = \(size)
            RETURNING size, width, height, bytes, format, object_key
            """, logger: logger)
        for try await (storedSize, width, height, bytes, format, objectKey) in rows.decode((Int, Int, Int, Int64, String, String).self) {
            return Rendition(size: storedSize, width: width, height: height, bytes: bytes, format: format, objectKey: objectKey)
        }
        return nil
    }

    func failure(fileID: UUID, blobID: String) async throws -> String? {
        let rows = try await client.query("SELECT reason FROM thumbnail_failures WHERE file_id = \(fileID) AND blob_id = \(blobID)", logger: logger)
        for try await reason in rows.decode(String.self) { return reason }
        return nil
    }

    func recordFailure(_ source: SourceRef, _ failure: RenderFailure, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO thumbnail_failures (file_id, blob_id, reason) VALUES (\(source.fileID), \(source.blobID), \(failure.reason.rawValue))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    func clearFailure(fileID: UUID, blobID: String, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM thumbnail_failures WHERE file_id = \(fileID) AND blob_id = \(blobID)", logger: logger)
    }

    /// Remove a file's renditions (all, or those of some contents); returns their object keys
    /// to delete after commit.
    func remove(fileID: UUID, blobIDs: [String]?, on connection: PostgresConnection) async throws -> [String] {
        try await Self.lockFile(fileID, on: connection, logger: logger)
        let rows =
            if let blobIDs {
                try await connection.query(
                    "DELETE FROM thumbnails WHERE file_id = \(fileID) AND blob_id = ANY(\(blobIDs)) RETURNING object_key", logger: logger)
            } else {
                try await connection.query("DELETE FROM thumbnails WHERE file_id = \(fileID) RETURNING object_key", logger: logger)
            }
        var keys: [String] = []
        for try await key in rows.decode(String.self) { keys.append(key) }
        try await connection.query("DELETE FROM thumbnail_failures WHERE file_id = \(fileID)", logger: logger)
        // Only a whole file's deletion leaves a tombstone: pruned versions name contents the
        // current version may share (the same bytes uploaded again), which must still render.
        if blobIDs == nil {
            try await connection.query("INSERT INTO thumbnail_tombstones (file_id, blob_id) VALUES (\(fileID), NULL)", logger: logger)
        }
        try await connection.query("DELETE FROM thumbnail_tombstones WHERE deleted_at < now() - interval '7 days'", logger: logger)
        return keys
    }

    /// One page of the files that have renditions older than `grace`, in id order after `after`.
    func filesWithRenditions(olderThan grace: Duration, after: UUID?, limit: Int) async throws -> [UUID] {
        let seconds = Int(grace.components.seconds)
        let start = after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        let rows = try await client.query(
            """
            SELECT DISTINCT file_id FROM thumbnails
            WHERE file_id > \(start) AND created_at < now() - make_interval(secs => \(seconds))
            ORDER BY file_id LIMIT \(limit)
            """, logger: logger)
        var files: [UUID] = []
        for try await id in rows.decode(UUID.self) { files.append(id) }
        return files
    }

    /// Claim renditions not read for `age`; the rows go now, the caller deletes the objects.
    func claimStale(olderThan age: Duration, limit: Int = 500) async throws -> [String] {
        let seconds = Int(age.components.seconds)
        let rows = try await client.query(
            """
            DELETE FROM thumbnails WHERE (file_id, blob_id, size) IN (
                SELECT file_id, blob_id, size FROM thumbnails WHERE last_access_at < now() - make_interval(secs => \(seconds))
                ORDER BY last_access_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            ) AND last_access_at < now() - make_interval(secs => \(seconds))
            RETURNING object_key
            """, logger: logger)
        var keys: [String] = []
        for try await key in rows.decode(String.self) { keys.append(key) }
        return keys
    }
}
