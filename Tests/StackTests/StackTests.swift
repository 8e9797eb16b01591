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

    func send(
        _ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, headers: [(String, String)] = []
    ) async throws -> (status: Int, body: ByteBuffer, headers: HTTPHeaders) {
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
    static let internalSecret = "stack-test-internal-secret-0123456789abcdef"
    static let metricsToken = "stack-test-metrics-token-9f8e7d6c5b"

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
            try await S3ObjectStore(
                configuration: .init(
                    endpoint: TestEnvironment.s3Endpoint, region: "us-east-1", bucket: bucket,
                    accessKeyID: "test", secretAccessKey: "test", pathStyle: true)
            ).createBucketIfNeeded()
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
                    "CIRRUS_INTERNAL_SECRET": Self.internalSecret,
                    "CIRRUS_GATEWAY_CORS_ORIGINS": "https://app.example.com",
                    "CIRRUS_METRICS_TOKEN": Self.metricsToken,
                ]
                if service != "gateway" {
                    env["CIRRUS_DATABASE_URL"] = "\(admin.urlPrefix)/\(suffix)_\(service)"
                }
                for upstream in Self.services where upstream != "gateway" {
                    env["CIRRUS_\(upstream.uppercased())_URL"] = "http://127.0.0.1:\(ports[upstream]!)"
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
                _ = try? await adminClient.query(
                    PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(suffix)_\(service) WITH (FORCE)"), logger: logger)
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
                // With CIRRUS_METRICS_TOKEN set, every service (the gateway too) serves /metrics to its holder only.
                #expect(try await get(base + "/metrics").status == 401, "\(process.name) /metrics without the token")
                #expect(try await send(.GET, base + "/metrics", headers: [("Authorization", "Bearer wrong-token-0123456789")]).status == 401)
                let metrics = try await send(.GET, base + "/metrics", headers: [("Authorization", "Bearer \(Self.metricsToken)")])
                #expect(metrics.status == 200, "\(process.name) /metrics")
                if process.name != "gateway" {
                    // The outbox's backlog and the loops' heartbeats are exported.
                    let text = String(buffer: metrics.body)
                    #expect(text.contains("cirrus_outbox_backlog"), "\(process.name) outbox backlog")
                    #expect(text.contains("cirrus_worker_last_beat_timestamp_seconds{worker=\"outbox-relay\"}"), "\(process.name) heartbeats")
                }
            }
            try await accountsWorkThroughTheGateway(gateway)
            try await driveWorksThroughTheGateway(gateway)
            let gatewayProcess = processes["gateway"]!
            try await edgeWorksThroughTheGateway(gateway, log: { gatewayProcess.log })
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
        var response = try await send(
            .POST, gateway + "/v1/auth/register", json: ["username": "stacky", "email": "stacky@example.com", "password": password])
        #expect(response.status == 201)
        response = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "x"])
        #expect(response.status == 422)
        #expect(response.headers.first(name: "Content-Type") == "application/problem+json")
        response = try await send(
            .POST, gateway + "/v1/auth/login", json: ["login": "stacky", "password": password], headers: [("X-Request-Id", "stack-req-1")])
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

        response = try await send(
            .POST, gateway + "/v1/auth/bootstrap-admin", json: ["username": "boss", "email": "boss@example.com", "password": password],
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

    func raw(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = []
    ) async throws -> (status: Int, body: ByteBuffer, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), try await response.body.collect(upTo: 64 << 20), response.headers)
    }

    /// Folders, uploads (raw and multipart), downloads with ranges and conditions, versions,
    /// copies and the trash, through the gateway on the real services.
    func driveWorksThroughTheGateway(_ gateway: String) async throws {
        let password = "Stack-drive-pass-1"
        _ = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "driver", "email": "driver@example.com", "password": password])
        let login = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "driver", "password": password])
        let token = try #require(try object(login.body)["access_token"] as? String)
        let auth = [("Authorization", "Bearer \(token)")]
        // The root appears once user.registered has reached metadata.
        try await eventually("the root folder", timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? await send(.GET, gateway + "/v1/folders/root", headers: auth))?.status == 200
        }
        let root = try object(try await send(.GET, gateway + "/v1/folders/root", headers: auth).body)["id"] as! String
        let folder = try await send(.POST, gateway + "/v1/folders", json: ["name": "Docs", "parent_id": root], headers: auth)
        #expect(folder.status == 201)
        let folderID = try object(folder.body)["id"] as! String

        // A raw upload with a checksum.
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let sha = SHA256Hex.of(bytes)
        let rawUpload = try await raw(
            .POST, gateway + "/v1/files?folder_id=\(folderID)&name=data.bin", body: bytes, headers: auth + [("X-Content-SHA256", sha)])
        #expect(rawUpload.status == 201, "\(String(buffer: rawUpload.body))")
        let file = try object(rawUpload.body)
        let fileID = try #require(file["id"] as? String)
        #expect(file["sha256"] as? String == sha)
        #expect(file["size"] as? Int == bytes.count)
        // A wrong checksum keeps nothing and says why.
        let wrong = try await raw(
            .POST, gateway + "/v1/files?folder_id=\(folderID)&name=bad.bin", body: bytes,
            headers: auth + [("X-Content-SHA256", String(repeating: "0", count: 64))])
        #expect(wrong.status == 422)
        #expect(String(buffer: wrong.body).contains("X-Content-SHA256"))
        // A multipart upload with a UTF-8 name.
        let boundary = "cirrus-stack-boundary"
        var form = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"folder_id\"\r\n\r\n\(folderID)\r\n".utf8)
        form += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Übersicht 2026.txt\"\r\nContent-Type: text/plain\r\n\r\n".utf8
        )
        form += Array("Grüße aus dem Stack\n".utf8) + Array("\r\n--\(boundary)--\r\n".utf8)
        let multipart = try await raw(
            .POST, gateway + "/v1/files", body: form, headers: auth + [("Content-Type", "multipart/form-data; boundary=\(boundary)")])
        #expect(multipart.status == 201, "\(String(buffer: multipart.body))")
        let textFile = try object(multipart.body)
        #expect(textFile["name"] as? String == "Übersicht 2026.txt")
        #expect(textFile["content_type"] as? String == "text/plain; charset=utf-8")
        let textID = try #require(textFile["id"] as? String)

        // Listing shows both; /v1/me counts them.
        let children = try object(try await send(.GET, gateway + "/v1/folders/\(folderID)/children?sort=name", headers: auth).body)
        #expect((children["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["data.bin", "Übersicht 2026.txt"])
        let me = try object(try await send(.GET, gateway + "/v1/me", headers: auth).body)
        #expect((me["quota"] as? [String: Any])?["used_bytes"] as? Int == bytes.count + "Grüße aus dem Stack\n".utf8.count)

        // Downloads: whole, a range, conditional, HEAD; the name in Content-Disposition.
        let whole = try await raw(.GET, gateway + "/v1/files/\(fileID)/content", headers: auth)
        #expect(whole.status == 200)
        #expect(Array(whole.body.readableBytesView) == bytes)
        let etag = try #require(whole.headers.first(name: "ETag"))
        #expect(whole.headers.first(name: "Content-Disposition")?.contains("data.bin") == true)
        let range = try await raw(.GET, gateway + "/v1/files/\(fileID)/content", headers: auth + [("Range", "bytes=100-199")])
        #expect(range.status == 206)
        #expect(Array(range.body.readableBytesView) == Array(bytes[100...199]))
        #expect(try await raw(.GET, gateway + "/v1/files/\(fileID)/content", headers: auth + [("If-None-Match", etag)]).status == 304)
        #expect(try await raw(.GET, gateway + "/v1/files/\(fileID)/content", headers: auth + [("Range", "bytes=999999-")]).status == 416)
        let head = try await raw(.HEAD, gateway + "/v1/files/\(textID)/content", headers: auth)
        #expect(head.status == 200)
        #expect(head.headers.first(name: "Content-Disposition")?.contains("filename*=UTF-8''%C3%9Cbersicht%202026.txt") == true)
        // Cookie auth works for downloads too; no auth does not.
        #expect(try await raw(.GET, gateway + "/v1/files/\(fileID)/content", headers: [("Cookie", "cirrus_access=\(token)")]).status == 200)
        #expect(try await raw(.GET, gateway + "/v1/files/\(fileID)/content").status == 401)

        // Replace the content: the old one stays as a version and can be read.
        let replaced = try await raw(.PUT, gateway + "/v1/files/\(textID)/content", body: Array("version two".utf8), headers: auth)
        #expect(replaced.status == 200, "\(String(buffer: replaced.body))")
        let versions =
            try object(try await send(.GET, gateway + "/v1/files/\(textID)/versions", headers: auth).body)["versions"] as? [[String: Any]] ?? []
        #expect(versions.count == 1)
        let old = try await raw(.GET, gateway + "/v1/files/\(textID)/content?version=\(versions.first?["id"] as? String ?? "")", headers: auth)
        #expect(String(buffer: old.body) == "Grüße aus dem Stack\n")
        #expect(String(buffer: try await raw(.GET, gateway + "/v1/files/\(textID)/content", headers: auth).body) == "version two")

        // Copy, then trash and purge the original: the copy still downloads.
        let copy = try await send(.POST, gateway + "/v1/files/\(fileID)/copy", json: ["parent_id": root], headers: auth)
        #expect(copy.status == 201)
        let copyID = try object(copy.body)["id"] as! String
        #expect(try await send(.DELETE, gateway + "/v1/files/\(fileID)", headers: auth).status == 204)
        #expect(try await send(.DELETE, gateway + "/v1/trash/\(fileID)", headers: auth).status == 204)
        #expect(Array(try await raw(.GET, gateway + "/v1/files/\(copyID)/content", headers: auth).body.readableBytesView) == bytes)

        // An image gets its thumbnails without anyone asking; the tier decides the sizes.
        let image = try Data(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("ThumbnailTests/Fixtures/oriented.jpg"))
        let imageUpload = try await raw(.POST, gateway + "/v1/files?folder_id=\(root)&name=photo.jpg", body: Array(image), headers: auth)
        #expect(imageUpload.status == 201, "\(String(buffer: imageUpload.body))")
        let imageID = try #require(try object(imageUpload.body)["id"] as? String)
        try await eventually("thumbnails generated", timeout: .seconds(60), interval: .milliseconds(200)) {
            let file = try? object(try await send(.GET, gateway + "/v1/files/\(imageID)", headers: auth).body)
            return (file?["thumbnails"] as? [String: Any])?["status"] as? String == "ready"
        }
        let thumb = try await raw(.GET, gateway + "/v1/files/\(imageID)/thumbnails/200", headers: auth)
        #expect(thumb.status == 200)
        #expect(thumb.headers.first(name: "Content-Type") == "image/jpeg")
        #expect(Array(thumb.body.readableBytesView.prefix(3)) == [0xFF, 0xD8, 0xFF])
        #expect(try await raw(.GET, gateway + "/v1/files/\(imageID)/thumbnails/400", headers: auth).status == 403, "basic has 200 only")
        #expect(try await raw(.GET, gateway + "/v1/files/\(copyID)/thumbnails/200", headers: auth).status == 404, "not an image")

        // Another user sees none of it.
        _ = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "nosy", "email": "nosy@example.com", "password": password])
        let nosyLogin = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "nosy", "password": password])
        let nosy = [("Authorization", "Bearer \(try #require(try object(nosyLogin.body)["access_token"] as? String))")]
        try await eventually("nosy's root", timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? await send(.GET, gateway + "/v1/folders/root", headers: nosy))?.status == 200
        }
        #expect(try await raw(.GET, gateway + "/v1/files/\(copyID)/content", headers: nosy).status == 404)
        #expect(try await send(.GET, gateway + "/v1/files/\(copyID)", headers: nosy).status == 404)
        #expect(try await send(.GET, gateway + "/v1/folders/\(folderID)/children", headers: nosy).status == 404)
        #expect(try await raw(.PUT, gateway + "/v1/files/\(copyID)/content", body: [1], headers: nosy).status == 404)
        #expect(try await raw(.GET, gateway + "/v1/files/\(imageID)/thumbnails/200", headers: nosy).status == 404)
        // Every id-taking route: another user's id is a 404 (or a 422 naming the field when it is
        // a target in the body), and nothing of the owner's changes.
        let trashedFolder =
            try object(try await send(.POST, gateway + "/v1/folders", json: ["name": "Old", "parent_id": root], headers: auth).body)["id"] as! String
        #expect(try await send(.DELETE, gateway + "/v1/folders/\(trashedFolder)", headers: auth).status == 204)
        let version = versions.first?["id"] as? String ?? ""
        let nosyRoot = try object(try await send(.GET, gateway + "/v1/folders/root", headers: nosy).body)["id"] as! String
        let nosyFolder =
            try object(try await send(.POST, gateway + "/v1/folders", json: ["name": "mine", "parent_id": nosyRoot], headers: nosy).body)["id"]
            as! String
        let attempts: [(HTTPMethod, String, [String: Any]?, Int)] = [
            (.GET, "/v1/folders/\(folderID)", nil, 404),
            (.PATCH, "/v1/folders/\(folderID)", ["name": "mine now"], 404),
            (.DELETE, "/v1/folders/\(folderID)", nil, 404),
            (.PATCH, "/v1/files/\(copyID)", ["name": "mine now"], 404),
            (.PATCH, "/v1/files/\(copyID)", ["parent_id": nosyRoot], 404),
            (.DELETE, "/v1/files/\(copyID)", nil, 404),
            (.GET, "/v1/files/\(textID)/versions", nil, 404),
            (.GET, "/v1/files/\(textID)/content?version=\(version)", nil, 404),
            (.HEAD, "/v1/files/\(copyID)/content", nil, 404),
            (.POST, "/v1/files/\(copyID)/copy", ["parent_id": nosyRoot], 404),
            (.POST, "/v1/files/\(imageID)/links", ["variant": "thumbnail", "size": 200, "expires_in": 600], 404),
            (.POST, "/v1/trash/\(trashedFolder)/restore", nil, 404),
            (.DELETE, "/v1/trash/\(trashedFolder)", nil, 404),
            (.POST, "/v1/folders", ["name": "intruder", "parent_id": folderID], 422),
            (.PATCH, "/v1/folders/\(nosyFolder)", ["parent_id": folderID], 422),
        ]
        for (method, path, body, expected) in attempts {
            let answer =
                method == .HEAD
                ? try await raw(method, gateway + path, headers: nosy) : try await send(method, gateway + path, json: body, headers: nosy)
            #expect(answer.status == expected, "\(method) \(path): \(String(buffer: answer.body))")
        }
        let intruding = try await raw(.POST, gateway + "/v1/files?folder_id=\(folderID)&name=x.bin", body: [1, 2, 3], headers: nosy)
        #expect(intruding.status == 422 && String(buffer: intruding.body).contains("folder_id"), "\(String(buffer: intruding.body))")
        // The owner's items are as they were.
        #expect(try object(try await send(.GET, gateway + "/v1/folders/\(folderID)", headers: auth).body)["name"] as? String == "Docs")
        #expect(try object(try await send(.GET, gateway + "/v1/files/\(copyID)", headers: auth).body)["name"] as? String == "data.bin")
        let trash = try object(try await send(.GET, gateway + "/v1/trash", headers: auth).body)
        #expect((trash["items"] as? [[String: Any]])?.contains { ($0["id"] as? String) == trashedFolder } == true)
        #expect(try object(try await send(.GET, gateway + "/v1/trash", headers: nosy).body)["items"] as? [Any] != nil)
        #expect((try object(try await send(.GET, gateway + "/v1/trash", headers: nosy).body)["items"] as? [Any])?.isEmpty == true)
    }

    /// Expiring links, the image gallery, the edge's headers, CORS, the access log and the
    /// rate limits, through the gateway on the real services.
    func edgeWorksThroughTheGateway(_ gateway: String, log: @Sendable () -> String) async throws {
        let password = "Stack-edge-pass-1"
        _ = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "linker", "email": "linker@example.com", "password": password])
        var login = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "linker", "password": password])
        let auth = [("Authorization", "Bearer \(try #require(try object(login.body)["access_token"] as? String))")]
        try await eventually("linker's root", timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? await send(.GET, gateway + "/v1/folders/root", headers: auth))?.status == 200
        }
        let root = try object(try await send(.GET, gateway + "/v1/folders/root", headers: auth).body)["id"] as! String
        let image = Array(
            try Data(
                contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .deletingLastPathComponent().appendingPathComponent("ThumbnailTests/Fixtures/oriented.jpg")))
        let upload = try await raw(.POST, gateway + "/v1/files?folder_id=\(root)&name=shared.jpg", body: image, headers: auth)
        #expect(upload.status == 201)
        let imageID = try #require(try object(upload.body)["id"] as? String)
        // Security headers on every answer; the API is never framed or sniffed.
        #expect(upload.headers.first(name: "X-Content-Type-Options") == "nosniff")
        #expect(upload.headers.first(name: "X-Frame-Options") == "DENY")
        #expect(upload.headers.first(name: "RateLimit-Limit") == "120", "basic's rate, from the token")

        // Basic: the gallery lists the image with the 200 thumbnail only; no links at all.
        var gallery = try object(try await send(.GET, gateway + "/v1/images", headers: auth).body)
        var links = ((gallery["items"] as? [[String: Any]])?.first?["links"]) as? [String: Any]
        #expect(links?["thumbnails"] as? [String: String] == ["200": "/v1/files/\(imageID)/thumbnails/200"])
        #expect(links?["original"] is NSNull)
        var refused = try await send(
            .POST, gateway + "/v1/files/\(imageID)/links", json: ["variant": "thumbnail", "size": 200, "expires_in": 600], headers: auth)
        #expect(refused.status == 403)

        // The admin moves linker to enterprise; metadata learns it from the event.
        login = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "boss", "password": "Stack-test-pass-1"])
        let admin = [("Authorization", "Bearer \(try #require(try object(login.body)["access_token"] as? String))")]
        let me = try object(try await send(.GET, gateway + "/v1/me", headers: auth).body)
        let moved = try await send(
            .PATCH, gateway + "/v1/admin/users/\(me["id"] as! String)", json: ["tier_id": "00000000-0000-4000-a000-000000000003"], headers: admin)
        #expect(moved.status == 200, "\(String(buffer: moved.body))")
        try await eventually("enterprise rights reach metadata", timeout: .seconds(30), interval: .milliseconds(200)) {
            (try? await send(.POST, gateway + "/v1/files/\(imageID)/links", json: ["variant": "original", "expires_in": 300], headers: auth))?.status
                == 201
        }
        refused = try await send(.POST, gateway + "/v1/files/\(imageID)/links", json: ["variant": "original", "expires_in": 30001], headers: auth)
        #expect(refused.status == 422)
        #expect(String(buffer: refused.body).contains("expires_in"))
        let created = try object(
            try await send(.POST, gateway + "/v1/files/\(imageID)/links", json: ["variant": "original", "expires_in": 600], headers: auth).body)
        let url = try #require(created["url"] as? String)
        let token = try #require(created["token"] as? String)
        #expect(url.hasSuffix("/v1/links/" + token))
        // Anyone with the link gets the bytes, ranges too; no account needed.
        let followed = try await raw(.GET, gateway + "/v1/links/" + token)
        #expect(followed.status == 200)
        #expect(Array(followed.body.readableBytesView) == image)
        #expect(followed.headers.first(name: "Content-Disposition")?.hasPrefix("inline") == true)
        let part = try await raw(.GET, gateway + "/v1/links/" + token, headers: [("Range", "bytes=0-9")])
        #expect(part.status == 206 && Array(part.body.readableBytesView) == Array(image[0...9]))
        let thumbLink = try object(
            try await send(
                .POST, gateway + "/v1/files/\(imageID)/links", json: ["variant": "thumbnail", "size": 400, "expires_in": 300], headers: auth
            ).body)
        let thumb = try await raw(.GET, gateway + "/v1/links/" + (thumbLink["token"] as! String))
        #expect(thumb.status == 200 && thumb.headers.first(name: "Content-Type") == "image/jpeg")
        let thumbHead = try await raw(.HEAD, gateway + "/v1/links/" + (thumbLink["token"] as! String))
        #expect(thumbHead.status == 200 && thumbHead.headers.first(name: "Content-Length") == String(thumb.body.readableBytes))
        // Tampered: 403; expired (signed with the deployment's key, in the past): 410.
        var tampered = Array(token)
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
        #expect(try await raw(.GET, gateway + "/v1/links/" + String(tampered)).status == 403)
        let expired = LinkSigner(secrets: [Self.internalSecret]).sign(
            LinkToken(
                fileID: UUID(uuidString: imageID)!, version: 1,
                variant: .original, size: nil, expiresAt: Int64(Date().timeIntervalSince1970) - 5))
        #expect(try await raw(.GET, gateway + "/v1/links/" + expired).status == 410)
        // The gallery now offers the original and both sizes (a fresh token carries the new rate).
        login = try await send(.POST, gateway + "/v1/auth/login", json: ["login": "linker", "password": password])
        let fresh = [("Authorization", "Bearer \(try #require(try object(login.body)["access_token"] as? String))")]
        let galleryAnswer = try await send(.GET, gateway + "/v1/images", headers: fresh)
        #expect(galleryAnswer.headers.first(name: "RateLimit-Limit") == "1200")
        gallery = try object(galleryAnswer.body)
        links = ((gallery["items"] as? [[String: Any]])?.first?["links"]) as? [String: Any]
        #expect(links?["original"] as? String == "/v1/files/\(imageID)/content")
        #expect((links?["thumbnails"] as? [String: String])?.keys.sorted() == ["200", "400"])
        // Trashing the file ends its links at once.
        #expect(try await send(.DELETE, gateway + "/v1/files/\(imageID)", headers: fresh).status == 204)
        #expect(try await raw(.GET, gateway + "/v1/links/" + token).status == 404)

        // The API document and its offline docs page.
        let document = try await raw(.GET, gateway + "/openapi.json")
        #expect(document.status == 200)
        let spec = try object(document.body)
        #expect(spec["openapi"] as? String == "3.1.0")
        #expect(
            ((spec["paths"] as? [String: Any])?.keys).map { Set($0).isSuperset(of: ["/v1/links/{token}", "/v1/images", "/v1/files/{id}/links"]) }
                == true)
        let page = try await raw(.GET, gateway + "/docs")
        #expect(page.status == 200 && page.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
        #expect(String(buffer: page.body).contains("/openapi.json"))
        #expect(!String(buffer: page.body).contains("src=\"http"), "the docs page loads nothing from elsewhere")

        // CORS: the configured origin only.
        let preflight = try await raw(
            .OPTIONS, gateway + "/v1/files", headers: [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST")])
        #expect(preflight.status == 204)
        #expect(preflight.headers.first(name: "Access-Control-Allow-Origin") == "https://app.example.com")
        let foreign = try await send(.GET, gateway + "/v1/folders/root", headers: fresh + [("Origin", "https://evil.example")])
        #expect(foreign.headers.first(name: "Access-Control-Allow-Origin") == nil)

        // The access log: one line per request, apart from the application log, no link tokens.
        try await eventually("access lines", timeout: .seconds(5)) { log().contains("\"route\":\"/v1/links/{token}\"") }
        let accessLines = log().split(separator: "\n").filter { $0.contains("\"log\":\"access\"") }
        #expect(accessLines.contains { $0.contains("\"route\":\"/v1/files/{id}/content\"") || $0.contains("\"route\":\"/v1/files\"") })
        #expect(accessLines.contains { $0.contains("\"user_id\":\"\((me["id"] as! String).lowercased())\"") && $0.contains("\"status\":201") })
        #expect(!log().contains(token), "a link token in the gateway's log")

        // Account routes are limited per client address: a burst of sign-up attempts ends in 429
        // (invalid ones, so auth's own lockouts of failed logins stay out of the picture).
        var last = 0
        var limited: (status: Int, body: ByteBuffer, headers: HTTPHeaders)?
        for _ in 0..<40 {
            let attempt = try await send(.POST, gateway + "/v1/auth/register", json: ["username": "x"])
            last = attempt.status
            if last == 429 {
                limited = attempt
                break
            }
        }
        #expect(last == 429)
        #expect(limited?.headers.first(name: "Retry-After").flatMap(Int.init).map { $0 >= 1 } == true)
        #expect(limited?.headers.first(name: "RateLimit-Remaining") == "0")
        #expect(limited?.headers.first(name: "Content-Type") == "application/problem+json")
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
