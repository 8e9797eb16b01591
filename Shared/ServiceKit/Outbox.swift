import CirrusContracts
import CirrusKafka
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The transactional outbox: an event is written in the same transaction as the state
/// change it announces, and `OutboxRelay` publishes it after commit. No event is published
/// for a change that rolled back, and none is lost for one that committed.
public enum Outbox {
    /// Record `envelope` for publication, on a connection inside the caller's transaction.
    /// With tracing on, the event's trace context names the span in progress (the
    /// transaction's) as its parent, whatever the caller passed.
    public static func enqueue<Payload: EventPayload>(
        _ envelope: EventEnvelope<Payload>, on connection: PostgresConnection, logger: Logger
    ) async throws {
        var envelope = envelope
        envelope.trace = CirrusTracing.outgoing(envelope.trace)
        let bytes = try ContractCoding.encoder().encode(envelope)
        let topic = Payload.topic.rawValue
        let key = envelope.payload.partitionKey
        let type = envelope.type
        let payload = ByteBuffer(bytes: bytes)
        let traceparent = envelope.trace.traceparent
        let tracestate = envelope.trace.tracestate
        try await connection.query(
            """
            INSERT INTO cirrus_outbox (event_id, topic, partition_key, event_type, payload, traceparent, tracestate)
            VALUES (\(envelope.eventID), \(topic), \(key), \(type), \(payload), \(traceparent), \(tracestate))
            """, logger: logger)
    }

    /// The Kafka record an outbox row becomes: key = the entity, value = the envelope bytes,
    /// headers carry the event id and type (and trace context) for consumers and tools.
    static func record(topic: String, key: String, eventID: UUID, type: String, payload: ByteBuffer, trace: TraceContext) -> KafkaRecord {
        var headers = [
            KafkaHeader(key: "cirrus-event-id", string: eventID.uuidString.lowercased()),
            KafkaHeader(key: "cirrus-event-type", string: type),
        ]
        if let traceparent = trace.traceparent { headers.append(KafkaHeader(key: "traceparent", string: traceparent)) }
        if let tracestate = trace.tracestate { headers.append(KafkaHeader(key: "tracestate", string: tracestate)) }
        return KafkaRecord(topic: topic, key: key, value: Array(payload.readableBytesView), headers: headers)
    }
}
