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

    /// The app password of `userID` that `password` is, or nil; its last use is recorded (at
    /// most once a minute, so a busy client does not write a row per request).
    func match(_ password: String, userID: UUID) async throws -> Record? {
        let rows = try await client.query(
            """
            WITH found AS (
                SELECT id FROM app_passwords WHERE password_hash = \(Self.hash(password)) AND user_id = \(userID)
            ), touched AS (
                UPDATE app_passwords SET last_used_at = now()
                WHERE id IN (SELECT id FROM found) AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
            )
            SELECT id, name, read_only, created_at, last_used_at FROM app_passwords WHERE id IN (SELECT id FROM found)
            """, logger: logger)
        for try await row in rows.decode((UUID, String, Bool, Date, Date?).self) { return Record(row) }
        return nil
    }
}

extension AppPasswords.Record {
    init(_ row: (UUID, String, Bool, Date, Date?)) {
        let (id, name, readOnly, createdAt, lastUsedAt) = row
        self.init(id: id, name: name, readOnly: readOnly, createdAt: createdAt, lastUsedAt: lastUsedAt)
    }
}
