import AsyncHTTPClient
import CirrusContracts
// Not a declared dependency of this test target; reachable through Thumbnail/CirrusServiceKit.
import CirrusKafka
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Foundation
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Testing

@testable import Thumbnail

/// `thumbnail.requested` whose original cannot be fetched, delivered through the real broker
/// to the service's handlers by a `KafkaConsumer` with the service's settings (fresh group):
/// - blob unreachable (stopped): a transient failure, retried, then dead-lettered to
///   `thumbnail.requested.dlq`; no `thumbnail.failed` is announced and nothing is recorded;
/// - blob answers 404 (it has no such content for that owner): deliberately a permanent
///   failure, `thumbnail.failed` with reason `source_missing`, handled once, not retried.
///
/// The topics are shared with other runs, so the consumers pass over every event but the
/// test's own (a fresh group starts at the earliest offset).
@Suite("Thumbnail requests through the broker", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(4)))
struct ThumbnailBrokerTests {
    let kafka = KafkaClientConfiguration(brokers: TestEnvironment.kafkaBrokers, clientID: "thumbnail-tests")
    var topic: String { ThumbnailRequested.topic.rawValue }

    func request(blobID: String = "sha256:" + String(repeating: "ab", count: 32)) -> EventEnvelope<ThumbnailRequested> {
        EventEnvelope(
            producer: "metadata",
            payload: ThumbnailRequested(
                fileID: UUID(), ownerID: UUID(), blobID: blobID, contentType: "image/jpeg",
                sizes: [200], reason: .upload))
    }

    /// Runs the service's consumer for `app` (recording each delivery of `event`) and a consumer
    /// of the dead-letter topic (recording `event`'s letters) around `body`.
    func withConsumers(
        _ app: ThumbnailApp, for event: EventEnvelope<ThumbnailRequested>, deliveries: Recorder<Date>, letters: Recorder<KafkaMessage>,
        _ body: @Sendable (_ send: @Sendable () async throws -> Void) async throws -> Void
    ) async throws {
        let logger = TestDatabase.logger
        try await KafkaAdmin.createTopics(
            [topic, Topic.deadLetter(topic), FileDeleted.topic.rawValue, Topic.deadLetter(FileDeleted.topic.rawValue)].map {
                KafkaTopicSpec(name: $0)
            },
            client: kafka, logger: logger)
        let value = Array(try ContractCoding.encoder().encode(event))
        let producer = try KafkaProducer(client: kafka, logger: logger)
        let handlers = app.handlers
        let eventID = event.eventID
        // The defaults the service runs with (ServiceRuntime.addConsumer): 5 attempts, backoff from 200 ms.
        let consumer = KafkaConsumer(
            configuration: .init(groupID: TestEnvironment.uniqueName("thumbnail"), topics: handlers.topics),
            client: kafka, deadLetterProducer: producer, logger: logger
        ) { message in
            guard (try? ContractCoding.decoder().decode(EventHeader.self, from: Data(message.value)))?.eventID == eventID else { return }
            deliveries.append(Date())
            try await handlers.handle(message, logger: logger)
        }
        let deadLetters = KafkaConsumer(
            configuration: .init(groupID: TestEnvironment.uniqueName("thumbnail-dlq"), topics: [Topic.deadLetter(topic)]),
            client: kafka, deadLetterProducer: producer, logger: logger
        ) { message in
            if message.value == value { letters.append(message) }
        }
        let topic = self.topic
        try await withServices([producer, consumer, deadLetters], logger: logger) {
            try await body {
                try await producer.send(KafkaRecord(topic: topic, key: event.payload.partitionKey, value: value))
            }
        }
    }

