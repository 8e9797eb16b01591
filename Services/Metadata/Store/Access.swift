import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import PostgresNIO

/// What a caller may do with an item: it is theirs, or it is (below) something shared with
/// them (docs/sharing.md). Every id route of the drive resolves this before it reads or
/// writes; the answer is computed from the database on each request, so a revoked share ends
/// access on the next one.
struct Access: Sendable, Equatable {
    enum Role: Int, Sendable, Comparable {
        case viewer = 1
        case editor = 2
        case owner = 3

        init(_ role: ShareRole) { self = role == .editor ? .editor : .viewer }

        static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

        var name: String {
            switch self {
            case .viewer: "viewer"
            case .editor: "editor"
            case .owner: "owner"
            }
        }
    }

    /// Whose drive the item is in (the queries name this owner; quota and tier are theirs).
    var ownerID: UUID
    var role: Role
    /// The shared item the access comes through (nil for the owner).
    var shareRoot: UUID?

    static func owner(_ id: UUID) -> Access { Access(ownerID: id, role: .owner, shareRoot: nil) }

    var isOwner: Bool { role == .owner }

    /// The refusal of a write (or an owner's action) to someone who may see the item.
    static func refused(_ role: Role, needed: Role) -> ProblemError {
        let detail =
            needed == .owner
            ? "Only the owner can do this; it is shared with you as \(role.name)."
            : "This is shared with you as \(role.name); changing it needs the editor role."
        return ProblemError(.forbidden, type: "https://cirrus.dev/problems/share-role", title: "Not allowed by your share", detail: detail)
    }
}

extension Drive {
    /// The live, ready item `id` as `caller` may reach it, needing at least `needed`: the
    /// caller's own (the prepared statement of before sharing: owners pay nothing more), else
    /// through a share of it or of a folder above it. 404 when the caller can reach no such
    /// item; 403 when they can, but with a weaker role than `needed`.
    func accessible(_ id: UUID, caller: UUID, kind: Item.Kind? = nil, needed: Access.Role = .viewer) async throws -> (item: Item, access: Access) {
        if let own = try await ownItem(id, owner: caller, kind: kind) { return (own, .owner(caller)) }
        guard let access = try await client.withConnection({ try await sharedAccess(to: id, caller: caller, on: $0) }) else {
            throw ProblemError.notFound(kind?.rawValue ?? "item")
        }
        guard access.role >= needed else { throw Access.refused(access.role, needed: needed) }
        return (try await item(id, owner: access.ownerID, kind: kind), access)
    }

    /// The same inside a transaction (`lock` locks the item's row).
    func accessible(
        _ id: UUID, caller: UUID, kind: Item.Kind? = nil, needed: Access.Role = .viewer, lock: Bool = false, on connection: PostgresConnection
    ) async throws -> (item: Item, access: Access) {
        do {
            return (try await item(id, owner: caller, kind: kind, lock: lock, on: connection), .owner(caller))
        } catch let error as ProblemError where error.status == .notFound {
            guard let access = try await sharedAccess(to: id, caller: caller, on: connection) else { throw error }
            guard access.role >= needed else { throw Access.refused(access.role, needed: needed) }
            return (try await item(id, owner: access.ownerID, kind: kind, lock: lock, on: connection), access)
        }
    }

    /// A folder the caller may add to (their own, or one shared with them as editor): a 422
    /// on `field` when they cannot reach it, 403 when they only view it.
    func writableFolder(
        _ id: UUID, caller: UUID, field: String = "parent_id", on connection: PostgresConnection
    ) async throws -> (
        item: Item, access: Access
    ) {
        do {
            return try await accessible(id, caller: caller, kind: .folder, needed: .editor, on: connection)
        } catch let error as ProblemError where error.status == .notFound {
            throw ProblemError.validation(field: field, "does not name a folder you can add to")
        }
    }

    private func ownItem(_ id: UUID, owner: UUID, kind: Item.Kind?) async throws -> Item? {
        for try await item in try await client.execute(ItemByID(id: id, owner: owner), logger: logger) {
            if let kind, item.kind != kind { return nil }
            return item
        }
        return nil
    }

    /// The same outside a transaction.
    func sharedAccess(to id: UUID, caller: UUID) async throws -> Access? {
        try await client.withConnection { try await sharedAccess(to: id, caller: caller, on: $0) }
    }

    /// The strongest share of `caller` on the item or a folder above it, while the item is
    /// live and its owner active. One statement: the walk up the tree and the share lookup.
    func sharedAccess(to id: UUID, caller: UUID, on connection: PostgresConnection) async throws -> Access? {
        let rows = try await connection.query(
            """
            WITH RECURSIVE up(id, parent_id, depth) AS (
                SELECT id, parent_id, 0 FROM items WHERE id = \(id) AND state = 'ready' AND trashed_at IS NULL
                UNION ALL SELECT i.id, i.parent_id, up.depth + 1 FROM items i JOIN up ON i.id = up.parent_id
            )
            SELECT s.owner_id, s.role, s.item_id FROM up JOIN shares s ON s.item_id = up.id JOIN users u ON u.id = s.owner_id
            WHERE s.recipient_id = \(caller) AND NOT u.disabled
            ORDER BY s.role = 'editor' DESC, up.depth LIMIT 1
            """, logger: logger)
        for try await (owner, role, root) in rows.decode((UUID, String, UUID).self) {
            return Access(ownerID: owner, role: Access.Role(ShareRole(rawValue: role) ?? .viewer), shareRoot: root)
        }
        return nil
    }
}

extension ItemResource {
    /// The item as `access` lets the caller see it: a recipient does not see where the shared
    /// item sits in its owner's drive (its `parent_id` is null, like a root's).
    init(_ item: Item, access: Access) {
        self.init(item)
        if let root = access.shareRoot, root == item.id { parentID = nil }
    }
}
