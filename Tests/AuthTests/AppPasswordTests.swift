import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Testing

@testable import Auth

@Suite("App passwords")
struct AppPasswordShapeTests {
    @Test func generatedPasswordsHaveTheDocumentedShapeAndDiffer() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let password = AppPasswords.generate()
            #expect(password.range(of: #"^[a-z2-9]{5}(-[a-z2-9]{5}){4}$"#, options: .regularExpression) != nil, "\(password)")
            #expect(AppPasswords.looksLikeAppPassword(password))
            #expect(AppPasswords.looksLikeAppPassword(password.uppercased()))
            seen.insert(password)
        }
        #expect(seen.count == 200)
        for other in ["", "Correct-horse-9", "abcde-fghij-kmnpq-rstuv", "abcde-fghij-kmnpq-rstuv-wxyz1", "abcde_fghij-kmnpq-rstuv-wxyz2"] {
            #expect(!AppPasswords.looksLikeAppPassword(other), "\(other)")
        }
        #expect(AppPasswords.hash("ABCDE-fghij-kmnpq-rstuv-wxyz2") == AppPasswords.hash("abcde-fghij-kmnpq-rstuv-wxyz2"))
    }
}

@Suite("App passwords over the auth API", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct AppPasswordTests {
    func check(
        _ client: any TestClientProtocol, _ username: String, _ password: String, from address: String = "192.0.2.1"
    ) async throws
        -> TestResponse
    {
        try await client.send(
            .post, "/internal/app-passwords/check", json: ["username": username, "password": password],
            headers: [HTTPField.Name("X-Cirrus-Client-Address")!: address])
    }

    @Test func createListCheckAndRevoke() async throws {
        try await AuthHarness.run { harness, client in
            try await client.register("webdav")
            let (access, _) = try await client.login("webdav")
            var response = try await client.send(.post, "/v1/me/app-passwords", json: ["name": "Laptop"], token: access)
            #expect(response.status == .created)
            #expect(response.headers[.cacheControl] == "no-store")
            let created = try response.object()
            let password = try #require(created["password"] as? String)
            let id = try #require(created["id"] as? String)
            #expect(created["read_only"] as? Bool == false)
            #expect(created["last_used_at"] is NSNull)

            response = try await client.send(.get, "/v1/me/app-passwords", token: access)
            let items = try #require(try response.object()["items"] as? [[String: Any]])
            #expect(items.count == 1 && items[0]["password"] == nil && items[0]["name"] as? String == "Laptop")

            // The app password signs in to WebDAV (by username or e-mail), the login route refuses it.
            for login in ["webdav", "WebDAV@example.com"] {
                response = try await check(client, login, password)
                #expect(response.status == .ok, "\(login): \(String(buffer: response.body))")
            }
            let session = try ContractCoding.decoder().decode(DAVSession.self, from: Data(buffer: response.body))
            #expect(!session.readOnly)
            let identity = try await harness.app.verifier.verify(session.accessToken)
            #expect(identity.userID == session.userID && !identity.readOnly)
            response = try await client.send(.post, "/v1/auth/login", json: ["login": "webdav", "password": password])
            #expect(response.status == .unauthorized)
            // The account's password is not an app password (the operator switch is off).
            response = try await check(client, "webdav", AuthHarness.password)
            #expect(response.status == .unauthorized)

            response = try await client.send(.get, "/v1/me/app-passwords", token: access)
            #expect((try response.object()["items"] as? [[String: Any]])?.first?["last_used_at"] is String)

            // Another user cannot use or revoke it.
            try await client.register("other")
            let (otherAccess, _) = try await client.login("other")
            #expect(try await check(client, "other", password).status == .unauthorized)
            #expect(try await client.send(.delete, "/v1/me/app-passwords/\(id)", token: otherAccess).status == .notFound)

            #expect(try await client.send(.delete, "/v1/me/app-passwords/\(id)", token: access).status == .noContent)
            #expect(try await check(client, "webdav", password).status == .unauthorized)
            #expect(try await client.send(.delete, "/v1/me/app-passwords/\(id)", token: access).status == .notFound)
        }
    }

    @Test func readOnlyTokensMayOnlyRead() async throws {
        try await AuthHarness.run { harness, client in
            try await client.register("reader")
            let (access, _) = try await client.login("reader")
            let created = try await client.send(.post, "/v1/me/app-passwords", json: ["name": "Viewer", "read_only": true], token: access).object()
            let response = try await check(client, "reader", try #require(created["password"] as? String))
            let session = try ContractCoding.decoder().decode(DAVSession.self, from: Data(buffer: response.body))
            #expect(session.readOnly)
            // Every service's verifier refuses it anything but GET and HEAD.
            #expect(try await client.send(.get, "/v1/me", token: session.accessToken).status == .ok)
            let write = try await client.send(.post, "/v1/me/app-passwords", json: ["name": "More"], token: session.accessToken)
            #expect(write.status == .forbidden)
            #expect(try write.problem().type == "https://cirrus.dev/problems/read-only")
        }
    }

    @Test func namesAreValidatedAndCapped() async throws {
        try await AuthHarness.run { _, client in
            try await client.register("names")
            let (access, _) = try await client.login("names")
            for bad: Any in ["", "   ", String(repeating: "x", count: 101), "tab\there", 5] {
                let response = try await client.send(.post, "/v1/me/app-passwords", json: ["name": bad], token: access)
                #expect(response.status == .unprocessableContent || response.status == .badRequest, "\(bad)")
            }
            #expect(try await client.send(.post, "/v1/me/app-passwords", json: [:], token: access).fields() == ["name"])
            for index in 0..<AppPasswords.maxPerUser {
                #expect(try await client.send(.post, "/v1/me/app-passwords", json: ["name": "n\(index)"], token: access).status == .created)
            }
            #expect(try await client.send(.post, "/v1/me/app-passwords", json: ["name": "one too many"], token: access).status == .conflict)
        }
    }

    @Test func disabledUsersAndGuessersAreRefused() async throws {
        try await AuthHarness.run { harness, client in
            try await client.register("guarded")
            let (access, _) = try await client.login("guarded")
            let created = try await client.send(.post, "/v1/me/app-passwords", json: ["name": "Phone"], token: access).object()
            let password = try #require(created["password"] as? String)
            // A guesser from one address is locked out after the login limit, with Retry-After.
            for _ in 0..<harness.settings.maxFailuresPerAccount {
                #expect(try await check(client, "guarded", AppPasswords.generate(), from: "198.51.100.9").status == .unauthorized)
            }
            let locked = try await check(client, "guarded", AppPasswords.generate(), from: "198.51.100.9")
            #expect(locked.status == .tooManyRequests && locked.headers[.retryAfter] != nil)
            // The owner's app password still works, from that address (a household behind one NAT)
            // and elsewhere: 125 random bits are not what a throttle protects.
            #expect(try await check(client, "guarded", password, from: "198.51.100.9").status == .ok)
            #expect(try await check(client, "guarded", password).status == .ok)
            // Disabled: refused at once.
            try await harness.client.query("UPDATE users SET disabled = true WHERE username = 'guarded'", logger: TestDatabase.logger)
            #expect(try await check(client, "guarded", password).status == .unauthorized)
        }
    }

    @Test func theAccountPasswordWorksOnlyWhenTheOperatorAllowsIt() async throws {
        var settings = AuthHarness.settings()
        settings.davAccountPassword = true
        try await AuthHarness.run(settings: settings) { _, client in
            try await client.register("legacy")
            #expect(try await check(client, "legacy", AuthHarness.password).status == .ok)
            #expect(try await check(client, "legacy", "Wrong-password-1").status == .unauthorized)
            // The account password stays behind the login throttle.
            for _ in 0..<5 { _ = try await check(client, "legacy", "Wrong-password-1", from: "198.51.100.7") }
            #expect(try await check(client, "legacy", AuthHarness.password, from: "198.51.100.7").status == .tooManyRequests)
        }
    }
}
