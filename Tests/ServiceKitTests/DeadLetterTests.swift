import CirrusContracts
import CirrusKafka
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Dead letters kept for the admin: a consumer that gives up records the message in
/// `cirrus_dead_letters` (and publishes it to `<topic>.dlq`); replay runs it through the same
/// handler, discard drops it. Real PostgreSQL and broker.
@Suite("Dead letters", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct DeadLetterTests {
    let logger = TestDatabase.logger
    let kafka = KafkaClientConfiguration(brokers: TestEnvironment.kafkaBrokers, clientID: "cirrus-kit-tests")
    /// A topic of this test's own: other tests publish `user.deleted` to the shared broker,
    /// and this test's new consumer group would read their messages from the start too.
    let topic = TestEnvironment.uniqueName("user.deleted.dlq-test")

    @Test func aMessageGivenUpOnIsListedReplayedAndDiscarded() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Migrator.migrate([], client: client, logger: logger)
            try await KafkaAdmin.createTopics([KafkaTopicSpec(name: topic), KafkaTopicSpec(name: topic + ".dlq")], client: kafka, logger: logger)
            let deadLetters = DeadLetters(service: "kit-tests", client: client, logger: logger)
            // The handler fails until `healed`, like a consumer whose dependency is down.
            let healed = Recorder<Bool>()
            let handled = Recorder<UUID>()
            var building = EventHandlers()
            building.on(UserDeleted.self) { envelope in
                guard !healed.all.isEmpty else { throw ProblemError.unavailable("dependency down") }
                handled.append(envelope.eventID)
            }
            let handlers = building
            let logger = self.logger
            let group = TestEnvironment.uniqueName("dlq")
            let handle: DeadLetters.Handler = { try await handlers.handle($0, logger: logger) }
            deadLetters.register(consumer: group, handler: handle)
            var configuration = KafkaConsumer.Configuration(groupID: group, topics: [topic])
            configuration.maxAttempts = 2
            configuration.initialBackoff = .milliseconds(10)
            configuration.deadLetterSink = { message, error, attempts in
                try await deadLetters.record(message, consumer: group, error: error, attempts: attempts)
            }
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let consumer = KafkaConsumer(configuration: configuration, client: kafka, deadLetterProducer: producer, logger: logger, handler: handle)
            let events = (0..<3).map { _ in EventEnvelope(producer: "kit-tests", payload: UserDeleted(userID: UUID())) }
            try await withServices([producer, consumer], logger: logger) {
                for event in events {
                    let bytes = try ContractCoding.encoder().encode(event)
                    try await producer.send(KafkaRecord(topic: topic, key: event.payload.partitionKey, value: Array(bytes)))
                }
                try await eventually("three dead letters") { try await deadLetters.list(topic: topic, limit: 100).count >= 3 }
            }
            let listed = try await deadLetters.list(topic: topic, limit: 100)
            #expect(Set(listed.compactMap(\.eventID)) == Set(events.map(\.eventID)))
            for entry in listed {
                #expect(entry.attempts == 2)
                #expect(entry.error.contains("dependency down"))
                #expect(entry.consumer == group)
                #expect(entry.eventType == UserDeleted.eventType)
                #expect(entry.firstFailedAt <= entry.lastFailedAt)
            }
            #expect(try await deadLetters.list(topic: "no.such.topic", limit: 100).isEmpty)
            let first = try #require(listed.first { $0.eventID == events[0].eventID })
            let shown = try #require(try await deadLetters.show(first.id))
            #expect(shown.payloadEncoding == "utf-8")
            #expect(shown.payload?.lowercased().contains(events[0].payload.userID.uuidString.lowercased()) == true)
            #expect(try await deadLetters.show(UUID()) == nil)

            let admin = UUID()
            // Still failing: the replay fails, the row stays with one more attempt and a replay.
            let failed = try #require(try await deadLetters.replay(first.id, by: admin))
            #expect(failed.outcome == "failed")
            let after = try #require(try await deadLetters.show(first.id))
            #expect(after.attempts == 3)
            #expect(after.replays == 1)
            #expect(after.lastFailedAt >= first.lastFailedAt)

            healed.append(true)
            let second = try #require(listed.first { $0.eventID == events[1].eventID })
            #expect(try await deadLetters.discard(second.id, by: admin))
            #expect(try await deadLetters.discard(second.id, by: admin) == false)
            #expect(try await deadLetters.replay(first.id, by: admin)?.outcome == "replayed")
            #expect(try await deadLetters.show(first.id) == nil)
            let summary = try await deadLetters.replayAll(topic: topic, by: admin)
            #expect(summary.replayed == 1 && summary.failed == 0)
            #expect(try await deadLetters.list(topic: topic, limit: 100).isEmpty)
            // Replayed through the same handler: the first and third events, not the discarded one.
            #expect(Set(handled.all) == [events[0].eventID, events[2].eventID])
            #expect(try await deadLetters.replay(UUID(), by: admin) == nil)
        }
    }
}
