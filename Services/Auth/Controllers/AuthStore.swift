import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// SQL for users and tiers (bound parameters only). Everything auth reads or writes lives in
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
        let rows = try await client.query("""
            SELECT \(unescaped: User.columns), password_hash FROM users WHERE username = \(key) OR email = \(key) LIMIT 1
            """, logger: logger)
        for try await row in rows.decode((UUID, String, String, String, UUID, Bool, Date, String).self) {
            return (User(row: (row.0, row.1, row.2, row.3, row.4, row.5, row.6)), row.7)
        }
        return nil
    }

    func tier(id: UUID, on connection: PostgresConnection? = nil) async throws -> Tier? {
        let rows: PostgresRowSequence
        let query: PostgresQuery = "SELECT \(unescaped: Tier.columns) FROM tiers WHERE id = \(id)"
        if let connection { rows = try await connection.query(query, logger: logger) } else { rows = try await client.query(query, logger: logger) }
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
        for try await row in try await client.query("SELECT \(unescaped: Tier.columns) FROM tiers ORDER BY quota_bytes, name", logger: logger).decode(Tier.Row.self) {
            tiers.append(Tier(row: row))
        }
        return tiers
    }

    private func first(on connection: PostgresConnection?, _ query: PostgresQuery) async throws -> User? {
        let rows = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        for try await row in rows.decode(User.Row.self) { return User(row: row) }
        return nil
    }

    /// Emit `payload` through the outbox, inside the caller's transaction.
    func emit<P: EventPayload>(_ payload: P, on connection: PostgresConnection, trace: TraceContext = TraceScope.current) async throws {
        try await Outbox.enqueue(EventEnvelope(producer: "auth", trace: trace, payload: payload), on: connection, logger: logger)
    }
}

