import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Testing

@testable import Auth

/// Auth's routes over a fresh, migrated database, through Hummingbird's router test client.
struct AuthHarness {
    static let bootstrapSecret = "test-bootstrap-secret-0123456789"
    static let password = "Correct-horse-9"

    let app: AuthApp
    let client: PostgresClient
    let settings: AuthSettings

    static func settings() -> AuthSettings {
        var settings = AuthSettings()
        settings.bcryptCost = 4  // the minimum: tests are about behaviour, not hashing cost
        settings.bootstrapSecret = bootstrapSecret
        settings.maxFailuresPerAccount = 5
        settings.lockout = .seconds(60)
        return settings
    }

    static func run(settings: AuthSettings = settings(), _ body: @Sendable (AuthHarness, any TestClientProtocol) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(AuthMigrations.all, client: client, logger: TestDatabase.logger)
            let app = AuthApp(client: client, settings: settings, logger: TestDatabase.logger)
            try await app.prepare()
            let router = Router(context: ServiceRequestContext.self)
            router.add(middleware: RequestIDMiddleware())
            router.add(middleware: ErrorMiddleware())
            app.addRoutes(to: router)
            let harness = AuthHarness(app: app, client: client, settings: settings)
            try await Application(router: router, logger: TestDatabase.logger).test(.router) { testClient in
                try await body(harness, testClient)
            }
        }
    }
}

// MARK: - Request helpers

extension TestClientProtocol {
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: [String: Any]? = nil, token: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }

    @discardableResult
    func register(_ username: String, email: String? = nil, password: String = AuthHarness.password) async throws -> [String: Any] {
        let response = try await send(
            .post, "/v1/auth/register", json: ["username": username, "email": email ?? "\(username)@example.com", "password": password])
        #expect(response.status == .created, "register \(username): \(String(buffer: response.body))")
        return try response.object()
    }

    func login(_ login: String, password: String = AuthHarness.password) async throws -> (access: String, refresh: String) {
        let response = try await send(.post, "/v1/auth/login", json: ["login": login, "password": password])
        #expect(response.status == .ok, "login \(login): \(String(buffer: response.body))")
        let body = try response.object()
        return (try #require(body["access_token"] as? String), try #require(body["refresh_token"] as? String))
    }

    /// An admin made through the bootstrap path, logged in.
    func bootstrapAdmin(_ username: String = "root") async throws -> String {
        let response = try await send(
            .post, "/v1/auth/bootstrap-admin", json: ["username": username, "email": "\(username)@example.com", "password": AuthHarness.password],
            headers: [HTTPField.Name("X-Bootstrap-Secret")!: AuthHarness.bootstrapSecret])
        #expect(response.status == .created, "bootstrap: \(String(buffer: response.body))")
        return try await login(username).access
    }
}

extension TestResponse {
    func object() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
    }

    func problem() throws -> Problem {
        #expect(headers[.contentType] == "application/problem+json")
        return try ContractCoding.decoder().decode(Problem.self, from: Data(buffer: body))
    }

    func fields() throws -> Set<String> {
        Set(try problem().errors?.map(\.field) ?? [])
    }
}
