import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Verifies access tokens locally against auth's public keys (JWKS), so every service
/// checks identity itself: a request that bypasses the gateway gains nothing. Keys are
/// cached; an unknown key id triggers one refresh (at most once a second), which is how a
/// rotated key becomes known.
public final class TokenVerifier: Sendable {
    /// Name of the HttpOnly cookie browsers carry the access token in.
    public static let cookieName = "cirrus_access"
    /// Its name over HTTPS (`CIRRUS_AUTH_COOKIE_SECURE`): browsers keep a `__Host-` cookie only
    /// if it is `Secure`, for `Path=/` and without `Domain`, so no other host can set it.
    public static let secureCookieName = "__Host-cirrus_access"
    /// Both names; the `__Host-` one wins when a request carries both.
    public static let cookieNames: Set<String> = [secureCookieName, cookieName]

    private struct KeySet {
        var collection = JWTKeyCollection()
        var kids: Set<String> = []
        var loaded: ContinuousClock.Instant?
    }

    private let state = NIOLockedValueBox(KeySet())
    /// Tokens verified already, until they expire: a signature is checked once per token,
    /// not once per request (EdDSA verification is ~135 µs; a lookup is well under 1 µs).
    private let verified = NIOLockedValueBox([String: (identity: Identity, expires: Date, kid: String)]())
    /// Bound on remembered tokens (one per active session; about 1 KiB each).
    static let cacheLimit = 10_000
    private let loadKeys: @Sendable () async throws -> String
    private let logger: Logger

    /// - Parameter loadKeys: returns the JWKS JSON document.
    public init(logger: Logger, loadKeys: @escaping @Sendable () async throws -> String) {
        self.loadKeys = loadKeys
        self.logger = logger
    }

    /// Fetch the JWKS from auth's `GET /v1/auth/jwks`.
    public static func remote(auth: InternalClient, logger: Logger) -> TokenVerifier {
        TokenVerifier(logger: logger) {
            let reply = try await auth.send(.GET, "/v1/auth/jwks", timeout: .seconds(5))
            guard reply.status == 200 else { throw JWKSUnavailable() }
            return String(buffer: reply.body)
        }
    }

    struct JWKSUnavailable: Error {}

    struct JWKSKeyIDs: Decodable {
        struct Key: Decodable { var kid: String? }
        var keys: [Key]
    }

    /// Reload the key set now.
    public func refresh() async throws {
        let json = try await loadKeys()
        let collection = JWTKeyCollection()
        try await collection.add(jwksJSON: json)
        let kids = Set(try JSONDecoder().decode(JWKSKeyIDs.self, from: Data(json.utf8)).keys.compactMap(\.kid))
        state.withLockedValue { $0 = KeySet(collection: collection, kids: kids, loaded: .now) }
        // A key that left the set (retired) takes its tokens' remembered verifications along.
        verified.withLockedValue { cache in cache = cache.filter { kids.contains($0.value.kid) } }
    }

    /// The identity proven by `token`, or a 401 problem.
    public func verify(_ token: String) async throws -> Identity {
        let now = Date()
        if let hit = verified.withLockedValue({ $0[token] }), hit.expires > now { return hit.identity }
        let (identity, expires, kid) = try await verifySignature(token)
        verified.withLockedValue { cache in
            if cache.count >= Self.cacheLimit {
                cache = cache.filter { $0.value.expires > now }
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            }
            cache[token] = (identity, expires, kid)
        }
        return identity
    }

    private func verifySignature(_ token: String) async throws -> (Identity, Date, String) {
        // Our tokens always name their key. An unknown key id may have rotated in since we
        // last looked: fetch the JWKS again (at most once a second), then verify. The check is
        // ours because jwt-kit would quietly try a default key instead.
        guard let kid = Self.keyID(of: token) else { throw Self.unauthorized("The access token is invalid or expired.") }
        let (known, loaded) = state.withLockedValue { ($0.kids.contains(kid), $0.loaded) }
        if !known, loaded.map({ ContinuousClock.now - $0 > .seconds(1) }) ?? true {
            do { try await refresh() } catch { logger.warning("JWKS refresh failed", metadata: ["error": "\(error)"]) }
        }
        let (collection, nowKnown) = state.withLockedValue { ($0.collection, $0.kids.contains(kid)) }
        guard nowKnown else { throw Self.unauthorized("The access token is invalid or expired.") }
        do {
            let claims = try await collection.verify(token, as: AccessClaims.self)
            guard let identity = claims.identity else { throw Self.unauthorized("The access token is malformed.") }
            return (identity, claims.expiration.value, kid)
        } catch let error as ProblemError {
            throw error
        } catch {
            logger.debug("access token refused", metadata: ["reason": "\(error)"])
            throw Self.unauthorized("The access token is invalid or expired.")
        }
    }

    /// The `kid` of a compact JWS header, without trusting anything else in it.
    static func keyID(of token: String) -> String? {
        guard token.utf8.count < 8192, let headerPart = token.split(separator: ".", omittingEmptySubsequences: false).first else { return nil }
        guard let data = Base64URL.decode(headerPart),
            let header = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return header["kid"] as? String
    }

    /// The identity of the request's caller, from `Authorization: Bearer` or the cookie.
    public func authenticate(_ request: Request) async throws -> Identity {
        guard let token = Self.token(from: request) else {
            throw Self.unauthorized("Authentication is required.")
        }
        let identity = try await verify(token)
        // A read-only token (a read-only app password's) reads and nothing else, in every
        // service: the data's owner refuses the write, not only the edge.
        if identity.readOnly, request.method != .get, request.method != .head {
            throw Self.readOnlyRefusal
        }
        return identity
    }

    public static let readOnlyRefusal = ProblemError(
        .forbidden, type: "https://cirrus.dev/problems/read-only", title: "Read-only credentials",
        detail: "These credentials may only read: they were issued for a read-only app password.")

    public static func token(from request: Request) -> String? {
        if let header = request.headers[.authorization] { return bearerToken(in: header) }
        var plain: Substring?
        for cookieHeader in request.headers[values: .cookie] {
            for pair in cookieHeader.split(separator: ";") {
                guard let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let name = trimmingBlanks(pair[..<equals])
                let value = pair[pair.index(after: equals)...]
                if value.isEmpty { continue }
                if name == secureCookieName { return String(value) }
                if name == cookieName, plain == nil { plain = value }
            }
        }
        return plain.map(String.init)
    }

    /// The token of `Bearer <token>` (the scheme in any case, blanks around the token
    /// dropped), or nil for any other scheme. Byte-wise: this runs on every request.
    static func bearerToken(in header: String) -> String? {
        let utf8 = header.utf8
        guard let space = utf8.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let scheme = utf8[..<space]
        guard scheme.count == 6, zip(scheme, "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        let token = trimmingBlanks(header[header.index(after: space)...])
        return token.isEmpty ? nil : String(token)
    }

    /// `text` without the spaces and tabs around it.
    static func trimmingBlanks(_ text: Substring) -> Substring {
        let utf8 = text.utf8
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !isBlank($0) }), let last = utf8.lastIndex(where: { !isBlank($0) }) else {
            return text[text.endIndex...]
        }
        return text[first..<utf8.index(after: last)]
    }

    public static func unauthorized(_ detail: String) -> ProblemError {
        ProblemError(.unauthorized, detail: detail, headers: [.wwwAuthenticate: "Bearer"])
    }
}
