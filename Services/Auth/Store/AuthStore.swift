import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Every SQL statement of auth but the signing keys' and the login throttle's (beside this
/// file): users, tiers, refresh tokens, the outbox. Bound parameters only. Everything auth reads or writes lives in
/// its own database; no other service touches it.
struct AuthStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    func user(id: UUID, on connection: PostgresConnection? = nil) async throws -> User? {
        try await first(on: connection, "SELECT \(unescaped: User.columns) FROM users WHERE id = \(id)")
    }

    /// Login by username or e-mail (both stored lower case).
    func credentials(login: String) async throws -> (User, String)? {
        let key = login.lowercased()
        let rows = try await client.query(
            """
            SELECT \(unescaped: User.columns), password_hash FROM users WHERE username = \(key) OR email = \(key) LIMIT 1
            """, logger: logger)
        for try await (id, username, email, role, tierID, disabled, createdAt, hash) in rows.decode(
            (UUID, String, String, String, UUID, Bool, Date, String).self)
        {
            return (User(row: (id, username, email, role, tierID, disabled, createdAt)), hash)
        }
        return nil
    }

    func tier(id: UUID, on connection: PostgresConnection? = nil) async throws -> Tier? {
        let rows = try await query("SELECT \(unescaped: Tier.columns) FROM tiers WHERE id = \(id)", on: connection)
        for try await row in rows.decode(Tier.Row.self) { return Tier(row: row) }
        return nil
    }

    func defaultTier(on connection: PostgresConnection) async throws -> Tier {
        let rows = try await connection.query("SELECT \(unescaped: Tier.columns) FROM tiers WHERE is_default", logger: logger)
        for try await row in rows.decode(Tier.Row.self) { return Tier(row: row) }
        throw ProblemError.unavailable("No default tier is configured.")
    }

    func tiers() async throws -> [Tier] {
        var tiers: [Tier] = []
        for try await row in try await client.query("SELECT \(unescaped: Tier.columns) FROM tiers ORDER BY quota_bytes, name", logger: logger).decode(
            Tier.Row.self)
        {
            tiers.append(Tier(row: row))
        }
        return tiers
    }

    // MARK: - Users

    /// Whether any administrator exists (bootstrap's check, under `AdvisoryLock.administrators`).
    func adminExists(on connection: PostgresConnection) async throws -> Bool {
        for try await _ in try await connection.query("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1", logger: logger) { return true }
        return false
    }

    func insertUser(
        id: UUID, username: String, email: String, passwordHash: String, role: Role, tierID: UUID, on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO users (id, username, email, password_hash, role, tier_id)
            VALUES (\(id), \(username), \(email), \(passwordHash), \(role.rawValue), \(tierID))
            """, logger: logger)
    }

    /// A page of users by username, filtered by tier and role, after `after` (a username); one
    /// more than `limit` when there is a next page.
    func users(tierID: UUID?, role: String?, after: String?, limit: Int) async throws -> [User] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: User.columns) FROM users
            WHERE (\(tierID)::uuid IS NULL OR tier_id = \(tierID)) AND (\(role)::text IS NULL OR role = \(role))
              AND (\(after)::text IS NULL OR username > \(after))
            ORDER BY username LIMIT \(limit + 1)
            """, logger: logger)
        var users: [User] = []
        for try await row in rows.decode(User.Row.self) { users.append(User(row: row)) }
        return users
    }

    /// Writes the user's tier, role and status.
    func update(_ user: User, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE users SET tier_id = \(user.tierID), role = \(user.role.rawValue), disabled = \(user.disabled), updated_at = now()
            WHERE id = \(user.id)
            """, logger: logger)
    }

    func deleteUser(id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM users WHERE id = \(id)", logger: logger)
    }

    /// Whether user `id` is an active admin and no other active admin exists.
    func isLastActiveAdmin(_ id: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT count(*) FILTER (WHERE id = \(id))::int, count(*) FILTER (WHERE id <> \(id))::int
            FROM users WHERE role = 'admin' AND NOT disabled
            """, logger: logger)
        for try await (isActiveAdmin, others) in rows.decode((Int, Int).self) { return isActiveAdmin > 0 && others == 0 }
        return false
    }

    // MARK: - Tiers

    func insertTier(_ tier: TierPermissions, on connection: PostgresConnection) async throws {
        let row = TierColumns(tier)
        try await connection.query(
            """
            INSERT INTO tiers (id, name, thumbnail_sizes, original_links, expiring_links, link_min_seconds, link_max_seconds,
                               quota_bytes, max_upload_bytes, requests_per_minute)
            VALUES (\(tier.id), \(tier.name), \(row.sizes), \(tier.originalLinks), \(tier.expiringLinks), \(row.minSeconds), \(row.maxSeconds),
                    \(tier.quotaBytes), \(tier.maxUploadBytes), \(row.rate))
            """, logger: logger)
    }

    func updateTier(_ tier: TierPermissions, on connection: PostgresConnection) async throws {
        let row = TierColumns(tier)
        try await connection.query(
            """
            UPDATE tiers SET name = \(tier.name), thumbnail_sizes = \(row.sizes), original_links = \(tier.originalLinks),
              expiring_links = \(tier.expiringLinks), link_min_seconds = \(row.minSeconds), link_max_seconds = \(row.maxSeconds),
              quota_bytes = \(tier.quotaBytes), max_upload_bytes = \(tier.maxUploadBytes), requests_per_minute = \(row.rate),
              updated_at = now()
            WHERE id = \(tier.id)
            """, logger: logger)
    }

    /// A tier's columns in their SQL types.
    private struct TierColumns {
        var sizes: [Int32]
        var minSeconds: Int32?
        var maxSeconds: Int32?
        var rate: Int32

        init(_ tier: TierPermissions) {
            sizes = tier.thumbnailSizes.map(Int32.init)
            minSeconds = tier.linkMinSeconds.map(Int32.init)
            maxSeconds = tier.linkMaxSeconds.map(Int32.init)
            rate = Int32(tier.requestsPerMinute)
        }
    }

    func usersOnTier(_ id: UUID, on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.query("SELECT count(*)::int FROM users WHERE tier_id = \(id)", logger: logger).decode(Int.self) {
            return count
        }
        return 0
    }

    func deleteTier(id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM tiers WHERE id = \(id)", logger: logger)
    }

    // MARK: - Refresh tokens

    /// A refresh token as refresh sees it (its row locked until the transaction ends).
    struct RefreshTokenState {
        var id: UUID
        var familyID: UUID
        var used: Bool
        var revoked: Bool
        var expired: Bool
        var userID: UUID
    }

    func insertRefreshToken(userID: UUID, family: UUID, hash: ByteBuffer, lifetimeSeconds: Int, on connection: PostgresConnection?) async throws {
        _ = try await query(
            """
            INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
            VALUES (\(UUID()), \(userID), \(family), \(hash), now() + make_interval(secs => \(lifetimeSeconds)))
            """, on: connection)
    }

    func lockRefreshToken(hash: ByteBuffer, on connection: PostgresConnection) async throws -> RefreshTokenState? {
        let rows = try await connection.query(
            """
            SELECT t.id, t.family_id, t.used_at IS NOT NULL, t.revoked_at IS NOT NULL, t.expires_at < now(), t.user_id
            FROM refresh_tokens t WHERE t.token_hash = \(hash) FOR UPDATE
            """, logger: logger)
        for try await (id, family, used, revoked, expired, userID) in rows.decode((UUID, UUID, Bool, Bool, Bool, UUID).self) {
            return RefreshTokenState(id: id, familyID: family, used: used, revoked: revoked, expired: expired, userID: userID)
        }
        return nil
    }

    func markRefreshTokenUsed(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE refresh_tokens SET used_at = now() WHERE id = \(id)", logger: logger)
    }

    /// Ends a session: every token of the family is revoked.
    func revokeFamily(_ family: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = \(family) AND revoked_at IS NULL", logger: logger)
    }

    /// Logout: the session the token belongs to ends (nothing happens for an unknown token).
    func revokeFamily(ofTokenHash hash: ByteBuffer) async throws {
        try await client.query(
            """
            UPDATE refresh_tokens SET revoked_at = now()
            WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = \(hash)) AND revoked_at IS NULL
            """, logger: logger)
    }

    /// Every session of the user ends (the user was disabled).
    func revokeTokens(ofUser id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL", logger: logger)
    }

    // MARK: -

    private func first(on connection: PostgresConnection?, _ query: PostgresQuery) async throws -> User? {
        for try await row in try await self.query(query, on: connection).decode(User.Row.self) { return User(row: row) }
        return nil
    }

    /// `query` inside the caller's transaction when it passes its connection, else on the pool.
    private func query(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> PostgresRowSequence {
        if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
    }

    /// Emit `payload` through the outbox, inside the caller's transaction.
    func emit<P: EventPayload>(_ payload: P, on connection: PostgresConnection, trace: TraceContext = TraceScope.current) async throws {
        try await Outbox.enqueue(EventEnvelope(producer: "auth", trace: trace, payload: payload), on: connection, logger: logger)
    }
}
