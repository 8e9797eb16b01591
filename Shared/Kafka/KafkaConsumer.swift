import CRdKafka
import Dispatch
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Thrown by a handler for a message that can never succeed (undecodable, unknown
/// version…): it goes to the dead-letter topic at once instead of being retried.
public struct KafkaPoisonMessage: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A consumer-group member that hands each message to an async handler, one at a time
/// (so per-partition order holds), and stores the message's offset only after the handler
/// succeeded. Offsets are committed from the stored ones every second and on close, so a
/// consumer that dies mid-message leaves it to be delivered again.
///
/// A failing message is retried with exponential backoff; after `maxAttempts` (or at once
/// for `KafkaPoisonMessage`) it is published to `<topic>.dlq` with the failure in its
/// headers, and the partition moves on. Graceful shutdown finishes the message in hand,
/// then leaves the group so partitions are reassigned at once.
public final class KafkaConsumer: Service, Sendable {
    public struct Configuration: Sendable {
        public var groupID: String
        public var topics: [String]
        /// Handler attempts before a message is dead-lettered.
        public var maxAttempts: Int = 5
        /// One handler attempt may take this long, then it counts as failed (and is retried):
        /// below librdkafka's max.poll.interval (300 s), past which the member leaves its group.
        public var handlerTimeout: Duration = .seconds(120)
        public var initialBackoff: Duration = .milliseconds(200)
        public var maxBackoff: Duration = .seconds(10)
        /// Short so a restarted or crashed member is noticed quickly (librdkafka's 45 s
        /// default makes the first join slow on small clusters).
        public var sessionTimeout: Duration = .seconds(6)
        public var commitInterval: Duration = .seconds(1)
        /// How long the broker may hold a fetch that found nothing new (`fetch.wait.max.ms`,
        /// librdkafka's default 500 ms). The broker used here answers a waiting fetch at this
        /// bound even when a record arrives meanwhile, so it is a hop's worst latency when
        /// idle; 100 ms costs an idle consumer ten empty fetches a second (docs/performance.md).
        public var fetchWait: Duration = .milliseconds(100)
        /// Where a new group starts: "earliest" so no event published before the first
        /// deployment of a consumer is missed.
        public var autoOffsetReset: String = "earliest"
        /// Called on every poll and before every handler attempt (the runtime's liveness).
        public var heartbeat: (@Sendable () -> Void)?
        /// How often `cirrus_kafka_consumer_lag` is brought up to date (from librdkafka's own
        /// state: no broker round trip).
        public var lagInterval: Duration = .seconds(5)
        /// Keeps a dead letter where an operator can list, replay or discard it (the runtime's
        /// table), before it is published to `<topic>.dlq`. Retried like the publish.
        public var deadLetterSink: (@Sendable (_ message: KafkaMessage, _ error: String, _ attempts: Int) async throws -> Void)?

        public init(groupID: String, topics: [String]) {
            self.groupID = groupID
            self.topics = topics
        }
    }

    public typealias Handler = @Sendable (KafkaMessage) async throws -> Void

    private let configuration: Configuration
    private let clientConfiguration: KafkaClientConfiguration
    private let deadLetters: KafkaProducer
    private let handler: Handler
    private let logger: Logger
    private let stopping = NIOLockedValueBox(false)
    private let consumed: Counter
    private let failures: Counter
    private let deadLettered: Counter
    private let lag: ConsumerLag

    public init(
        configuration: Configuration, client: KafkaClientConfiguration, deadLetterProducer: KafkaProducer, logger: Logger, handler: @escaping Handler
    ) {
        self.configuration = configuration
        self.clientConfiguration = client
        self.deadLetters = deadLetterProducer
        self.handler = handler
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(configuration.groupID)"
        self.logger = logger
        let dimensions = [("group", configuration.groupID)]
        self.consumed = Counter(label: "cirrus_kafka_messages_handled_total", dimensions: dimensions)
        self.failures = Counter(label: "cirrus_kafka_handler_failures_total", dimensions: dimensions)
        self.deadLettered = Counter(label: "cirrus_kafka_dead_lettered_total", dimensions: dimensions)
        self.lag = ConsumerLag(group: configuration.groupID)
    }

    public func run() async throws {
        let conf = try clientConfiguration.makeConf([
            "group.id": configuration.groupID,
            "enable.auto.commit": "true",
            "enable.auto.offset.store": "false",
            "auto.commit.interval.ms": "\(configuration.commitInterval.milliseconds)",
            "auto.offset.reset": configuration.autoOffsetReset,
            "session.timeout.ms": "\(configuration.sessionTimeout.milliseconds)",
            "heartbeat.interval.ms": "\(max(configuration.sessionTimeout.milliseconds / 3, 100))",
            "topic.metadata.refresh.interval.ms": "5000",
            "fetch.wait.max.ms": "\(configuration.fetchWait.milliseconds)",
        ])
        let client = try RdKafkaClient(type: RD_KAFKA_CONSUMER, conf: conf, context: RdKafkaContext(logger: logger))
        let queue = DispatchQueue(label: "cirrus.kafka.consumer.\(configuration.groupID)")
        rd_kafka_poll_set_consumer(client.handle)
        try subscribe(client)
        logger.info("kafka consumer subscribed", metadata: ["topics": "\(configuration.topics.joined(separator: ","))"])

        await withGracefulShutdownHandler {
            let clock = ContinuousClock()
            var lagMeasured = clock.now
            while !self.isStopping && !Task.isCancelled {
                self.configuration.heartbeat?()
                if clock.now - lagMeasured >= self.configuration.lagInterval {
                    lagMeasured = clock.now
                    self.lag.measure(client)
                }
                guard let message = await Self.poll(client, on: queue, logger: logger) else { continue }
                await self.process(message, client: client)
            }
        } onGracefulShutdown: {
            self.stopping.withLockedValue { $0 = true }
        }

        // Leave the group (committing stored offsets) so partitions move at once.
        await BlockingCalls.run(on: queue) {
            _ = rd_kafka_consumer_close(client.handle)
            client.destroy()
        }
        logger.info("kafka consumer closed")
    }

    private var isStopping: Bool { stopping.withLockedValue { $0 } }

    private func subscribe(_ client: RdKafkaClient) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(configuration.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in configuration.topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let err = rd_kafka_subscribe(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err) }
    }

    // MARK: - Processing

    private func process(_ message: KafkaMessage, client: RdKafkaClient) async {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let handler = self.handler
                try await withDeadline(configuration.handlerTimeout) { try await handler(message) }
                consumed.increment()
                storeOffset(of: message, client: client)
                return
            } catch {
                // A cancelled task (the process is going down hard) leaves the offset unstored:
                // the message is delivered again to whoever takes the partition.
                if Task.isCancelled { return }
                failures.increment()
                let poison = error is KafkaPoisonMessage
                var metadata = Self.metadata(of: message)
                metadata["attempt"] = "\(attempt)"
                metadata["error"] = "\(error)"
                if poison || attempt >= configuration.maxAttempts {
                    logger.error("message failed for good, dead-lettering", metadata: metadata)
                    if await deadLetter(message, error: error, attempts: attempt) {
                        storeOffset(of: message, client: client)
                    }
                    return
                }
                logger.warning("message handler failed, will retry", metadata: metadata)
                if await !pause(backoff(forAttempt: attempt)) { return }
            }
        }
    }

    /// Publish to `<topic>.dlq`, retrying until the broker acknowledges or we stop.
    private func deadLetter(_ message: KafkaMessage, error: any Error, attempts: Int) async -> Bool {
        let reason = String(describing: error).prefix(1000).description
        if let sink = configuration.deadLetterSink {
            var attempt = 0
            while true {
                if Task.isCancelled { return false }
                attempt += 1
                do {
                    try await sink(message, reason, attempts)
                    break
                } catch {
                    logger.error("dead-letter record failed, retrying", metadata: ["error": "\(error)"])
                    if await !pause(backoff(forAttempt: attempt)) { return false }
                }
            }
        }
        var headers = message.headers
        headers.append(KafkaHeader(key: "cirrus-dlq-error", string: reason))
        headers.append(KafkaHeader(key: "cirrus-dlq-source", string: "\(message.topic)/\(message.partition)/\(message.offset)"))
        headers.append(KafkaHeader(key: "cirrus-dlq-attempts", string: "\(attempts)"))
        headers.append(KafkaHeader(key: "cirrus-dlq-group", string: configuration.groupID))
        let record = KafkaRecord(topic: message.topic + ".dlq", key: message.key, value: message.value, headers: headers)
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                try await deadLetters.send(record)
                deadLettered.increment()
                return true
            } catch {
                logger.error("dead-letter publish failed, retrying", metadata: ["error": "\(error)"])
                if await !pause(backoff(forAttempt: attempt)) { return false }
            }
        }
        return false
    }

    private func storeOffset(of message: KafkaMessage, client: RdKafkaClient) {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, message.topic, message.partition)
        entry?.pointee.offset = message.offset + 1
        let err = rd_kafka_offsets_store(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            // Typically the partition was revoked meanwhile: its new owner sees the message again.
            logger.notice("offset not stored", metadata: Self.metadata(of: message).merging(["error": "\(KafkaError.from(err))"]) { $1 })
        }
    }

    func backoff(forAttempt attempt: Int) -> Duration {
        let factor = 1 << min(attempt - 1, 16)
        return min(configuration.initialBackoff * factor, configuration.maxBackoff)
    }

    /// Sleep in short slices; false when shutdown began meanwhile.
    private func pause(_ duration: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + duration
        while clock.now < deadline {
            if isStopping || Task.isCancelled { return false }
            try? await Task.sleep(for: min(.milliseconds(100), deadline - clock.now))
        }
        return !(isStopping || Task.isCancelled)
    }

    // MARK: - librdkafka

    private static func poll(_ client: RdKafkaClient, on queue: DispatchQueue, logger: Logger) async -> KafkaMessage? {
        await BlockingCalls.run(on: queue) {
            guard let raw = rd_kafka_consumer_poll(client.handle, 100) else { return nil }
            defer { rd_kafka_message_destroy(raw) }
            let m = raw.pointee
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if m.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    logger.warning("kafka consumer error", metadata: ["error": "\(KafkaError.from(m.err))"])
                }
                return nil
            }
            return copy(raw)
        }
    }

    /// Copy a C message into Swift values; the caller destroys the C message at once.
    static func copy(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let m = raw.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(raw, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: headerValue))
                index += 1
            }
        }
        return KafkaMessage(topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, headers: headers)
    }

    static func metadata(of message: KafkaMessage) -> Logger.Metadata {
        ["kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)"]
    }
}
