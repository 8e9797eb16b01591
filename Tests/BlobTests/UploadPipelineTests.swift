import CirrusStorage
import CirrusTestSupport
import Crypto
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Blob

/// The upload stream: hashing, the size limit, the expected checksum, and nothing left
/// behind on failure — on both store backends.
@Suite("Upload pipeline", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(2)))
struct UploadPipelineTests {
    typealias Backend = TestStoreBackend

    func store(_ backend: Backend) async throws -> any ObjectStore {
        try await backend.makeStore()
    }

    /// A request body delivered in chunks, counting how much of it was consumed.
    final class Body: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let chunks: [ByteBuffer]
        let consumed = Recorder<Int>()

        init(_ bytes: [UInt8], chunk: Int) {
            chunks = stride(from: 0, to: bytes.count, by: chunk).map { ByteBuffer(bytes: bytes[$0..<Swift.min($0 + chunk, bytes.count)]) }
        }

        struct AsyncIterator: AsyncIteratorProtocol {
            let body: Body
            var index = 0
            mutating func next() async throws -> ByteBuffer? {
                guard index < body.chunks.count else { return nil }
                defer { index += 1 }
                body.consumed.append(body.chunks[index].readableBytes)
                return body.chunks[index]
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
    }

    static func png(size: Int) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + RandomBytes.make(size - 8)
    }

    @Test(arguments: Backend.allCases)
    func storesHashesAndSniffsWhileStreaming(backend: Backend) async throws {
        let store = try await store(backend)
        let bytes = Self.png(size: 6 << 20 + 17)
        let expected = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let result = try await UploadPipeline.run(
            body: Body(bytes, chunk: 64 * 1024), into: try await store.makeWriter(key: "ok-1"),
            limit: Int64(bytes.count), expectedSHA256: expected.uppercased())
        #expect(result == UploadedContent(size: Int64(bytes.count), sha256: expected, contentType: "image/png"))
        let back = try await store.read(key: "ok-1", range: nil).body.collect(upTo: 16 << 20)
        #expect(Array(back.readableBytesView) == bytes)
    }

    @Test(arguments: Backend.allCases)
    func aBodyOverTheLimitStopsBeingReadAndLeavesNothing(backend: Backend) async throws {
        let store = try await store(backend)
        let bytes = Self.png(size: 8 << 20)
        let body = Body(bytes, chunk: 1 << 20)
        await #expect(throws: UploadError.tooLarge(limit: 3 << 20)) {
            try await UploadPipeline.run(body: body, into: try await store.makeWriter(key: "big-1"), limit: 3 << 20, expectedSHA256: nil)
        }
        // Reading stopped at the first chunk past the limit, not at the end of the body.
        #expect(body.consumed.all.reduce(0, +) == 4 << 20)
        #expect(try await store.head(key: "big-1") == nil)
    }

    @Test(arguments: Backend.allCases)
    func aChecksumMismatchKeepsNothingAndSaysSo(backend: Backend) async throws {
        let store = try await store(backend)
        let bytes = Self.png(size: 100_000)
        let wrong = String(repeating: "0", count: 64)
        await #expect {
            try await UploadPipeline.run(
                body: Body(bytes, chunk: 8192), into: try await store.makeWriter(key: "bad-1"), limit: 1 << 20, expectedSHA256: wrong)
        } throws: { error in
            guard case .checksumMismatch(let expected, let actual) = error as? UploadError else { return false }
            return expected == wrong && actual == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        }
        #expect(try await store.head(key: "bad-1") == nil)
    }

    /// A writer that takes its time and remembers what happened when.
    final class SlowWriter: ObjectWriter {
        let events = Recorder<String>()
        let failOnWrite: Int?
        private let count = Mutex(0)

        init(failOnWrite: Int? = nil) { self.failOnWrite = failOnWrite }

        func write(_ buffer: ByteBuffer) async throws {
            let number = count.withLock {
                $0 += 1
                return $0
            }
            events.append("write \(number) starts")
            try await Task.sleep(for: .milliseconds(30))
            events.append("write \(number) ends")
            if number == failOnWrite { throw StorageError.insufficientStorage }
        }
        func commit() async throws { events.append("commit") }
        func abort() async { events.append("abort") }
    }

    /// A body that notes each chunk it hands out in the writer's log.
    struct LoggedBody: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let chunks: Int
        let events: Recorder<String>

        struct AsyncIterator: AsyncIteratorProtocol {
            let body: LoggedBody
            var index = 0
            mutating func next() async throws -> ByteBuffer? {
                guard index < body.chunks else { return nil }
                index += 1
                body.events.append("chunk \(index)")
                return ByteBuffer(bytes: [UInt8](repeating: UInt8(index), count: UploadPipeline.writeSize))
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
    }

    @Test func theNextBytesArriveWhileAWriteRunsAndWritesStayInOrder() async throws {
        let writer = SlowWriter()
        let content = try await UploadPipeline.receive(
            body: LoggedBody(chunks: 4, events: writer.events), into: writer, limit: 1 << 30, expectedSHA256: nil)
        #expect(content.size == Int64(4 * UploadPipeline.writeSize))
        let events = writer.events.all
        // Chunk 2 was taken while write 1 still ran; no write started before the one before it ended.
        #expect(events.firstIndex(of: "chunk 2")! < events.firstIndex(of: "write 1 ends")!)
        for number in 2...4 {
            #expect(events.firstIndex(of: "write \(number - 1) ends")! < events.firstIndex(of: "write \(number) starts")!)
        }
        #expect(!events.contains("commit"), "receive leaves the commit to its caller")
        #expect(!events.contains("abort"))
    }

    @Test func aFailedWriteAbortsOnlyAfterTheWriteInFlightEnded() async throws {
        let writer = SlowWriter(failOnWrite: 1)
        await #expect(throws: StorageError.insufficientStorage) {
            try await UploadPipeline.receive(body: LoggedBody(chunks: 6, events: writer.events), into: writer, limit: 1 << 30, expectedSHA256: nil)
        }
        let events = writer.events.all
        #expect(events.last == "abort")
        #expect(events.filter { $0 == "abort" }.count == 1)
        #expect(!events.contains("write 2 starts"), "nothing is written after a failed write")

        // Over the limit while a write is in flight: the writer is aborted after that write ends.
        let second = SlowWriter()
        await #expect(throws: UploadError.tooLarge(limit: Int64(UploadPipeline.writeSize + 1))) {
            try await UploadPipeline.receive(
                body: LoggedBody(chunks: 6, events: second.events), into: second, limit: Int64(UploadPipeline.writeSize + 1), expectedSHA256: nil)
        }
        let secondEvents = second.events.all
        #expect(secondEvents.firstIndex(of: "write 1 ends")! < secondEvents.firstIndex(of: "abort")!)
    }

    @Test func anEmptyBodyIsAnEmptyObject() async throws {
        let store = try await store(.local)
        let result = try await UploadPipeline.run(
            body: Body([], chunk: 1), into: try await store.makeWriter(key: "empty-1"), limit: 10, expectedSHA256: nil)
        #expect(result.size == 0)
        #expect(result.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(result.contentType == "application/octet-stream")
    }
}
