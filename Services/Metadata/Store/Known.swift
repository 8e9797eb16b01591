import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// What metadata still has, for the other services' reconcilers (`KnownIDsQuery`).
struct Known: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Reference ids blob may hold: a file's current content, an earlier version, or an upload
    /// still reserved (blob registers the upload's reference before metadata completes it).
    func references(_ ids: [UUID]) async throws -> [UUID] {
        try await select(
            """
            SELECT x.id FROM unnest(\(ids)::uuid[]) AS x(id)
            WHERE EXISTS (SELECT 1 FROM items WHERE content_id = x.id)
               OR EXISTS (SELECT 1 FROM versions WHERE content_id = x.id)
               OR EXISTS (SELECT 1 FROM uploads WHERE id = x.id)
            """)
    }

    /// File ids that still exist (live, pending or in the trash: only a purge ends a file).
    func files(_ ids: [UUID]) async throws -> [UUID] {
        try await select("SELECT x.id FROM unnest(\(ids)::uuid[]) AS x(id) WHERE EXISTS (SELECT 1 FROM items WHERE id = x.id AND kind = 'file')")
    }

    /// One page of the contents metadata counts on blob for (current contents of ready files
    /// and earlier versions), ordered by content id, older than `grace`: the content audit.
    func contents(after last: UUID?, olderThan grace: Duration, limit: Int) async throws -> [(content: UUID, file: UUID, owner: UUID)] {
        let seconds = Int(grace.components.seconds)
        let rows = try await client.query(
            """
            SELECT content_id, file_id, owner_id FROM (
                SELECT content_id, id AS file_id, owner_id, updated_at AS since FROM items
                WHERE kind = 'file' AND state = 'ready' AND content_id IS NOT NULL
                UNION ALL
                SELECT content_id, file_id, owner_id, created_at FROM versions
            ) c
            WHERE content_id > \(last ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
              AND since < now() - make_interval(secs => \(seconds))
            ORDER BY content_id LIMIT \(limit)
            """, logger: logger)
        var page: [(content: UUID, file: UUID, owner: UUID)] = []
        for try await (content, file, owner) in rows.decode((UUID, UUID, UUID).self) { page.append((content, file, owner)) }
        return page
    }

    private func select(_ query: PostgresQuery) async throws -> [UUID] {
        var known: [UUID] = []
        for try await id in try await client.query(query, logger: logger).decode(UUID.self) { known.append(id) }
        return known
    }
}
