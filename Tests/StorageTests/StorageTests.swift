import CirrusTestSupport
import Crypto
import Foundation
import NIOCore
import Testing

@testable import CirrusStorage

/// The signature of AWS's documented example (S3 API reference, "Example: GET Object").
@Suite("SigV4")
struct SigV4Tests {
    @Test func matchesAWSsDocumentedGetObjectExample() {
        let signer = SigV4(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
        let headers = signer.sign(
            method: "GET", path: "/test.txt", query: [],
            headers: [("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9")],
            payloadHash: SigV4.emptyPayloadHash, date: date)
        let authorization = headers.first { $0.0 == "Authorization" }?.1
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
    }

    @Test func encodesLikeRFC3986() {
        #expect(SigV4.encode("a b/c~d_e.f-g") == "a%20b%2Fc~d_e.f-g")
        #expect(SigV4.encode("a b/c", keepSlash: true) == "a%20b/c")
        #expect(SigV4.encode("é") == "%C3%A9")
    }
}

typealias Backend = TestStoreBackend

/// One suite, both backends: what blob and thumbnail rely on must hold for each.
@Suite("Object stores", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct ObjectStoreTests {
    static func randomBytes(_ count: Int) -> [UInt8] {
        RandomBytes.make(count)
    }

    func put(_ store: any ObjectStore, _ key: String, _ bytes: [UInt8], chunk: Int = 1 << 20) async throws {
        let writer = try await store.makeWriter(key: key)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try await writer.write(ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]))
        }
        try await writer.commit()
    }

    func get(_ store: any ObjectStore, _ key: String, _ range: ByteRange? = nil) async throws -> [UInt8] {
        let read = try await store.read(key: key, range: range)
        return Array(try await read.body.collect(upTo: 64 << 20).readableBytesView)
    }

    @Test(arguments: Backend.allCases)
    func writtenBytesComeBackBitForBitAndAreInvisibleUntilCommitted(backend: Backend) async throws {
        let store = try await backend.makeStore()
        // 12 MiB in 1 MiB writes: three parts on S3 (5 MiB parts), many chunks locally.
        let bytes = Self.randomBytes(12 << 20 + 123)
        let writer = try await store.makeWriter(key: "objects/big-1")
        try await writer.write(ByteBuffer(bytes: bytes[0..<(6 << 20)]))
        #expect(try await store.head(key: "objects/big-1") == nil)
        for start in stride(from: 6 << 20, to: bytes.count, by: 1 << 20) {
            try await writer.write(ByteBuffer(bytes: bytes[start..<min(start + (1 << 20), bytes.count)]))
        }
        try await writer.commit()
        #expect(try await store.head(key: "objects/big-1")?.size == Int64(bytes.count))
        let back = try await get(store, "objects/big-1")
        #expect(back.count == bytes.count)
        #expect(SHA256.hash(data: back) == SHA256.hash(data: bytes))
        await #expect(throws: StorageError.writerClosed) { try await writer.write(ByteBuffer(bytes: [1])) }
    }

    @Test(arguments: Backend.allCases)
    func smallAndEmptyObjects(backend: Backend) async throws {
        let store = try await backend.makeStore()
        try await put(store, "small-1", Array("hello".utf8))
        #expect(try await get(store, "small-1") == Array("hello".utf8))
        try await put(store, "empty-1", [])
        #expect(try await store.head(key: "empty-1")?.size == 0)
        #expect(try await get(store, "empty-1") == [])
    }

    @Test(arguments: Backend.allCases)
    func anAbortedWriteLeavesNothing(backend: Backend) async throws {
        let store = try await backend.makeStore()
        let writer = try await store.makeWriter(key: "aborted-1")
        try await writer.write(ByteBuffer(bytes: Self.randomBytes(7 << 20)))  // past one S3 part
        await writer.abort()
        #expect(try await store.head(key: "aborted-1") == nil)
        await #expect(throws: StorageError.notFound) { try await store.read(key: "aborted-1", range: nil) }
    }

    @Test(arguments: Backend.allCases)
    func rangesServeExactlyTheAskedBytes(backend: Backend) async throws {
        let store = try await backend.makeStore()
        let bytes = Self.randomBytes(1000)
        try await put(store, "ranged-1", bytes)
        #expect(try await get(store, "ranged-1", ByteRange(first: 0, last: 9)) == Array(bytes[0...9]))
        #expect(try await get(store, "ranged-1", ByteRange(first: 500, last: 599)) == Array(bytes[500...599]))
        #expect(try await get(store, "ranged-1", ByteRange(first: 999, last: 999)) == [bytes[999]])
        // A range running past the end is cut at the end.
        let tail = try await store.read(key: "ranged-1", range: ByteRange(first: 990, last: 5000))
        #expect(tail.range == ByteRange(first: 990, last: 999))
        #expect(tail.size == 1000)
        #expect(Array(try await tail.body.collect(upTo: 1 << 20).readableBytesView) == Array(bytes[990...999]))
        await #expect(throws: StorageError.unsatisfiableRange) { try await store.read(key: "ranged-1", range: ByteRange(first: 1000, last: 1001)) }
    }

    @Test(arguments: Backend.allCases)
    func deleteIsIdempotentAndListFindsByPrefix(backend: Backend) async throws {
        let store = try await backend.makeStore()
        try await put(store, "a/one-1", [1])
        try await put(store, "a/two-2", [2, 2])
        try await put(store, "b/three-3", [3])
        let listed = try await store.list(prefix: "a/").map(\.key).sorted()
        #expect(listed == ["a/one-1", "a/two-2"])
        try await store.delete(key: "a/one-1")
        try await store.delete(key: "a/one-1")
        try await store.delete(key: "never-existed")
        #expect(try await store.list(prefix: "").map(\.key).sorted() == ["a/two-2", "b/three-3"])
    }

    @Test(arguments: Backend.allCases)
    func keysCannotEscapeTheStore(backend: Backend) async throws {
        let store = try await backend.makeStore()
        for key in ["../etc/passwd", "/abs", "a//b", "a/./b", "UPPER", "", "sp ace", "a/.."] {
            await #expect(throws: StorageError.invalidKey, "\(key)") { try await store.makeWriter(key: key) }
            await #expect(throws: StorageError.invalidKey, "\(key)") { try await store.read(key: key, range: nil) }
        }
    }

    @Test(arguments: Backend.allCases)
    func healthIsReported(backend: Backend) async throws {
        try await backend.makeStore().checkHealth()
    }

    @Test func anUnreachableS3IsUnavailableNotACrash() async throws {
        let store = S3ObjectStore(
            configuration: .init(
                endpoint: "http://127.0.0.1:1", region: "us-east-1", bucket: "nope", accessKeyID: "x", secretAccessKey: "y", pathStyle: true))
        await #expect(throws: StorageError.self) { try await store.checkHealth() }
        let writer = try await store.makeWriter(key: "k-1")
        try await writer.write(ByteBuffer(bytes: [1, 2, 3]))
        await #expect {
            try await writer.commit()
        } throws: { error in
            if case .unavailable = error as? StorageError { return true }
            return false
        }
    }

    @Test func aLocalWriterThatDiesLeavesOnlyATemporaryFileThatIsSweptLater() async throws {
        let root = TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("crash")
        let store = try LocalObjectStore(root: root)
        do {
            // The process "dies" mid-write: neither commit nor abort runs.
            let writer = try await store.makeWriter(key: "crashed-1")
            try await writer.write(ByteBuffer(bytes: Self.randomBytes(1 << 20)))
        }
        #expect(try await store.head(key: "crashed-1") == nil)
        #expect(try await store.list(prefix: "").isEmpty)
        let temporary = try FileManager.default.contentsOfDirectory(atPath: root + "/tmp")
        #expect(temporary.count == 1)
        #expect(try await store.sweepTemporaryFiles(olderThan: 0) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func aLocalStoreMakesAShardsDirectoriesOnFirstUseAndReportsWhatBlocksThem() async throws {
        let root = TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("shards")
        let store = try LocalObjectStore(root: root)
        // Two objects of one new shard (ab/cd), nested under a key folder: both land and read back.
        try await put(store, "blobs/abcd-1", [1, 2, 3])
        try await put(store, "blobs/abcd-2", [4])
        #expect(try await get(store, "blobs/abcd-1") == [1, 2, 3])
        #expect(try await get(store, "blobs/abcd-2") == [4])
        #expect(FileManager.default.fileExists(atPath: root + "/objects/ab/cd/blobs/abcd-2"))
        // A file where the shard's directory should be: the commit fails as the store's
        // trouble, and nothing is left in tmp/.
        FileManager.default.createFile(atPath: root + "/objects/ef", contents: Data())
        let writer = try await store.makeWriter(key: "blobs/efgh-1")
        try await writer.write(ByteBuffer(bytes: [9]))
        await #expect(throws: StorageError.self) { try await writer.commit() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func writesStartTheirWritebackEarlyOnLinux() async throws {
        #if os(Linux)
            // Found in the C library: otherwise every upload's fsync would quietly wait for
            // all its bytes again (docs/performance.md, "Small uploads").
            #expect(WriteBack.syncFileRange != nil)
        #endif
        let root = TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("writeback")
        let store = try LocalObjectStore(root: root)
        let bytes = Self.randomBytes(3 << 20)
        let writer = try await store.makeWriter(key: "blobs/wb-1")
        for start in stride(from: 0, to: bytes.count, by: 1 << 20) {
            try await writer.write(ByteBuffer(bytes: bytes[start..<start + (1 << 20)]))
        }
        try await writer.commit()
        #expect(try await get(store, "blobs/wb-1") == bytes)
    }

    @Test func parentOfAPath() {
        #expect(LocalObjectStore.parent(of: "/a/b/c") == "/a/b")
        #expect(LocalObjectStore.parent(of: "/a") == "/")
        #expect(LocalObjectStore.parent(of: "a") == ".")
    }
}
