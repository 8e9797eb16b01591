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
        /// The files in a folder and every folder below it (`GET /v1/files?folder_id=`: a
        /// search inside a folder, also one shared with the caller).
        case filesBelow(folder: UUID)
        /// The caller's files that thumbnail can render (`GET /v1/images`).
        case images

        var name: String {
            switch self {
            case .children(let folder): "children:" + folder.uuidString.lowercased()
            case .files: "files"
            case .filesBelow(let folder): "files:" + folder.uuidString.lowercased()
            case .images: "images"
            }
        }
    }

    func list(owner: UUID, scope: Scope, query: ListQuery) async throws -> ItemPage {
        let (sql, binds) = try Self.sql(owner: owner, scope: scope, query: query)
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        let page = try await PageRows.read(rows, limit: query.limit)
        // The cursor (its key and the listing's fingerprint) only for a page that has a next one.
        return ItemPage(items: page.items, nextCursor: page.more ? try page.cursor(fingerprint: query.fingerprint(scope: scope.name))?.token : nil)
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
        case .filesBelow(let folder):
            conditions.append("kind = 'file'")
            conditions.append(
                "parent_id IN (WITH RECURSIVE below(id) AS (SELECT \(try bind(folder))::uuid UNION ALL SELECT f.id FROM items f JOIN below ON f.parent_id = below.id"
                    + " WHERE f.kind = 'folder' AND f.owner_id = \(ownerBind) AND f.trashed_at IS NULL AND f.state = 'ready') SELECT id FROM below)")
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

/// One page of item rows (a statement that asked for one row more than the page: `more` says
/// whether it came), each row's items in the API's form, and the cursor after the last one,
/// built only when asked for (its key is column 19 of the row, `Item.cursorKey`).
struct PageRows {
    var items: [ItemResource] = []
    var more = false
    var lastRow: PostgresRow?

    static func read(_ rows: PostgresRowSequence, limit: Int) async throws -> PageRows {
        var page = PageRows()
        page.items.reserveCapacity(limit)
        for try await row in rows {
            if page.items.count == limit {
                page.more = true
                break
            }
            page.items.append(ItemResource(try Item(row: row)))
            page.lastRow = row
        }
        return page
    }

    /// The position after the page's last item, or nil for an empty page.
    func cursor(fingerprint: String) throws -> ListQuery.Cursor? {
        guard let lastRow, let last = items.last else { return nil }
        return ListQuery.Cursor(key: try Item.cursorKey(of: lastRow), id: last.id, fingerprint: fingerprint)
    }
}
