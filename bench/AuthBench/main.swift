// Auth micro-benchmarks on one thread: password verification (bcrypt, at several costs)
// and access-token verification through the same TokenVerifier every service uses.
// Run with bench/auth.sh, which builds in release mode and pins the process to one core.
import CirrusServiceKit
import Crypto
import Foundation
import HummingbirdBcrypt
import JWTKit
import Logging

@main
struct AuthBench {
    static func main() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "3") ?? 3
        print("| measure | per second (one core) | per operation |")
        print("|---|---|---|")
        for cost in [10, 11, 12] {
            let hash = Bcrypt.hash("Correct-horse-9", cost: UInt8(cost))
            let (rate, perOp) = measure(seconds: seconds) { _ = Bcrypt.verify("Correct-horse-9", hash: hash) }
            print(String(format: "| bcrypt verify, cost %d (= logins) | %.1f | %.1f ms |", cost, rate, perOp * 1000))
        }

        let key = Curve25519.Signing.PrivateKey()
        let kid = "bench-key"
        let x = Base64URL.encode(key.publicKey.rawRepresentation)
        let jwks = #"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"\#(kid)","x":"\#(x)"}]}"#
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let verifier = TokenVerifier(logger: logger) { jwks }
        try await verifier.refresh()
        let signer = JWTKeyCollection()
        await signer.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        let identity = Identity(userID: UUID(), role: .user, tierID: UUID())
        let token = try await signer.sign(
            AccessClaims(identity: identity, issuedAt: Date(), lifetime: .seconds(900)), kid: JWKIdentifier(string: kid))

        let (verifyRate, verifyPerOp) = try await measureAsync(seconds: seconds) {
            let verified = try await verifier.verify(token)
            precondition(verified == identity)
        }
        print(
            String(
                format: "| access-token verification (TokenVerifier; the same token again, so its cache answers after the first) | %.0f | %.1f µs |",
                verifyRate, verifyPerOp * 1e6))
        let (signRate, signPerOp) = try await measureAsync(seconds: seconds) {
            _ = try await signer.sign(AccessClaims(identity: identity, issuedAt: Date(), lifetime: .seconds(900)), kid: JWKIdentifier(string: kid))
        }
        print(String(format: "| access-token signing (EdDSA) | %.0f | %.1f µs |", signRate, signPerOp * 1e6))
    }

    static func measure(seconds: Double, _ body: () -> Void) -> (Double, Double) {
        body()  // warm up
        let start = Date()
        var count = 0
        while Date().timeIntervalSince(start) < seconds {
            body()
            count += 1
        }
        let elapsed = Date().timeIntervalSince(start)
        return (Double(count) / elapsed, elapsed / Double(count))
    }

    static func measureAsync(seconds: Double, _ body: @Sendable () async throws -> Void) async throws -> (Double, Double) {
        try await body()
        let start = Date()
        var count = 0
        while Date().timeIntervalSince(start) < seconds {
            try await body()
            count += 1
        }
        let elapsed = Date().timeIntervalSince(start)
        return (Double(count) / elapsed, elapsed / Double(count))
    }
}
