import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// The five real service binaries against the test PostgreSQL and broker: they migrate,
/// become ready, report through the gateway, and stop cleanly on SIGTERM.
@Suite("Local stack", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(5)), .serialized)
struct StackTests {
    static let services = ["auth", "metadata", "blob", "thumbnail", "gateway"]
    let logger: Logger = {
        var logger = Logger(label: "stack-tests")
        logger.logLevel = .warning
        return logger
    }()

    func get(_ url: String) async throws -> (status: Int, body: ByteBuffer) {
        let response = try await send(.GET, url)
        return (response.status, response.body)
    }

    func send(_ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, headers: [(String, String)] = []) async throws -> (status: Int, body: ByteBuffer, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20), response.headers)
    }

    func object(_ body: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
    }

    static let bootstrapSecret = "stack-test-bootstrap-secret-42"

    /// Creates one database per service, starts the five, runs `body`, stops and cleans up.
    func withStack(_ body: ([String: ServiceProcess]) async throws -> Void) async throws {
        let admin = try adminConfiguration()
        let suffix = TestEnvironment.uniqueName("stack")
        let adminClient = PostgresClient(configuration: admin.configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await adminClient.run() }
            defer { group.cancelAll() }
            for service in Self.services where service != "gateway" {
                try await adminClient.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(suffix)_\(service)"), logger: logger)
            }
            let bucket = suffix.replacingOccurrences(of: "_", with: "-") + "-thumbnails"
            try await S3ObjectStore(configuration: .init(endpoint: TestEnvironment.s3Endpoint, region: "us-east-1", bucket: bucket,
                                                         accessKeyID: "test", secretAccessKey: "test", pathStyle: true)).createBucketIfNeeded()
            var ports: [String: Int] = [:]
            for service in Self.services { ports[service] = try freePort() }
            var processes: [String: ServiceProcess] = [:]
            for service in Self.services {
                var env = [
                    "CIRRUS_KAFKA_BROKERS": TestEnvironment.kafkaBrokers,
                    "CIRRUS_LOG_LEVEL": "info",
                    "CIRRUS_SHUTDOWN_TIMEOUT_SECONDS": "10",
                    "CIRRUS_AUTH_BOOTSTRAP_SECRET": Self.bootstrapSecret,
                    "CIRRUS_AUTH_BCRYPT_COST": "4",
                    "CIRRUS_INTERNAL_SECRET": "stack-test-internal-secret-0123456789abcdef",
                ]
                if service != "gateway" {
                    env["CIRRUS_DATABASE_URL"] = "\(admin.urlPrefix)/\(suffix)_\(service)"
                } else {
                    for upstream in Self.services where upstream != "gateway" {
                        env["CIRRUS_\(upstream.uppercased())_URL"] = "http://127.0.0.1:\(ports[upstream]!)"
                    }
                }
                if service == "blob" {
                    env["CIRRUS_STORAGE_PATH"] = TestEnvironment.scratchDirectory + "/\(suffix)/\(service)"
                }
                if service == "thumbnail" {
                    // The S3 backend, against the S3 test server, as the compose stack runs it.
                    env["CIRRUS_STORAGE_BACKEND"] = "s3"
                    env["CIRRUS_S3_ENDPOINT"] = TestEnvironment.s3Endpoint
                    env["CIRRUS_S3_BUCKET"] = bucket
                    env["CIRRUS_S3_ACCESS_KEY_ID"] = "test"
                    env["CIRRUS_S3_SECRET_ACCESS_KEY"] = "test"
                }
                processes[service] = try ServiceProcess(name: service, port: ports[service]!, environment: env)
            }
            var failure: (any Error)?
            do {
                for service in Self.services { try processes[service]!.start() }
                try await body(processes)
            } catch {
                failure = error
                for process in processes.values { print("----- \(process.name) log -----\n\(process.log.suffix(3000))") }
            }
            for process in processes.values where process.isRunning { _ = await process.terminate(timeout: .seconds(15)) }
            for service in Self.services where service != "gateway" {
                _ = try? await adminClient.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(suffix)_\(service) WITH (FORCE)"), logger: logger)
            }
            if let failure { throw failure }
        }
    }

    /// The test cluster's superuser, and the URL prefix the services' database URLs share.
    func adminConfiguration() throws -> (configuration: PostgresClient.Configuration, urlPrefix: String) {
        let url = TestEnvironment.postgresURL
        let admin = try DatabaseConfiguration(url: url)
        let prefix = String(url[..<url.range(of: "/", options: .backwards)!.lowerBound])
        return (admin.postgresConfiguration, prefix)
    }

    @Test func theFiveServicesBecomeReadyReportThroughTheGatewayAndStopGracefully() async throws {
        try await withStack { processes in
            let gateway = "http://127.0.0.1:\(processes["gateway"]!.port)"
            try await eventually("every service ready through /v1/status", timeout: .seconds(120), interval: .milliseconds(250)) {
                (try? await get(gateway + "/v1/status"))?.status == 200
            }
            let (status, body) = try await get(gateway + "/v1/status")
            #expect(status == 200)
            let system = try ContractCoding.decoder().decode(SystemStatus.self, from: Data(body.readableBytesView))
            #expect(system.ready)
            #expect(Set(system.services.keys) == Set(Self.services))
            for service in ["auth", "metadata", "blob", "thumbnail"] {
                let checks = try #require(system.services[service]?.checks)
                #expect(checks["database"]?.ok == true, "\(service) database")
                #expect(checks["broker"]?.ok == true, "\(service) broker")
            }
            #expect(system.services["blob"]?.checks["store"]?.ok == true)
            #expect(system.services["thumbnail"]?.checks["store"]?.ok == true)
            for process in processes.values {
                let base = "http://127.0.0.1:\(process.port)"
                #expect(try await get(base + "/healthz").status == 200, "\(process.name) /healthz")
                let metrics = try await get(base + "/metrics")
                #expect(metrics.status == 200, "\(process.name) /metrics")
            }
            try await accountsWorkThroughTheGateway(gateway)
            // A service that goes away shows up in the gateway's status at once.
            let thumbnailExit = await processes["thumbnail"]!.terminate()
            #expect(thumbnailExit?.status == 0)
            let degraded = try await get(gateway + "/v1/status")
            #expect(degraded.status == 503)
            let degradedStatus = try ContractCoding.decoder().decode(SystemStatus.self, from: Data(degraded.body.readableBytesView))
            #expect(degradedStatus.services["thumbnail"]?.ready == false)
            #expect(degradedStatus.services["auth"]?.ready == true)
            // SIGTERM: each drains and exits 0 well within its shutdown timeout.
            for name in ["gateway", "blob", "metadata", "auth"] {
                let exit = await processes[name]!.terminate()
                #expect(exit?.status == 0, "\(name) exit status")
                #expect(exit?.reason == .exit, "\(name) exited by itself")
                #expect(processes[name]!.log.contains("\"msg\":\"stopped\""), "\(name) logged its graceful stop")
            }
        }
    }

    /// Auth's public routes answer through the gateway, with the real services behind it.
    func accountsWorkThroughTheGateway(_ gateway: String) async throws {
        let password = "Stack-test-pass-1"
        var response = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "stacky", "email": "stacky@example.com", "password": password])
        #expect(response.status == 201)
        response = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "x"])
        #expect(response.status == 422)
        #expect(response.headers.first(name: "Content-Type") == "application/problem+json")
        response = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "stacky", "password": password], headers: [("X-Request-Id", "stack-req-1")])
        #expect(response.status == 200)
        #expect(response.headers.first(name: "X-Request-Id") == "stack-req-1")
        let access = try #require(try object(response.body)["access_token"] as? String)
        let cookie = try #require(response.headers.first(name: "Set-Cookie"))
        #expect(cookie.contains("HttpOnly"))
        response = try await send(.GET, gateway + "/v1/me", headers: [("Authorization", "Bearer \(access)")])
        #expect(response.status == 200)
        #expect(try object(response.body)["username"] as? String == "stacky")
        response = try await send(.GET, gateway + "/v1/me", headers: [("Cookie", "cirrus_access=\(access)")])
        #expect(response.status == 200)
        // A client cannot pose as the gateway by sending its internal header.
        response = try await send(.GET, gateway + "/v1/me", headers: [("Authorization", "Bearer \(access)"), ("X-Cirrus-Client-Address", "1.2.3.4")])
        #expect(response.status == 200)

        response = try await send(.POST, gateway + "/v1/auth/bootstrap-admin", json: ["username": "boss", "email": "boss@example.com", "password": password],
                                  headers: [("X-Bootstrap-Secret", Self.bootstrapSecret)])
        #expect(response.status == 201)
        response = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "boss", "password": password])
        let admin = try #require(try object(response.body)["access_token"] as? String)
        response = try await send(.GET, gateway + "/v1/admin/tiers", headers: [("Authorization", "Bearer \(admin)")])
        #expect(response.status == 200)
        #expect((try object(response.body)["items"] as? [Any])?.count == 3)
        response = try await send(.GET, gateway + "/v1/admin/tiers", headers: [("Authorization", "Bearer \(access)")])
        #expect(response.status == 403)
        #expect(try await get(gateway + "/v1/auth/jwks").status == 200)
    }

    @Test func aBadConfigurationValueStopsTheServiceWithAMessageNamingTheKey() async throws {
        let process = try ServiceProcess(name: "auth", port: 1, environment: ["CIRRUS_DATABASE_URL": "mysql://nope", "CIRRUS_HTTP_PORT": "1"])
        try process.start()
        try await eventually("the process to exit", timeout: .seconds(20)) { !process.isRunning }
        let exit = await process.terminate()
        #expect(exit?.status == 2)
        #expect(process.log.contains("CIRRUS_DATABASE_URL"))
        #expect(!process.log.contains("Fatal error"))
    }
}

