import Foundation
import Logging
import PostgresNIO

/// Every PostgreSQL advisory lock Cirrus takes, named in one place so no two uses can share an
/// id by accident. All are transaction-scoped (`pg_advisory_xact_lock`): released at commit
/// or rollback, never leaked by a crashed holder.
public enum AdvisoryLock: Int64, CaseIterable, Sendable {
    /// Migrations at start-up: replicas starting together apply them once (every service).
    case migrations = 7_305_007_011
    /// The outbox relay: one replica publishes a batch at a time (every service with events).
    case outboxRelay = 7_305_007_012
    /// Auth's signing keys: creating the first one and rotating.
    case signingKeys = 7_305_007_020
    /// Auth's administrators: the first one (bootstrap) and never removing the last one.
    case administrators = 7_305_007_021

    /// Waits for the lock; held until the transaction ends.
    public func lock(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(rawValue))", logger: logger)
    }

    /// Takes the lock if it is free; false if another transaction holds it.
    public func tryLock(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await locked in try await connection.query("SELECT pg_try_advisory_xact_lock(\(rawValue))", logger: logger).decode(Bool.self) {
            return locked
        }
        return false
    }
}

/// Locks keyed by a value (one lock per file, say): `hashtextextended(key, namespace)`, so keys
/// of different namespaces do not collide with each other (and cannot hit the fixed ids above
/// more often than any other 64-bit value).
public enum KeyedAdvisoryLock: Int64, Sendable {
    /// Thumbnail: one file's renditions are written by one transaction at a time.
    case thumbnailFile = 7305

    public func lock(_ key: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), \(rawValue)))", logger: logger)
    }
}
