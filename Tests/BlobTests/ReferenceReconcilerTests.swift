import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Synchronization
import Testing

@testable import Blob

/// What a lost `file.deleted` leaves: references metadata no longer has are released (and the
/// content then collected); references metadata has, or that are younger than the grace, stay;
/// an answer that does not account for every id releases nothing.
@Suite("Blob reference reconciliation", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(2)))
struct ReferenceReconcilerTests {
    let logger = TestDatabase.logger

    /// A stand-in for metadata's `POST /internal/known/references`: knows `known`; when
    /// `truncate`, answers for one id fewer than asked.
    static func fakeMetadata(known: Set<UUID>, truncate: Bool = false, _ body: @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/internal/known/references") { request, context in
            let query = try await request.decode(as: KnownIDsQuery.self, context: context)
            let checked = truncate ? query.ids.count - 1 : query.ids.count
            let data = try ContractCoding.encoder().encode(KnownIDsReply(known: query.ids.filter(known.contains), checked: checked))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestDatabase.logger).test(.live)
        { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }

    @Test func referencesMetadataNoLongerHasAreReleasedAndNothingElse() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: logger)
            let index = BlobIndex(client: client, logger: logger)
            let owner = UUID()
            let live = UUID()
            let lost = UUID()
            let copy = UUID()
            let sha = String(repeating: "a", count: 64)
            let other = String(repeating: "b", count: 64)
            for (file, content) in [(live, sha), (lost, other)] {
                _ = try await client.transaction(logger: logger) { connection in
                    try await index.register(
                        ownerID: owner, fileID: file, sha256: content, size: 1, contentType: "text/plain",
                        objectKey: BlobObjects.key(uploadID: UUID()), on: connection)
                }
            }
            // A copy of the live content (a second reference to it) that metadata also lost.
            _ = try await client.transaction(logger: logger) { connection in
                try await index.addReference(ownerID: owner, sha256: sha, fileID: copy, referenceID: copy, on: connection)
            }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var settings = ReferenceReconciler.Configuration()
            settings.grace = .zero
            settings.pageSize = 2  // several pages
            let configuration = settings

            // A short answer releases nothing.
            try await Self.fakeMetadata(known: [live], truncate: true) { (url: String) async throws in
                let reconciler = ReferenceReconciler(
                    index: index, metadata: KnownIDs(metadata: InternalClient(http: http, service: "metadata", baseURL: url), kind: .references),
                    configuration: configuration, logger: logger)
                await #expect(throws: (any Error).self) { _ = try await reconciler.pass() }
            }
            #expect(try await index.find(ownerID: owner, sha256: other)?.refCount == 1)

            // Metadata knows only the live file's reference (its id is the file id here).
            try await Self.fakeMetadata(known: [live]) { (url: String) async throws in
                let reconciler = ReferenceReconciler(
                    index: index, metadata: KnownIDs(metadata: InternalClient(http: http, service: "metadata", baseURL: url), kind: .references),
                    configuration: configuration, logger: logger)
                #expect(try await reconciler.pass() == 2)
                #expect(try await reconciler.pass() == 0, "a second pass finds nothing more")
            }
            #expect(try await index.find(ownerID: owner, sha256: sha)?.refCount == 1, "the live reference stays, the lost copy's goes")
            #expect(try await index.find(ownerID: owner, sha256: other)?.refCount == 0, "unreferenced: the collector's to remove")

            // Younger than the grace: left alone whatever metadata says.
            settings.grace = .seconds(3600)
            let patient = settings
            try await Self.fakeMetadata(known: []) { (url: String) async throws in
                let reconciler = ReferenceReconciler(
                    index: index, metadata: KnownIDs(metadata: InternalClient(http: http, service: "metadata", baseURL: url), kind: .references),
                    configuration: patient, logger: logger)
                #expect(try await reconciler.pass() == 0)
            }
            #expect(try await index.find(ownerID: owner, sha256: sha)?.refCount == 1)
            try await http.shutdown()
        }
    }
}
