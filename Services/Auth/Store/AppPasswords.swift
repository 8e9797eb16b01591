import CirrusServiceKit
import Crypto
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// App passwords: named passwords a user creates for WebDAV clients. Each is 125 random bits,
/// shown once and stored only as its SHA-256 (a slow hash protects guessable passwords; these
/// are not guessable, and a fast hash lets every WebDAV request be checked against the table,
/// so revocation takes effect on the next request).
struct AppPasswords: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// At most this many per user.
    static let maxPerUser = 100

    struct Record: Sendable, Equatable {
        var id: UUID
        var name: String
        var readOnly: Bool
        var createdAt: Date
        var lastUsedAt: Date?
    }

    /// Five groups of five from a 32-letter alphabet without look-alikes (`abcd-…`): 125 bits,
    /// easy to type into a file manager's dialog.
    static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var text: [UInt8] = []
        for group in 0..<5 {
            if group > 0 { text.append(UInt8(ascii: "-")) }
            for _ in 0..<5 { text.append(alphabet[Int(generator.next(upperBound: UInt8(alphabet.count)))]) }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// True when `text` has the shape of an app password (so a login password is never hashed
    /// into a lookup of this table).
    static func looksLikeAppPassword(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 29 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index % 6 == 5 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard alphabet.contains(byte | 0x20) else { return false }
            }
        }
        return true
    }

    static func hash(_ password: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(password.lowercased().utf8)))
    }

    func create(userID: UUID, name: String, readOnly: Bool) async throws -> (Record, String) {
        let password = Self.generate()
        let id = UUID()
        return try await client.transaction(logger: logger) { connection in
            // One creation at a time per user, so the cap holds.
            try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
            var count = 0
            for try await n in try await connection.query("SELECT count(*)::int FROM app_passwords WHERE user_id = \(userID)", logger: logger)
                .decode(Int.self)
            { count = n }
            guard count < Self.maxPerUser else {
                throw ProblemError.conflict("You have \(Self.maxPerUser) app passwords, the most there can be: revoke one first.")
            }
            let rows = try await connection.query(
                """
                INSERT INTO app_passwords (id, user_id, name, password_hash, read_only) VALUES
                  (\(id), \(userID), \(name), \(Self.hash(password)), \(readOnly))
                RETURNING id, name, read_only, created_at, last_used_at
                """, logger: logger)
            for try await row in rows.decode((UUID, String, Bool, Date, Date?).self) { return (Record(row), password) }
            throw ProblemError.unavailable("The app password could not be stored.")
        }
    }

    func list(userID: UUID) async throws -> [Record] {
        let rows = try await client.query(
            """
            SELECT id, name, read_only, created_at, last_used_at FROM app_passwords WHERE user_id = \(userID) ORDER BY created_at, id
            """, logger: logger)
        var records: [Record] = []
        for try await row in rows.decode((UUID, String, Bool, Date, Date?).self) { records.append(Record(row)) }
        return records
    }

    /// Revoke: true when the user had it.
    func delete(id: UUID, userID: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM app_passwords WHERE id = \(id) AND user_id = \(userID) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// What one WebDAV request's check needs, in one round trip: the user `login` names (by
    /// username or e-mail), their password hash, their tier's rate, and the app password of
    /// theirs that `password` is (nil when none is, or `password` does not look like one).
    struct Candidate: Sendable {
        var user: User
        var passwordHash: String
        var requestsPerMinute: Int?
        var appPassword: (id: UUID, readOnly: Bool, stale: Bool)?
    }

    func candidate(login: String, password: String) async throws -> Candidate? {
        let key = login.lowercased()
        // A login password is never hashed into a lookup of this table.
        let hash = Self.looksLikeAppPassword(password) ? Self.hash(password) : ByteBuffer()
        let rows = try await client.query(
            """
            SELECT u.id, u.username, u.email, u.role, u.tier_id, u.disabled, u.created_at, u.password_hash, t.requests_per_minute,
                   a.id, a.read_only, (a.last_used_at IS NULL OR a.last_used_at < now() - interval '60 seconds')
            FROM users u LEFT JOIN tiers t ON t.id = u.tier_id
            LEFT JOIN app_passwords a ON a.user_id = u.id AND a.password_hash = \(hash)
            WHERE u.username = \(key) OR u.email = \(key) LIMIT 1
            """, logger: logger)
        for try await row in rows {
            let r = row.makeRandomAccess()
            let user = User(
                row: (
                    try r[0].decode(UUID.self), try r[1].decode(String.self), try r[2].decode(String.self), try r[3].decode(String.self),
                    try r[4].decode(UUID.self), try r[5].decode(Bool.self), try r[6].decode(Date.self)
                ))
            var app: (UUID, Bool, Bool)?
            if let id = try r[9].decode(UUID?.self) { app = (id, try r[10].decode(Bool.self), try r[11].decode(Bool.self)) }
            return Candidate(
                user: user, passwordHash: try r[7].decode(String.self), requestsPerMinute: try r[8].decode(Int?.self), appPassword: app)
        }
        return nil
    }

    /// Record a use (the caller asks at most once a minute per app password).
    func touch(_ id: UUID) async throws {
        try await client.query("UPDATE app_passwords SET last_used_at = now() WHERE id = \(id)", logger: logger)
    }
}

extension AppPasswords.Record {
    init(_ row: (UUID, String, Bool, Date, Date?)) {
        let (id, name, readOnly, createdAt, lastUsedAt) = row
        self.init(id: id, name: name, readOnly: readOnly, createdAt: createdAt, lastUsedAt: lastUsedAt)
    }
}
