import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PostgresNIO
import Testing

@testable import Blob
@testable import Metadata

/// Metadata's routes and event handlers over a fresh database, with a real blob (its own
/// database and a local store) listening on loopback for the copies and uploads.
struct MetadataHarness: Sendable {
    static let secret = "metadata-test-internal-secret-0123456789"
    static let signer = InternalGrantSigner(secrets: [secret])
    static let linkSigner = LinkSigner(secrets: [secret])

    let app: MetadataApp
    let client: PostgresClient
    let blobDatabase: PostgresClient
    let blobStore: any ObjectStore
    let blobURL: String
    let http: any TestClientProtocol
    let tokens: TestTokens
    let names: NameBook

    static func tier(
        id: UUID = UUID(), sizes: [Int] = [200], quota: Int64 = 10_000_000, maxUpload: Int64 = 5_000_000,
        originalLinks: Bool = false, expiringLinks: Bool = false, linkSeconds: ClosedRange<Int>? = nil
    ) -> TierPermissions {
        TierPermissions(
            id: id, name: "tier-\(id.uuidString.prefix(8).lowercased())", thumbnailSizes: sizes, originalLinks: originalLinks,
            expiringLinks: expiringLinks,
            linkMinSeconds: linkSeconds?.lowerBound, linkMaxSeconds: linkSeconds?.upperBound, quotaBytes: quota, maxUploadBytes: maxUpload,
            requestsPerMinute: 600)
    }

