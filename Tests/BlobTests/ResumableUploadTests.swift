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
import Testing

@testable import Blob

@Suite("Resumable SHA-256")
struct ResumableSHA256Tests {
    @Test func aSavedAndRestoredStateHashesLikeOneRun() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<Int.random(in: 0...5000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Split anywhere (inside a 64-byte block too), save and restore at each split.
            var hash = ResumableSHA256()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...700, using: &generator))
                bytes[start..<end].withUnsafeBytes { hash.update($0) }
                hash = ResumableSHA256(state: hash.state)!
                start = end
            }
            #expect(hash.hexDigest() == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test func aDigestLeavesTheStateAsItWas() {
        var hash = ResumableSHA256()
        Array("abc".utf8).withUnsafeBytes { hash.update($0) }
        #expect(hash.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hash.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func somethingElseIsNotAState() {
        let state = ResumableSHA256().state
        #expect(ResumableSHA256(state: []) == nil)
        #expect(ResumableSHA256(state: Array(state.dropLast())) == nil)
        #expect(ResumableSHA256(state: [2] + state.dropFirst()) == nil)
    }
}

/// Blob's resumable-upload API on both stores, with a real database: offsets, sessions,
/// checksums, completion (registered and announced like any upload) and owners kept apart.
@Suite("Blob resumable uploads", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct ResumableUploadTests {
    static let signer = InternalGrantSigner(secrets: ["blob-resumable-test-secret-0123456789abcdef"])
    static let grantHeader = HTTPField.Name(InternalGrant.header)!

    struct Harness {
        let client: PostgresClient
        let store: any StagedObjectStore
        let uploads: ResumableUploads
        let http: any TestClientProtocol

        func grant(_ upload: UUID, owner: UUID, file: UUID, limit: Int64 = 1 << 30) -> HTTPFields {
            [grantHeader: signer.sign(InternalGrant(purpose: .upload, ownerID: owner, fileID: file, uploadID: upload, maxBytes: limit))]
        }

        func create(
            _ upload: UUID, owner: UUID, file: UUID = UUID(), length: Int64?, sha256: String? = nil, limit: Int64 = 1 << 30,
            expires: Date = Date().addingTimeInterval(3600)
        ) async throws -> TestResponse {
            let body = try ContractCoding.encoder().encode(
                ResumableUploadCreation(length: length, metadata: "name YS5iaW4=", sha256: sha256, expiresAt: expires))
            var headers = grant(upload, owner: owner, file: file, limit: limit)
            headers[.contentType] = "application/json"
            return try await http.execute(uri: path(upload), method: .post, headers: headers, body: ByteBuffer(data: body))
        }

        func patch(
            _ upload: UUID, owner: UUID, file: UUID, offset: Int64, _ bytes: [UInt8], checksum: String? = nil, length: Int64? = nil
        ) async throws -> TestResponse {
            var headers = grant(upload, owner: owner, file: file)
            headers[ResumableController.offsetHeader] = String(offset)
            if let checksum { headers[ResumableController.checksumHeader] = checksum }
            if let length { headers[ResumableController.lengthHeader] = String(length) }
            return try await http.execute(uri: path(upload), method: .patch, headers: headers, body: ByteBuffer(bytes: bytes))
        }

        func status(_ upload: UUID, owner: UUID, file: UUID) async throws -> TestResponse {
            try await http.execute(uri: path(upload), method: .get, headers: grant(upload, owner: owner, file: file))
        }

        func path(_ upload: UUID) -> String { "/internal/resumable/" + upload.uuidString.lowercased() }
    }

    static func run(_ backend: TestStoreBackend, _ body: @Sendable (Harness) async throws -> Void) async throws {
        let store = try await backend.makeStagedStore()
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: TestDatabase.logger)
            let index = BlobIndex(client: client, logger: TestDatabase.logger)
            let uploads = ResumableUploads(client: client, logger: TestDatabase.logger)
            let router = Router(context: ServiceRequestContext.self)
            router.add(middleware: ErrorMiddleware())
            let controller = BlobController(store: store, index: index, signer: signer)
            controller.register(on: router)
            var resumable = ResumableController(store: store, uploads: uploads, signer: signer, uploadsController: controller)
            resumable.settleWait = .milliseconds(300)
            resumable.register(on: router)
            try await Application(router: router, logger: TestDatabase.logger).test(.router) { http in
                try await body(Harness(client: client, store: store, uploads: uploads, http: http))
            }
        }
    }

    static func state(_ response: TestResponse) throws -> ResumableUploadState {
        try ContractCoding.decoder().decode(ResumableUploadState.self, from: Data(buffer: response.body))
    }

    static func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }
    /// `Upload-Checksum` for `bytes`.
    static func base64Digest(_ bytes: [UInt8]) -> String { "sha256 " + Data(SHA256.hash(data: bytes)).base64EncodedString() }

    static func randomBytes(_ count: Int) -> [UInt8] {
        RandomBytes.make(count)
    }

    static func fileUploadedEvents(_ client: PostgresClient) async throws -> [FileUploaded] {
        var events: [FileUploaded] = []
        let rows = try await client.query("SELECT payload FROM cirrus_outbox WHERE topic = 'file.uploaded' ORDER BY id", logger: TestDatabase.logger)
        for try await payload in rows.decode(ByteBuffer.self) {
            events.append(try ContractCoding.decoder().decode(EventEnvelope<FileUploaded>.self, from: Data(buffer: payload)).payload)
        }
        return events
    }

    @Test(arguments: TestStoreBackend.allCases)
    func chunksAddUpToAFileRegisteredAndAnnouncedLikeAnyUpload(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            png += Self.randomBytes(7 << 20)
            let created = try await h.create(upload, owner: owner, file: file, length: Int64(png.count), sha256: Self.hex(png))
            #expect(created.status == .created)
            #expect(try Self.state(created).offset == 0)
            var offset = 0
            for size in [3, 300_000, 6 << 20, png.count] {  // a chunk of 3 bytes: the sniffer's prefix spans chunks
                let end = min(png.count, offset + size)
                let chunk = Array(png[offset..<end])
                let response = try await h.patch(upload, owner: owner, file: file, offset: Int64(offset), chunk, checksum: Self.base64Digest(chunk))
                #expect(response.status == .ok)
                let state = try Self.state(response)
                #expect(state.offset == Int64(end))
                offset = end
                if end == png.count {
                    let stored = try #require(state.stored)
                    #expect(stored.sha256 == Self.hex(png) && stored.size == Int64(png.count) && stored.contentType == "image/png")
                    #expect(stored.fileID == file && stored.uploadID == upload)
                    let receipt = try Self.signer.verify(stored.receipt, purpose: .receipt)
                    #expect(receipt.ownerID == owner && receipt.sha256 == Self.hex(png))
                    break
                }
                #expect(state.stored == nil)
            }
            #expect(try await Self.fileUploadedEvents(h.client).map(\.fileID) == [file])
            // The last request again (its answer lost): the same content, no second event.
            let again = try await h.patch(upload, owner: owner, file: file, offset: Int64(png.count), [])
            #expect(again.status == .ok)
            #expect(try Self.state(again).stored?.sha256 == Self.hex(png))
            #expect(try await Self.fileUploadedEvents(h.client).count == 1)
            let record = try #require(try await BlobIndex(client: h.client, logger: TestDatabase.logger).find(ownerID: owner, sha256: Self.hex(png)))
            let back = try await h.store.read(key: record.objectKey, range: nil).body.collect(upTo: 16 << 20)
            #expect(Array(back.readableBytesView) == png)
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func aWrongOffsetIsAConflictThatNamesTheRightOne(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            _ = try await h.create(upload, owner: owner, file: file, length: 100)
            _ = try await h.patch(upload, owner: owner, file: file, offset: 0, Array(repeating: 7, count: 40))
            for wrong: Int64 in [0, 39, 41, 100] {
                let response = try await h.patch(upload, owner: owner, file: file, offset: wrong, [1, 2, 3])
                #expect(response.status == .conflict)
                #expect(response.headers[ResumableController.offsetHeader] == "40")
            }
            #expect(try Self.state(try await h.status(upload, owner: owner, file: file)).offset == 40)
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func aChunkWhoseChecksumFailsIsDiscarded(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            let bytes = Self.randomBytes(6 << 20)
            _ = try await h.create(upload, owner: owner, file: file, length: Int64(bytes.count))
            let half = Array(bytes[0..<(3 << 20)])
            _ = try await h.patch(upload, owner: owner, file: file, offset: 0, half, checksum: Self.base64Digest(half))
            var corrupt = Array(bytes[(3 << 20)...])
            corrupt[1000] ^= 0xFF
            let refused = try await h.patch(
                upload, owner: owner, file: file, offset: 3 << 20, corrupt, checksum: Self.base64Digest(Array(bytes[(3 << 20)...])))
            #expect(refused.status.code == 460)
            #expect(try Self.state(try await h.status(upload, owner: owner, file: file)).offset == 3 << 20)
            let unsupported = try await h.patch(upload, owner: owner, file: file, offset: 3 << 20, [1], checksum: "md5 AAAA")
            #expect(unsupported.status == .unprocessableContent)
            let rest = Array(bytes[(3 << 20)...])
            let done = try await h.patch(upload, owner: owner, file: file, offset: 3 << 20, rest, checksum: Self.base64Digest(rest))
            #expect(try Self.state(done).stored?.sha256 == Self.hex(bytes), "the whole file's hash skips the discarded chunk")
        }
    }

    @Test func aDeclaredSHA256ThatDoesNotMatchKeepsNothing() async throws {
        try await Self.run(.local) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            _ = try await h.create(upload, owner: owner, file: file, length: 3, sha256: Self.hex([9, 9, 9]))
            let response = try await h.patch(upload, owner: owner, file: file, offset: 0, [1, 2, 3])
            #expect(response.status == .unprocessableContent)
            #expect(String(buffer: response.body).contains("checksum-mismatch"))
            #expect(try await Self.fileUploadedEvents(h.client).isEmpty)
            #expect(try await h.status(upload, owner: owner, file: file).status == .notFound)
        }
    }

    @Test func oneSessionAtATimeAndOwnersApart() async throws {
        try await Self.run(.local) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            _ = try await h.create(upload, owner: owner, file: file, length: 10)
            // Another user's grant for the same upload id: as if it did not exist.
            #expect(try await h.status(upload, owner: UUID(), file: file).status == .notFound)
            #expect(try await h.patch(upload, owner: UUID(), file: file, offset: 0, [1]).status == .notFound)
            // A session holds it: another PATCH is refused, not queued.
            let token = UUID()
            guard case .acquired = try await h.uploads.acquire(upload, owner: owner, token: token) else {
                Issue.record("not acquired")
                return
            }
            let busy = try await h.patch(upload, owner: owner, file: file, offset: 0, [1])
            #expect(busy.status == .conflict)
            #expect(String(buffer: busy.body).contains("Another request"))
            await h.uploads.release(upload, token: token)
            #expect(try await h.patch(upload, owner: owner, file: file, offset: 0, [1]).status == .ok)
        }
    }

    @Test func aDeferredLengthIsGivenOnceAndBoundsTheUpload() async throws {
        try await Self.run(.local) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            let created = try await h.create(upload, owner: owner, file: file, length: nil, limit: 1000)
            #expect(try Self.state(created).length == nil)
            _ = try await h.patch(upload, owner: owner, file: file, offset: 0, [1, 2, 3])
            #expect(try await h.patch(upload, owner: owner, file: file, offset: 3, [4], length: 2).status == .unprocessableContent)
            #expect(try await h.patch(upload, owner: owner, file: file, offset: 3, [4], length: 2000).status == .contentTooLarge)
            let last = try await h.patch(upload, owner: owner, file: file, offset: 3, [4, 5], length: 5)
            #expect(try Self.state(last).stored?.size == 5)
        }
    }

    @Test func moreBytesThanTheLengthAreRefusedAndNotKept() async throws {
        try await Self.run(.local) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            _ = try await h.create(upload, owner: owner, file: file, length: 4)
            #expect(try await h.patch(upload, owner: owner, file: file, offset: 0, [1, 2, 3, 4, 5]).status == .contentTooLarge)
            #expect(try Self.state(try await h.status(upload, owner: owner, file: file)).offset == 0)
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func expiredUploadsAreCollectedWithTheirStaging(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            _ = try await h.create(upload, owner: owner, file: file, length: 20 << 20, expires: Date().addingTimeInterval(1))
            _ = try await h.patch(upload, owner: owner, file: file, offset: 0, Self.randomBytes(6 << 20))
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await h.patch(upload, owner: owner, file: file, offset: 6 << 20, [1]).status == .gone)
            let expiry = ResumableExpiry(uploads: h.uploads, store: h.store, interval: .seconds(60), logger: TestDatabase.logger)
            #expect(try await expiry.collect() == 1)
            #expect(try await h.status(upload, owner: owner, file: file).status == .notFound)
            if let s3 = h.store as? S3ObjectStore {
                #expect(try await s3.multipartUploadsInProgress().isEmpty, "no multipart upload left in progress")
            }
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func terminationDiscardsTheBytes(backend: TestStoreBackend) async throws {
        try await Self.run(backend) { h in
            let (upload, owner, file) = (UUID(), UUID(), UUID())
            _ = try await h.create(upload, owner: owner, file: file, length: 100)
            _ = try await h.patch(upload, owner: owner, file: file, offset: 0, [1, 2, 3])
            let deleted = try await h.http.execute(uri: h.path(upload), method: .delete, headers: h.grant(upload, owner: owner, file: file))
            #expect(deleted.status == .noContent)
            #expect(try await h.status(upload, owner: owner, file: file).status == .notFound)
            if let s3 = h.store as? S3ObjectStore {
                #expect(try await s3.multipartUploadsInProgress().isEmpty)
            }
        }
    }
}
