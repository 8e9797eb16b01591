import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import PostgresNIO

extension Drive {
    /// The most entries a folder's ZIP may hold (its listing is held in the gateway's memory
    /// while the archive streams: about 200 bytes an entry).
    static let maxArchiveEntries = 100_000
    /// The longest path an entry may have (a ZIP name field holds 65,535 bytes), and the most
    /// bytes of paths one listing may hold.
    static let maxArchivePathBytes = 32_768
    static let maxArchiveListingBytes = 32 << 20

    /// Is user `id` known and not disabled?
    func isActive(_ id: UUID) async throws -> Bool {
        for try await _ in try await client.query("SELECT 1 FROM users WHERE id = \(id) AND NOT disabled", logger: logger) { return true }
        return false
    }

    /// What folder `folder` (of `owner`) holds, for its ZIP: every live folder and ready file
    /// below it, parents first (paths in byte order put a folder before its content). A `\`
    /// in a name becomes `_` in its entry's path: extractors on Windows take it for a separator
    /// (a name `..\x` would otherwise climb out of the folder it is extracted to).
    func archive(of folder: Item, owner: UUID) async throws -> ArchiveListing {
        guard folder.kind == .folder else { throw ProblemError.notFound("folder") }
        let rows = try await client.query(
            """
            WITH RECURSIVE tree(id, kind, path) AS (
                SELECT id, kind, ''::text FROM items WHERE id = \(folder.id) AND owner_id = \(owner)
                UNION ALL
                SELECT i.id, i.kind, tree.path || replace(i.name, E'\\\\', '_') || CASE WHEN i.kind = 'folder' THEN '/' ELSE '' END
                FROM items i JOIN tree ON i.parent_id = tree.id
                WHERE tree.kind = 'folder' AND i.owner_id = \(owner) AND i.state = 'ready' AND i.trashed_at IS NULL
            )
            SELECT t.path, i.kind, i.id, i.size, i.updated_at FROM tree t JOIN items i ON i.id = t.id
            WHERE t.path <> '' ORDER BY t.path COLLATE "C" LIMIT \(Self.maxArchiveEntries + 1)
            """, logger: logger)
        var entries: [ArchiveListing.Entry] = []
        var bytes = 0
        for try await (path, kind, id, size, updatedAt) in rows.decode((String, String, UUID, Int64, Date).self) {
            // A ZIP name holds at most 65,535 bytes; the listing as a whole is bounded too.
            bytes += path.utf8.count
            guard path.utf8.count <= Self.maxArchivePathBytes, bytes <= Self.maxArchiveListingBytes else {
                throw ProblemError(
                    .contentTooLarge,
                    detail: "This folder nests too deep for a ZIP download (an entry's path may have at most \(Self.maxArchivePathBytes) bytes).")
            }
            guard entries.count < Self.maxArchiveEntries else {
                throw ProblemError(
                    .contentTooLarge, detail: "This folder holds more than \(Self.maxArchiveEntries) items, the most a ZIP download may have.")
            }
            entries.append(
                ArchiveListing.Entry(fileID: kind == "file" ? id : nil, path: path, size: kind == "file" ? size : 0, modifiedAt: updatedAt))
        }
        return ArchiveListing(name: folder.parentID == nil ? "cirrus" : folder.name, entries: entries)
    }
}
