import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// A user as metadata knows them: tier, root folder and storage use.
struct Account: Sendable, Equatable {
    var userID: UUID
    var rootID: UUID
    var tier: TierRecord
    var usedBytes: Int64
    var reservedBytes: Int64
}

/// Users and tiers, kept from auth's events (`user.*`, `tier.updated`).
struct Accounts: Sendable {
    let client: PostgresClient
    let logger: Logger

    func upsertTier(_ tier: TierPermissions, deleted: Bool = false, on connection: PostgresConnection) async throws {
        let sizes = tier.thumbnailSizes
        try await connection.query(
            """
            INSERT INTO tiers (id, name, thumbnail_sizes, original_links, expiring_links, link_min_seconds, link_max_seconds,
                               quota_bytes, max_upload_bytes, requests_per_minute, deleted, updated_at)
            VALUES (\(tier.id), \(tier.name), \(sizes), \(tier.originalLinks), \(tier.expiringLinks), \(tier.linkMinSeconds),
                    \(tier.linkMaxSeconds), \(tier.quotaBytes), \(tier.maxUploadBytes), \(tier.requestsPerMinute), \(deleted), now())
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, thumbnail_sizes = EXCLUDED.thumbnail_sizes,
              original_links = EXCLUDED.original_links, expiring_links = EXCLUDED.expiring_links,
              link_min_seconds = EXCLUDED.link_min_seconds, link_max_seconds = EXCLUDED.link_max_seconds,
              quota_bytes = EXCLUDED.quota_bytes, max_upload_bytes = EXCLUDED.max_upload_bytes,
              requests_per_minute = EXCLUDED.requests_per_minute, deleted = EXCLUDED.deleted, updated_at = now()
            """, logger: logger)
    }

    /// Tiers from auth's catalogue that metadata does not know yet; the ones it knows are kept
    /// as events left them (a snapshot can be older than an event already applied).
    func addMissingTiers(_ tiers: [TierPermissions]) async throws {
        try await client.transaction(logger: logger) { connection in
            for tier in tiers {
                try await connection.query(
                    """
                    INSERT INTO tiers (id, name, thumbnail_sizes, original_links, expiring_links, link_min_seconds, link_max_seconds,
                                       quota_bytes, max_upload_bytes, requests_per_minute, deleted, updated_at)
                    VALUES (\(tier.id), \(tier.name), \(tier.thumbnailSizes), \(tier.originalLinks), \(tier.expiringLinks), \(tier.linkMinSeconds),
                            \(tier.linkMaxSeconds), \(tier.quotaBytes), \(tier.maxUploadBytes), \(tier.requestsPerMinute), false, now())
                    ON CONFLICT (id) DO NOTHING
                    """, logger: logger)
            }
        }
    }

    /// Whether metadata knows any tier (from a snapshot or from events).
    func knowsTiers() async throws -> Bool {
        for try await _ in try await client.query("SELECT 1 FROM tiers LIMIT 1", logger: logger) { return true }
        return false
    }

