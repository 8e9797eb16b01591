import CirrusStorage
import CirrusTestSupport
import Crypto
import Foundation
import NIOCore
import Testing

/// Resumable (staged) writes on both backends: bytes appended in sessions ended by
/// checkpoints, continued from the persisted state only, invisible until completion, and
/// nothing left behind by a discard (on S3: no multipart upload in progress).
@Suite("Staged writes", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct StagedWriteTests {
    static func randomBytes(_ count: Int) -> [UInt8] {
        RandomBytes.make(count)
    }

    /// One session: `bytes` in 1 MiB writes, then (unless told not to) a checkpoint.
    func session(
        _ store: any StagedObjectStore, from staged: StagedWrite, _ bytes: ArraySlice<UInt8>, checkpoint: Bool = true
    ) async throws
        -> StagedWrite?
    {
        let appender = try await store.appendStaged(staged)
        for start in stride(from: bytes.startIndex, to: bytes.endIndex, by: 1 << 20) {
            try await appender.write(ByteBuffer(bytes: bytes[start..<min(start + (1 << 20), bytes.endIndex)]))
        }
        guard checkpoint else {
            await appender.close(persisted: nil)
            return nil
        }
        let next = try await appender.checkpoint()
        await appender.close(persisted: next)
        return next
    }

    func contents(_ store: any ObjectStore, _ key: String) async throws -> [UInt8] {
        Array(try await store.read(key: key, range: nil).body.collect(upTo: 64 << 20).readableBytesView)
    }

    func stagingFiles(_ store: any ObjectStore, id: String) -> [String] {
        let directory: String
        if let local = store as? LocalObjectStore {
            directory = local.root.appendingPathComponent("staging").path
        } else if let s3 = store as? S3ObjectStore, let path = s3.configuration.stagingPath {
            directory = path
        } else {
            return []
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(id) }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func sessionsAddUpToTheWholeObjectWhichAppearsOnlyOnCompletion(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStagedStore()
        // 13 MiB + 7 in sessions of 6 MiB + 1, 4 MiB and the rest: parts of 5 MiB on S3 (test
        // stores), remainders below them kept on disk between sessions.
        let bytes = Self.randomBytes(13 << 20 + 7)
        var staged = try await store.beginStaged(key: "objects/staged-1", id: "up-1")
        for range in [0..<(6 << 20 + 1), (6 << 20 + 1)..<(10 << 20 + 1), (10 << 20 + 1)..<bytes.count] {
            staged = try #require(try await session(store, from: staged, bytes[range]))
            #expect(staged.size == Int64(range.upperBound))
            #expect(try await store.head(key: "objects/staged-1") == nil, "invisible before completion")
        }
        try await store.completeStaged(staged)
        #expect(try await store.head(key: "objects/staged-1")?.size == Int64(bytes.count))
        #expect(SHA256.hash(data: try await contents(store, "objects/staged-1")) == SHA256.hash(data: bytes))
        #expect(stagingFiles(store, id: "up-1").isEmpty, "no staging left behind")
        // Completing again (an answer lost) is no error, and changes nothing.
        try await store.completeStaged(staged)
        #expect(try await contents(store, "objects/staged-1").count == bytes.count)
    }

    @Test(arguments: TestStoreBackend.allCases)
    func bytesAfterTheLastCheckpointAreNotPartOfTheWrite(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStagedStore()
        let first = Self.randomBytes(2 << 20)
        let lost = Self.randomBytes(7 << 20)  // more than a part on S3: a part goes up, unrecorded
        let last = Self.randomBytes(3 << 20 + 5)
        let begun = try await store.beginStaged(key: "objects/staged-2", id: "up-2")
        let afterFirst = try #require(try await session(store, from: begun, first[...]))
        // A session that never checkpoints (a failed checksum, a crash): it never happened.
        _ = try await session(store, from: afterFirst, lost[...], checkpoint: false)
        let afterLast = try #require(try await session(store, from: afterFirst, last[...]))
        #expect(afterLast.size == Int64(first.count + last.count))
        try await store.completeStaged(afterLast)
        #expect(try await contents(store, "objects/staged-2") == first + last)
    }

    @Test(arguments: TestStoreBackend.allCases)
    func anEmptyWriteCompletesAsAnEmptyObject(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStagedStore()
        let staged = try await store.beginStaged(key: "objects/staged-3", id: "up-3")
        try await store.completeStaged(staged)
        #expect(try await store.head(key: "objects/staged-3")?.size == 0)
        if let s3 = store as? S3ObjectStore {
            #expect(try await s3.multipartUploadsInProgress().isEmpty)
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func aDiscardLeavesNothing(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStagedStore()
        let begun = try await store.beginStaged(key: "objects/staged-4", id: "up-4")
        let staged = try #require(try await session(store, from: begun, Self.randomBytes(11 << 20)[...]))
        if let s3 = store as? S3ObjectStore {
            #expect(staged.parts.count == 2, "two 5 MiB parts uploaded, 1 MiB on disk")
            #expect(try await s3.multipartUploadsInProgress().count == 1)
        }
        #expect(!stagingFiles(store, id: "up-4").isEmpty)
        await store.discardStaged(staged)
        await store.discardStaged(staged)  // idempotent
        #expect(stagingFiles(store, id: "up-4").isEmpty)
        #expect(try await store.head(key: "objects/staged-4") == nil)
        if let s3 = store as? S3ObjectStore {
            #expect(try await s3.multipartUploadsInProgress().isEmpty, "the multipart upload was aborted")
        }
    }

    @Test(arguments: TestStoreBackend.allCases)
    func stagingThatLostBytesIsRefusedNotFilledWithZeros(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStagedStore()
        let begun = try await store.beginStaged(key: "objects/staged-5", id: "up-5")
        let staged = try #require(try await session(store, from: begun, Self.randomBytes(1 << 20)[...]))
        // The staging loses its bytes behind the store's back (a disk wiped, another machine).
        for name in stagingFiles(store, id: "up-5") {
            let directory =
                (store as? LocalObjectStore)?.root.appendingPathComponent("staging").path
                ?? (store as? S3ObjectStore)?.configuration.stagingPath ?? ""
            try FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        await #expect(throws: StorageError.self) { _ = try await store.appendStaged(staged) }
        await store.discardStaged(staged)
    }

    @Test func aStagingIdCannotLeaveTheStagingDirectory() async throws {
        let store = try await TestStoreBackend.local.makeStagedStore()
        for id in ["../escape", "a/b", "", "UP"] {
            await #expect(throws: StorageError.self) { _ = try await store.beginStaged(key: "objects/x", id: id) }
        }
    }
}
