import CirrusServiceKit
import CirrusTestSupport
import Foundation
import PostgresNIO
import Testing

@testable import Blob

/// Deduplication, reference counting and garbage-collection safety against PostgreSQL.
@Suite("Blob index", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(2)))
struct BlobIndexTests {
    let logger = TestDatabase.logger

    func withIndex(_ body: @Sendable (BlobIndex, PostgresClient) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: TestDatabase.logger)
            try await body(BlobIndex(client: client, logger: TestDatabase.logger), client)
        }
    }

    func register(
        _ index: BlobIndex, _ client: PostgresClient, owner: UUID, file: UUID, sha: String, key: String
    ) async throws -> BlobIndex.Registration {
        try await client.transaction(logger: logger) { connection in
            try await index.register(ownerID: owner, fileID: file, sha256: sha, size: 10, contentType: "image/png", objectKey: key, on: connection)
        }
    }

    @Test func identicalContentOfOneOwnerIsStoredOnceAndCounted() async throws {
        try await withIndex { index, client in
            let owner = UUID()
            let sha = String(repeating: "a", count: 64)
            guard case .stored(let first) = try await register(index, client, owner: owner, file: UUID(), sha: sha, key: "k1") else {
                Issue.record("expected stored")
                return
            }
            #expect(first.refCount == 1)
            #expect(first.blobID == "sha256:" + sha)
            let second = try await register(index, client, owner: owner, file: UUID(), sha: sha, key: "k2")
            guard case .deduplicated(let record, let redundant) = second else {
                Issue.record("expected dedup")
                return
            }
            #expect(record.objectKey == "k1")
            #expect(record.refCount == 2)
            #expect(redundant == "k2")
            // Another owner's identical content is theirs alone.
            guard case .stored(let other) = try await register(index, client, owner: UUID(), file: UUID(), sha: sha, key: "k3") else {
                Issue.record("expected stored")
                return
            }
            #expect(other.refCount == 1)
        }
    }

    @Test func registeringTheSameFileTwiceAddsOneReference() async throws {
        try await withIndex { index, client in
            let owner = UUID()
            let file = UUID()
            let sha = String(repeating: "b", count: 64)
            _ = try await register(index, client, owner: owner, file: file, sha: sha, key: "k1")
            _ = try await register(index, client, owner: owner, file: file, sha: sha, key: "k2")
            #expect(try await index.find(ownerID: owner, sha256: sha)?.refCount == 1)
        }
    }

    @Test func releasedContentIsCollectedOnlyAfterTheGracePeriodAndOnlyIfStillUnreferenced() async throws {
        try await withIndex { index, client in
            let owner = UUID()
            let a = UUID()
            let b = UUID()
            let sha = String(repeating: "c", count: 64)
            _ = try await register(index, client, owner: owner, file: a, sha: sha, key: "k1")
            _ = try await register(index, client, owner: owner, file: b, sha: sha, key: "k2")
            try await client.transaction(logger: logger) { try await index.release(ownerID: owner, fileID: a, on: $0) }
            try await client.transaction(logger: logger) { try await index.release(ownerID: owner, fileID: a, on: $0) }  // idempotent
            #expect(try await index.find(ownerID: owner, sha256: sha)?.refCount == 1)
            #expect(try await client.transaction(logger: logger) { try await index.claimGarbage(grace: .zero, limit: 10, on: $0) }.isEmpty)

            try await client.transaction(logger: logger) { try await index.release(ownerID: owner, fileID: b, on: $0) }
            // Within the grace period: kept.
            #expect(try await client.transaction(logger: logger) { try await index.claimGarbage(grace: .seconds(3600), limit: 10, on: $0) }.isEmpty)
            // Referenced again before collection: kept.
            _ = try await register(index, client, owner: owner, file: UUID(), sha: sha, key: "k3")
            #expect(try await client.transaction(logger: logger) { try await index.claimGarbage(grace: .zero, limit: 10, on: $0) }.isEmpty)
            #expect(try await index.find(ownerID: owner, sha256: sha)?.objectKey == "k1")
        }
    }

    @Test func contentReferencedAgainWhileBeingCollectedSurvivesWithItsOwnObject() async throws {
        try await withIndex { index, client in
            let owner = UUID()
            let file = UUID()
            let sha = String(repeating: "d", count: 64)
            _ = try await register(index, client, owner: owner, file: file, sha: sha, key: "old")
            try await client.transaction(logger: logger) { try await index.release(ownerID: owner, fileID: file, on: $0) }
            let claimed = Recorder<String>()
            let collectorHoldsTheRow = Recorder<Bool>()
            let gate = Recorder<Bool>()
            // The collector decides (deletes the row) but has not committed yet...
            let collector = Task {
                try await client.transaction(logger: logger) { connection in
                    for key in try await index.claimGarbage(grace: .zero, limit: 10, on: connection) { claimed.append(key) }
                    collectorHoldsTheRow.append(true)
                    try await eventually("the uploader to be waiting") { gate.count > 0 }
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            try await eventually("the collector's decision") { collectorHoldsTheRow.count > 0 }
            // ...when the same content is uploaded again: the registration waits, then stores
            // its own object, which the collector's delete of "old" cannot touch.
            gate.append(true)
            let registration = try await register(index, client, owner: owner, file: UUID(), sha: sha, key: "new")
            try await collector.value
            #expect(claimed.all == ["old"])
            guard case .stored(let record) = registration else {
                Issue.record("expected stored, got \(registration)")
                return
            }
            #expect(record.objectKey == "new")
            #expect(record.refCount == 1)
            #expect(try await index.find(ownerID: owner, sha256: sha)?.objectKey == "new")
        }
    }
}
