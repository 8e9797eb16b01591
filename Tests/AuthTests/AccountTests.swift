import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

@testable import Auth

@Suite("Auth accounts", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct AccountTests {
    @Test func registrationNamesEveryBadField() async throws {
        try await AuthHarness.run { _, client in
            var response = try await client.send(.post, "/v1/auth/register", json: [:])
            #expect(response.status == .unprocessableContent)
            #expect(try response.fields() == ["username", "email", "password"])

            response = try await client.send(.post, "/v1/auth/register", json: ["username": "Ab", "email": "nope", "password": "short"])
            #expect(try response.fields() == ["username", "email", "password"])

            for username in ["ab", String(repeating: "a", count: 33), "UPPER", "with space", "semi;colon", "ünï"] {
                response = try await client.send(
                    .post, "/v1/auth/register", json: ["username": username, "email": "a@b.co", "password": AuthHarness.password])
                #expect(try response.fields() == ["username"], "\(username)")
            }
            for email in ["plain", "a@b", "@b.co", "a b@c.de", "a@-b.co", "a@b..co"] {
                response = try await client.send(
                    .post, "/v1/auth/register", json: ["username": "valid_1", "email": email, "password": AuthHarness.password])
                #expect(try response.fields() == ["email"], "\(email)")
            }
            for password in ["aaaaaaaaaaaa", "1234567890123", "Short1!", String(repeating: "Ab1", count: 25)] {
                response = try await client.send(.post, "/v1/auth/register", json: ["username": "valid_1", "email": "v@b.co", "password": password])
                #expect(try response.fields() == ["password"], "\(password)")
            }
            response = try await client.send(.post, "/v1/auth/register", json: ["username": 5, "email": "v@b.co", "password": AuthHarness.password])
            #expect(try response.fields() == ["username"])
            response = try await client.execute(
                uri: "/v1/auth/register", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{not json"))
            #expect(response.status == .badRequest)
        }
    }

    @Test func registerThenLoginByNameOrEmailAndReadMe() async throws {
        try await AuthHarness.run { _, client in
            let created = try await client.register("ada.l", email: "Ada@Example.com")
            #expect(created["username"] as? String == "ada.l")
            #expect(created["email"] as? String == "ada@example.com")
            #expect(created["role"] as? String == "user")
            #expect(created["password_hash"] == nil)
            let tier = try #require(created["tier"] as? [String: Any])
            #expect(tier["name"] as? String == "basic")
            #expect(tier["thumbnail_sizes"] as? [Int] == [200])

            let login = try await client.send(.post, "/v1/auth/login", json: ["login": "ada.l", "password": AuthHarness.password])
            #expect(login.status == .ok)
            let body = try login.object()
            #expect(body["token_type"] as? String == "Bearer")
            #expect(body["expires_in"] as? Int == 900)
            let cookie = try #require(login.headers[.setCookie])
            #expect(cookie.hasPrefix("cirrus_access="))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))

            let byEmail = try await client.login("ADA@example.com")
            var me = try await client.send(.get, "/v1/me", token: byEmail.access)
            #expect(me.status == .ok)
            #expect(try me.object()["username"] as? String == "ada.l")
            let quota = try #require(try me.object()["quota"] as? [String: Any])
            #expect(quota["total_bytes"] as? Int == 1_073_741_824)

            // The browser path: the cookie alone authenticates.
            let access = try #require(body["access_token"] as? String)
            me = try await client.send(.get, "/v1/me", headers: [.cookie: "other=1; cirrus_access=\(access)"])
            #expect(me.status == .ok)

            me = try await client.send(.get, "/v1/me")
            #expect(me.status == .unauthorized)
            #expect(me.headers[.wwwAuthenticate] == "Bearer")
            #expect(try me.problem().status == 401)
        }
    }

    @Test func takenUsernamesAndEmailsAreConflictsNamingTheField() async throws {
        try await AuthHarness.run { _, client in
            try await client.register("grace", email: "grace@example.com")
            var response = try await client.send(
                .post, "/v1/auth/register", json: ["username": "grace", "email": "other@example.com", "password": AuthHarness.password])
            #expect(response.status == .conflict)
            #expect(try response.fields() == ["username"])
            response = try await client.send(
                .post, "/v1/auth/register", json: ["username": "grace2", "email": "GRACE@example.com", "password": AuthHarness.password])
            #expect(response.status == .conflict)
            #expect(try response.fields() == ["email"])
        }
    }

    @Test func wrongPasswordAndUnknownUserLookTheSameAndRepeatedFailuresLock() async throws {
        try await AuthHarness.run { _, client in
            try await client.register("linus")
            let wrong = try await client.send(.post, "/v1/auth/login", json: ["login": "linus", "password": "Wrong-password-1"])
            let unknown = try await client.send(.post, "/v1/auth/login", json: ["login": "nobody", "password": "Wrong-password-1"])
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == .unauthorized)
            #expect(try wrong.problem().detail == unknown.problem().detail)

            for _ in 0..<4 {
                _ = try await client.send(.post, "/v1/auth/login", json: ["login": "linus", "password": "Wrong-password-1"])
            }
            // Five failures: locked, even with the right password.
            let locked = try await client.send(.post, "/v1/auth/login", json: ["login": "linus", "password": AuthHarness.password])
            #expect(locked.status == .tooManyRequests)
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 > 0)
            // Another account is not affected.
            try await client.register("other")
            _ = try await client.login("other")
        }
    }

    /// Five wrong passwords lock the attacker's address out of the account, not the owner; the
    /// username and the e-mail address are one account; a flood from many addresses hits the
    /// account's own ceiling.
    @Test func lockoutIsPerAccountAndAddressWithACeilingPerAccount() async throws {
        var settings = AuthHarness.settings()
        settings.maxFailuresPerAccountEverywhere = 12
        try await AuthHarness.run(settings: settings) { _, client in
            try await client.register("ada")
            func login(_ login: String, _ password: String, from address: String) async throws -> TestResponse {
                try await client.send(
                    .post, "/v1/auth/login", json: ["login": login, "password": password],
                    headers: [HTTPField.Name("X-Cirrus-Client-Address")!: address])
            }
            for _ in 0..<5 { #expect(try await login("ada", "Wrong-password-1", from: "203.0.113.1").status == .unauthorized) }
            let locked = try await login("ada", AuthHarness.password, from: "203.0.113.1")
            #expect(locked.status == .tooManyRequests)
            #expect((1...30).contains(Int(locked.headers[.retryAfter] ?? "") ?? 0), "the first lock is the 30 s backoff")
            // The owner, elsewhere, is not locked out.
            #expect(try await login("ada", AuthHarness.password, from: "198.51.100.2").status == .ok)
            // Username and e-mail count together: 3 + 2 failures lock the pair.
            for _ in 0..<3 { #expect(try await login("ada", "Wrong-password-1", from: "203.0.113.3").status == .unauthorized) }
            for _ in 0..<2 { #expect(try await login("ADA@example.com", "Wrong-password-1", from: "203.0.113.3").status == .unauthorized) }
            #expect(try await login("ada@example.com", AuthHarness.password, from: "203.0.113.3").status == .tooManyRequests)
            // 10 failures so far; two more from new addresses reach the account's ceiling of 12: locked for everyone.
            #expect(try await login("ada", "Wrong-password-1", from: "203.0.113.4").status == .unauthorized)
            #expect(try await login("ada", "Wrong-password-1", from: "203.0.113.5").status == .unauthorized)
            #expect(try await login("ada", AuthHarness.password, from: "198.51.100.2").status == .tooManyRequests)
        }
    }

    @Test func registrationsAndBootstrapGuessesAreThrottledPerAddress() async throws {
        var settings = AuthHarness.settings()
        settings.registrationsPerAddressPerHour = 3
        try await AuthHarness.run(settings: settings) { _, client in
            let from: HTTPFields = [HTTPField.Name("X-Cirrus-Client-Address")!: "203.0.113.9"]
            for index in 0..<3 {
                let response = try await client.send(
                    .post, "/v1/auth/register",
                    json: [
                        "username": "mass\(index)", "email": "mass\(index)@example.com",
                        "password": AuthHarness.password,
                    ], headers: from)
                #expect(response.status == .created)
            }
            let refused = try await client.send(
                .post, "/v1/auth/register",
                json: [
                    "username": "mass3", "email": "mass3@example.com",
                    "password": AuthHarness.password,
                ], headers: from)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] != nil)
            // Nothing was kept: the name is still free, from another address.
            try await client.register("mass3")
            // Ten wrong bootstrap secrets lock the address out of the bootstrap route.
            var guess = from
            guess[HTTPField.Name("X-Bootstrap-Secret")!] = "not-the-secret-0123456789"
            let body: [String: Any] = ["username": "root", "email": "root@example.com", "password": AuthHarness.password]
            for _ in 0..<10 { #expect(try await client.send(.post, "/v1/auth/bootstrap-admin", json: body, headers: guess).status == .forbidden) }
            guess[HTTPField.Name("X-Bootstrap-Secret")!] = AuthHarness.bootstrapSecret
            #expect(try await client.send(.post, "/v1/auth/bootstrap-admin", json: body, headers: guess).status == .tooManyRequests)
        }
    }

    @Test func overHTTPSTheCookieIsHostPrefixed() async throws {
        var settings = AuthHarness.settings()
        settings.secureCookie = true
        try await AuthHarness.run(settings: settings) { _, client in
            try await client.register("hedy")
            let response = try await client.send(.post, "/v1/auth/login", json: ["login": "hedy", "password": AuthHarness.password])
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("__Host-cirrus_access="))
            #expect(cookie.contains("; Secure") && cookie.contains("Path=/") && !cookie.lowercased().contains("domain="))
            let token = String(cookie.dropFirst("__Host-cirrus_access=".count).prefix { $0 != ";" })
            #expect(try await client.send(.get, "/v1/me", headers: [.cookie: "__Host-cirrus_access=\(token)"]).status == .ok)
            // The prefixed cookie wins over a planted plain one.
            #expect(try await client.send(.get, "/v1/me", headers: [.cookie: "cirrus_access=planted; __Host-cirrus_access=\(token)"]).status == .ok)
        }
    }

    @Test func refreshRotatesAndReuseRevokesTheFamily() async throws {
        try await AuthHarness.run { _, client in
            try await client.register("rita")
            let first = try await client.login("rita")
            var response = try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": first.refresh])
            #expect(response.status == .ok)
            let second = try #require(try response.object()["refresh_token"] as? String)
            #expect(second != first.refresh)
            let access = try #require(try response.object()["access_token"] as? String)
            #expect(try await client.send(.get, "/v1/me", token: access).status == .ok)

            // The first token is spent: presenting it again means it leaked. Both die.
            response = try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": first.refresh])
            #expect(response.status == .unauthorized)
            response = try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": second])
            #expect(response.status == .unauthorized)
            // Another session of the same user is untouched.
            let other = try await client.login("rita")
            #expect(try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": other.refresh]).status == .ok)

            response = try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": "made-up"])
            #expect(response.status == .unauthorized)
            response = try await client.send(.post, "/v1/auth/refresh", json: [:])
            #expect(try response.fields() == ["refresh_token"])
        }
    }

    @Test func logoutRevokesTheSessionAndClearsTheCookie() async throws {
        try await AuthHarness.run { _, client in
            try await client.register("lou")
            let session = try await client.login("lou")
            let response = try await client.send(.post, "/v1/auth/logout", json: ["refresh_token": session.refresh])
            #expect(response.status == .noContent)
            #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": session.refresh]).status == .unauthorized)
            // A browser with only the cookie sends no body: the cookie is cleared all the same.
            let bare = try await client.send(.post, "/v1/auth/logout")
            #expect(bare.status == .noContent)
            #expect(bare.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.send(.post, "/v1/auth/logout", headers: [.contentType: "application/json"]).status == .noContent)
        }
    }

    @Test func jwksPublishesTheVerificationKeys() async throws {
        try await AuthHarness.run { _, client in
            let response = try await client.send(.get, "/v1/auth/jwks")
            #expect(response.status == .ok)
            let keys = try #require(try response.object()["keys"] as? [[String: Any]])
            #expect(keys.count == 1)
            #expect(keys[0]["kty"] as? String == "OKP")
            #expect(keys[0]["crv"] as? String == "Ed25519")
            #expect(keys[0]["d"] == nil)  // never the private part
        }
    }
}