    /// Create the user and their root folder unless they exist. Returns true when created.
    @discardableResult
    func ensureUser(_ userID: UUID, tierID: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rootID = UUID()
        let rows = try await connection.query(
            """
            INSERT INTO users (id, tier_id, root_id) SELECT \(userID), \(tierID), \(rootID)
            WHERE NOT EXISTS (SELECT 1 FROM deleted_users WHERE id = \(userID))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger)
        var created = false
        for try await _ in rows { created = true }
        guard created else { return false }
        try await connection.query(
            """
            INSERT INTO items (id, owner_id, parent_id, kind, name, state) VALUES (\(rootID), \(userID), NULL, 'folder', '', 'ready')
            """, logger: logger)
        return true
    }

    func setTier(of userID: UUID, to tierID: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE users SET tier_id = \(tierID) WHERE id = \(userID)", logger: logger)
    }

    /// Disable or enable the user (`user.status_changed`); a disabled user's links stop working.
    func setDisabled(_ userID: UUID, to disabled: Bool, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE users SET disabled = \(disabled) WHERE id = \(userID)", logger: logger)
    }

    /// Remember the user as deleted, so a late event cannot create them again (`ensureUser`).
    func markDeleted(_ userID: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("INSERT INTO deleted_users (id) VALUES (\(userID)) ON CONFLICT DO NOTHING", logger: logger)
    }

    /// Drop every upload reservation the user holds.
    func deleteUploads(of userID: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM uploads WHERE owner_id = \(userID)", logger: logger)
        // Their WebDAV locks too (their dead properties go with their items).
        try await connection.query("DELETE FROM dav_locks WHERE owner_id = \(userID)", logger: logger)
    }

    /// Delete the user's row; the caller purges their items first (`user.deleted`).
    func deleteUser(_ userID: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM users WHERE id = \(userID)", logger: logger)
    }

    /// The caller's account. A user whose `user.registered` has not arrived yet is created from
    /// the token's tier when metadata knows that tier; otherwise the caller is asked to retry.
    func account(for identity: Identity, lock: Bool = false, on connection: PostgresConnection) async throws -> Account {
        if let account = try await find(identity.userID, lock: lock, on: connection) { return account }
        var tierKnown = false
        for try await _ in try await connection.query("SELECT 1 FROM tiers WHERE id = \(identity.tierID)", logger: logger) { tierKnown = true }
        guard tierKnown else {
            throw ProblemError.unavailable("Your account is still being set up; retry in a moment.", retryAfter: 1)
        }
        try await ensureUser(identity.userID, tierID: identity.tierID, on: connection)
        guard let account = try await find(identity.userID, lock: lock, on: connection) else {
            for try await _ in try await connection.query("SELECT 1 FROM deleted_users WHERE id = \(identity.userID)", logger: logger) {
                throw TokenVerifier.unauthorized("This account no longer exists.")
            }
            throw ProblemError.unavailable("Your account is still being set up; retry in a moment.", retryAfter: 1)
        }
        return account
    }

    /// The tier of `owner`'s drive: the caller's own account when it is theirs.
    func tier(of owner: UUID, identity: Identity) async throws -> TierRecord {
        if owner == identity.userID { return try await account(for: identity).tier }
        guard let account = try await client.withConnection({ try await find(owner, on: $0) }) else { throw ProblemError.notFound("file") }
        return account.tier
    }

    func account(for identity: Identity) async throws -> Account {
        try await client.withConnection { try await account(for: identity, on: $0) }
    }

    func find(_ userID: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> Account? {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT u.id, u.root_id, u.used_bytes, u.reserved_bytes, t.id, t.thumbnail_sizes, t.quota_bytes, t.max_upload_bytes,
                           t.original_links, t.expiring_links, t.link_min_seconds, t.link_max_seconds
                    FROM users u JOIN tiers t ON t.id = u.tier_id WHERE u.id = $1 \(lock ? "FOR UPDATE OF u" : "")
                    """, binds: try bindings(userID)), logger: logger)
        for try await (
            userID, rootID, usedBytes, reservedBytes, tierID, thumbnailSizes, quotaBytes, maxUploadBytes,
            originalLinks, expiringLinks, linkMinSeconds, linkMaxSeconds
        )
            in rows.decode((UUID, UUID, Int64, Int64, UUID, [Int], Int64, Int64, Bool, Bool, Int?, Int?).self)
        {
            let tier = TierRecord(
                id: tierID, thumbnailSizes: thumbnailSizes, quotaBytes: quotaBytes, maxUploadBytes: maxUploadBytes,
                originalLinks: originalLinks, expiringLinks: expiringLinks, linkMinSeconds: linkMinSeconds,
                linkMaxSeconds: linkMaxSeconds)
            return Account(userID: userID, rootID: rootID, tier: tier, usedBytes: usedBytes, reservedBytes: reservedBytes)
        }
        return nil
    }
}

func bindings(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
    var binds = PostgresBindings()
    for value in values { try binds.append(value) }
    return binds
}
