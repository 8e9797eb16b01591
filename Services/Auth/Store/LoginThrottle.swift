import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO

/// Counts failures in the auth database (so all replicas share the counts) and locks what
/// failed too often. Three counters guard a login:
/// - the account *from one client address* (`CIRRUS_AUTH_MAX_FAILED_LOGINS`, 5): then that
///   address is locked out of that account with a backoff (30 s, doubling per further failure,
///   at most the lockout window) — the owner, from anywhere else, still logs in;
/// - the account from everywhere (`CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT`, 100 per
///   window): a distributed guess stays slow, and only a flood locks the owner out;
/// - the client address, whatever the account (`CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS`).
/// The account is the user's id when the login names one, so a username and its e-mail
/// address share their counts. A success clears that (account, address) pair.
///
/// The same table limits registrations (`CIRRUS_AUTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR`)
/// and wrong bootstrap secrets per address: defence in depth behind the gateway's rate limits.
struct LoginThrottle: Sendable {
    let client: PostgresClient
    let settings: AuthSettings
    let logger: Logger

    static func accountKey(_ account: String) -> String { "account:" + account }
    static func pairKey(account: String, address: String) -> String { "pair:" + account + "|" + address }
    static func addressKey(_ address: String) -> String { "address:" + address }
    static func registrationKey(_ address: String) -> String { "register:" + address }
    static func bootstrapKey(_ address: String) -> String { "bootstrap:" + address }

    /// The keys that must not be locked for a login to `account` from `address`.
    static func loginKeys(account: String, address: String) -> [String] {
        [pairKey(account: account, address: address), accountKey(account), addressKey(address)]
    }

    /// Seconds until the first of `keys` unlocks, or nil when none is locked.
    func lockedFor(_ keys: [String]) async throws -> Int? {
        var longest: Int?
        let rows = try await client.query(
            """
            SELECT ceil(extract(epoch FROM (locked_until - now())))::int FROM login_throttle
            WHERE key = ANY(\(keys)) AND locked_until > now()
            """, logger: logger)
        for try await seconds in rows.decode(Int.self) { longest = max(longest ?? 0, max(seconds, 1)) }
        return longest
    }

    func recordFailure(account: String, address: String) async throws {
        let window = Int(settings.lockout.components.seconds)
        try await bump(
            Self.pairKey(account: account, address: address), limit: settings.maxFailuresPerAccount, window: window,
            firstLock: min(window, Int(settings.loginBackoff.components.seconds)))
        try await bump(Self.accountKey(account), limit: settings.maxFailuresPerAccountEverywhere, window: window, firstLock: window)
        try await bump(Self.addressKey(address), limit: settings.maxFailuresPerAddress, window: window, firstLock: window)
    }

    func recordSuccess(account: String, address: String) async throws {
        try await client.query("DELETE FROM login_throttle WHERE key = \(Self.pairKey(account: account, address: address))", logger: logger)
    }

    /// Count one registration from `address`; the one after the hourly limit is locked out.
    func recordRegistration(address: String) async throws {
        try await bump(Self.registrationKey(address), limit: settings.registrationsPerAddressPerHour, window: 3600, firstLock: 3600)
    }

    /// Count a wrong bootstrap secret from `address` (10 per lockout window).
    func recordBootstrapFailure(address: String) async throws {
        let window = Int(settings.lockout.components.seconds)
        try await bump(Self.bootstrapKey(address), limit: 10, window: window, firstLock: window)
    }

    /// One more event for `key` in its window. From the `limit`-th on, the key is locked for
    /// `firstLock` seconds, doubling with each further event, never longer than `window`.
    private func bump(_ key: String, limit: Int, window: Int, firstLock: Int) async throws {
        try await client.query(
            """
            INSERT INTO login_throttle AS t (key, failures, window_started_at, locked_until)
            VALUES (\(key), 1, now(),
                    CASE WHEN 1 >= \(limit) THEN now() + make_interval(secs => LEAST(\(window), \(firstLock))::double precision) END)
            ON CONFLICT (key) DO UPDATE SET
              failures = CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN 1 ELSE t.failures + 1 END,
              window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN now() ELSE t.window_started_at END,
              locked_until = CASE
                WHEN (CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN 1 ELSE t.failures + 1 END) >= \(limit)
                THEN now() + make_interval(secs => LEAST(\(window)::double precision, \(firstLock)::double precision
                  * power(2, LEAST((CASE WHEN t.window_started_at < now() - make_interval(secs => \(window)) THEN 1
                                          ELSE t.failures + 1 END) - \(limit), 30))))
                ELSE t.locked_until END
            """, logger: logger)
    }
}
