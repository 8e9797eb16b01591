import CRdKafka

/// Connection settings shared by producers, consumers and the admin client.
public struct KafkaClientConfiguration: Sendable {
    /// Comma-separated `host:port` list.
    public var brokers: String
    /// Identifies the client in broker logs (e.g. the service name).
    public var clientID: String
    /// Extra librdkafka properties, applied last (see librdkafka's CONFIGURATION.md).
    public var properties: [String: String]

    public init(brokers: String, clientID: String, properties: [String: String] = [:]) {
        self.brokers = brokers
        self.clientID = clientID
        self.properties = properties
    }

    /// Build an `rd_kafka_conf_t` holding the shared settings plus `overrides`.
    /// The caller owns the result until it is passed to `rd_kafka_new`.
    func makeConf(_ overrides: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError.clientCreation("rd_kafka_conf_new") }
        var all: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("client.id", clientID),
            // Logs go through swift-log (see RdKafkaClient), not stderr.
            ("log.queue", "false"),
        ]
        all += overrides.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        all += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (key, value) in all {
            var errstr = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError.configuration(key: key, reason: String(cString: errstr))
            }
        }
        return conf
    }
}
