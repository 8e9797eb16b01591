import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import NIOHTTP1
import PostgresNIO

/// Who a username or e-mail names: auth owns names, metadata asks it (the caller's token
/// goes along). The tests give a directory of their own.
struct UserDirectory: Sendable {
    let lookup: @Sendable (_ name: String, _ token: String) async throws -> UserLookup?

    static func remote(_ auth: InternalClient) -> UserDirectory {
        UserDirectory { name, token in
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~@")
            let query = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
            let reply = try await auth.send(.GET, "/internal/users/lookup?user=" + query, as: .bearer(token))
            if reply.status == 404 { return nil }
            guard let found = try reply.decode(UserLookup.self) else { throw ProblemError.unavailable("The auth service is unavailable.") }
            return found
        }
    }
}

/// One share as the API shows it: the shared item, its owner, its recipient and the role.
struct ShareResource: Encodable, Sendable {
    var id: UUID
    var item: ItemResource
    var owner: UserName
    var recipient: UserName
    var role: ShareRole
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, item, owner, recipient, role
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

struct SharePage: Encodable, Sendable {
    var items: [ShareResource]
    var nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }
}

/// Shares of files and folders with other users (docs/sharing.md). Only the owner shares,
/// changes a role or revokes; a recipient may leave. Every change is announced
/// (`share.created`, `share.updated`, `share.revoked`) through the outbox, in its transaction.
struct Shares: Sendable {
    let drive: Drive
    let directory: UserDirectory
    var client: PostgresClient { drive.client }
    var logger: Logger { drive.logger }

    /// Recipients per item.
    static let maxPerItem = 200

    static let columns = """
        s.id, s.owner_id, s.owner_name, s.recipient_id, s.recipient_name, s.role, s.created_at, s.updated_at, \(Item.columns.split(separator: ",").map { "i." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
        """

    static func resource(_ row: PostgresRow, asRecipient: Bool) throws -> ShareResource {
        let r = row.makeRandomAccess()
        let id = try r[0].decode(UUID.self)
        let owner = UserName(id: try r[1].decode(UUID.self), username: try r[2].decode(String.self))
        let recipient = UserName(id: try r[3].decode(UUID.self), username: try r[4].decode(String.self))
        let role = ShareRole(rawValue: try r[5].decode(String.self)) ?? .viewer
        let createdAt = try r[6].decode(Date.self)
        let updatedAt = try r[7].decode(Date.self)
        let item = try Item(row: row, from: 8)
        var resource = ItemResource(item)
        if asRecipient { resource.parentID = nil }
        return ShareResource(
            id: id, item: resource, owner: owner, recipient: recipient, role: role, createdAt: createdAt, updatedAt: updatedAt)
    }

    struct Input: Decodable {
        var user: String?
        var role: String?
    }

    static func role(_ raw: String?, required: Bool) throws -> ShareRole? {
        guard let raw else {
            if required { throw ProblemError.validation(field: "role", "is required: viewer or editor") }
            return nil
        }
        guard let role = ShareRole(rawValue: raw) else { throw ProblemError.validation(field: "role", "must be viewer or editor") }
        return role
    }

