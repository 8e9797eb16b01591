import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Synchronization
import Testing

@testable import Blob

/// Blob's internal HTTP API on both store backends: uploads with grants, checksums and limits,
/// downloads with ranges and conditional requests, and owners kept apart.
@Suite("Blob HTTP API", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct BlobHTTPTests {
    static let signer = InternalGrantSigner(secrets: ["blob-http-test-secret-0123456789abcdef"])
    static let grantHeader = HTTPField.Name(InternalGrant.header)!

    struct Harness {
        let client: PostgresClient
        let store: any ObjectStore
        let http: any TestClientProtocol

        func upload(
            _ bytes: [UInt8], owner: UUID, file: UUID = UUID(), limit: Int64 = 1 << 30, sha256: String? = nil,
            grant: String? = nil
        ) async throws -> TestResponse {
            let upload = UUID()
            let token = grant ?? signer.sign(InternalGrant(purpose: .upload, ownerID: owner, fileID: file, uploadID: upload, maxBytes: limit))
            var headers: HTTPFields = [grantHeader: token]
            if let sha256 { headers[BlobController.checksumHeader] = sha256 }
            return try await http.execute(
                uri: "/internal/uploads/\(upload.uuidString.lowercased())", method: .put, headers: headers,
                body: ByteBuffer(bytes: bytes))
        }

        func download(_ blobID: String, owner: UUID, method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) async throws -> TestResponse {
            var headers = headers
            headers[grantHeader] = signer.sign(InternalGrant(purpose: .read, ownerID: owner, blobID: blobID))
            return try await http.execute(uri: "/internal/blobs/\(blobID)", method: method, headers: headers)
        }
    }

    static func run(_ backend: TestStoreBackend, _ body: @Sendable (Harness) async throws -> Void) async throws {
        try await run(store: try await backend.makeStore(), body)
    }

    static func run(store: any ObjectStore, _ body: @Sendable (Harness) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: TestDatabase.logger)
            let index = BlobIndex(client: client, logger: TestDatabase.logger)
            let router = Router(context: ServiceRequestContext.self)
            router.add(middleware: ErrorMiddleware())
            BlobController(store: store, index: index, signer: signer).register(on: router)
            try await Application(router: router, logger: TestDatabase.logger).test(.router) { http in
                try await body(Harness(client: client, store: store, http: http))
            }
        }
    }

    static func reply(_ response: TestResponse) throws -> StoredUpload {
        try ContractCoding.decoder().decode(StoredUpload.self, from: Data(buffer: response.body))
    }

    static func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    static func outboxEvents(_ client: PostgresClient) async throws -> [EventEnvelope<FileUploaded>] {
        var events: [EventEnvelope<FileUploaded>] = []
        let rows = try await client.query("SELECT payload FROM cirrus_outbox WHERE topic = 'file.uploaded' ORDER BY id", logger: TestDatabase.logger)
        for try await payload in rows.decode(ByteBuffer.self) {
            events.append(try ContractCoding.decoder().decode(EventEnvelope<FileUploaded>.self, from: Data(buffer: payload)))
        }
        return events
    }

    @Test(arguments: TestStoreBackend.allCases)
    func uploadStoresRecordsAndAnnounces(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let owner = UUID()
            let file = UUID()
            var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            png += (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let response = try await h.upload(png, owner: owner, file: file, sha256: Self.hex(png).uppercased())
            #expect(response.status == .created)
            let reply = try Self.reply(response)
            #expect(reply.size == Int64(png.count))
            #expect(reply.sha256 == Self.hex(png))
            #expect(reply.blobID == "sha256:" + Self.hex(png))
            #expect(reply.contentType == "image/png")
            // The receipt is what metadata trusts: it verifies and says the same.
            let receipt = try Self.signer.verify(reply.receipt, purpose: .receipt)
            #expect(receipt.ownerID == owner && receipt.fileID == file && receipt.size == Int64(png.count) && receipt.sha256 == Self.hex(png))
            // file.uploaded is in the outbox, written with the index row.
            let events = try await Self.outboxEvents(h.client)
            #expect(events.count == 1)
            #expect(events.first?.payload.fileID == file)
            #expect(events.first?.payload.size == Int64(png.count))
            // Bit for bit back.
            let download = try await h.download(reply.blobID, owner: owner)
            #expect(download.status == .ok)
            #expect(Array(download.body.readableBytesView) == png)
            #expect(download.headers[.eTag] == "\"\(Self.hex(png))\"")
            #expect(download.headers[.contentType] == "image/png")
            #expect(download.headers[.acceptRanges] == "bytes")
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func identicalContentOfOneOwnerIsStoredOnce(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let owner = UUID()
            let other = UUID()
            let bytes = Array("the same words, twice".utf8)
            let first = try Self.reply(try await h.upload(bytes, owner: owner))
            let second = try Self.reply(try await h.upload(bytes, owner: owner))
            let foreign = try Self.reply(try await h.upload(bytes, owner: other))
            #expect(first.blobID == second.blobID && first.blobID == foreign.blobID)
            let objects = try await h.store.list(prefix: BlobObjects.prefix)
            #expect(objects.count == 2, "one object for the owner, one for the other owner")
            let refs = try await h.client.query("SELECT ref_count FROM blobs WHERE owner_id = \(owner)", logger: TestDatabase.logger)
            var counts: [Int] = []
            for try await count in refs.decode(Int.self) { counts.append(count) }
            #expect(counts == [2])
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func checksumMismatchAndOversizeKeepNothing(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let owner = UUID()
            let bytes = [UInt8](repeating: 7, count: 100_000)
            let mismatch = try await h.upload(bytes, owner: owner, sha256: String(repeating: "a", count: 64))
            #expect(mismatch.status == .unprocessableContent)
            let problem = String(buffer: mismatch.body)
            #expect(problem.contains("X-Content-SHA256"))
            #expect(problem.contains(Self.hex(bytes)), "the error says what was received")
            let malformed = try await h.upload(bytes, owner: owner, sha256: "not-a-checksum")
            #expect(malformed.status == .unprocessableContent)
            #expect(String(buffer: malformed.body).contains("\"field\":\"X-Content-SHA256\""))
            let tooLarge = try await h.upload(bytes, owner: owner, limit: 99_999)
            #expect(tooLarge.status == .contentTooLarge)
            let exact = try await h.upload(bytes, owner: owner, limit: 100_000)
            #expect(exact.status == .created, "the limit is inclusive")
            // Only the accepted upload left an object and a row, and only it was announced.
            #expect(try await h.store.list(prefix: BlobObjects.prefix).count == 1)
            #expect(try await Self.outboxEvents(h.client).count == 1)
        }
    }

    @Test
    func grantsAreCheckedAndOwnersKeptApart() async throws {
        try await Self.run(.local) { h in
            let owner = UUID()
            let intruder = UUID()
            let reply = try Self.reply(try await h.upload(Array("private".utf8), owner: owner))
            // No grant, a forged one, one for another purpose, one for another upload: 403.
            let upload = UUID()
            let noGrant = try await h.http.execute(uri: "/internal/uploads/\(upload)", method: .put, body: ByteBuffer(string: "x"))
            #expect(noGrant.status == .forbidden)
            let forger = InternalGrantSigner(secrets: ["some-other-secret-0123456789abcdefghij"])
            let forged = forger.sign(InternalGrant(purpose: .upload, ownerID: owner, fileID: UUID(), uploadID: upload, maxBytes: 10))
            #expect(try await h.upload(Array("x".utf8), owner: owner, grant: forged).status == .forbidden)
            let readGrant = Self.signer.sign(InternalGrant(purpose: .read, ownerID: owner, blobID: reply.blobID))
            #expect(try await h.upload(Array("x".utf8), owner: owner, grant: readGrant).status == .forbidden)
            let expired = Self.signer.sign(
                InternalGrant(
                    purpose: .upload, ownerID: owner, fileID: UUID(), uploadID: upload, maxBytes: 10,
                    lifetime: .seconds(-1)))
            #expect(try await h.upload(Array("x".utf8), owner: owner, grant: expired).status == .forbidden)
            // Another user's grant for the same content address finds nothing: 404, no bytes.
            let stolen = try await h.download(reply.blobID, owner: intruder)
            #expect(stolen.status == .notFound)
            #expect(!String(buffer: stolen.body).contains("private"))
            // A grant for one blob does not open another.
            var headers: HTTPFields = [:]
            headers[Self.grantHeader] = Self.signer.sign(
                InternalGrant(purpose: .read, ownerID: owner, blobID: "sha256:" + String(repeating: "0", count: 64)))
            let mismatched = try await h.http.execute(uri: "/internal/blobs/\(reply.blobID)", method: .get, headers: headers)
            #expect(mismatched.status == .forbidden)
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func rangesAndConditionalRequests(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let owner = UUID()
            let bytes = (0..<1000).map { UInt8($0 % 251) }
            let blob = try Self.reply(try await h.upload(bytes, owner: owner)).blobID
            let etag = "\"\(Self.hex(bytes))\""
            func get(_ range: String?, _ extra: HTTPFields = [:]) async throws -> TestResponse {
                var headers = extra
                if let range { headers[.range] = range }
                return try await h.download(blob, owner: owner, headers: headers)
            }
            let cases: [(String, Int, Int)] = [
                ("bytes=0-99", 0, 99), ("bytes=990-", 990, 999), ("bytes=-10", 990, 999), ("bytes=-5000", 0, 999),
                ("bytes=500-5000", 500, 999), ("bytes=999-999", 999, 999),
            ]
            for (range, first, last) in cases {
                let response = try await get(range)
                #expect(response.status == .partialContent, "\(range)")
                #expect(response.headers[.contentRange] == "bytes \(first)-\(last)/1000", "\(range)")
                #expect(Array(response.body.readableBytesView) == Array(bytes[first...last]), "\(range)")
            }
            for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
                let response = try await get(range)
                #expect(response.status == .rangeNotSatisfiable, "\(range)")
                #expect(response.headers[.contentRange] == "bytes */1000", "\(range)")
            }
            // Ranges Cirrus does not serve are ignored: the whole content.
            for range in ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=abc"] {
                let response = try await get(range)
                #expect(response.status == .ok, "\(range)")
                #expect(response.body.readableBytes == 1000, "\(range)")
            }
            // If-Range with a stale tag: the whole content; with ours: the range.
            #expect(try await get("bytes=0-9", [.ifRange: "\"stale\""]).status == .ok)
            #expect(try await get("bytes=0-9", [.ifRange: etag]).status == .partialContent)
            // If-None-Match.
            let notModified = try await get(nil, [.ifNoneMatch: "\"other\", \(etag)"])
            #expect(notModified.status == .notModified)
            #expect(notModified.body.readableBytes == 0)
            #expect(notModified.headers[.eTag] == etag)
            #expect(try await get(nil, [.ifNoneMatch: "\"other\""]).status == .ok)
            // HEAD: the headers, no body.
            let head = try await h.download(blob, owner: owner, method: .head)
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "1000")
            #expect(head.body.readableBytes == 0)
        }
    }

    @Test
    func anUnavailableStoreIsA503WithRetryAfterAndAFullOneA507() async throws {
        // Nothing listens on port 9: the S3 store cannot be reached.
        let unreachable = S3ObjectStore(
            configuration: .init(
                endpoint: "http://127.0.0.1:9", region: "us-east-1", bucket: "none",
                accessKeyID: "test", secretAccessKey: "test", pathStyle: true))
        try await Self.run(store: unreachable) { h in
            let response = try await h.upload(Array(repeating: 1, count: 10_000), owner: UUID())
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] != nil)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(!String(buffer: response.body).contains("127.0.0.1"), "no internal detail leaks")
            #expect(try await Self.outboxEvents(h.client).isEmpty)
        }
        #expect(StorageError.insufficientStorage.problem.status.code == 507)
    }

    final class Tally: Sendable {
        private let total = Mutex(0)
        func add(_ bytes: Int) -> Int {
            total.withLock {
                $0 += bytes
                return $0
            }
        }
    }

    /// A local store whose disk fills up after `capacity` bytes of one write.
    struct FillingStore: ObjectStore {
        let inner: any ObjectStore
        let capacity: Int

        struct Writer: ObjectWriter {
            let inner: any ObjectWriter
            let capacity: Int
            let written = Tally()
            func write(_ buffer: ByteBuffer) async throws {
                let total = written.add(buffer.readableBytes)
                if total > capacity { throw StorageError.insufficientStorage }
                try await inner.write(buffer)
            }
            func commit() async throws { try await inner.commit() }
            func abort() async { await inner.abort() }
        }

        func makeWriter(key: String) async throws -> any ObjectWriter { Writer(inner: try await inner.makeWriter(key: key), capacity: capacity) }
        func read(key: String, range: ByteRange?) async throws -> ObjectRead { try await inner.read(key: key, range: range) }
        func head(key: String) async throws -> ObjectInfo? { try await inner.head(key: key) }
        func delete(key: String) async throws { try await inner.delete(key: key) }
        func list(prefix: String) async throws -> [ObjectInfo] { try await inner.list(prefix: prefix) }
        func checkHealth() async throws { try await inner.checkHealth() }
    }

    @Test
    func aFullStoreIs507AndKeepsNothing() async throws {
        let local = try await TestStoreBackend.local.makeStore()
        try await Self.run(store: FillingStore(inner: local, capacity: 300_000)) { h in
            let response = try await h.upload(Array(repeating: 7, count: 1_000_000), owner: UUID())
            #expect(response.status.code == 507)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(try await Self.outboxEvents(h.client).isEmpty)
            let rows = try await h.client.query("SELECT count(*) FROM blobs", logger: TestDatabase.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
            #expect(try await local.list(prefix: "").isEmpty, "no object, no temporary file left visible")
            // Smaller content still fits.
            #expect(try await h.upload(Array(repeating: 7, count: 1000), owner: UUID()).status == .created)
        }
    }

    /// A local store whose writers run `beforeCommit` first (and say, as the local store's do,
    /// that their commit is local work, so blob overlaps it with the index statements).
    struct WatchedCommitStore: ObjectStore {
        let inner: LocalObjectStore
        let beforeCommit: @Sendable (_ writer: any ObjectWriter) async throws -> Void

        struct Writer: ObjectWriter {
            let inner: any ObjectWriter
            let beforeCommit: @Sendable (_ writer: any ObjectWriter) async throws -> Void
            var commitsLocally: Bool { true }
            func write(_ buffer: ByteBuffer) async throws { try await inner.write(buffer) }
            func commit() async throws {
                try await beforeCommit(inner)
                try await inner.commit()
            }
            func abort() async { await inner.abort() }
        }

        func makeWriter(key: String) async throws -> any ObjectWriter {
            Writer(inner: try await inner.makeWriter(key: key), beforeCommit: beforeCommit)
        }
        func read(key: String, range: ByteRange?) async throws -> ObjectRead { try await inner.read(key: key, range: range) }
        func head(key: String) async throws -> ObjectInfo? { try await inner.head(key: key) }
        func delete(key: String) async throws { try await inner.delete(key: key) }
        func list(prefix: String) async throws -> [ObjectInfo] { try await inner.list(prefix: prefix) }
        func checkHealth() async throws { try await inner.checkHealth() }
    }

    static func scratchStore() throws -> LocalObjectStore {
        try LocalObjectStore(root: TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("blob-overlap"))
    }

    static func count(_ sql: String, _ client: PostgresClient) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    static func temporaryFiles(_ store: LocalObjectStore) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent("tmp").path)
    }

    /// The object's commit (fsync, rename) runs while the index statements do, inside the open
    /// transaction: the row becomes visible only once the object is durable.
    @Test
    func theObjectIsCommittedWhileTheIndexWritesAndBeforeItsRowIsVisible() async throws {
        let local = try Self.scratchStore()
        let seen = Recorder<String>()
        let client = Mutex<PostgresClient?>(nil)
        let store = WatchedCommitStore(inner: local) { _ in
            guard let db = client.withLock({ $0 }) else { return }
            // Wait (up to 5 s) for blob's transaction to have written its event and be waiting.
            let waitingTransactions = """
                SELECT count(*)::INT FROM pg_stat_activity WHERE datname = current_database()
                AND state = 'idle in transaction' AND query LIKE '%cirrus_outbox%'
                """
            for _ in 0..<500 {
                if try await Self.count(waitingTransactions, db) == 1 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            seen.append("open transactions waiting: \(try await Self.count(waitingTransactions, db))")
            seen.append("rows visible: \(try await Self.count("SELECT count(*)::INT FROM blobs", db))")
        }
        try await Self.run(store: store) { h in
            client.withLock { $0 = h.client }
            let bytes = RandomBytes.make(300_000)
            let owner = UUID()
            let response = try await h.upload(bytes, owner: owner)
            #expect(response.status == .created)
            #expect(seen.all == ["open transactions waiting: 1", "rows visible: 0"])
            #expect(try await Self.count("SELECT count(*)::INT FROM blobs", h.client) == 1)
            #expect(try await Self.outboxEvents(h.client).count == 1)
            let stored = try Self.reply(response)
            let back = try await h.download(stored.blobID, owner: owner)
            #expect(Array(back.body.readableBytesView) == bytes)
            #expect(try Self.temporaryFiles(local).isEmpty)
        }
    }

    /// Either half failing leaves nothing: a commit that fails rolls the index back; an index
    /// statement that fails while the commit runs gets the committed object deleted.
    @Test
    func aFailureOnEitherSideOfTheOverlapKeepsNothing() async throws {
        let local = try Self.scratchStore()
        let failCommit = Mutex(true)
        let store = WatchedCommitStore(inner: local) { inner in
            if failCommit.withLock({ $0 }) {
                await inner.abort()
                throw StorageError.insufficientStorage
            }
        }
        try await Self.run(store: store) { h in
            let failed = try await h.upload(RandomBytes.make(200_000), owner: UUID())
            #expect(failed.status.code == 507)
            #expect(try await Self.count("SELECT count(*)::INT FROM blobs", h.client) == 0)
            #expect(try await Self.count("SELECT count(*)::INT FROM blob_refs", h.client) == 0)
            #expect(try await Self.outboxEvents(h.client).isEmpty)
            #expect(try await local.list(prefix: "").isEmpty)
            #expect(try Self.temporaryFiles(local).isEmpty)

            // The index refuses (its function is gone) while the object commits for real.
            failCommit.withLock { $0 = false }
            try await h.client.query("DROP FUNCTION blob_register", logger: TestDatabase.logger)
            let refused = try await h.upload(RandomBytes.make(200_000), owner: UUID())
            #expect(refused.status.code == 500)
            #expect(!String(buffer: refused.body).contains("blob_register"), "no internal detail leaks")
            #expect(try await Self.outboxEvents(h.client).isEmpty)
            #expect(try await local.list(prefix: "").isEmpty, "the committed object was deleted")
            #expect(try Self.temporaryFiles(local).isEmpty)
        }
    }

    @Test
    func copiesAddReferencesAndALateReleaseNeverDropsANewerUse() async throws {
        try await Self.run(.local) { h in
            let owner = UUID()
            let file = UUID()
            let copy = UUID()
            let copyReference = UUID()
            let bytes = Array("content used twice".utf8)
            let first = try Self.reply(try await h.upload(bytes, owner: owner, file: file))
            func refCount() async throws -> Int {
                let rows = try await h.client.query("SELECT ref_count FROM blobs WHERE owner_id = \(owner)", logger: TestDatabase.logger)
                for try await count in rows.decode(Int.self) { return count }
                return -1
            }
            func reference(_ owner: UUID, _ blobID: String) async throws -> TestResponse {
                let grant = Self.signer.sign(
                    InternalGrant(purpose: .reference, ownerID: owner, fileID: copy, uploadID: copyReference, blobID: blobID))
                return try await h.http.execute(uri: "/internal/references", method: .post, headers: [Self.grantHeader: grant])
            }
            // The copy: one more reference, once however often it is sent.
            #expect(try await reference(owner, first.blobID).status == .noContent)
            #expect(try await reference(owner, first.blobID).status == .noContent)
            #expect(try await refCount() == 2)
            // Another owner cannot reference it; unknown content is a 404.
            #expect(try await reference(UUID(), first.blobID).status == .notFound)
            #expect(try await reference(owner, "sha256:" + String(repeating: "f", count: 64)).status == .notFound)
            // The file gets the same bytes again (a new version): a third use.
            let again = try Self.reply(try await h.upload(bytes, owner: owner, file: file))
            #expect(try await refCount() == 3)
            // The first version is pruned: only its reference goes, even arriving twice.
            let handler = FileDeletedHandler(index: BlobIndex(client: h.client, logger: TestDatabase.logger))
            let prune = EventEnvelope(
                producer: "metadata",
                payload: FileDeleted(
                    fileID: file, ownerID: owner, blobIDs: [first.blobID],
                    referenceIDs: [first.uploadID]))
            try await handler.handle(prune)
            try await handler.handle(prune)
            #expect(try await refCount() == 2)
            // Purging the file drops its remaining use; the copy keeps the content alive.
            try await handler.handle(EventEnvelope(producer: "metadata", payload: FileDeleted(fileID: file, ownerID: owner, blobIDs: [again.blobID])))
            #expect(try await refCount() == 1)
            #expect(try await h.download(first.blobID, owner: owner).status == .ok)
        }
    }

    @Test
    func emptyContentRoundTrips() async throws {
        try await Self.run(.local) { h in
            let owner = UUID()
            let reply = try Self.reply(try await h.upload([], owner: owner))
            #expect(reply.size == 0)
            let response = try await h.download(reply.blobID, owner: owner)
            #expect(response.status == .ok)
            #expect(response.body.readableBytes == 0)
            #expect(try await h.download(reply.blobID, owner: owner, headers: [.range: "bytes=0-"]).status == .rangeNotSatisfiable)
        }
    }
}
