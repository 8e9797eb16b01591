import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import PostgresNIO

/// The folder tree and files of every user. Every query names the owner: an id of someone
/// else's item behaves exactly like an id that does not exist (404), so ids do not leak.
struct Drive: Sendable {
    static let copyAcrossDrives = "https://cirrus.dev/problems/copy-across-drives"

    let client: PostgresClient
    let accounts: Accounts
    let settings: MetadataSettings
    let logger: Logger

    // MARK: - Reading

    func item(
        _ id: UUID, owner: UUID, kind: Item.Kind? = nil, includeTrashed: Bool = false, lock: Bool = false,
        on connection: PostgresConnection
    ) async throws -> Item {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Item.columns) FROM items WHERE id = $1 AND owner_id = $2 AND state = 'ready'
                    \(includeTrashed ? "" : "AND trashed_at IS NULL") \(lock ? "FOR UPDATE" : "")
                    """, binds: try bindings(id, owner)), logger: logger)
        for try await row in rows {
            let item = try Item(row: row)
            if let kind, item.kind != kind { break }
            return item
        }
        throw ProblemError.notFound(kind?.rawValue ?? "item")
    }

    /// A ready, untrashed item of `owner` (outside a transaction): a named prepared statement,
    /// parsed and planned once per connection, for `GET /v1/files/{id}`, `GET /v1/folders/{id}`
    /// and the empty-page check of a listing.
    func item(_ id: UUID, owner: UUID, kind: Item.Kind? = nil) async throws -> Item {
        for try await item in try await client.execute(ItemByID(id: id, owner: owner), logger: logger) {
            if let kind, item.kind != kind { break }
            return item
        }
        throw ProblemError.notFound(kind?.rawValue ?? "item")
    }

    struct ItemByID: PostgresPreparedStatement {
        static let sql = "SELECT \(Item.columns) FROM items WHERE id = $1 AND owner_id = $2 AND state = 'ready' AND trashed_at IS NULL"
        static let bindingDataTypes: [PostgresDataType] = [.uuid, .uuid]
        typealias Row = Item

        var id: UUID
        var owner: UUID

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(id)
            bindings.append(owner)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Item { try Item(row: row) }
    }

    /// The owner of file `id`, for a link to it: only while the owner is an active user (a
    /// disabled or deleted owner's links stop). 404 otherwise.
    func linkOwner(of id: UUID) async throws -> UUID {
        let rows = try await client.query(
            """
            SELECT i.owner_id FROM items i JOIN users u ON u.id = i.owner_id
            WHERE i.id = \(id) AND i.kind = 'file' AND NOT u.disabled
            """, logger: logger)
        for try await owner in rows.decode(UUID.self) { return owner }
        throw ProblemError.notFound("file")
    }

    func root(of identity: Identity) async throws -> Item {
        try await client.withConnection { connection in
            let account = try await accounts.account(for: identity, on: connection)
            return try await item(account.rootID, owner: identity.userID, kind: .folder, on: connection)
        }
    }

    func versions(of fileID: UUID, caller: UUID) async throws -> [VersionResource] {
        let owner = try await accessible(fileID, caller: caller, kind: .file).access.ownerID
        let rows = try await client.query(
            """
            SELECT content_id, version, size, content_type, sha256, created_at FROM versions
            WHERE file_id = \(fileID) AND owner_id = \(owner) ORDER BY version DESC
            """, logger: logger)
        var result: [VersionResource] = []
        for try await (contentID, version, size, contentType, sha256, createdAt) in rows.decode((UUID, Int, Int64, String, String, Date).self) {
            result.append(
                VersionResource(id: contentID, version: version, size: size, contentType: contentType, sha256: sha256, createdAt: createdAt))
        }
        return result
    }

    /// The content of a file the caller may read, and whose drive it is in.
    func content(
        of fileID: UUID, version: UUID?, caller: UUID
    ) async throws -> (item: Item, blobID: String, size: Int64, contentType: String, sha256: String, owner: UUID) {
        let owner = try await accessible(fileID, caller: caller, kind: .file).access.ownerID
        let content = try await content(of: fileID, version: version, owner: owner)
        return (content.item, content.blobID, content.size, content.contentType, content.sha256, owner)
    }

    /// The content to stream for a file (its current content, or one of its versions).
    func content(
        of fileID: UUID, version: UUID?, owner: UUID
    ) async throws -> (item: Item, blobID: String, size: Int64, contentType: String, sha256: String) {
        let file = try await item(fileID, owner: owner, kind: .file)
        guard let version else {
            guard let blobID = file.blobID, let type = file.contentType, let sha = file.sha256 else { throw ProblemError.notFound("file") }
            return (file, blobID, file.size, type, sha)
        }
        let rows = try await client.query(
            """
            SELECT blob_id, size, content_type, sha256 FROM versions WHERE content_id = \(version) AND file_id = \(fileID) AND owner_id = \(owner)
            """, logger: logger)
        for try await (blobID, size, contentType, sha256) in rows.decode((String, Int64, String, String).self) {
            return (file, blobID, size, contentType, sha256)
        }
        throw ProblemError.notFound("version")
    }

    // MARK: - Folders

    func createFolder(_ identity: Identity, name rawName: String?, parentID: UUID?) async throws -> Item {
        let name = try Names.validate(rawName)
        guard let parentID else { throw ProblemError.validation(field: "parent_id", "is required") }
        return try await client.transaction(logger: logger) { connection in
            _ = try await accounts.account(for: identity, on: connection)
            let owner = try await writableFolder(parentID, caller: identity.userID, on: connection).access.ownerID
            let id = UUID()
            try await insertChecked(name: name, parentID: parentID, on: connection) {
                try await connection.query(
                    """
                    INSERT INTO items (id, owner_id, parent_id, kind, name, state)
                    VALUES (\(id), \(owner), \(parentID), 'folder', \(name), 'ready')
                    """, logger: logger)
            }
            return try await item(id, owner: owner, on: connection)
        }
    }

    /// The live folder `id` of `owner` that new items go into; a 422 on `parent_id` otherwise.
    func parentFolder(_ id: UUID, owner: UUID, field: String = "parent_id", on connection: PostgresConnection) async throws -> Item {
        do {
            return try await item(id, owner: owner, kind: .folder, on: connection)
        } catch let error as ProblemError where error.status == .notFound {
            throw ProblemError.validation(field: field, "does not name one of your folders")
        }
    }

    /// Runs an insert or update that may hit the live-sibling name index; a collision becomes a
    /// 409 naming the item that already has the name.
    func insertChecked(name: String, parentID: UUID, on connection: PostgresConnection, _ body: () async throws -> Void) async throws {
        do {
            try await connection.query("SAVEPOINT name_check", logger: logger)
            try await body()
            try await connection.query("RELEASE SAVEPOINT name_check", logger: logger)
        } catch let error as PSQLError where error.isUniqueViolation && error.constraint == "items_live_name" {
            try await connection.query("ROLLBACK TO SAVEPOINT name_check", logger: logger)
            var existing: UUID?
            for try await id in try await connection.query(
                """
                SELECT id FROM items WHERE parent_id = \(parentID) AND name = \(name) AND trashed_at IS NULL
                """, logger: logger
            ).decode(UUID.self) { existing = id }
            throw Self.nameTaken(name, existing: existing)
        }
    }

    static func nameTaken(_ name: String, existing: UUID?) -> ProblemError {
        ProblemError(
            .conflict, type: "https://cirrus.dev/problems/name-taken", title: "Name taken",
            detail: "An item named \"\(name)\" already exists in this folder" + (existing.map { " (id \($0.uuidString.lowercased()))" } ?? "") + ".",
            errors: [FieldError(field: "name", message: "is already used in this folder")])
    }

    /// Rename and/or move a folder or file. Moving a folder into itself or its own subtree is
    /// refused; moves of one owner are serialised (their account row is locked), so two
    /// crossing moves cannot build a cycle between them. An editor of a shared folder renames
    /// and moves what is inside it, within what is shared with them (never the shared item
    /// itself, never out of the owner's drive).
    func update(_ identity: Identity, id: UUID, kind: Item.Kind, name rawName: String?, parentID: UUID?) async throws -> Item {
        let name = try rawName.map { try Names.validate($0) }
        if name == nil && parentID == nil {
            throw ProblemError.validation([FieldError(field: "name", message: "give name or parent_id (or both)")])
        }
        return try await client.transaction(logger: logger) { connection in
            let (current, access) = try await changeable(id, caller: identity, kind: kind, on: connection)
            let targetParent = parentID ?? current.parentID!
            if let parentID {
                let target = try await writableFolder(parentID, caller: identity.userID, on: connection)
                if target.access.ownerID != access.ownerID {
                    throw ProblemError.validation(field: "parent_id", "must be in the same drive as the item (copy it instead)")
                }
                if kind == .folder, try await isInSubtree(parentID, of: id, on: connection) {
                    throw ProblemError.validation(field: "parent_id", "cannot be the folder itself or one of its subfolders")
                }
            }
            let newName = name ?? current.name
            try await insertChecked(name: newName, parentID: targetParent, on: connection) {
                try await connection.query(
                    """
                    UPDATE items SET name = \(newName), parent_id = \(targetParent), updated_at = now() WHERE id = \(id)
                    """, logger: logger)
            }
            return try await item(id, owner: access.ownerID, on: connection)
        }
    }

    /// An item the caller may rename, move or trash, locked, with the owner's account row
    /// locked first (one owner's moves are serialised): the owner's own (not their root), or
    /// one inside a folder shared with the caller as editor — the shared item itself stays
    /// its owner's to rename, move or delete.
    func changeable(_ id: UUID, caller identity: Identity, kind: Item.Kind, on connection: PostgresConnection) async throws -> (Item, Access) {
        let found = try await accessible(id, caller: identity.userID, kind: kind, on: connection)
        if found.access.isOwner {
            let account = try await accounts.account(for: identity, lock: true, on: connection)
            let current = try await item(id, owner: identity.userID, kind: kind, lock: true, on: connection)
            if current.id == account.rootID { throw ProblemError(.conflict, detail: "The root folder cannot be renamed, moved or deleted.") }
            return (current, found.access)
        }
        // A recipient: the owner's account row is locked first (as every writer of that drive
        // does), then access is resolved again under it, so a share revoked or the item moved
        // out of the shared folder while this waited is seen.
        let owner = found.access.ownerID
        _ = try await accounts.find(owner, lock: true, on: connection)
        let current = try await accessible(id, caller: identity.userID, kind: kind, lock: true, on: connection)
        guard current.access.ownerID == owner else { throw ProblemError.notFound(kind.rawValue) }
        guard let parent = current.item.parentID,
            let above = try? await accessible(parent, caller: identity.userID, kind: .folder, on: connection), above.access.role >= .editor
        else {
            throw Access.refused(current.access.role, needed: current.access.role == .editor ? .owner : .editor)
        }
        return current
    }

    /// Is `candidate` the folder `root` or below it? Walks up from the candidate.
    func isInSubtree(_ candidate: UUID, of root: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            WITH RECURSIVE up(id, parent_id) AS (
                SELECT id, parent_id FROM items WHERE id = \(candidate)
                UNION ALL SELECT i.id, i.parent_id FROM items i JOIN up ON i.id = up.parent_id
            ) SELECT 1 FROM up WHERE id = \(root) LIMIT 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    // MARK: - Files

    /// Copy a file into a folder: a new file sharing the content (blob gains a reference, no
    /// bytes are copied); it counts towards the quota like any file.
    func copy(_ identity: Identity, fileID: UUID, parentID: UUID?, name rawName: String?, blob: BlobClient) async throws -> Item {
        guard let parentID else { throw ProblemError.validation(field: "parent_id", "is required") }
        return try await client.transaction(logger: logger) { connection in
            _ = try await accounts.account(for: identity, on: connection)
            var (source, from) = try await accessible(fileID, caller: identity.userID, kind: .file, on: connection)
            var to = try await writableFolder(parentID, caller: identity.userID, on: connection).access
            guard from.ownerID == to.ownerID else {
                // Contents are per owner: the caller copies the bytes (`Uploads.copyAcross`).
                throw ProblemError(.conflict, type: Self.copyAcrossDrives, title: "Copy across drives", detail: "The copy crosses drives.")
            }
            let owner = to.ownerID
            guard let account = try await accounts.find(owner, lock: true, on: connection) else { throw ProblemError.notFound("folder") }
            if !to.isOwner {
                // A recipient's access, resolved again under the owner's lock (see `changeable`).
                (source, from) = try await accessible(fileID, caller: identity.userID, kind: .file, on: connection)
                to = try await writableFolder(parentID, caller: identity.userID, on: connection).access
                guard from.ownerID == owner, to.ownerID == owner else { throw ProblemError.notFound("file") }
            }
            let name = try rawName.map { try Names.validate($0) } ?? source.name
            if account.usedBytes + account.reservedBytes + source.size > account.tier.quotaBytes {
                throw Quota.exceeded(account)
            }
            let id = UUID()
            let contentID = UUID()
            try await insertChecked(name: name, parentID: parentID, on: connection) {
                try await connection.query(
                    """
                    INSERT INTO items (id, owner_id, parent_id, kind, name, state, size, content_type, sha256, blob_id, content_id, version,
                                       thumbnail_status, thumbnail_sizes, thumbnail_blob_id, thumbnail_requested_at)
                    SELECT \(id), owner_id, \(parentID), 'file', \(name), 'ready', size, content_type, sha256, blob_id, \(contentID), 1,
                           thumbnail_status, thumbnail_sizes, thumbnail_blob_id, thumbnail_requested_at
                    FROM items WHERE id = \(fileID)
                    """, logger: logger)
            }
            try await connection.query("UPDATE users SET used_bytes = used_bytes + \(source.size) WHERE id = \(owner)", logger: logger)
            try await connection.query(
                """
                INSERT INTO item_properties (item_id, namespace, name, value) SELECT \(id), namespace, name, value FROM item_properties
                WHERE item_id = \(fileID)
                """, logger: logger)
            try await Paths(client: client, drive: self, accounts: accounts, logger: logger).checkPropertyBounds(
                owner: owner, item: nil, on: connection)
            // Blob records the new use before this transaction commits: if the commit then
            // fails, the content keeps one reference too many (never collected) rather than
            // the copy pointing at collected bytes.
            try await blob.addReference(owner: owner, blobID: source.blobID ?? "", fileID: id, referenceID: contentID)
            return try await item(id, owner: owner, on: connection)
        }
    }

    // MARK: - Trash

    /// Move an item (a folder with everything in it) to the trash.
    func trash(_ identity: Identity, id: UUID, kind: Item.Kind) async throws {
        try await client.transaction(logger: logger) { connection in
            _ = try await changeable(id, caller: identity, kind: kind, on: connection)
            try await connection.query(
                """
                WITH RECURSIVE tree(id) AS (
                    SELECT id FROM items WHERE id = \(id)
                    UNION ALL SELECT i.id FROM items i JOIN tree ON i.parent_id = tree.id WHERE i.trashed_at IS NULL
                )
                UPDATE items SET trashed_at = now(), trash_root_id = \(id),
                  original_parent_id = CASE WHEN items.id = \(id) THEN items.parent_id ELSE NULL END
                FROM tree WHERE items.id = tree.id
                """, logger: logger)
        }
    }

    func trashList(_ identity: Identity, limit: Int, cursor: ListQuery.Cursor?) async throws -> ItemPage {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Item.columns), to_char(trashed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') FROM items
            WHERE owner_id = \(identity.userID) AND trashed_at IS NOT NULL AND trash_root_id = id
              AND (\(cursor == nil) OR (trashed_at, id) < ((\(cursor?.key ?? "9999-12-31T00:00:00") || 'Z')::timestamptz, \(cursor?.id ?? UUID())))
            ORDER BY trashed_at DESC, id DESC LIMIT \(limit + 1)
            """, logger: logger)
        let page = try await PageRows.read(rows, limit: limit)
        return ItemPage(items: page.items, nextCursor: page.items.count == limit ? try page.cursor(fingerprint: "trash")?.token : nil)
    }

    /// Restore a trashed item to where it was, or to the root when that folder is gone or in
    /// the trash itself. A name taken meanwhile gets " (restored)" added.
    func restore(_ identity: Identity, id: UUID) async throws -> Item {
        try await client.transaction(logger: logger) { connection in
            let account = try await accounts.account(for: identity, lock: true, on: connection)
            var top: (name: String, originalParent: UUID?)?
            for try await (name, originalParent) in try await connection.query(
                """
                SELECT name, original_parent_id FROM items
                WHERE id = \(id) AND owner_id = \(identity.userID) AND trashed_at IS NOT NULL AND trash_root_id = id FOR UPDATE
                """, logger: logger
            ).decode((String, UUID?).self) { top = (name, originalParent) }
            guard let top else { throw ProblemError.notFound("trashed item") }
            var parent = account.rootID
            if let original = top.originalParent,
                (try? await item(original, owner: identity.userID, kind: .folder, on: connection)) != nil
            {
                parent = original
            }
            try await connection.query(
                """
                UPDATE items SET trashed_at = NULL, trash_root_id = NULL, original_parent_id = NULL WHERE trash_root_id = \(id) AND id <> \(id)
                """, logger: logger)
            var attempt = 0
            while true {
                let name = attempt == 0 ? top.name : Names.restoredVariant(of: top.name, attempt: attempt)
                do {
                    try await insertChecked(name: name, parentID: parent, on: connection) {
                        try await connection.query(
                            """
                            UPDATE items SET trashed_at = NULL, trash_root_id = NULL, original_parent_id = NULL, parent_id = \(parent),
                              name = \(name), updated_at = now() WHERE id = \(id)
                            """, logger: logger)
                    }
                    break
                } catch let error as ProblemError where error.status == .conflict && attempt < 20 {
                    attempt += 1
                }
            }
            return try await item(id, owner: identity.userID, on: connection)
        }
    }

    /// Delete trashed items for good: one (with everything below it) or the whole trash. Their
    /// contents leave the quota and `file.deleted` lets blob and thumbnail collect them.
    func purge(_ identity: Identity, id: UUID?, trace: TraceContext) async throws {
        try await client.transaction(logger: logger) { connection in
            _ = try await accounts.account(for: identity, lock: true, on: connection)
            var tops: [UUID] = []
            if let id {
                for try await top in try await connection.query(
                    """
                    SELECT id FROM items WHERE id = \(id) AND owner_id = \(identity.userID) AND trashed_at IS NOT NULL AND trash_root_id = id
                    """, logger: logger
                ).decode(UUID.self) { tops.append(top) }
                guard !tops.isEmpty else { throw ProblemError.notFound("trashed item") }
            } else {
                for try await top in try await connection.query(
                    """
                    SELECT id FROM items WHERE owner_id = \(identity.userID) AND trashed_at IS NOT NULL AND trash_root_id = id
                    """, logger: logger
                ).decode(UUID.self) { tops.append(top) }
            }
            guard !tops.isEmpty else { return }
            try await deleteSubtrees(tops, owner: identity.userID, trace: trace, on: connection)
        }
    }

    /// Delete the items `tops` and everything below them, releasing their contents.
    func deleteSubtrees(_ tops: [UUID], owner: UUID, trace: TraceContext, on connection: PostgresConnection) async throws {
        var files: [(id: UUID, blobIDs: Set<String>, bytes: Int64)] = []
        let rows = try await connection.query(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM items WHERE id = ANY(\(tops)) AND owner_id = \(owner)
                UNION ALL SELECT i.id FROM items i JOIN tree ON i.parent_id = tree.id
            )
            SELECT i.id, i.blob_id, CASE WHEN i.state = 'ready' THEN i.size ELSE 0 END,
                   COALESCE(array_agg(v.blob_id) FILTER (WHERE v.blob_id IS NOT NULL), '{}'), COALESCE(sum(v.size), 0)::BIGINT
            FROM items i JOIN tree ON tree.id = i.id LEFT JOIN versions v ON v.file_id = i.id
            WHERE i.kind = 'file' GROUP BY i.id
            """, logger: logger)
        for try await (id, blobID, size, versionBlobIDs, versionBytes) in rows.decode((UUID, String?, Int64, [String], Int64).self) {
            files.append((id, Set(versionBlobIDs + (blobID.map { [$0] } ?? [])), size + versionBytes))
        }
        // Uploads still in flight into these files end here: their reservations are freed, and
        // bytes that arrive later are orphans that blob is told to collect.
        if !files.isEmpty {
            var unreserved: Int64 = 0
            for try await reserved in try await connection.query(
                """
                DELETE FROM uploads WHERE owner_id = \(owner) AND file_id = ANY(\(files.map(\.id))) RETURNING reserved_bytes
                """, logger: logger
            ).decode(Int64.self) { unreserved += reserved }
            if unreserved > 0 {
                try await connection.query(
                    "UPDATE users SET reserved_bytes = GREATEST(reserved_bytes - \(unreserved), 0) WHERE id = \(owner)", logger: logger)
            }
        }
        // Shares of what goes end with it (announced); its public links go by cascade.
        try await Shares.revoke(
            connection.query(
                """
                WITH RECURSIVE tree(id) AS (
                    SELECT id FROM items WHERE id = ANY(\(tops)) AND owner_id = \(owner)
                    UNION ALL SELECT i.id FROM items i JOIN tree ON i.parent_id = tree.id
                )
                DELETE FROM shares WHERE item_id IN (SELECT id FROM tree) RETURNING id, item_id, owner_id, recipient_id
                """, logger: logger), reason: .itemDeleted, trace: trace, on: connection, logger: logger)
        try await connection.query(
            """
            WITH RECURSIVE tree(id, depth) AS (
                SELECT id, 0 FROM items WHERE id = ANY(\(tops)) AND owner_id = \(owner)
                UNION ALL SELECT i.id, tree.depth + 1 FROM items i JOIN tree ON i.parent_id = tree.id
            )
            DELETE FROM items WHERE id IN (SELECT id FROM tree)
            """, logger: logger)
        let freed = files.reduce(0) { $0 + $1.bytes }
        if freed > 0 {
            try await connection.query("UPDATE users SET used_bytes = GREATEST(used_bytes - \(freed), 0) WHERE id = \(owner)", logger: logger)
        }
        for file in files where !file.blobIDs.isEmpty {
            let event = FileDeleted(fileID: file.id, ownerID: owner, blobIDs: file.blobIDs.sorted())
            try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
        }
    }
}
