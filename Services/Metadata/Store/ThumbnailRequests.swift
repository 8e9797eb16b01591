import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// When images need thumbnails: after an upload, when a tier gains sizes, and when a request
/// got lost (reconciliation). Also records what thumbnail reported back.
struct ThumbnailRequests: Sendable {
    let client: PostgresClient
    let logger: Logger

    func request(
        fileID: UUID, owner: UUID, blobID: String, contentType: String, sizes: [Int], reason: ThumbnailRequested.Reason,
        trace: TraceContext, on connection: PostgresConnection
    ) async throws {
        let event = ThumbnailRequested(
            fileID: fileID, ownerID: owner, blobID: blobID, contentType: contentType, sizes: sizes.sorted(), reason: reason)
        try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
        try await connection.query(
            """
            UPDATE items SET thumbnail_requested_at = now(),
              thumbnail_status = CASE WHEN thumbnail_status = 'failed' THEN 'failed' ELSE 'pending' END
            WHERE id = \(fileID) AND thumbnail_status <> 'failed'
            """, logger: logger)
    }

    /// Request the sizes the owner's tier allows but their ready images lack (a tier change).
    /// `users` limits it to some users (nil: every user on `tierID`).
    func requestMissing(
        tierID: UUID?, userID: UUID?, reason: ThumbnailRequested.Reason, trace: TraceContext, on connection: PostgresConnection
    ) async throws -> Int {
        let rows = try await connection.query(
            """
            SELECT i.id, i.owner_id, i.blob_id, i.content_type, t.thumbnail_sizes, i.thumbnail_sizes
            FROM items i JOIN users u ON u.id = i.owner_id JOIN tiers t ON t.id = u.tier_id
            WHERE i.kind = 'file' AND i.state = 'ready' AND i.blob_id IS NOT NULL AND i.thumbnail_status <> 'failed'
              AND i.content_type = ANY(\(Array(Thumbnailable.types)))
              AND (\(tierID == nil) OR u.tier_id = \(tierID ?? UUID()))
              AND (\(userID == nil) OR u.id = \(userID ?? UUID()))
              AND NOT (t.thumbnail_sizes <@ i.thumbnail_sizes)
            """, logger: logger)
        var pending: [(UUID, UUID, String, String, [Int])] = []
        for try await (fileID, owner, blobID, contentType, tierSizes, existingSizes) in rows.decode((UUID, UUID, String, String, [Int], [Int]).self) {
            let missing = Set(tierSizes).subtracting(existingSizes)
            if !missing.isEmpty { pending.append((fileID, owner, blobID, contentType, Array(missing))) }
        }
        for (file, owner, blob, type, sizes) in pending {
            try await request(fileID: file, owner: owner, blobID: blob, contentType: type, sizes: sizes, reason: reason, trace: trace, on: connection)
        }
        return pending.count
    }

    /// Images whose thumbnails were requested more than `grace` ago and never came: ask again.
    func reconcile(grace: Duration, limit: Int = 200) async throws -> Int {
        try await client.transaction(logger: logger) { connection in
            let seconds = Int(grace.components.seconds)
            let rows = try await connection.query(
                """
                SELECT i.id, i.owner_id, i.blob_id, i.content_type, t.thumbnail_sizes, i.thumbnail_sizes
                FROM items i JOIN users u ON u.id = i.owner_id JOIN tiers t ON t.id = u.tier_id
                WHERE i.thumbnail_status = 'pending' AND i.state = 'ready' AND i.blob_id IS NOT NULL
                  AND i.thumbnail_requested_at < now() - make_interval(secs => \(seconds))
                  -- Not while its last request is still in the outbox (the broker is away): asking
                  -- again would only pile up duplicates for the thumbnail service to wade through.
                  AND NOT EXISTS (SELECT 1 FROM cirrus_outbox o WHERE o.published_at IS NULL
                                  AND o.topic = 'thumbnail.requested' AND o.partition_key = lower(i.id::text))
                ORDER BY i.thumbnail_requested_at LIMIT \(limit) FOR UPDATE OF i SKIP LOCKED
                """, logger: logger)
            var due: [(UUID, UUID, String, String, [Int])] = []
            for try await (fileID, owner, blobID, contentType, tierSizes, existingSizes) in rows.decode(
                (UUID, UUID, String, String, [Int], [Int]).self)
            {
                let missing = Set(tierSizes).subtracting(existingSizes)
                due.append((fileID, owner, blobID, contentType, missing.isEmpty ? tierSizes : Array(missing)))
            }
            for (file, owner, blob, type, sizes) in due {
                try await request(
                    fileID: file, owner: owner, blobID: blob, contentType: type, sizes: sizes, reason: .reconcile, trace: TraceContext(),
                    on: connection)
            }
            return due.count
        }
    }

    /// `thumbnail.generated`: the sizes now exist (for the content they were made from).
    func generated(_ event: ThumbnailGenerated, on connection: PostgresConnection) async throws {
        let sizes = event.thumbnails.map(\.size)
        try await connection.query(
            """
            UPDATE items SET thumbnail_sizes = ARRAY(SELECT DISTINCT unnest(thumbnail_sizes || \(sizes)) ORDER BY 1),
              thumbnail_status = 'ready', thumbnail_failure = NULL, thumbnail_failure_detail = NULL
            WHERE id = \(event.fileID) AND owner_id = \(event.ownerID) AND blob_id = \(event.blobID)
            """, logger: logger)
    }

    /// `thumbnail.failed`: this content cannot have thumbnails; do not ask again.
    func failed(_ event: ThumbnailFailed, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE items SET thumbnail_status = 'failed', thumbnail_failure = \(event.reason.rawValue),
              thumbnail_failure_detail = \(String(event.detail.prefix(500)))
            WHERE id = \(event.fileID) AND owner_id = \(event.ownerID) AND blob_id = \(event.blobID)
            """, logger: logger)
    }
}