    /// Auth's names, as the harness's users registered (the directory metadata asks when sharing).
    final class NameBook: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String: UUID] = [:]
        func add(_ name: String, _ id: UUID) { lock.withLock { names[name] = id } }
        func name(of id: UUID) -> String? { lock.withLock { names.first { $0.value == id }?.key } }
        func id(of name: String) -> UUID? { lock.withLock { names[name] } }
    }

    static func run(settings: MetadataSettings = MetadataSettings(), _ body: @Sendable (MetadataHarness) async throws -> Void) async throws {
        let tokens = TestTokens()
        let names = NameBook()
        let directory = UserDirectory { name, token in
            guard let id = names.id(of: name), let caller = try? await tokens.verifier(logger: TestDatabase.logger).verify(token),
                let callerName = names.name(of: caller.userID)
            else { return nil }
            return UserLookup(user: UserName(id: id, username: name), caller: UserName(id: caller.userID, username: callerName))
        }
        try await TestDatabase.withDatabase { blobDatabase, _ in
            try await Migrator.migrate(BlobMigrations.all, client: blobDatabase, logger: TestDatabase.logger)
            let store = try await TestStoreBackend.local.makeStore()
            let blobRouter = Router(context: ServiceRequestContext.self)
            blobRouter.add(middleware: ErrorMiddleware())
            BlobController(store: store, index: BlobIndex(client: blobDatabase, logger: TestDatabase.logger), signer: signer).register(on: blobRouter)
            let port = try freePort()
            let blobApp = Application(
                router: blobRouter, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: TestDatabase.logger)
            try await TestDatabase.withDatabase { client, _ in
                try await Migrator.migrate(MetadataMigrations.all, client: client, logger: TestDatabase.logger)
                let blobURL = "http://127.0.0.1:\(port)"
                let app = MetadataApp(
                    client: client, settings: settings, verifier: tokens.verifier(logger: TestDatabase.logger), signer: signer,
                    linkSigner: linkSigner, blob: InternalClient(http: .shared, service: "blob", baseURL: blobURL),
                    directory: directory, logger: TestDatabase.logger)
                let router = Router(context: ServiceRequestContext.self)
                router.add(middleware: RequestIDMiddleware())
                router.add(middleware: ErrorMiddleware())
                app.addRoutes(to: router)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await blobApp.runService() }
                    defer { group.cancelAll() }
                    try await eventually("blob listens") {
                        (try? await HTTPClient.shared.execute(HTTPClientRequest(url: blobURL + "/internal/blobs/x"), timeout: .seconds(1))) != nil
                    }
                    try await Application(router: router, logger: TestDatabase.logger).test(.router) { http in
                        try await body(
                            MetadataHarness(
                                app: app, client: client, blobDatabase: blobDatabase, blobStore: store, blobURL: blobURL,
                                http: http, tokens: tokens, names: names))
                    }
                }
            }
        }
    }

    /// A user as auth would announce them (`user.registered` through the handler).
    struct User: Sendable {
        var identity: Identity
        var token: String
        var root: UUID
        var id: UUID { identity.userID }
    }

    func newUser(tier: TierPermissions = MetadataHarness.tier()) async throws -> User {
        let identity = Identity(userID: UUID(), role: .user, tierID: tier.id)
        try await app.events.userRegistered(
            EventEnvelope(
                producer: "auth",
                payload: UserRegistered(
                    userID: identity.userID, username: "u\(identity.userID.uuidString.prefix(6).lowercased())", role: "user", tier: tier)))
        names.add("u\(identity.userID.uuidString.prefix(6).lowercased())", identity.userID)
        let token = try await tokens.token(for: identity)
        let root = try await json(send(.get, "/v1/folders/root", token: token))
        return User(identity: identity, token: token, root: UUID(uuidString: root["id"] as! String)!)
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, json body: [String: Any]? = nil, token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let body {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(data: try JSONSerialization.data(withJSONObject: body))
        }
        return try await http.execute(uri: uri, method: method, headers: headers, body: buffer)
    }

    func json(
        _ response: TestResponse, _ status: HTTPResponse.Status? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        if let status { #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation) }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
    }

    func mkdir(_ user: User, _ name: String, in parent: UUID? = nil) async throws -> UUID {
        let created = try json(
            try await send(.post, "/v1/folders", json: ["name": name, "parent_id": (parent ?? user.root).uuidString], token: user.token), .created)
        return UUID(uuidString: created["id"] as! String)!
    }

    /// The gateway's upload flow: reserve, stream to blob, complete with the receipt.
    func upload(_ user: User, _ bytes: [UInt8], name: String, in folder: UUID? = nil, replacing: UUID? = nil) async throws -> [String: Any] {
        var reserve: [String: Any] = ["size": bytes.count]
        if let replacing {
            reserve["file_id"] = replacing.uuidString
        } else {
            reserve["name"] = name
            reserve["folder_id"] = (folder ?? user.root).uuidString
        }
        let reservation = try json(try await send(.post, "/internal/uploads", json: reserve, token: user.token), .created)
        let reply = try await putToBlob(reservation, bytes)
        return try json(
            try await send(
                .post, "/internal/uploads/\(reservation["upload_id"] as! String)/complete", json: ["receipt": reply["receipt"]!], token: user.token),
            .ok)
    }

    func putToBlob(_ reservation: [String: Any], _ bytes: [UInt8]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: blobURL + "/internal/uploads/\(reservation["upload_id"] as! String)")
        request.method = .PUT
        request.headers.add(name: InternalGrant.header, value: reservation["grant"] as! String)
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(response.status.code == 201, "\(String(buffer: body))")
        return (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    func outbox<P: EventPayload>(_ type: P.Type) async throws -> [P] {
        var events: [P] = []
        let rows = try await client.query(
            "SELECT payload FROM cirrus_outbox WHERE topic = \(P.topic.rawValue) ORDER BY id", logger: TestDatabase.logger)
        for try await payload in rows.decode(ByteBuffer.self) {
            events.append(try ContractCoding.decoder().decode(EventEnvelope<P>.self, from: Data(buffer: payload)).payload)
        }
        return events
    }

    func usage(_ user: User) async throws -> (used: Int64, reserved: Int64) {
        let rows = try await client.query("SELECT used_bytes, reserved_bytes FROM users WHERE id = \(user.id)", logger: TestDatabase.logger)
        for try await r in rows.decode((Int64, Int64).self) { return r }
        return (-1, -1)
    }

    func names(_ page: [String: Any]) -> [String] {
        (page["items"] as? [[String: Any]] ?? []).map { $0["name"] as! String }
    }
}

extension UUID {
    var lower: String { uuidString.lowercased() }
}
