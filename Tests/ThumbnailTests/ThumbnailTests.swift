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
@testable import Thumbnail

/// The thumbnail pipeline with real libvips, a real blob on loopback and PostgreSQL: sizes,
/// orientation, stripped metadata, failures that do not hurt the service, on-demand renders
/// shared by concurrent requests, eviction, redelivery and deletion.
@Suite("Thumbnail pipeline", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct ThumbnailTests {
    static let signer = InternalGrantSigner(secrets: ["thumbnail-test-internal-secret-0123456789"])
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func fixture(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: fixtures.appendingPathComponent(name))) }

    struct Harness: Sendable {
        let app: ThumbnailApp
        let client: PostgresClient
        let store: any ObjectStore
        let blobURL: String
        let http: any TestClientProtocol

        /// Puts `bytes` into blob for `owner`; returns the source to render.
        func original(_ bytes: [UInt8], owner: UUID = UUID(), contentType: String = "image/jpeg") async throws -> SourceRef {
            let upload = UUID()
            let file = UUID()
            var request = HTTPClientRequest(url: blobURL + "/internal/uploads/\(upload.uuidString.lowercased())")
            request.method = .PUT
            request.headers.add(
                name: InternalGrant.header,
                value: signer.sign(InternalGrant(purpose: .upload, ownerID: owner, fileID: file, uploadID: upload, maxBytes: 1 << 30)))
            request.body = .bytes(ByteBuffer(bytes: bytes))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            let reply = try JSONSerialization.jsonObject(with: Data(buffer: body)) as! [String: Any]
            return SourceRef(fileID: file, ownerID: owner, blobID: reply["blob_id"] as! String, contentType: contentType)
        }

        func request(_ source: SourceRef, sizes: [Int]) -> EventEnvelope<ThumbnailRequested> {
            EventEnvelope(
                producer: "metadata",
                payload: ThumbnailRequested(
                    fileID: source.fileID, ownerID: source.ownerID, blobID: source.blobID,
                    contentType: source.contentType, sizes: sizes, reason: .upload))
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

        func serve(_ source: SourceRef, size: Int, headers: HTTPFields = [:]) async throws -> TestResponse {
            var headers = headers
            headers[HTTPField.Name(InternalGrant.header)!] = signer.sign(
                InternalGrant(
                    purpose: .read, ownerID: source.ownerID, fileID: source.fileID, blobID: source.blobID,
                    size: Int64(size), contentType: source.contentType))
            return try await http.execute(
                uri: "/internal/thumbnails/\(source.fileID.uuidString.lowercased())/\(size)", method: .get, headers: headers)
        }
    }

    static func run(_ body: @Sendable (Harness) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { blobDatabase, _ in
            try await Migrator.migrate(BlobMigrations.all, client: blobDatabase, logger: TestDatabase.logger)
            let blobRouter = Router(context: ServiceRequestContext.self)
            blobRouter.add(middleware: ErrorMiddleware())
            BlobController(
                store: try await TestStoreBackend.local.makeStore(), index: BlobIndex(client: blobDatabase, logger: TestDatabase.logger),
                signer: signer
            ).register(on: blobRouter)
            let port = try freePort()
            let blobApp = Application(
                router: blobRouter, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: TestDatabase.logger)
            try await TestDatabase.withDatabase { client, _ in
                try await Migrator.migrate(ThumbnailMigrations.all, client: client, logger: TestDatabase.logger)
                let store = try await TestStoreBackend.local.makeStore()
                var settings = ThumbnailSettings()
                settings.concurrency = 2
                let blobURL = "http://127.0.0.1:\(port)"
                let app = ThumbnailApp(
                    client: client, store: store, settings: settings, signer: signer,
                    blob: InternalClient(http: .shared, service: "blob", baseURL: blobURL),
                    scratch: TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("scratch"), logger: TestDatabase.logger)
                let router = Router(context: ServiceRequestContext.self)
                router.add(middleware: ErrorMiddleware())
                app.register(on: router)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await blobApp.runService() }
                    defer { group.cancelAll() }
                    try await eventually("blob listens") {
                        (try? await HTTPClient.shared.execute(HTTPClientRequest(url: blobURL + "/internal/blobs/x"), timeout: .seconds(1))) != nil
                    }
                    try await Application(router: router, logger: TestDatabase.logger).test(.router) { http in
                        try await body(Harness(app: app, client: client, store: store, blobURL: blobURL, http: http))
                    }
                }
            }
        }
    }

    @Test func rendersEachSizeUprightInSRGBWithoutMetadata() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            try await h.app.requested(h.request(source, sizes: [100, 150, 400]))
            let generated = try #require(try await h.outbox(ThumbnailGenerated.self).first)
            // Stored 300x200 with EXIF orientation 6: upright it is 200x300. Never upscaled: 400 → 300.
            #expect(generated.thumbnails.map { [$0.size, $0.width, $0.height] } == [[100, 67, 100], [150, 100, 150], [400, 200, 300]])
            #expect(generated.thumbnails.allSatisfy { $0.format == "jpeg" && $0.bytes > 0 })
            for thumbnail in generated.thumbnails {
                let response = try await h.serve(source, size: thumbnail.size)
                #expect(response.status == .ok)
                let bytes = Array(response.body.readableBytesView)
                #expect(Int64(bytes.count) == thumbnail.bytes)
                #expect(bytes.starts(with: [0xFF, 0xD8, 0xFF]))
                #expect(!Data(bytes).contains(Data("Exif".utf8)), "no EXIF (so no GPS position) in a thumbnail")
            }
        }
    }

    @Test func badImagesFailWithAReasonAndTheServiceKeepsWorking() async throws {
        try await Self.run { h in
            let corrupt = try await h.original(try Self.fixture("corrupt.jpg"))
            let bomb = try await h.original(try Self.fixture("bomb.png"), contentType: "image/png")
            let pdf = try await h.original(Array("%PDF-1.7 not an image".utf8), contentType: "application/pdf")
            for source in [corrupt, bomb, pdf] { try await h.app.requested(h.request(source, sizes: [200])) }
            let failures = try await h.outbox(ThumbnailFailed.self)
            #expect(failures.map(\.reason) == [.undecodable, .tooLarge, .unsupported])
            #expect(
                failures.allSatisfy { !$0.detail.contains("/tmp") && !$0.detail.contains(TestEnvironment.scratchDirectory) },
                "no internal paths in the detail")
            // On demand they answer 422 at once, without rendering again.
            #expect(try await h.serve(bomb, size: 200).status == .unprocessableContent)
            // And a good image still renders.
            let good = try await h.original(try Self.fixture("oriented.jpg"))
            try await h.app.requested(h.request(good, sizes: [200]))
            #expect(try await h.outbox(ThumbnailGenerated.self).count == 1)
        }
    }

    @Test func rendersNeverExceedTheConfiguredConcurrency() async throws {
        try await Self.run { h in  // the harness runs with concurrency 2
            let image = try Self.fixture("oriented.jpg")
            var sources: [SourceRef] = []
            for _ in 0..<6 { sources.append(try await h.original(image, owner: UUID())) }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for source in sources { group.addTask { try await h.serve(source, size: 150).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            #expect(await h.app.coordinator.renderCount == 6, "six different images, six renders")
            #expect((1...2).contains(h.app.coordinator.gauge.peak), "peak \(h.app.coordinator.gauge.peak)")
        }
    }

    @Test func concurrentRequestsForAMissingThumbnailRenderItOnce() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            let before = await h.app.coordinator.renderCount
            let responses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, Int).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await h.serve(source, size: 120)
                        return (response.status, response.body.readableBytes)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.allSatisfy { $0.0 == .ok && $0.1 > 0 })
            #expect(await h.app.coordinator.renderCount - before == 1)
            // Conditional: the ETag answers 304.
            let first = try await h.serve(source, size: 120)
            let etag = try #require(first.headers[.eTag])
            #expect(try await h.serve(source, size: 120, headers: [.ifNoneMatch: etag]).status == .notModified)
            // A grant for another size or file does not open this one.
            var headers: HTTPFields = [:]
            headers[HTTPField.Name(InternalGrant.header)!] = Self.signer.sign(
                InternalGrant(
                    purpose: .read, ownerID: source.ownerID, fileID: source.fileID,
                    blobID: source.blobID, size: 999, contentType: source.contentType))
            #expect(
                try await h.http.execute(uri: "/internal/thumbnails/\(source.fileID.uuidString.lowercased())/120", method: .get, headers: headers)
                    .status == .forbidden)
        }
    }

    @Test func redeliveryRendersNothingNewAndAnnouncesOnce() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            let event = h.request(source, sizes: [100, 200])
            try await h.app.requested(event)
            let renders = await h.app.coordinator.renderCount
            try await h.app.requested(event)
            #expect(await h.app.coordinator.renderCount == renders)
            #expect(try await h.outbox(ThumbnailGenerated.self).count == 1)
            // A new request for a size already there (a tier change re-asking) renders nothing either.
            try await h.app.requested(h.request(source, sizes: [200]))
            #expect(await h.app.coordinator.renderCount == renders)
        }
    }

    @Test func unreadThumbnailsAreEvictedAndComeBackOnDemand() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            try await h.app.requested(h.request(source, sizes: [100, 200]))
            #expect(try await h.store.list(prefix: "thumbs/").count == 2)
            // 100 was read recently; 200 not for 8 days.
            try await h.client.query("UPDATE thumbnails SET last_access_at = now() - interval '8 days' WHERE size = 200", logger: TestDatabase.logger)
            #expect(try await h.app.evict() == 1)
            #expect(try await h.store.list(prefix: "thumbs/").count == 1)
            let renders = await h.app.coordinator.renderCount
            #expect(try await h.serve(source, size: 200).status == .ok)
            #expect(await h.app.coordinator.renderCount == renders + 1)
            // A thumbnail being served is touched first, so eviction passes it by.
            #expect(try await h.serve(source, size: 100).status == .ok)
            #expect(try await h.app.evict() == 0)
        }
    }

    @Test func evictionRacingAnOnDemandRenderKeepsTheNewRendition() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            try await h.app.requested(h.request(source, sizes: [200]))
            try await h.client.query("UPDATE thumbnails SET last_access_at = now() - interval '8 days'", logger: TestDatabase.logger)
            // Eviction claims the row; before it deletes the object, a reader renders it again.
            let claimed = try await h.app.index.claimStale(olderThan: h.app.settings.evictAfter)
            #expect(claimed.count == 1)
            #expect(try await h.serve(source, size: 200).status == .ok)
            for key in claimed { try await h.store.delete(key: key) }
            // The new rendition survived the late delete.
            #expect(try await h.serve(source, size: 200).status == .ok)
            #expect(try await h.store.list(prefix: "thumbs/").count == 1)
        }
    }

    @Test func aRenditionRenderedTwiceKeepsOneObject() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            try await h.app.requested(h.request(source, sizes: [200]))
            // As if another replica rendered the same rendition: the replaced object goes.
            let again = try await h.app.coordinator.render(source, sizes: [200])
            #expect(again[200] != nil)
            #expect(try await h.store.list(prefix: "thumbs/").count == 1)
        }
    }

    @Test func aDeletedFilesThumbnailsGo() async throws {
        try await Self.run { h in
            let source = try await h.original(try Self.fixture("oriented.jpg"))
            try await h.app.requested(h.request(source, sizes: [100, 200]))
            let deleted = EventEnvelope(
                producer: "metadata", payload: FileDeleted(fileID: source.fileID, ownerID: source.ownerID, blobIDs: [source.blobID]))
            try await h.app.deleted(deleted)
            try await h.app.deleted(deleted)
            #expect(try await h.store.list(prefix: "thumbs/").isEmpty)
            let rows = try await h.client.query("SELECT count(*) FROM thumbnails", logger: TestDatabase.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
        }
    }
}
