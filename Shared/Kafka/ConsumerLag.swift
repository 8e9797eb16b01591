import CRdKafka
import Metrics
import NIOConcurrencyHelpers

/// `cirrus_kafka_consumer_lag{group,topic,partition}`: how many messages of each assigned
/// partition this member has still to handle — the partition's high watermark (as librdkafka
/// last saw it on a fetch) minus the member's position. Read from librdkafka's state, so it
/// costs no broker round trip. Partitions this member no longer has drop to 0 (their new owner
/// reports them).
final class ConsumerLag: Sendable {
    private let group: String
    private let gauges = NIOLockedValueBox<[String: Gauge]>([:])

    init(group: String) {
        self.group = group
    }

    func measure(_ client: RdKafkaClient) {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        guard rd_kafka_position(client.handle, assignment) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        var seen: [String: Int64] = [:]
        for index in 0..<Int(assignment.pointee.cnt) {
            let entry = assignment.pointee.elems[index]
            guard let name = entry.topic else { continue }
            let topic = String(cString: name)
            var low: Int64 = 0
            var high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(client.handle, topic, entry.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                high >= 0
            else { continue }
            // Before the first message the position is unset: everything from the low
            // watermark (or nothing, on an empty partition) is still to come.
            let position = entry.offset >= 0 ? entry.offset : low
            seen["\(topic)\u{0}\(entry.partition)"] = max(high - position, 0)
        }
        gauges.withLockedValue { gauges in
            for (key, value) in seen {
                let gauge =
                    gauges[key]
                    ?? {
                        let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
                        let made = Gauge(
                            label: "cirrus_kafka_consumer_lag", dimensions: [("group", group), ("topic", parts[0]), ("partition", parts[1])])
                        gauges[key] = made
                        return made
                    }()
                gauge.record(value)
            }
            for (key, gauge) in gauges where seen[key] == nil { gauge.record(0) }
        }
    }
}
