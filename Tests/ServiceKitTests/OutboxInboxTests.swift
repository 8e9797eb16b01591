import CirrusContracts
import CirrusKafka
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// The outbox relay and the inbox against the real PostgreSQL and broker.
@Suite("Outbox and inbox", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct OutboxInboxTests {
    let logger = TestDatabase.logger
    let kafka = KafkaClientConfiguration(brokers: TestEnvironment.kafkaBrokers, clientID: "cirrus-kit-tests")
    var topic: String { UserDeleted.topic.rawValue }

    func prepare(_ client: PostgresClient) async throws {
        try await Migrator.migrate(
            [Migration("0001-effects", ["CREATE TABLE effects (user_id UUID NOT NULL, note TEXT NOT NULL)"])], client: client, logger: logger)
        try await KafkaAdmin.createTopics([KafkaTopicSpec(name: topic), KafkaTopicSpec(name: topic + ".dlq")], client: kafka, logger: logger)
    }

    func envelope(_ userID: UUID = UUID()) -> EventEnvelope<UserDeleted> {
        EventEnvelope(producer: "kit-tests", payload: UserDeleted(userID: userID))
    }

    /// A consumer in a fresh group recording every `user.deleted` envelope it sees.
    func recordingConsumer(_ producer: KafkaProducer, into seen: Recorder<EventEnvelope<UserDeleted>>) -> KafkaConsumer {
        var building = EventHandlers()
        building.on(UserDeleted.self) { seen.append($0) }
        let handlers = building
        let logger = self.logger
        return KafkaConsumer(
            configuration: .init(groupID: TestEnvironment.uniqueName("kit"), topics: handlers.topics),
            client: kafka, deadLetterProducer: producer, logger: logger
        ) { try await handlers.handle($0, logger: logger) }
    }

    func scalar(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int {
        var result = -1
        for try await value in try await client.query(query, logger: logger).decode(Int.self) { result = value }
        return result
    }

    @Test func aCommittedEventIsPublishedOnceAndMarked() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            let event = envelope()
            try await client.transaction(logger: logger) { connection in
                try await Outbox.enqueue(event, on: connection, logger: logger)
            }
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let seen = Recorder<EventEnvelope<UserDeleted>>()
            let relay = OutboxRelay(client: client, producer: producer, logger: logger)
            try await withServices([producer, recordingConsumer(producer, into: seen)], logger: logger) {
                #expect(try await relay.relayBatch() == 1)
                #expect(try await relay.relayBatch() == 0)
                try await eventually("the event on the broker") { seen.all.contains { $0.eventID == event.eventID } }
            }
            let received = try #require(seen.all.first { $0.eventID == event.eventID })
            #expect(received == event)
            #expect(try await scalar(client, "SELECT count(*)::int FROM cirrus_outbox WHERE published_at IS NOT NULL") == 1)
        }
    }

    @Test func aRolledBackChangePublishesNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await client.transaction(logger: logger) { connection in
                    try await Outbox.enqueue(envelope(), on: connection, logger: logger)
                    throw Abort()
                }
            }
            #expect(try await scalar(client, "SELECT count(*)::int FROM cirrus_outbox") == 0)
        }
    }

    @Test func anEventWrittenWhileTheRelayIsDownGoesOutWhenItComesBack() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            let event = envelope()
            try await client.transaction(logger: logger) { connection in
                try await Outbox.enqueue(event, on: connection, logger: logger)
            }
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let seen = Recorder<EventEnvelope<UserDeleted>>()
            let consumer = recordingConsumer(producer, into: seen)
            try await withServices([producer, consumer], logger: logger) {
                // No relay runs: the event waits in the outbox.
                try await Task.sleep(for: .seconds(2))
                #expect(!seen.all.contains { $0.eventID == event.eventID })
                #expect(try await scalar(client, "SELECT count(*)::int FROM cirrus_outbox WHERE published_at IS NULL") == 1)
                // The relay comes back as a service and catches up.
                var configuration = OutboxRelay.Configuration()
                configuration.pollInterval = .milliseconds(20)
                let relay = OutboxRelay(client: client, producer: producer, configuration: configuration, logger: logger)
                try await withServices([relay], logger: logger) {
                    try await eventually("the event after the relay restarted") { seen.all.contains { $0.eventID == event.eventID } }
                    try await eventually("the row marked published") {
                        try await scalar(client, "SELECT count(*)::int FROM cirrus_outbox WHERE published_at IS NULL") == 0
                    }
                }
            }
        }
    }

    /// Runs `body` beside a relay whose poll is two minutes, once it is past its first pass (an
    /// empty outbox): only the outbox trigger's notification can make it publish within seconds
    /// (the second test shows the same relay not listening).
    func withWaitingRelay(listens: Bool, _ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            var configuration = OutboxRelay.Configuration()
            configuration.pollInterval = .seconds(120)
            configuration.listens = listens
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let relay = OutboxRelay(client: client, producer: producer, configuration: configuration, logger: logger)
            try await withServices([producer, relay], logger: logger) {
                try await Task.sleep(for: .seconds(3))
                try await body(client)
            }
        }
    }

    func commitOneRow(_ client: PostgresClient) async throws {
        try await client.transaction(logger: logger) { connection in
            try await Outbox.enqueue(envelope(), on: connection, logger: logger)
        }
    }

    func unpublished(_ client: PostgresClient) async throws -> Int {
        try await scalar(client, "SELECT count(*)::int FROM cirrus_outbox WHERE published_at IS NULL")
    }

    @Test func aCommittedRowWakesTheListeningRelayBeforeItsPoll() async throws {
        try await withWaitingRelay(listens: true) { client in
            for round in 1...3 {
                try await commitOneRow(client)
                try await eventually("round \(round): the row published without waiting for the poll", timeout: .seconds(60)) {
                    try await unpublished(client) == 0
                }
            }
        }
    }

    @Test func withoutNotificationsTheRelayWaitsForItsPoll() async throws {
        try await withWaitingRelay(listens: false) { client in
            try await commitOneRow(client)
            try await Task.sleep(for: .seconds(3))
            #expect(try await unpublished(client) == 1)
        }
    }

    @Test func relayReplicasPublishEachEventExactlyOnceAndInOrder() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            let userID = UUID()
            let events = (0..<60).map { _ in envelope(userID) }
            for chunk in stride(from: 0, to: events.count, by: 10) {
                try await client.transaction(logger: logger) { connection in
                    for event in events[chunk..<chunk + 10] { try await Outbox.enqueue(event, on: connection, logger: logger) }
                }
            }
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let seen = Recorder<EventEnvelope<UserDeleted>>()
            var configuration = OutboxRelay.Configuration()
            configuration.pollInterval = .milliseconds(10)
            configuration.batchSize = 7
            let relays = (0..<3).map { _ in OutboxRelay(client: client, producer: producer, configuration: configuration, logger: logger) }
            try await withServices([producer, recordingConsumer(producer, into: seen)] + relays, logger: logger) {
                try await eventually("all 60 events") { seen.all.filter { $0.payload.userID == userID }.count >= 60 }
                try await Task.sleep(for: .milliseconds(500))
            }
            let received = seen.all.filter { $0.payload.userID == userID }.map(\.eventID)
            #expect(received.count == 60)
            // One key, one partition: the order of the outbox is the order on the broker.
            #expect(received == events.map(\.eventID))
        }
    }

    @Test func theInboxAppliesAnEventDeliveredTwiceOnce() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let userID = UUID()
            let event = envelope(userID)
            let outcomes = Recorder<Bool>()
            var handlers = EventHandlers()
            let logger = self.logger
            handlers.on(UserDeleted.self) { envelope in
                guard envelope.payload.userID == userID else { return }
                let applied = try await Inbox.process(
                    eventID: envelope.eventID, topic: UserDeleted.topic.rawValue, consumer: "kit-tests", client: client, logger: logger
                ) { connection in
                    try await connection.query("INSERT INTO effects (user_id, note) VALUES (\(envelope.payload.userID), 'deleted')", logger: logger)
                }
                outcomes.append(applied)
            }
            let registered = handlers
            let consumer = KafkaConsumer(
                configuration: .init(groupID: TestEnvironment.uniqueName("inbox"), topics: registered.topics), client: kafka,
                deadLetterProducer: producer, logger: logger
            ) {
                try await registered.handle($0, logger: logger)
            }
            try await withServices([producer, consumer], logger: logger) {
                // The same envelope twice, as a relay that died between publish and mark would send it.
                let record = KafkaRecord(topic: topic, key: userID.uuidString.lowercased(), value: Array(try ContractCoding.encoder().encode(event)))
                try await producer.send(record)
                try await producer.send(record)
                try await eventually("both deliveries handled") { outcomes.count == 2 }
            }
            #expect(outcomes.all == [true, false])
            #expect(try await scalar(client, "SELECT count(*)::int FROM effects WHERE user_id = \(userID)") == 1)
        }
    }

    @Test func aFailedEffectIsNotRecordedSoTheRetryApplies() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await prepare(client)
            let eventID = UUID()
            let userID = UUID()
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await Inbox.process(eventID: eventID, topic: "t", consumer: "c", client: client, logger: logger) { connection in
                    try await connection.query("INSERT INTO effects (user_id, note) VALUES (\(userID), 'half')", logger: logger)
                    throw Boom()
                }
            }
            let applied = try await Inbox.process(eventID: eventID, topic: "t", consumer: "c", client: client, logger: logger) { connection in
                try await connection.query("INSERT INTO effects (user_id, note) VALUES (\(userID), 'whole')", logger: logger)
            }
            #expect(applied)
            #expect(try await scalar(client, "SELECT count(*)::int FROM effects WHERE user_id = \(userID) AND note = 'whole'") == 1)
            #expect(try await scalar(client, "SELECT count(*)::int FROM effects WHERE user_id = \(userID) AND note = 'half'") == 0)
        }
    }
}
