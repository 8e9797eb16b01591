import CirrusServiceKit
import Crypto
import Foundation
import JWTKit
import Logging

/// An Ed25519 signing key standing in for auth's: tokens for any identity, and a verifier
/// that trusts exactly this key (the services' own `TokenVerifier`, fed this JWKS).
public struct TestTokens: Sendable {
    public let kid = "test-key"
    private let key = Curve25519.Signing.PrivateKey()

    public init() {}

    public var jwks: String {
        let x = Base64URL.encode(key.publicKey.rawRepresentation)
        return #"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"\#(kid)","x":"\#(x)"}]}"#
    }

    public func verifier(logger: Logger) -> TokenVerifier {
        let jwks = self.jwks
        return TokenVerifier(logger: logger) { jwks }
    }

    public func token(for identity: Identity, lifetime: Duration = .seconds(900)) async throws -> String {
        let collection = JWTKeyCollection()
        await collection.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        return try await collection.sign(AccessClaims(identity: identity, issuedAt: Date(), lifetime: lifetime), kid: JWKIdentifier(string: kid))
    }
}
