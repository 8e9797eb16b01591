import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// Counts failed logins per account and per client address in the auth database (so all
/// replicas share the counts). After too many failures within the window the key is locked
/// for the window's length; a success clears the account's count.
struct LoginThrottle: Sendable {
    let client: PostgresClient
    let settings: AuthSettings
    let logger: Logger

    static func accountKey(_ login: String) -> String { "account:" + login.lowercased() }
    static func addressKey(_ address: String) -> String { "address:" + address }

    /// Seconds until the first of `keys` unlocks, or nil when none is locked.
    func lockedFor(_ keys: [String]) async throws -> Int? {
        var longest: Int?
        let rows = try await client.query("""
            SELECT ceil(extract(epoch FROM (locked_until - now())))::int FROM login_throttle
            WHERE key = ANY(\(keys)) AND locked_until > now()
            """, logger: logger)
        for try await seconds in rows.decode(Int.self) { longest = max(longest ?? 0, max(seconds, 1)) }
        return longest
    }

    func recordFailure(account: String, address: String) async throws {
        try await bump(Self.accountKey(account), limit: settings.maxFailuresPerAccount)
        try await bump(Self.addressKey(address), limit: settings.maxFailuresPerAddress)
    }

    func recordSuccess(account: String) async throws {
        try await client.query("DELETE FROM login_throttle WHERE key = \(Self.accountKey(account))", logger: logger)
    }

    private func bump(_ key: String, limit: Int) async throws {
        let window = Int(settings.lockout.components.seconds)
        try await client.query("""
            INSERT INTO login_throttle AS t (key, failures, window_started_at, locked_until)
            VALUES (\(key), 1, now(), CASE WHEN 1 >= \(limit) THEN now() + make_interval(secs => \(window)) END)
            ON CONFLICT (key) DO UPDATE SET
              failures = CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN 1 ELSE t.failures + 1 END,
              window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN now() ELSE t.window_started_at END,
              locked_until = CASE
                WHEN (CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN 1 ELSE t.failures + 1 END) >= \(limit)
                THEN now() + make_interval(secs => \(window)) ELSE t.locked_until END
            """, logger: logger)
    }
}
