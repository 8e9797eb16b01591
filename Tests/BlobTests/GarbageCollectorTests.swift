import CirrusContracts
import CirrusKafka
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Foundation
import NIOCore
import PostgresNIO
import Testing

@testable import Blob

/// file.deleted → references released (once per event) → content and objects collected;
/// nothing referenced is ever deleted. On both store backends, against PostgreSQL and the broker.
@Suite("Blob garbage collection", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct GarbageCollectorTests {
    let logger = TestDatabase.logger

    func put(_ store: any ObjectStore, _ key: String) async throws {
        let writer = try await store.makeWriter(key: key)
        try await writer.write(ByteBuffer(bytes: Array("content of \(key)".utf8)))
        try await writer.commit()
    }

    func register(_ index: BlobIndex, owner: UUID, file: UUID, sha: String, key: String) async throws {
        _ = try await index.client.transaction(logger: logger) { connection in
            try await index.register(ownerID: owner, fileID: file, sha256: sha, size: 10, contentType: "text/plain", objectKey: key, on: connection)
        }
    }

    func deletedEvent(owner: UUID, file: UUID, sha: String) -> EventEnvelope<FileDeleted> {
        EventEnvelope(producer: "metadata", payload: FileDeleted(fileID: file, ownerID: owner, blobIDs: ["sha256:" + sha]))
    }

    @Test(arguments: TestStoreBackend.allCases)
    func deletedFilesContentIsCollectedOnceUnreferencedAndOrphansAreSwept(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStore()
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: TestDatabase.logger)
            let index = BlobIndex(client: client, logger: TestDatabase.logger)
            let handler = FileDeletedHandler(index: index)
            var configuration = GarbageCollector.Configuration()
            configuration.grace = .zero
            let collector = GarbageCollector(index: index, store: store, configuration: configuration, logger: TestDatabase.logger)

            let owner = UUID()
            let a = UUID()
            let b = UUID()
            let keep = UUID()
            let shared = String(repeating: "1", count: 64)
            let kept = String(repeating: "2", count: 64)
            let sharedKey = BlobObjects.key(uploadID: UUID())
            let keptKey = BlobObjects.key(uploadID: UUID())
            try await put(store, sharedKey)
            try await put(store, keptKey)
            try await register(index, owner: owner, file: a, sha: shared, key: sharedKey)
            try await register(index, owner: owner, file: b, sha: shared, key: sharedKey)
            try await register(index, owner: owner, file: keep, sha: kept, key: keptKey)
            // An object nobody registered (a crash between write and registration).
            let orphan = BlobObjects.key(uploadID: UUID())
            try await put(store, orphan)

            // The same event twice: one release.
            let deleteA = deletedEvent(owner: owner, file: a, sha: shared)
            try await handler.handle(deleteA)
            try await handler.handle(deleteA)
            #expect(try await index.find(ownerID: owner, sha256: shared)?.refCount == 1)

            // Still referenced by b: only the orphan goes.
            try await Task.sleep(for: .milliseconds(1100))  // object ages are whole seconds on some stores
            #expect(try await collector.collect() == 1)
            #expect(try await store.head(key: orphan) == nil)
            #expect(try await store.head(key: sharedKey) != nil)

            try await handler.handle(deletedEvent(owner: owner, file: b, sha: shared))
            #expect(try await collector.collect() == 1)
            #expect(try await store.head(key: sharedKey) == nil)
            #expect(try await index.find(ownerID: owner, sha256: shared) == nil)
            // The referenced content is untouched by every pass.
            #expect(try await collector.collect() == 0)
            #expect(try await store.head(key: keptKey) != nil)
            #expect(try await index.find(ownerID: owner, sha256: kept)?.refCount == 1)
        }
    }

    /// The grace period protects what is young: with an hour's grace an object no row names
    /// (an upload between writing and registering), content released a moment ago and a write
    /// in progress (locally its temporary file) all survive a pass; with none they all go.
    @Test(arguments: TestStoreBackend.allCases)
    func nothingYoungerThanTheGracePeriodIsCollected(backend: TestStoreBackend) async throws {
        let store = try await backend.makeStore()
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: TestDatabase.logger)
            let index = BlobIndex(client: client, logger: TestDatabase.logger)
            let orphan = BlobObjects.key(uploadID: UUID())
            try await put(store, orphan)
            let owner = UUID()
            let file = UUID()
            let sha = String(repeating: "4", count: 64)
            let releasedKey = BlobObjects.key(uploadID: UUID())
            try await put(store, releasedKey)
            try await register(index, owner: owner, file: file, sha: sha, key: releasedKey)
            try await FileDeletedHandler(index: index).handle(deletedEvent(owner: owner, file: file, sha: sha))
            #expect(try await index.find(ownerID: owner, sha256: sha)?.refCount == 0)
            let inProgress = try await store.makeWriter(key: BlobObjects.key(uploadID: UUID()))
            try await inProgress.write(ByteBuffer(bytes: Array("half-written".utf8)))
            let local = store as? LocalObjectStore
            @Sendable func temporaryFiles() throws -> Int {
                guard let local else { return 0 }
                return try FileManager.default.contentsOfDirectory(atPath: local.root.path + "/tmp").count
            }
            #expect(try temporaryFiles() == (local == nil ? 0 : 1))
            try await Task.sleep(for: .milliseconds(1100))  // object ages are whole seconds on some stores

            var hour = GarbageCollector.Configuration()
            hour.grace = .seconds(3600)
            #expect(try await GarbageCollector(index: index, store: store, configuration: hour, logger: logger).collect() == 0)
            #expect(try await store.head(key: orphan) != nil)
            #expect(try await store.head(key: releasedKey) != nil)
            #expect(try await index.find(ownerID: owner, sha256: sha) != nil)
            #expect(try temporaryFiles() == (local == nil ? 0 : 1))

            var none = GarbageCollector.Configuration()
            none.grace = .zero
            #expect(try await GarbageCollector(index: index, store: store, configuration: none, logger: logger).collect() == 2)
            #expect(try await store.head(key: orphan) == nil)
            #expect(try await store.head(key: releasedKey) == nil)
            #expect(try await index.find(ownerID: owner, sha256: sha) == nil)
            #expect(try temporaryFiles() == 0)
            await inProgress.abort()
        }
    }

    @Test func fileDeletedArrivesThroughTheBroker() async throws {
        let store = try await TestStoreBackend.local.makeStore()
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(BlobMigrations.all, client: client, logger: TestDatabase.logger)
            let index = BlobIndex(client: client, logger: TestDatabase.logger)
            let owner = UUID()
            let file = UUID()
            let sha = String(repeating: "3", count: 64)
            let key = BlobObjects.key(uploadID: UUID())
            try await put(store, key)
            try await register(index, owner: owner, file: file, sha: sha, key: key)

            let kafka = KafkaClientConfiguration(brokers: TestEnvironment.kafkaBrokers, clientID: "blob-tests")
            try await KafkaAdmin.createTopics(
                [KafkaTopicSpec(name: FileDeleted.topic.rawValue), KafkaTopicSpec(name: Topic.deadLetter(FileDeleted.topic.rawValue))], client: kafka,
                logger: logger)
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let handler = FileDeletedHandler(index: index)
            var building = EventHandlers()
            building.on(FileDeleted.self) { try await handler.handle($0) }
            let handlers = building
            let logger = self.logger
            let consumer = KafkaConsumer(
                configuration: .init(groupID: TestEnvironment.uniqueName("blob"), topics: handlers.topics),
                client: kafka, deadLetterProducer: producer, logger: logger
            ) { try await handlers.handle($0, logger: logger) }
            try await withServices([producer, consumer], logger: logger) {
                let envelope = deletedEvent(owner: owner, file: file, sha: sha)
                let record = KafkaRecord(
                    topic: FileDeleted.topic.rawValue, key: envelope.payload.partitionKey, value: Array(try ContractCoding.encoder().encode(envelope))
                )
                try await producer.send(record)
                try await producer.send(record)  // redelivered
                try await eventually("the release") { try await index.find(ownerID: owner, sha256: sha)?.refCount == 0 }
            }
            var configuration = GarbageCollector.Configuration()
            configuration.grace = .zero
            #expect(try await GarbageCollector(index: index, store: store, configuration: configuration, logger: logger).collect() == 1)
            #expect(try await store.head(key: key) == nil)
        }
    }
}
