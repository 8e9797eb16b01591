import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// Listing a folder's children and searching all of a user's files: keyset pagination over
/// (sort key, id), so each page is an index range scan however deep the client pages, and
/// items inserted meanwhile never shift a page (no duplicates, no gaps among existing items).
struct Listing: Sendable {
    let client: PostgresClient
    let logger: Logger

    enum Scope: Sendable {
        case children(folder: UUID)
        case files
        /// The caller's files that thumbnail can render (`GET /v1/images`).
        case images

        var name: String {
            switch self {
            case .children(let folder): "children:" + folder.uuidString.lowercased()
            case .files: "files"
            case .images: "images"
            }
        }
    }

    func list(owner: UUID, scope: Scope, query: ListQuery) async throws -> ItemPage {
        let (sql, binds) = try Self.sql(owner: owner, scope: scope, query: query)
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        var items: [ItemResource] = []
        items.reserveCapacity(query.limit)
        var lastRow: PostgresRow?
        var more = false
        for try await row in rows {
            if items.count == query.limit {
                more = true
                break
            }
            items.append(ItemResource(try Item(row: row)))
            lastRow = row
        }
        // The cursor (its key and the listing's fingerprint) only for a page that has a next one.
        guard more, let lastRow, let last = items.last else { return ItemPage(items: items, nextCursor: nil) }
        let cursor = ListQuery.Cursor(key: try Item.cursorKey(of: lastRow), id: last.id, fingerprint: query.fingerprint(scope: scope.name))
        return ItemPage(items: items, nextCursor: cursor.token)
    }

    /// The statement for one page (also used by the query-plan document and tests).
    static func sql(owner: UUID, scope: Scope, query: ListQuery) throws -> (String, PostgresBindings) {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        let ownerBind = try bind(owner)
        var conditions = ["owner_id = \(ownerBind)", "trashed_at IS NULL", "state = 'ready'"]
        switch scope {
        case .children(let folder):
            // The folder's own check in the same statement (one round trip per page): an empty
            // page may still mean "no such folder", which the caller then tells apart.
            let folderBind = try bind(folder)
            conditions.append("parent_id = \(folderBind)")
            conditions.append(
                "EXISTS (SELECT 1 FROM items f WHERE f.id = \(folderBind) AND f.owner_id = \(ownerBind) AND f.kind = 'folder' AND f.state = 'ready'"
                    + " AND f.trashed_at IS NULL)")
        case .files: conditions.append("kind = 'file'")
        case .images: conditions.append("kind = 'file' AND content_type = ANY(\(try bind(Thumbnailable.types.sorted())))")
        }
        if let text = query.text {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(
                of: "_", with: "\\_")
            conditions.append("name ILIKE \(try bind("%" + escaped + "%"))")
        }
        if let kind = query.kind { conditions.append("kind = \(try bind(kind.rawValue))") }
        if let type = query.contentType {
            if type.hasSuffix("/*") {
                conditions.append("content_type LIKE \(try bind(String(type.dropLast()) + "%"))")
            } else {
                conditions.append("content_type = \(try bind(type))")
            }
        }
        if let minSize = query.minSize { conditions.append("size >= \(try bind(minSize))") }
        if let maxSize = query.maxSize { conditions.append("size <= \(try bind(maxSize))") }
        if let after = query.createdAfter { conditions.append("created_at > \(try bind(after))") }
        if let before = query.createdBefore { conditions.append("created_at < \(try bind(before))") }

        let column: String
        let keyText: String
        let keyCast: String
        switch query.sort {
        case .name: (column, keyText, keyCast) = ("name", "name", "")
        case .size: (column, keyText, keyCast) = ("size", "size::text", "::bigint")
        case .createdAt: (column, keyText, keyCast) = ("created_at", "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')", "")
        case .updatedAt: (column, keyText, keyCast) = ("updated_at", "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')", "")
        }
        let direction = query.descending ? "DESC" : "ASC"
        if let cursor = query.cursor {
            let key: String
            switch query.sort {
            case .createdAt, .updatedAt: key = "(\(try bind(cursor.key + "Z"))::timestamptz)"
            default: key = "(\(try bind(cursor.key))\(keyCast))"
            }
            conditions.append("(\(column), id) \(query.descending ? "<" : ">") (\(key), \(try bind(cursor.id)))")
        }
        let sql = """
            SELECT \(Item.columns), \(keyText) AS cursor_key FROM items
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY items.\(column) \(direction), items.id \(direction) LIMIT \(query.limit + 1)
            """
        return (sql, binds)
    }
}
