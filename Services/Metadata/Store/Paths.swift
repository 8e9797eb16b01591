import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import PostgresNIO

/// Paths for WebDAV (docs/webdav.md): the gateway's `/dav/a/b/c` is the caller's root folder,
/// then the folder `a`, … Names are compared as stored (NFC, exact case), as the JSON API
/// compares them.
struct Paths: Sendable {
    let client: PostgresClient
    let drive: Drive
    let accounts: Accounts
    let logger: Logger

    /// A folder copy holds at most this many items (the whole copy is one transaction).
    static let maxCopyItems = 10_000

    /// The item `segments` names under the root of `identity`, with its parent when the item
    /// is missing but its folder exists; and with `children`, a page of a folder's children.
    func lookup(_ identity: Identity, segments: [String], children: Bool, after: String?, limit: Int) async throws -> PathLookup {
        let account = try await accounts.account(for: identity)
        // Walk down from the root one name at a time; the deepest two items reached tell what exists.
        let rows = try await client.query(
            """
            WITH RECURSIVE walk(depth, item_id) AS (
                SELECT 0, \(account.rootID)::uuid
                UNION ALL
                SELECT w.depth + 1, i.id FROM walk w
                JOIN items i ON i.parent_id = w.item_id AND i.name = (\(segments)::text[])[w.depth + 1]
                WHERE w.depth < \(segments.count) AND i.owner_id = \(identity.userID) AND i.trashed_at IS NULL AND i.state = 'ready'
            )
            SELECT \(unescaped: Item.columns), walk.depth, EXISTS (SELECT 1 FROM item_properties p WHERE p.item_id = items.id)
            FROM walk JOIN items ON items.id = walk.item_id ORDER BY walk.depth DESC LIMIT 2
            """, logger: logger)
        var reached: [(depth: Int, item: Item, hasProperties: Bool)] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            reached.append((try r[19].decode(Int.self), try Item(row: row), try r[20].decode(Bool.self)))
        }
        guard let deepest = reached.first else { throw ProblemError.notFound("folder") }
        if deepest.depth == segments.count {
            var lookup = PathLookup(item: Self.entry(deepest.item), parent: reached.count > 1 ? Self.entry(reached[1].item) : nil)
            // Dead properties cost a query only for the items that have some.
            var ids = deepest.hasProperties ? [deepest.item.id] : []
            if children, deepest.item.kind == .folder {
                let page = try await self.children(of: deepest.item.id, owner: identity.userID, after: after, limit: limit)
                lookup.children = page.map { Self.entry($0.item) }
                lookup.nextAfter = page.count == limit ? page.last?.item.name : nil
                ids += page.filter(\.hasProperties).map(\.item.id)
            }
            let properties = ids.isEmpty ? [:] : try await self.properties(of: ids)
            if !properties.isEmpty {
                lookup.item?.properties = properties[deepest.item.id]
                lookup.children = lookup.children?.map { child in
                    var child = child
                    child.properties = properties[child.id]
                    return child
                }
                // A page carries at most ~4 MiB of properties (the gateway reads up to 16 MiB):
                // the rest comes with the next page.
                if var children = lookup.children {
                    var bytes = 0
                    for (index, child) in children.enumerated() {
                        bytes += (child.properties ?? []).reduce(0) { $0 + $1.namespace.utf8.count + $1.name.utf8.count + $1.value.utf8.count }
                        if bytes > Self.maxPagePropertyBytes, index > 0 {
                            children.removeSubrange(index...)
                            lookup.children = children
                            lookup.nextAfter = children.last?.name
                            break
                        }
                    }
                }
            }
            return lookup
        }
        if deepest.depth == segments.count - 1, deepest.item.kind == .folder {
            return PathLookup(item: nil, parent: Self.entry(deepest.item))
        }
        return PathLookup(item: nil, parent: nil)
    }

    func children(of folder: UUID, owner: UUID, after: String?, limit: Int) async throws -> [(item: Item, hasProperties: Bool)] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Item.columns), EXISTS (SELECT 1 FROM item_properties p WHERE p.item_id = items.id) FROM items
            WHERE parent_id = \(folder) AND owner_id = \(owner) AND trashed_at IS NULL AND state = 'ready'
              AND (\(after == nil) OR name > \(after ?? ""))
            ORDER BY name LIMIT \(limit)
            """, logger: logger)
        var items: [(item: Item, hasProperties: Bool)] = []
        for try await row in rows { items.append((try Item(row: row), try row.makeRandomAccess()[19].decode(Bool.self))) }
        return items
    }

    /// The dead properties of `ids`, by item.
    func properties(of ids: [UUID]) async throws -> [UUID: [DeadProperty]] {
        var found: [UUID: [DeadProperty]] = [:]
        let rows = try await client.query(
            "SELECT item_id, namespace, name, value FROM item_properties WHERE item_id = ANY(\(ids)) ORDER BY item_id, namespace, name",
            logger: logger)
        for try await (id, namespace, name, value) in rows.decode((UUID, String, String, String).self) {
            found[id, default: []].append(DeadProperty(namespace: namespace, name: name, value: value))
        }
        return found
    }

    /// Dead properties are bounded per item (count, bytes), per name, and per user (bytes, names
    /// included): they are the client's data, kept in the database, copied with their items.
    static let maxProperties = 200
    static let maxPropertyBytes = 64 * 1024
    static let maxItemPropertyBytes = 64 * 1024
    static let maxUserPropertyBytes = 16 << 20
    static let maxNameBytes = 256
    static let maxPagePropertyBytes = 4 << 20
    static let maxNamespaceBytes = 1024

    static func insufficientStorage(_ detail: String) -> ProblemError {
        ProblemError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), detail: detail)
    }

    /// 507 when the item `id` (if given) or the user's dead properties are over their bounds.
    func checkPropertyBounds(owner: UUID, item id: UUID?, on connection: PostgresConnection) async throws {
        if let id {
            for try await (count, bytes) in try await connection.query(
                """
                SELECT count(*)::int, COALESCE(sum(octet_length(namespace) + octet_length(name) + octet_length(value)), 0)::bigint
                FROM item_properties WHERE item_id = \(id)
                """, logger: logger
            ).decode((Int, Int64).self) {
                if count > Self.maxProperties { throw Self.insufficientStorage("An item may hold at most \(Self.maxProperties) properties.") }
                if bytes > Self.maxItemPropertyBytes {
                    throw Self.insufficientStorage("An item's properties may hold at most \(Self.maxItemPropertyBytes / 1024) KiB.")
                }
            }
        }
        for try await bytes in try await connection.query(
            """
            SELECT COALESCE(sum(octet_length(p.namespace) + octet_length(p.name) + octet_length(p.value)), 0)::bigint
            FROM item_properties p JOIN items i ON i.id = p.item_id WHERE i.owner_id = \(owner)
            """, logger: logger
        ).decode(Int64.self) where bytes > Self.maxUserPropertyBytes {
            throw Self.insufficientStorage("Your properties may hold at most \(Self.maxUserPropertyBytes >> 20) MiB in all.")
        }
    }

    /// PROPPATCH: the operations in order, all or nothing, on an item of the caller's.
    func updateProperties(_ identity: Identity, id: UUID, update: PropertyUpdate) async throws {
        for operation in update.operations {
            if (operation.value?.utf8.count ?? 0) > Self.maxPropertyBytes {
                throw ProblemError(.contentTooLarge, detail: "A property value may be at most \(Self.maxPropertyBytes / 1024) KiB.")
            }
            if operation.name.isEmpty || operation.name.utf8.count > Self.maxNameBytes {
                throw ProblemError.validation(field: "name", "a property name must be 1 to \(Self.maxNameBytes) bytes")
            }
            if operation.namespace.utf8.count > Self.maxNamespaceBytes {
                throw ProblemError.validation(field: "namespace", "a property namespace must be at most \(Self.maxNamespaceBytes) bytes")
            }
        }
        try await client.transaction(logger: logger) { connection in
            // One change of the user's properties at a time, so the per-user bound holds.
            _ = try await accounts.account(for: identity, lock: true, on: connection)
            _ = try await drive.item(id, owner: identity.userID, lock: true, on: connection)
            for operation in update.operations {
                if let value = operation.value {
                    try await connection.query(
                        """
                        INSERT INTO item_properties (item_id, namespace, name, value) VALUES (\(id), \(operation.namespace), \(operation.name), \(value))
                        ON CONFLICT (item_id, namespace, name) DO UPDATE SET value = EXCLUDED.value
                        """, logger: logger)
                } else {
                    try await connection.query(
                        """
                        DELETE FROM item_properties WHERE item_id = \(id) AND namespace = \(operation.namespace) AND name = \(operation.name)
                        """, logger: logger)
                }
            }
            try await checkPropertyBounds(owner: identity.userID, item: id, on: connection)
        }
    }

    static func entry(_ item: Item) -> PathEntry {
        PathEntry(
            id: item.id, kind: item.kind.rawValue, name: item.name, size: item.size, contentType: item.contentType, sha256: item.sha256,
            createdAt: item.createdAt, updatedAt: item.updatedAt)
    }

    /// Copy the folder `id` (and with `recursive` everything below it) into `parentID` as
    /// `name`, in one transaction: new folders, new files sharing their contents (blob records
    /// each new reference, as for a file copy), the bytes counted against the quota.
    func copyFolder(_ identity: Identity, id: UUID, parentID: UUID, name rawName: String, recursive: Bool, blob: BlobClient) async throws -> Item {
        let name = try Names.validate(rawName)
        return try await client.transaction(logger: logger) { connection in
            let account = try await accounts.account(for: identity, lock: true, on: connection)
            _ = try await drive.item(id, owner: identity.userID, kind: .folder, on: connection)
            _ = try await drive.parentFolder(parentID, owner: identity.userID, on: connection)
            if try await drive.isInSubtree(parentID, of: id, on: connection) {
                throw ProblemError.validation(field: "parent_id", "cannot be the folder itself or one of its subfolders")
            }
            var tree: [(id: UUID, parentID: UUID?, kind: String, size: Int64, blobID: String?)] = []
            let rows = try await connection.query(
                """
                WITH RECURSIVE tree(id, depth) AS (
                    SELECT \(id)::uuid, 0
                    UNION ALL SELECT i.id, t.depth + 1 FROM items i JOIN tree t ON i.parent_id = t.id
                    WHERE \(recursive) AND i.trashed_at IS NULL AND i.state = 'ready'
                )
                SELECT i.id, i.parent_id, i.kind, i.size, i.blob_id FROM tree JOIN items i ON i.id = tree.id
                ORDER BY tree.depth LIMIT \(Self.maxCopyItems + 1)
                """, logger: logger)
            for try await row in rows.decode((UUID, UUID?, String, Int64, String?).self) { tree.append(row) }
            guard tree.count <= Self.maxCopyItems else {
                throw ProblemError(
                    .contentTooLarge, detail: "A folder copy may hold at most \(Self.maxCopyItems) items; copy its subfolders one by one.")
            }
            let bytes = tree.reduce(Int64(0)) { $0 + ($1.kind == "file" ? $1.size : 0) }
            if account.usedBytes + account.reservedBytes + bytes > account.tier.quotaBytes { throw Quota.exceeded(account) }
            var newIDs: [UUID: UUID] = [:]
            for (index, source) in tree.enumerated() {
                let newID = UUID()
                newIDs[source.id] = newID
                if index == 0 {
                    try await drive.insertChecked(name: name, parentID: parentID, on: connection) {
                        try await connection.query(
                            """
                            INSERT INTO items (id, owner_id, parent_id, kind, name, state)
                            VALUES (\(newID), \(identity.userID), \(parentID), 'folder', \(name), 'ready')
                            """, logger: logger)
                    }
                    continue
                }
                guard let oldParent = source.parentID, let newParent = newIDs[oldParent] else { continue }
                if source.kind == "folder" {
                    try await connection.query(
                        """
                        INSERT INTO items (id, owner_id, parent_id, kind, name, state)
                        SELECT \(newID), owner_id, \(newParent), 'folder', name, 'ready' FROM items WHERE id = \(source.id)
                        """, logger: logger)
                } else {
                    let contentID = UUID()
                    try await connection.query(
                        """
                        INSERT INTO items (id, owner_id, parent_id, kind, name, state, size, content_type, sha256, blob_id, content_id, version,
                                           thumbnail_status, thumbnail_sizes, thumbnail_blob_id, thumbnail_requested_at)
                        SELECT \(newID), owner_id, \(newParent), 'file', name, 'ready', size, content_type, sha256, blob_id, \(contentID), 1,
                               thumbnail_status, thumbnail_sizes, thumbnail_blob_id, thumbnail_requested_at
                        FROM items WHERE id = \(source.id)
                        """, logger: logger)
                    // As for a file copy: blob records the use before the commit (one reference
                    // too many if the commit then fails, never a copy pointing at collected bytes).
                    try await blob.addReference(owner: identity.userID, blobID: source.blobID ?? "", fileID: newID, referenceID: contentID)
                }
            }
            if bytes > 0 {
                try await connection.query("UPDATE users SET used_bytes = used_bytes + \(bytes) WHERE id = \(identity.userID)", logger: logger)
            }
            // Dead properties are copied with their items (RFC 4918 9.8.2).
            let pairs = Array(newIDs)
            try await connection.query(
                """
                INSERT INTO item_properties (item_id, namespace, name, value)
                SELECT pair.new_id, p.namespace, p.name, p.value FROM item_properties p
                JOIN unnest(\(pairs.map(\.key))::uuid[], \(pairs.map(\.value))::uuid[]) AS pair(old_id, new_id) ON p.item_id = pair.old_id
                """, logger: logger)
            try await checkPropertyBounds(owner: identity.userID, item: nil, on: connection)
            return try await drive.item(newIDs[id]!, owner: identity.userID, on: connection)
        }
    }
}
