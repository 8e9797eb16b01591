import CRdKafka
import Logging

/// A topic to create.
public struct KafkaTopicSpec: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32

    public init(name: String, partitions: Int32 = 3, replicationFactor: Int32 = 1) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// Topic administration through librdkafka's admin API.
public enum KafkaAdmin {
    /// Create the topics that do not exist yet; existing topics are left as they are.
    public static func createTopics(
        _ topics: [KafkaTopicSpec], client: KafkaClientConfiguration, timeout: Duration = .seconds(15), logger: Logger
    ) async throws {
        guard !topics.isEmpty else { return }
        let conf = try client.makeConf([:])
        let rdk = try RdKafkaClient(type: RD_KAFKA_PRODUCER, conf: conf, context: RdKafkaContext(logger: logger))
        let timeoutMs = Int32(timeout.milliseconds)
        // rd_kafka_destroy blocks until librdkafka's threads end: keep it off the cooperative pool too.
        try await BlockingCalls.run {
            defer { rdk.destroy() }
            try createTopicsBlocking(topics, handle: rdk.handle, timeoutMs: timeoutMs)
        }
    }

    private static func createTopicsBlocking(_ topics: [KafkaTopicSpec], handle: OpaquePointer, timeoutMs: Int32) throws {
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in topics {
            var errstr = [CChar](repeating: 0, count: 512)
            guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, spec.replicationFactor, &errstr, errstr.count) else {
                throw KafkaError.configuration(key: spec.name, reason: String(cString: errstr))
            }
            newTopics.append(topic)
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errstr = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)

        rd_kafka_CreateTopics(handle, &newTopics, newTopics.count, options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1000) else {
            throw KafkaError.timeout("CreateTopics")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(eventError) }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError.rdkafka(code: -1, message: "unexpected admin event")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        for index in 0..<count {
            let topicResult = results[index]
            let err = rd_kafka_topic_result_error(topicResult)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let message = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
                throw KafkaError.rdkafka(code: err.rawValue, message: "\(name): \(message)")
            }
        }
    }
}
