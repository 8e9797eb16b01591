import CirrusServiceKit
import CirrusTestSupport
import Foundation
import Logging
import Testing

/// The verifier remembers tokens it verified, but never past their expiry, and never
/// anything it refused.
@Suite("Token verification cache")
struct TokenCacheTests {
    let logger = Logger(label: "token-cache-tests")

    @Test func aVerifiedTokenIsServedFromMemoryUntilItExpires() async throws {
        let tokens = TestTokens()
        let verifier = tokens.verifier(logger: logger)
        let identity = Identity(userID: UUID(), role: .user, tierID: UUID(), requestsPerMinute: 120)
        let token = try await tokens.token(for: identity, lifetime: .seconds(2))
        #expect(try await verifier.verify(token) == identity)
        #expect(try await verifier.verify(token) == identity)
        try await Task.sleep(for: .milliseconds(2100))
        await #expect(throws: ProblemError.self) { try await verifier.verify(token) }
    }

    @Test func aRefusedTokenStaysRefused() async throws {
        let tokens = TestTokens()
        let verifier = tokens.verifier(logger: logger)
        let good = try await tokens.token(for: Identity(userID: UUID(), role: .user, tierID: UUID()))
        var parts = good.split(separator: ".").map(String.init)
        parts[1] = String(parts[1].dropLast(2)) + (parts[1].hasSuffix("AA") ? "BB" : "AA")
        let forged = parts.joined(separator: ".")
        for _ in 0..<2 { await #expect(throws: ProblemError.self) { try await verifier.verify(forged) } }
        let other = TestTokens()  // same key id, another key: not ours
        let foreign = try await other.token(for: Identity(userID: UUID(), role: .admin, tierID: UUID()))
        for _ in 0..<2 { await #expect(throws: ProblemError.self) { try await verifier.verify(foreign) } }
        _ = try await verifier.verify(good)
    }
}
