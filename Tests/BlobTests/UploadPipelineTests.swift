import CirrusStorage
import CirrusTestSupport
import Crypto
import Foundation
import NIOCore
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

    @Test func anEmptyBodyIsAnEmptyObject() async throws {
        let store = try await store(.local)
        let result = try await UploadPipeline.run(
            body: Body([], chunk: 1), into: try await store.makeWriter(key: "empty-1"), limit: 10, expectedSHA256: nil)
        #expect(result.size == 0)
        #expect(result.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(result.contentType == "application/octet-stream")
    }
}
