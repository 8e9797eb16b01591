import CirrusServiceKit

/// Auth's own configuration keys (the shared ones are in `ServiceConfiguration`).
struct AuthSettings: Sendable {
    /// Lifetime of access tokens (`CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS`, default 15 min).
    var accessTokenTTL: Duration = .seconds(900)
    /// Lifetime of refresh tokens (`CIRRUS_AUTH_REFRESH_TOKEN_TTL_SECONDS`, default 30 days).
    var refreshTokenTTL: Duration = .seconds(30 * 86_400)
    /// bcrypt work factor (`CIRRUS_AUTH_BCRYPT_COST`, default 11; see docs/auth.md).
    var bcryptCost: Int = 11
    /// Secret that allows creating the first admin (`CIRRUS_AUTH_BOOTSTRAP_SECRET`); unset = off.
    var bootstrapSecret: String?
    /// `Secure` attribute on the session cookie (`CIRRUS_AUTH_COOKIE_SECURE`; true behind TLS).
    var secureCookie: Bool = false
    /// Failed logins to one account from one client address before that address is locked out
    /// of it, with backoff (`CIRRUS_AUTH_MAX_FAILED_LOGINS`).
    var maxFailuresPerAccount: Int = 5
    /// Failed logins to one account from everywhere, per window, before the account is locked
    /// for everyone (`CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT`): high, so that only a
    /// distributed flood does it, and such a guess stays slow.
    var maxFailuresPerAccountEverywhere: Int = 100
    /// The first lock of an (account, address) pair; it doubles with every further failure,
    /// up to `lockout` (`CIRRUS_AUTH_LOGIN_BACKOFF_SECONDS`).
    var loginBackoff: Duration = .seconds(30)
    /// Registrations per client address per hour (`CIRRUS_AUTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR`),
    /// behind the gateway's per-minute limit on the account routes.
    var registrationsPerAddressPerHour: Int = 60
    /// Failed logins per client address before it is locked (`CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS`).
    var maxFailuresPerAddress: Int = 20
    /// How long failures are counted, and how long a lock lasts (`CIRRUS_AUTH_LOCKOUT_SECONDS`).
    var lockout: Duration = .seconds(900)
    /// WebDAV clients may sign in with the account's own password as well as app passwords
    /// (`CIRRUS_AUTH_DAV_ACCOUNT_PASSWORD`, off: such a client stores the password that
    /// controls the whole account, and bcrypt runs on every request).
    var davAccountPassword: Bool = false

    init() {}

    init(reader: ConfigReader) throws {
        accessTokenTTL = try reader.seconds("CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS", default: accessTokenTTL, range: 30...86_400)
        refreshTokenTTL = try reader.seconds("CIRRUS_AUTH_REFRESH_TOKEN_TTL_SECONDS", default: refreshTokenTTL, range: 300...31_536_000)
        bcryptCost = try reader.int("CIRRUS_AUTH_BCRYPT_COST", default: bcryptCost, range: 4...16)
        bootstrapSecret = try reader.secret("CIRRUS_AUTH_BOOTSTRAP_SECRET", minLength: 16)
        secureCookie = try reader.bool("CIRRUS_AUTH_COOKIE_SECURE", default: secureCookie)
        maxFailuresPerAccount = try reader.int("CIRRUS_AUTH_MAX_FAILED_LOGINS", default: maxFailuresPerAccount, range: 1...1000)
        maxFailuresPerAccountEverywhere = try reader.int(
            "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT", default: maxFailuresPerAccountEverywhere,
            range: 1...1_000_000)
        loginBackoff = try reader.seconds("CIRRUS_AUTH_LOGIN_BACKOFF_SECONDS", default: loginBackoff, range: 1...86_400)
        registrationsPerAddressPerHour = try reader.int(
            "CIRRUS_AUTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR", default: registrationsPerAddressPerHour,
            range: 1...1_000_000)
        maxFailuresPerAddress = try reader.int("CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS", default: maxFailuresPerAddress, range: 1...100_000)
        lockout = try reader.seconds("CIRRUS_AUTH_LOCKOUT_SECONDS", default: lockout, range: 1...86_400)
        davAccountPassword = try reader.bool("CIRRUS_AUTH_DAV_ACCOUNT_PASSWORD", default: davAccountPassword)
    }
}
