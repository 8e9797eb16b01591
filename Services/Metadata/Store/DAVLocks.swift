import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import PostgresNIO

/// WebDAV write locks (RFC 4918 6–7): on paths of one user's drive, exclusive or shared, depth
/// 0 or infinity, with a timeout. Metadata keeps them; the gateway's WebDAV endpoint asks which
/// locks bear on a request and refuses writes whose `If` header does not submit their tokens.
/// Expired locks are dropped whenever the owner's locks are read.
struct DAVLocks: Sendable {
    let client: PostgresClient
    let accounts: Accounts
    let logger: Logger

    /// Longest lock: a client that wants more refreshes.
    static let maxTimeout = 86_400
    static let columns = "token, path, depth_infinity, exclusive, lock_owner, timeout_seconds, expires_at"

    /// `/a/b` → `["/", "/a"]`: the folders above it.
    static func ancestors(of path: String) -> [String] {
        let segments = path.split(separator: "/")
        return (0..<segments.count).map { "/" + segments.prefix($0).joined(separator: "/") }
    }

    static func descendantPrefix(of path: String) -> String { path == "/" ? "/" : path + "/" }

    /// Does `lock` apply to the resource at `path` (its root, or a folder above with depth infinity)?
    static func covers(_ lock: DAVLock, _ path: String) -> Bool {
        lock.path == path || (lock.depthInfinity && ancestors(of: path).contains(lock.path))
    }

    /// The locks on `path`, on the folders above it with depth infinity, and below it.
    func relevant(owner: UUID, path: String, on connection: PostgresConnection? = nil) async throws -> [DAVLock] {
        let sql: PostgresQuery = """
            WITH expired AS (DELETE FROM dav_locks WHERE owner_id = \(owner) AND expires_at < now())
            SELECT \(unescaped: Self.columns) FROM dav_locks
            WHERE owner_id = \(owner) AND expires_at >= now()
              AND (path = \(path) OR (depth_infinity AND path = ANY(\(Self.ancestors(of: path)))) OR starts_with(path, \(Self.descendantPrefix(of: path))))
            ORDER BY path, token
            """
        let rows: PostgresRowSequence
        if let connection { rows = try await connection.query(sql, logger: logger) } else { rows = try await client.query(sql, logger: logger) }
        return try await Self.decode(rows)
    }

    /// Rows of `columns` as locks.
    static func decode(_ rows: PostgresRowSequence) async throws -> [DAVLock] {
        var locks: [DAVLock] = []
        for try await (token, path, infinity, exclusive, owner, timeout, expires) in rows.decode((String, String, Bool, Bool, String, Int, Date).self)
        {
            locks.append(
                DAVLock(
                    token: token, path: path, depthInfinity: infinity, exclusive: exclusive, owner: owner, timeoutSeconds: timeout,
                    expiresAt: expires))
        }
        return locks
    }

    static func locked(_ detail: String) -> ProblemError {
        ProblemError(
            HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), type: "https://cirrus.dev/problems/locked", title: "Locked", detail: detail)
    }

    func create(_ identity: Identity, _ request: LockRequest) async throws -> DAVLock {
        let timeout = min(max(request.timeoutSeconds, 1), Self.maxTimeout)
        guard request.owner.utf8.count <= 16 * 1024 else { throw ProblemError.validation(field: "owner", "must be at most 16 KiB") }
        return try await client.transaction(logger: logger) { connection in
            // One lock decision at a time per user.
            _ = try await accounts.account(for: identity, lock: true, on: connection)
            for existing in try await relevant(owner: identity.userID, path: request.path, on: connection) {
                let conflicts =
                    Self.covers(existing, request.path)
                    ? existing.exclusive || request.exclusive
                    : request.depthInfinity && (existing.exclusive || request.exclusive)
                if conflicts { throw Self.locked("The resource is locked by another lock.") }
            }
            let token = "opaquelocktoken:" + UUID().uuidString.lowercased()
            let rows = try await connection.query(
                """
                INSERT INTO dav_locks (token, owner_id, path, depth_infinity, exclusive, lock_owner, timeout_seconds, expires_at)
                VALUES (\(token), \(identity.userID), \(request.path), \(request.depthInfinity), \(request.exclusive), \(request.owner), \(timeout),
                        now() + make_interval(secs => \(timeout)::double precision))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let lock = try await Self.decode(rows).first else { throw ProblemError.unavailable("The lock could not be stored.") }
            return lock
        }
    }

    /// A new timeout for the lock `token`, which must apply to `path`; 412 otherwise.
    func refresh(_ identity: Identity, _ request: LockRefresh) async throws -> DAVLock {
        let timeout = min(max(request.timeoutSeconds, 1), Self.maxTimeout)
        guard let lock = try await relevant(owner: identity.userID, path: request.path).first(where: { $0.token == request.token }),
            Self.covers(lock, request.path)
        else {
            throw ProblemError(.preconditionFailed, detail: "No such lock applies to this resource.")
        }
        let rows = try await client.query(
            """
            UPDATE dav_locks SET timeout_seconds = \(timeout), expires_at = now() + make_interval(secs => \(timeout)::double precision)
            WHERE token = \(lock.token) AND owner_id = \(identity.userID) RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let refreshed = try await Self.decode(rows).first else {
            throw ProblemError(.preconditionFailed, detail: "No such lock applies to this resource.")
        }
        return refreshed
    }

    /// UNLOCK: the lock `token` must apply to `path` (409 otherwise, RFC 4918 9.11.1).
    func unlock(_ identity: Identity, token: String, path: String) async throws {
        guard let lock = try await relevant(owner: identity.userID, path: path).first(where: { $0.token == token }), Self.covers(lock, path) else {
            throw ProblemError(
                .conflict, type: "https://cirrus.dev/problems/lock-token-matches-request-uri", title: "Not this resource's lock",
                detail: "The lock token does not name a lock of this resource.")
        }
        try await client.query("DELETE FROM dav_locks WHERE token = \(token) AND owner_id = \(identity.userID)", logger: logger)
    }

    /// The resource at `path` is gone (deleted or moved away): its locks, and those below it, end.
    func forget(_ identity: Identity, path: String) async throws {
        try await client.query(
            """
            DELETE FROM dav_locks WHERE owner_id = \(identity.userID) AND (path = \(path) OR starts_with(path, \(Self.descendantPrefix(of: path))))
            """, logger: logger)
    }
}
