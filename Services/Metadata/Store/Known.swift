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
        try await select("""
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

    private func select(_ query: PostgresQuery) async throws -> [UUID] {
        var known: [UUID] = []
        for try await id in try await client.query(query, logger: logger).decode(UUID.self) { known.append(id) }
        return known
    }
}
