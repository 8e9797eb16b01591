import CirrusServiceKit
import Crypto
import Foundation
import JWTKit
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Ed25519 signing keys, kept in the auth database so every auth replica signs with the same
/// key and publishes the same JWKS. The newest unretired key signs; older ones stay in the
/// JWKS (and keep verifying) until they are retired, which rotation schedules one access-token
/// lifetime later so no issued token is cut short.
final class SigningKeys: Sendable {
    struct Key: Sendable {
        var kid: String
        var privateKey: Curve25519.Signing.PrivateKey
        var createdAt: Date
    }

    private let client: PostgresClient
    private let logger: Logger
    private let accessTokenTTL: Duration
    private let cache = NIOLockedValueBox<(keys: [Key], loaded: ContinuousClock.Instant)?>(nil)

    init(client: PostgresClient, accessTokenTTL: Duration, logger: Logger) {
        self.client = client
        self.accessTokenTTL = accessTokenTTL
        self.logger = logger
    }

    /// Create the first key if there is none (under a lock, so replicas agree).
    func ensureKey() async throws {
        try await client.transaction(logger: logger) { connection in
            try await AdvisoryLock.signingKeys.lock(on: connection, logger: logger)
            var count = 0
            for try await n in try await connection.query("SELECT count(*)::int FROM signing_keys WHERE retired_at IS NULL", logger: logger).decode(
                Int.self)
            { count = n }
            if count == 0 { try await Self.insertNewKey(on: connection, logger: logger) }
        }
        _ = try await reload()
    }

    /// Make a new signing key active; the current ones retire after one access-token lifetime.
    @discardableResult
    func rotate() async throws -> String {
        let ttl = Int(accessTokenTTL.components.seconds)
        let kid = try await client.transaction(logger: logger) { connection in
            try await AdvisoryLock.signingKeys.lock(on: connection, logger: logger)
            try await connection.query(
                "UPDATE signing_keys SET retired_at = now() + make_interval(secs => \(ttl)) WHERE retired_at IS NULL", logger: logger)
            return try await Self.insertNewKey(on: connection, logger: logger)
        }
        _ = try await reload()
        logger.notice("signing key rotated", metadata: ["kid": "\(kid)"])
        return kid
    }

    @discardableResult
    private static func insertNewKey(on connection: PostgresConnection, logger: Logger) async throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        let kid = UUID().uuidString.lowercased()
        let encoded = key.rawRepresentation.base64EncodedString()
        try await connection.query("INSERT INTO signing_keys (kid, private_key) VALUES (\(kid), \(encoded))", logger: logger)
        return kid
    }

    /// Keys still valid for verification, newest first (cached for 30 s unless `reload`;
    /// rotation here reloads at once, rotation by another replica within 30 s).
    func keys(reload: Bool = false) async throws -> [Key] {
        if !reload, let cached = cache.withLockedValue({ $0 }), ContinuousClock.now - cached.loaded < .seconds(30) { return cached.keys }
        return try await self.reload()
    }

    private func reload() async throws -> [Key] {
        var keys: [Key] = []
        let rows = try await client.query(
            """
            SELECT kid, private_key, created_at FROM signing_keys
            WHERE retired_at IS NULL OR retired_at > now() ORDER BY created_at DESC, kid
            """, logger: logger)
        for try await (kid, encoded, createdAt) in rows.decode((String, String, Date).self) {
            guard let raw = Data(base64Encoded: encoded) else { continue }
            keys.append(Key(kid: kid, privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: raw), createdAt: createdAt))
        }
        cache.withLockedValue { $0 = (keys, .now) }
        return keys
    }

    /// Sign `claims` with the active key.
    func sign(_ claims: AccessClaims) async throws -> String {
        guard let active = try await keys().first else { throw ProblemError.unavailable("No signing key is available.") }
        let collection = JWTKeyCollection()
        await collection.add(eddsa: EdDSA.PrivateKey(backing: active.privateKey), kid: JWKIdentifier(string: active.kid))
        return try await collection.sign(claims, kid: JWKIdentifier(string: active.kid))
    }

    /// The public keys as a JWKS document (RFC 7517; Ed25519 keys as OKP, RFC 8037).
    func jwks(reload: Bool = false) async throws -> JWKSDocument {
        JWKSDocument(
            keys: try await keys(reload: reload).map { key in
                JWKSDocument.Key(kid: key.kid, x: Base64URL.encode(key.privateKey.publicKey.rawRepresentation))
            })
    }
}

struct JWKSDocument: Encodable, Sendable {
    struct Key: Encodable, Sendable {
        var kty = "OKP"
        var crv = "Ed25519"
        var alg = "EdDSA"
        var use = "sig"
        var kid: String
        var x: String
    }

    var keys: [Key]
}
