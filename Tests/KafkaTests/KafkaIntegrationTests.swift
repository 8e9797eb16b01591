import CirrusKafka
import CirrusTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// Against the real broker started by ./infra/test; one fresh topic per test.
@Suite("Kafka client against the broker", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct KafkaIntegrationTests {
    let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .notice
        return logger
    }()

    var client: KafkaClientConfiguration {
        KafkaClientConfiguration(brokers: TestEnvironment.kafkaBrokers, clientID: "cirrus-tests")
    }

    func makeTopic(partitions: Int32 = 1) async throws -> String {
        let topic = TestEnvironment.uniqueName("test.topic")
        try await KafkaAdmin.createTopics(
            [KafkaTopicSpec(name: topic, partitions: partitions), KafkaTopicSpec(name: topic + ".dlq", partitions: 1)],
            client: client, logger: logger
        )
        return topic
    }

    func consumerConfiguration(_ topic: String, group: String? = nil) -> KafkaConsumer.Configuration {
        var configuration = KafkaConsumer.Configuration(groupID: group ?? TestEnvironment.uniqueName("group"), topics: [topic])
        configuration.maxAttempts = 3
        configuration.initialBackoff = .milliseconds(20)
        return configuration
    }

    func withServices(_ services: [any Service], _ body: () async throws -> Void) async throws {
        try await CirrusTestSupport.withServices(services, logger: logger, body)
    }

    @Test func creatingTopicsTwiceIsHarmless() async throws {
        let topic = try await makeTopic(partitions: 2)
        try await KafkaAdmin.createTopics([KafkaTopicSpec(name: topic, partitions: 2)], client: client, logger: logger)
    }

    @Test func producedMessageRoundTripsWithKeyAndHeaders() async throws {
        let topic = try await makeTopic()
        let producer = try KafkaProducer(client: client, logger: logger)
        let received = Recorder<KafkaMessage>()
        let consumer = KafkaConsumer(configuration: consumerConfiguration(topic), client: client, deadLetterProducer: producer, logger: logger) {
            message in
            received.append(message)
        }
        try await withServices([producer, consumer]) {
            let record = KafkaRecord(
                topic: topic, key: "file-1", value: Array("hello".utf8), headers: [KafkaHeader(key: "cirrus-event-type", string: "test")])
            let report = try await producer.send(record)
            #expect(report.topic == topic)
            #expect(report.offset >= 0)
            try await eventually("the message") { received.count == 1 }
            let message = try #require(received.all.first)
            #expect(message.keyString == "file-1")
            #expect(message.value == Array("hello".utf8))
            #expect(message.header("cirrus-event-type")?.stringValue == "test")
            #expect(message.offset == report.offset)
        }
    }

    @Test func sendingToAnUnknownBrokerFailsInsteadOfHanging() async throws {
        var configuration = KafkaProducer.Configuration()
        configuration.messageTimeout = .seconds(2)
        let producer = try KafkaProducer(
            client: KafkaClientConfiguration(brokers: "127.0.0.1:1", clientID: "nobody"), configuration: configuration, logger: logger)
        try await withServices([producer]) {
            await #expect(throws: KafkaError.self) {
                try await producer.send(KafkaRecord(topic: "nowhere", key: "k", value: [1]))
            }
        }
    }

    @Test func aConsumerThatDiesBeforeCommittingLeavesTheMessageForTheNext() async throws {
        let topic = try await makeTopic()
        let group = TestEnvironment.uniqueName("group")
        let producer = try KafkaProducer(client: client, logger: logger)
        let firstSaw = Recorder<String>()
        let secondSaw = Recorder<String>()
        try await withServices([producer]) {
            try await producer.send(KafkaRecord(topic: topic, key: "k", value: Array("m1".utf8)))
            try await producer.send(KafkaRecord(topic: topic, key: "k", value: Array("m2".utf8)))

            // The first member handles m1, then dies (its task is cancelled) in the middle of m2.
            let first = KafkaConsumer(
                configuration: consumerConfiguration(topic, group: group), client: client, deadLetterProducer: producer, logger: logger
            ) { message in
                let value = String(decoding: message.value, as: UTF8.self)
                firstSaw.append(value)
                if value == "m2" { try await Task.sleep(for: .seconds(600)) }
            }
            let dying = Task { try await first.run() }
            try await eventually("the first member to take m2") { firstSaw.all == ["m1", "m2"] }
            dying.cancel()
            _ = await dying.result

            let second = KafkaConsumer(
                configuration: consumerConfiguration(topic, group: group), client: client, deadLetterProducer: producer, logger: logger
            ) { message in
                secondSaw.append(String(decoding: message.value, as: UTF8.self))
            }
            try await withServices([second]) {
                try await eventually("the second member to get m2 again") { secondSaw.all.contains("m2") }
            }
        }
        // m1 was handled and committed: it is not delivered again.
        #expect(secondSaw.all == ["m2"])
    }

    @Test func twoMembersOfOneGroupSplitThePartitions() async throws {
        let topic = try await makeTopic(partitions: 4)
        let group = TestEnvironment.uniqueName("group")
        let producer = try KafkaProducer(client: client, logger: logger)
        let seenByA = Recorder<String>()
        let seenByB = Recorder<String>()
        let a = KafkaConsumer(configuration: consumerConfiguration(topic, group: group), client: client, deadLetterProducer: producer, logger: logger)
        { seenByA.append($0.keyString ?? "") }
        let b = KafkaConsumer(configuration: consumerConfiguration(topic, group: group), client: client, deadLetterProducer: producer, logger: logger)
        { seenByB.append($0.keyString ?? "") }
        var sent: [String] = []
        try await withServices([producer, a, b]) {
            // Keep producing (32 distinct keys spread over the partitions per round) until
            // both members have received messages, i.e. the group has rebalanced.
            let deadline = ContinuousClock.now + .seconds(60)
            var round = 0
            while !(seenByA.count > 0 && seenByB.count > 0) {
                guard ContinuousClock.now < deadline else { throw TimedOut(what: "both members to receive messages") }
                let keys = (0..<32).map { "r\(round)-k\($0)" }
                let results = await producer.send(keys.map { KafkaRecord(topic: topic, key: $0, value: Array($0.utf8)) })
                for result in results { _ = try result.get() }
                sent += keys
                round += 1
                try await Task.sleep(for: .milliseconds(500))
            }
            let expected = Set(sent)
            try await eventually("every message to be consumed") { Set(seenByA.all).union(seenByB.all).isSuperset(of: expected) }
        }
        #expect(!seenByA.all.isEmpty)
        #expect(!seenByB.all.isEmpty)
        #expect(Set(seenByA.all).union(seenByB.all) == Set(sent))
    }

    @Test func aPoisonMessageGoesToTheDeadLetterTopicAndThePartitionKeepsFlowing() async throws {
        let topic = try await makeTopic()
        let producer = try KafkaProducer(client: client, logger: logger)
        let handled = Recorder<String>()
        let attemptsOnFlaky = Recorder<Int>()
        let dead = Recorder<KafkaMessage>()
        let consumer = KafkaConsumer(configuration: consumerConfiguration(topic), client: client, deadLetterProducer: producer, logger: logger) {
            message in
            let value = String(decoding: message.value, as: UTF8.self)
            switch value {
            case "poison": throw KafkaPoisonMessage("cannot decode")
            case "always-fails": throw TestFailure()
            case "flaky":
                attemptsOnFlaky.append(1)
                if attemptsOnFlaky.count < 3 { throw TestFailure() }
            default: break
            }
            handled.append(value)
        }
        let dlqConsumer = KafkaConsumer(
            configuration: consumerConfiguration(topic + ".dlq"), client: client, deadLetterProducer: producer, logger: logger
        ) { dead.append($0) }
        try await withServices([producer, consumer, dlqConsumer]) {
            for value in ["a", "poison", "b", "always-fails", "flaky", "c"] {
                try await producer.send(KafkaRecord(topic: topic, key: "same-key", value: Array(value.utf8)))
            }
            try await eventually("the good messages") { handled.all.contains("c") }
            try await eventually("two dead letters") { dead.count == 2 }
        }
        #expect(handled.all == ["a", "b", "flaky", "c"])
        #expect(attemptsOnFlaky.count == 3)
        let letters = dead.all.sorted { $0.offset < $1.offset }
        #expect(letters.map { String(decoding: $0.value, as: UTF8.self) } == ["poison", "always-fails"])
        #expect(letters[0].header("cirrus-dlq-attempts")?.stringValue == "1")
        #expect(letters[1].header("cirrus-dlq-attempts")?.stringValue == "3")
        #expect(letters[0].header("cirrus-dlq-error")?.stringValue?.contains("cannot decode") == true)
        #expect(letters[0].header("cirrus-dlq-source")?.stringValue?.hasPrefix(topic + "/0/") == true)
        #expect(letters[0].keyString == "same-key")
    }
}

struct TestFailure: Error {}
