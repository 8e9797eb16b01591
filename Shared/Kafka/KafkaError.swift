import CRdKafka

/// Errors raised by the Kafka client.
public enum KafkaError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A configuration property was refused by librdkafka.
    case configuration(key: String, reason: String)
    /// librdkafka could not create a client.
    case clientCreation(String)
    /// The broker or librdkafka reported an error for an operation.
    case rdkafka(code: Int32, message: String)
    /// A delivery did not complete before the client shut down.
    case shutdown
    /// An admin request timed out.
    case timeout(String)

    public var description: String {
        switch self {
        case .configuration(let key, let reason): "Kafka configuration '\(key)': \(reason)"
        case .clientCreation(let reason): "Kafka client creation failed: \(reason)"
        case .rdkafka(let code, let message): "Kafka error \(code): \(message)"
        case .shutdown: "Kafka client shut down"
        case .timeout(let what): "Kafka timed out: \(what)"
        }
    }

    static func from(_ code: rd_kafka_resp_err_t) -> KafkaError {
        .rdkafka(code: code.rawValue, message: String(cString: rd_kafka_err2str(code)))
    }
}