    func scalar(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int {
        var result = -1
        for try await value in try await client.query(query, logger: TestDatabase.logger).decode(Int.self) { result = value }
        return result
    }

    func failuresAnnounced(_ client: PostgresClient) async throws -> [ThumbnailFailed] {
        var events: [ThumbnailFailed] = []
        let rows = try await client.query(
            "SELECT payload FROM cirrus_outbox WHERE topic = \(ThumbnailFailed.topic.rawValue) ORDER BY id", logger: TestDatabase.logger)
        for try await payload in rows.decode(ByteBuffer.self) {
            events.append(try ContractCoding.decoder().decode(EventEnvelope<ThumbnailFailed>.self, from: Data(buffer: payload)).payload)
        }
        return events
    }

    @Test func anOriginalThatCannotBeFetchedFromAStoppedBlobIsRetriedThenDeadLetteredWithoutAFailure() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate(ThumbnailMigrations.all, client: client, logger: TestDatabase.logger)
            // Blob is stopped: nothing listens on its port. Connection attempts give up after
            // 300 ms (the shared client would keep trying for its connect timeout).
            let http = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .milliseconds(300), read: .seconds(5))))
            var settings = ThumbnailSettings()
            settings.concurrency = 1
            let app = ThumbnailApp(
                client: client, store: try await TestStoreBackend.local.makeStore(), settings: settings, signer: ThumbnailTests.signer,
                blob: InternalClient(http: http, service: "blob", baseURL: "http://127.0.0.1:\(try freePort())"),
                scratch: TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("scratch"), logger: TestDatabase.logger)
            let event = request()
            let deliveries = Recorder<Date>()
            let letters = Recorder<KafkaMessage>()
            do {
                try await withConsumers(app, for: event, deliveries: deliveries, letters: letters) { send in
                    try await send()
                    try await eventually("the dead letter", timeout: .seconds(90)) { letters.count == 1 }
                }
                try await http.shutdown()
            } catch {
                try? await http.shutdown()
                throw error
            }
            #expect(deliveries.count == 5, "every attempt the service's consumer makes")
            let letter = try #require(letters.all.first)
            #expect(letter.header("cirrus-dlq-attempts")?.stringValue == "5")
            #expect(letter.header("cirrus-dlq-error")?.stringValue?.contains("blob unreachable") == true)
            #expect(letter.header("cirrus-dlq-source")?.stringValue?.hasPrefix(topic + "/") == true)
            #expect(letter.keyString == event.payload.partitionKey)
            // No failure announced or recorded, no inbox entry: a redriven letter is handled afresh.
            #expect(try await failuresAnnounced(client).isEmpty)
            #expect(try await scalar(client, "SELECT count(*)::int FROM thumbnail_failures") == 0)
            #expect(try await scalar(client, "SELECT count(*)::int FROM cirrus_inbox WHERE event_id = \(event.eventID)") == 0)
            #expect(try await scalar(client, "SELECT count(*)::int FROM cirrus_outbox") == 0)
        }
    }

    @Test func anOriginalBlobDoesNotHaveIsAnsweredOnceWithSourceMissing() async throws {
        try await ThumbnailTests.run { h in
            let event = request()  // a content nobody uploaded
            let deliveries = Recorder<Date>()
            let letters = Recorder<KafkaMessage>()
            try await withConsumers(h.app, for: event, deliveries: deliveries, letters: letters) { send in
                try await send()
                try await eventually("the failure", timeout: .seconds(90)) { try await !failuresAnnounced(h.client).isEmpty }
                try await Task.sleep(for: .milliseconds(500))  // room for a retry, were there one
            }
            #expect(deliveries.count == 1)
            #expect(letters.count == 0)
            let failures = try await failuresAnnounced(h.client)
            #expect(failures.map(\.reason) == [.sourceMissing])
            #expect(failures.first?.fileID == event.payload.fileID)
            #expect(try await scalar(h.client, "SELECT count(*)::int FROM thumbnail_failures WHERE reason = 'source_missing'") == 1)
            #expect(try await scalar(h.client, "SELECT count(*)::int FROM cirrus_inbox WHERE event_id = \(event.eventID)") == 1)
        }
    }
}
