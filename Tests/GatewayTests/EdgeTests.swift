import CirrusServiceKit
import Foundation
import Synchronization
import Testing

@testable import Gateway

/// The gateway's edge pieces on their own: token buckets, route labels, link signatures.
@Suite("Gateway edge")
struct EdgeTests {
    final class FakeClock: Sendable {
        let seconds = Mutex<Double>(1000)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        var now: Double { seconds.withLock { $0 } }
    }

    @Test func aBucketAllowsABurstOfItsLimitThenRefillsAtTheRate() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now })
        for index in 0..<60 {
            let decision = limiter.take("user:a", perMinute: 60)
            #expect(decision.allowed && decision.remaining == 59 - index)
        }
        let refused = limiter.take("user:a", perMinute: 60)
        #expect(!refused.allowed && refused.remaining == 0 && refused.retryAfter == 1 && refused.reset == 60)
        #expect(limiter.take("user:b", perMinute: 60).allowed, "buckets are per caller")
        clock.advance(1)  // one token back (60 per minute)
        #expect(limiter.take("user:a", perMinute: 60).allowed)
        #expect(!limiter.take("user:a", perMinute: 60).allowed)
        clock.advance(30)
        let half = limiter.take("user:a", perMinute: 60)
        #expect(half.allowed && half.remaining == 29)
    }

    @Test func aSlowLimitTellsHowLongToWait() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now })
        #expect(limiter.take("account:1.2.3.4", perMinute: 1).allowed)
        let refused = limiter.take("account:1.2.3.4", perMinute: 1)
        #expect(!refused.allowed && refused.retryAfter == 60)
        clock.advance(59)
        #expect(!limiter.take("account:1.2.3.4", perMinute: 1).allowed)
        clock.advance(1.5)
        #expect(limiter.take("account:1.2.3.4", perMinute: 1).allowed)
    }

    @Test func refilledBucketsAreForgottenSoMemoryFollowsActiveCallers() {
        let clock = FakeClock()
        let limiter = RateLimiter(sweepThreshold: 100, clock: { clock.now })
        for index in 0..<150 { _ = limiter.take("user:\(index)", perMinute: 600) }
        #expect(limiter.trackedCallers == 150)
        clock.advance(61)
        _ = limiter.take("user:new", perMinute: 600)
        #expect(limiter.trackedCallers == 1)
    }

    @Test func aTierChangeResizesTheBucket() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now })
        for _ in 0..<10 { _ = limiter.take("user:a", perMinute: 10) }
        #expect(!limiter.take("user:a", perMinute: 10).allowed)
        // Empty stays empty under the new size; the new rate applies at once.
        #expect(!limiter.take("user:a", perMinute: 1200).allowed)
        clock.advance(1)
        #expect(limiter.take("user:a", perMinute: 1200).allowed)
    }

    @Test func routeLabelsHideIdsAndTokens() {
        let id = UUID().uuidString
        #expect(routeLabel("/v1/files/\(id)/content") == "/v1/files/{id}/content")
        #expect(routeLabel("/v1/files/\(id.lowercased())/thumbnails/200") == "/v1/files/{id}/thumbnails/{size}")
        #expect(routeLabel("/v1/links/abc.def.ghi") == "/v1/links/{token}")
        #expect(routeLabel("/v1/folders/root") == "/v1/folders/root")
        #expect(routeLabel("/v1/trash/\(id)/restore") == "/v1/trash/{id}/restore")
        #expect(routeLabel("/nonsense/" + String(repeating: "x", count: 100)) == "/nonsense/{value}")
    }

    @Test func linksVerifyUnderTheCurrentAndThePreviousSecretOnly() throws {
        let old = "old-deployment-secret-0123456789abcdefgh"
        let new = "new-deployment-secret-0123456789abcdefgh"
        let link = LinkToken(fileID: UUID(), version: 1, variant: .thumbnail, size: 200, expiresAt: Int64(Date().timeIntervalSince1970) + 60)
        let signedBefore = LinkSigner(secrets: [old]).sign(link)
        let rotated = LinkSigner(secrets: [new, old])
        #expect(try rotated.verify(signedBefore) == link)
        #expect(try rotated.verify(rotated.sign(link)) == link)
        #expect(throws: LinkSigner.Failure.invalid) { try LinkSigner(secrets: [new]).verify(signedBefore) }
        // Links and internal grants never share a key.
        let grant = InternalGrantSigner(secrets: [new]).sign(InternalGrant(purpose: .read, ownerID: UUID(), blobID: "x"))
        #expect(throws: LinkSigner.Failure.invalid) { try rotated.verify(grant) }
        #expect(throws: LinkSigner.Failure.expired(link)) { try rotated.verify(rotated.sign(link), now: Date().addingTimeInterval(61)) }
        // Any changed byte fails, in any part.
        let token = rotated.sign(link)
        for index in token.indices where token[index] != "." {
            var bytes = Array(token)
            let position = token.distance(from: token.startIndex, to: index)
            // A character whose high bits differ too (the last one of a base64 text carries padding bits).
            bytes[position] = "ABCD".contains(bytes[position]) ? "w" : "A"
            #expect(throws: LinkSigner.Failure.invalid) { try rotated.verify(String(bytes)) }
        }
    }
    @Test func pathsAreMadeCanonicalOrRefused() {
        #expect(CanonicalPath.check("/v1/auth/register") == .canonical)
        #expect(CanonicalPath.check("/") == .canonical)
        #expect(CanonicalPath.check("/v1/auth/register/") == .rewrite("/v1/auth/register"))
        #expect(CanonicalPath.check("//v1/auth/register") == .rewrite("/v1/auth/register"))
        #expect(CanonicalPath.check("/v1/auth//register?x=1//") == .rewrite("/v1/auth/register?x=1//"))
        #expect(CanonicalPath.check("//") == .rewrite("/"))
        for refused in [
            "/v1/auth/./register", "/v1/auth/../auth/register", "/v1/auth/%2e%2E/auth/register", "/v1/auth/.%2E",
            "/v1/auth%2Fregister", "/v1/auth%5cregister", "/v1/files/a%00b", "/v1\\auth", "v1/auth/register", "*",
        ] {
            guard case .refuse = CanonicalPath.check(refused) else {
                Issue.record("\(refused) was not refused")
                continue
            }
        }
        // A percent sign that hides nothing is left to the routes (a name, an id).
        #expect(CanonicalPath.check("/v1/files/%41bc") == .canonical)
        #expect(CanonicalPath.check("/v1/links/a.b.c") == .canonical)
    }

    @Test func cookieWritesNeedJSONOrTheSameOrigin() throws {
        let csrf = CookieCSRFMiddleware(publicURL: "https://drive.example.com:443", corsOrigins: ["https://app.example.com", "*"])
        #expect(csrf.ownOrigin == "https://drive.example.com")
        #expect(csrf.isAllowed(origin: "https://drive.example.com"))
        #expect(csrf.isAllowed(origin: "https://DRIVE.example.com:443"))
        #expect(csrf.isAllowed(origin: "https://app.example.com"))
        #expect(!csrf.isAllowed(origin: "https://evil.example"))
        #expect(!csrf.isAllowed(origin: "null"))
        #expect(CookieCSRFMiddleware.isJSON("application/json; charset=utf-8"))
        #expect(CookieCSRFMiddleware.isJSON("application/merge-patch+json"))
        #expect(!CookieCSRFMiddleware.isJSON("text/plain"))
        #expect(!CookieCSRFMiddleware.isJSON(nil))
        #expect(!CookieCSRFMiddleware.isJSON("multipart/form-data; boundary=x"))
    }

    @Test func aFormChecksumMustBeASHA256() {
        #expect(FileTransfer.isSHA256(String(repeating: "aF09", count: 16)))
        #expect(!FileTransfer.isSHA256(String(repeating: "a", count: 63)))
        #expect(!FileTransfer.isSHA256(String(repeating: "g", count: 64)))
        #expect(!FileTransfer.isSHA256(":\u{AD}\u{1B}\\U\u{0C}"))
    }

    @Test func logsNeverHoldLinkTokens() {
        #expect(LogSafePath.label("/internal/links/abc.def.ghi") == "/internal/links/{token}")
        #expect(LogSafePath.label("/v1/links/abc.def.ghi?download=1") == "/v1/links/{token}")
        #expect(LogSafePath.label("/v1/files/\(UUID().uuidString)/links") == "/v1/files/{id}/links")
    }
}