    /// Share item `id` with `input.user`. A second share with the same user changes its role
    /// (200); a new one is 201.
    func share(
        _ identity: Identity, token: String, itemID: UUID, kind: Item.Kind, input: Input, trace: TraceContext
    ) async throws -> (ShareResource, created: Bool) {
        var errors: [FieldError] = []
        let name = input.user?.trimmingCharacters(in: .whitespaces) ?? ""
        if input.user == nil {
            errors.append(FieldError(field: "user", message: "is required: a username or e-mail address"))
        } else if name.isEmpty || name.utf8.count > 254 || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            errors.append(FieldError(field: "user", message: "must be a username or e-mail address (1-254 bytes)"))
        }
        var role = ShareRole.viewer
        if let raw = input.role {
            if let parsed = ShareRole(rawValue: raw) {
                role = parsed
            } else {
                errors.append(FieldError(field: "role", message: "must be viewer or editor"))
            }
        }
        if !errors.isEmpty { throw ProblemError.validation(errors) }
        let (item, _) = try await drive.accessible(itemID, caller: identity.userID, kind: kind, needed: .owner)
        let account = try await drive.accounts.account(for: identity)
        if item.id == account.rootID { throw ProblemError(.conflict, detail: "Your root folder cannot be shared; share a folder in it.") }
        guard let found = try await directory.lookup(name, token) else {
            throw ProblemError.validation(field: "user", "names no active user")
        }
        if found.user.id == identity.userID { throw ProblemError.validation(field: "user", "is you: share with someone else") }
        let outcome: (UUID, Bool) = try await client.transaction(logger: logger) { connection in
            // The owner's account row first (as every change of a share, see `locked`), then the
            // item's, which serialises the shares of one item (the cap holds under races).
            _ = try await drive.accounts.find(identity.userID, lock: true, on: connection)
            _ = try await drive.item(itemID, owner: identity.userID, kind: kind, lock: true, on: connection)
            var existing: (id: UUID, role: ShareRole)?
            var count = 0
            for try await (id, recipient, current) in try await connection.query(
                "SELECT id, recipient_id, role FROM shares WHERE item_id = \(itemID)", logger: logger
            ).decode((UUID, UUID, String).self) {
                count += 1
                if recipient == found.user.id { existing = (id, ShareRole(rawValue: current) ?? .viewer) }
            }
            if let existing {
                if existing.role != role {
                    try await connection.query(
                        "UPDATE shares SET role = \(role.rawValue), updated_at = now() WHERE id = \(existing.id)", logger: logger)
                    let event = ShareUpdated(
                        shareID: existing.id, itemID: itemID, ownerID: identity.userID, recipientID: found.user.id, role: role,
                        previousRole: existing.role)
                    try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
                    if role == .viewer { try await drive.releaseLostUploads(creator: found.user.id, owner: identity.userID, on: connection) }
                }
                return (existing.id, false)
            }
            guard count < Self.maxPerItem else {
                throw ProblemError.conflict("This item is shared with \(Self.maxPerItem) people already, the most there may be.")
            }
            let id = UUID()
            try await connection.query(
                """
                INSERT INTO shares (id, item_id, owner_id, owner_name, recipient_id, recipient_name, role)
                VALUES (\(id), \(itemID), \(identity.userID), \(found.caller.username), \(found.user.id), \(found.user.username), \(role.rawValue))
                """, logger: logger)
            let event = ShareCreated(
                shareID: id, itemID: itemID, itemKind: kind.rawValue, ownerID: identity.userID, recipientID: found.user.id, role: role)
            try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
            return (id, true)
        }
        return (try await share(outcome.0, caller: identity.userID), outcome.1)
    }

    /// One share, seen by its owner or its recipient.
    func share(_ id: UUID, caller: UUID) async throws -> ShareResource {
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM shares s JOIN items i ON i.id = s.item_id
                    WHERE s.id = $1 AND (s.owner_id = $2 OR s.recipient_id = $2)
                    """, binds: try bindings(id, caller)), logger: logger)
        for try await row in rows {
            let resource = try Self.resource(row, asRecipient: row.makeRandomAccess()[3].decodeUUID() == caller)
            return resource
        }
        throw ProblemError.notFound("share")
    }

    /// The shares of the caller's item `id` (only its owner sees them).
    func shares(of itemID: UUID, kind: Item.Kind, caller: UUID) async throws -> [ShareResource] {
        _ = try await drive.accessible(itemID, caller: caller, kind: kind, needed: .owner)
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM shares s JOIN items i ON i.id = s.item_id
                    WHERE s.item_id = $1 AND s.owner_id = $2 ORDER BY s.created_at, s.id
                    """, binds: try bindings(itemID, caller)), logger: logger)
        var result: [ShareResource] = []
        for try await row in rows { result.append(try Self.resource(row, asRecipient: false)) }
        return result
    }

    /// The owner changes the role.
    func update(_ identity: Identity, shareID: UUID, role rawRole: String?, trace: TraceContext) async throws -> ShareResource {
        guard let role = try Self.role(rawRole, required: true) else { throw ProblemError.validation(field: "role", "is required") }
        try await client.transaction(logger: logger) { connection in
            let row = try await locked(shareID, caller: identity.userID, on: connection)
            guard row.owner == identity.userID else { throw Access.refused(Access.Role(row.role), needed: .owner) }
            guard row.role != role else { return }
            try await connection.query("UPDATE shares SET role = \(role.rawValue), updated_at = now() WHERE id = \(shareID)", logger: logger)
            let event = ShareUpdated(
                shareID: shareID, itemID: row.item, ownerID: row.owner, recipientID: row.recipient, role: role, previousRole: row.role)
            try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
            if role == .viewer { try await drive.releaseLostUploads(creator: row.recipient, owner: row.owner, on: connection) }
        }
        return try await share(shareID, caller: identity.userID)
    }

    /// The owner revokes, or the recipient leaves.
    func delete(_ identity: Identity, shareID: UUID, trace: TraceContext) async throws {
        try await client.transaction(logger: logger) { connection in
            let row = try await locked(shareID, caller: identity.userID, on: connection)
            try await Self.revoke(
                connection.query("DELETE FROM shares WHERE id = \(shareID) RETURNING id, item_id, owner_id, recipient_id", logger: logger),
                reason: row.owner == identity.userID ? .revoked : .left, trace: trace, on: connection, logger: logger)
            try await drive.releaseLostUploads(creator: row.recipient, owner: row.owner, on: connection)
        }
    }

    /// Share `id` of the caller (as owner or recipient), locked after its owner's account row:
    /// the lock every writer in the owner's drive takes first, so a write that checks access
    /// under it sees this change, and this change waits for a write already under way.
    private func locked(
        _ id: UUID, caller: UUID, on connection: PostgresConnection
    ) async throws -> (
        item: UUID, owner: UUID, recipient: UUID, role: ShareRole
    ) {
        var owner: UUID?
        for try await found in try await connection.query(
            "SELECT owner_id FROM shares WHERE id = \(id) AND (owner_id = \(caller) OR recipient_id = \(caller))", logger: logger
        ).decode(UUID.self) { owner = found }
        guard let owner else { throw ProblemError.notFound("share") }
        _ = try await drive.accounts.find(owner, lock: true, on: connection)
        for try await (item, owner, recipient, role) in try await connection.query(
            """
            SELECT item_id, owner_id, recipient_id, role FROM shares WHERE id = \(id) AND (owner_id = \(caller) OR recipient_id = \(caller))
            FOR UPDATE
            """, logger: logger
        ).decode((UUID, UUID, UUID, String).self) { return (item, owner, recipient, ShareRole(rawValue: role) ?? .viewer) }
        throw ProblemError.notFound("share")
    }

    /// What others shared with the caller, newest first, while the item is live and its owner active.
    func sharedWith(_ identity: Identity, limit: Int, cursor: ListQuery.Cursor?) async throws -> SharePage {
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns), to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
                    FROM shares s JOIN items i ON i.id = s.item_id JOIN users u ON u.id = s.owner_id
                    WHERE s.recipient_id = $1 AND i.trashed_at IS NULL AND i.state = 'ready' AND NOT u.disabled
                      AND ($2 OR (s.created_at, s.id) < (($3 || 'Z')::timestamptz, $4))
                    ORDER BY s.created_at DESC, s.id DESC LIMIT \(limit + 1)
                    """, binds: try bindings(identity.userID, cursor == nil, cursor?.key ?? "9999-12-31T00:00:00", cursor?.id ?? UUID())),
            logger: logger)
        var items: [ShareResource] = []
        var lastKey: String?
        var more = false
        for try await row in rows {
            if items.count == limit {
                more = true
                break
            }
            items.append(try Self.resource(row, asRecipient: true))
            let r = row.makeRandomAccess()
            lastKey = try r[r.count - 1].decode(String.self)
        }
        var next: String?
        if more, let lastKey, let last = items.last { next = ListQuery.Cursor(key: lastKey, id: last.id, fingerprint: "shared").token }
        return SharePage(items: items, nextCursor: next)
    }

    /// Announce the shares a `DELETE … RETURNING id, item_id, owner_id, recipient_id` removed.
    static func revoke(
        _ rows: PostgresRowSequence, reason: ShareRevoked.Reason, trace: TraceContext, on connection: PostgresConnection, logger: Logger
    ) async throws {
        var gone: [ShareRevoked] = []
        for try await (id, item, owner, recipient) in rows.decode((UUID, UUID, UUID, UUID).self) {
            gone.append(ShareRevoked(shareID: id, itemID: item, ownerID: owner, recipientID: recipient, reason: reason))
        }
        for event in gone {
            try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
        }
    }
}

extension PostgresCell {
    func decodeUUID() -> UUID? { try? decode(UUID.self) }
}
