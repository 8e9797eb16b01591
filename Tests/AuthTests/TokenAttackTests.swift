import CirrusServiceKit
import CirrusTestSupport
import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import JWTKit
import PostgresNIO
import Testing

@testable import Auth

/// Forged, tampered and out-of-window tokens are refused.
@Suite("Auth token attacks", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct TokenAttackTests {
    static func b64(_ data: Data) -> String { Base64URL.encode(data) }
    static func b64(_ json: [String: Any]) throws -> String { b64(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) }

    static func decodeSegment(_ segment: Substring) throws -> [String: Any] {
        let data = try #require(Base64URL.decode(segment))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A registered user's valid token, split into its three parts.
    static func validToken(_ client: some TestClientProtocol) async throws -> (token: String, header: [String: Any], payload: [String: Any]) {
        try await client.register("mallory")
        let token = try await client.login("mallory").access
        let parts = token.split(separator: ".")
        #expect(parts.count == 3)
        return (token, try decodeSegment(parts[0]), try decodeSegment(parts[1]))
    }

    func expectRefused(_ client: some TestClientProtocol, _ token: String, _ what: Comment) async throws {
        let response = try await client.send(.get, "/v1/me", token: token)
        #expect(response.status == .unauthorized, what)
    }

    @Test func theValidTokenWorksAndCarriesAKeyID() async throws {
        try await AuthHarness.run { _, client in
            let (token, header, payload) = try await Self.validToken(client)
            #expect(header["alg"] as? String == "EdDSA")
            #expect(header["kid"] as? String != nil)
            #expect(payload["iss"] as? String == "cirrus-auth")
            #expect(payload["role"] as? String == "user")
            #expect(try await client.send(.get, "/v1/me", token: token).status == .ok)
        }
    }

    @Test func algNoneIsRefused() async throws {
        try await AuthHarness.run { _, client in
            let (_, header, payload) = try await Self.validToken(client)
            var none = header
            none["alg"] = "none"
            try await expectRefused(client, "\(try Self.b64(none)).\(try Self.b64(payload)).", "alg none, empty signature")
            try await expectRefused(client, "\(try Self.b64(none)).\(try Self.b64(payload))", "alg none, two segments")
        }
    }

    @Test func aTamperedPayloadIsRefused() async throws {
        try await AuthHarness.run { _, client in
            let (token, _, payload) = try await Self.validToken(client)
            var promoted = payload
            promoted["role"] = "admin"
            let parts = token.split(separator: ".")
            try await expectRefused(client, "\(parts[0]).\(try Self.b64(promoted)).\(parts[2])", "role changed to admin")
            var signature = Array(parts[2])
            signature[5] = signature[5] == "A" ? "B" : "A"
            try await expectRefused(client, "\(parts[0]).\(parts[1]).\(String(signature))", "bit-flipped signature")
        }
    }

    @Test func aTokenSignedWithAnotherKeyIsRefusedEvenWithTheRightKeyID() async throws {
        try await AuthHarness.run { _, client in
            let (_, header, payload) = try await Self.validToken(client)
            let attacker = Curve25519.Signing.PrivateKey()
            let input = "\(try Self.b64(header)).\(try Self.b64(payload))"
            let signature = try attacker.signature(for: Data(input.utf8))
            try await expectRefused(client, "\(input).\(Self.b64(signature))", "foreign Ed25519 key, real kid")
        }
    }

    @Test func hmacWithThePublicKeyAsSecretIsRefused() async throws {
        try await AuthHarness.run { harness, client in
            let (_, header, payload) = try await Self.validToken(client)
            let jwks = try await harness.app.keys.jwks()
            var hs = header
            hs["alg"] = "HS256"
            let input = "\(try Self.b64(hs)).\(try Self.b64(payload))"
            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(jwks.keys[0].x.utf8)))
            try await expectRefused(client, "\(input).\(Self.b64(Data(mac)))", "algorithm confusion")
        }
    }

    @Test func expiredAndNotYetValidTokensAreRefused() async throws {
        try await AuthHarness.run { harness, client in
            try await client.register("tim")
            let body = try await client.send(.get, "/v1/auth/jwks")
            #expect(body.status == .ok)
            let user = try #require(try await harness.app.store.credentials(login: "tim")?.0)
            let expired = AccessClaims(identity: user.identity, issuedAt: Date().addingTimeInterval(-3600), lifetime: .seconds(900))
            try await expectRefused(client, try await harness.app.keys.sign(expired), "expired an hour ago... minus the lifetime")
            var future = AccessClaims(identity: user.identity, issuedAt: Date(), lifetime: .seconds(900))
            future.notBefore = NotBeforeClaim(value: Date().addingTimeInterval(600))
            try await expectRefused(client, try await harness.app.keys.sign(future), "not valid for another 10 minutes")
            var foreignAudience = AccessClaims(identity: user.identity, issuedAt: Date(), lifetime: .seconds(900))
            foreignAudience.audience = AudienceClaim(value: ["someone-else"])
            try await expectRefused(client, try await harness.app.keys.sign(foreignAudience), "wrong audience")
            let fine = AccessClaims(identity: user.identity, issuedAt: Date(), lifetime: .seconds(900))
            #expect(try await client.send(.get, "/v1/me", token: try await harness.app.keys.sign(fine)).status == .ok)
        }
    }

    @Test func garbageIsRefusedNotCrashed() async throws {
        try await AuthHarness.run { _, client in
            for token in ["", "a", "a.b.c", "....", String(repeating: "x", count: 5000), "Bearer"] {
                try await expectRefused(client, token, "garbage \(token.prefix(10))")
            }
            let response = try await client.send(.get, "/v1/me", headers: [.authorization: "Basic dXNlcjpwYXNz"])
            #expect(response.status == .unauthorized)
        }
    }

    @Test func rotatedKeysKeepOldTokensValidUntilRetired() async throws {
        try await AuthHarness.run { harness, client in
            let (old, oldHeader, _) = try await Self.validToken(client)
            let newKid = try await harness.app.keys.rotate()
            #expect(newKid != oldHeader["kid"] as? String)
            let keys = try #require(try await client.send(.get, "/v1/auth/jwks").object()["keys"] as? [[String: Any]])
            #expect(Set(keys.compactMap { $0["kid"] as? String }) == [newKid, try #require(oldHeader["kid"] as? String)])
            #expect(try await client.send(.get, "/v1/me", token: old).status == .ok)
            // A token with the new key id makes the verifier fetch the JWKS again (at most once a second).
            try await Task.sleep(for: .milliseconds(1100))
            let fresh = try await client.login("mallory").access
            #expect(try Self.decodeSegment(fresh.split(separator: ".")[0])["kid"] as? String == newKid)
            #expect(try await client.send(.get, "/v1/me", token: fresh).status == .ok)
            // Once retired, the old key's tokens stop working.
            try await harness.client.query(
                "UPDATE signing_keys SET retired_at = now() - interval '1 second' WHERE kid <> \(newKid)", logger: TestDatabase.logger)
            try await harness.app.verifier.refresh()
            #expect(try await client.send(.get, "/v1/me", token: old).status == .unauthorized)
        }
    }
}
