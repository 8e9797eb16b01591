import CirrusContracts
import CirrusKafka
import Foundation
import Logging
import Tracing

/// Typed dispatch of consumed events: decodes the envelope header, then the payload of the
/// registered type, and hands it to the handler. A message that cannot be decoded, or
/// whose schema version is newer than this build knows, is poison: it goes to the DLQ at
/// once rather than blocking its partition with retries.
public struct EventHandlers: Sendable {
    typealias Erased = @Sendable (KafkaMessage, EventHeader) async throws -> Void
    private var handlers: [String: Erased] = [:]
    /// The topics of the registered event types.
    public private(set) var topics: [String] = []

    public init() {}

    /// Handle events of type `P`.
    public mutating func on<P: EventPayload>(_ type: P.Type, _ handler: @escaping @Sendable (EventEnvelope<P>) async throws -> Void) {
        handlers[P.eventType] = { message, _ in
            let envelope: EventEnvelope<P>
            do {
                envelope = try ContractCoding.decoder().decode(EventEnvelope<P>.self, from: Data(message.value))
            } catch {
                throw KafkaPoisonMessage("cannot decode \(P.eventType): \(error)")
            }
            try await handler(envelope)
        }
        if !topics.contains(P.topic.rawValue) { topics.append(P.topic.rawValue) }
    }

    /// The `KafkaConsumer` handler.
    public func handle(_ message: KafkaMessage, logger: Logger) async throws {
        let header: EventHeader
        do {
            header = try ContractCoding.decoder().decode(EventHeader.self, from: Data(message.value))
        } catch {
            throw KafkaPoisonMessage("not a Cirrus event envelope: \(error)")
        }
        guard let handler = handlers[header.type] else {
            logger.debug("event type not handled here", metadata: ["type": "\(header.type)"])
            return
        }
        var logger = logger
        logger[metadataKey: "event_id"] = "\(header.eventID)"
        if let traceparent = header.trace.traceparent { logger[metadataKey: "traceparent"] = "\(traceparent)" }
        // The event's trace and request id are the handling's: calls to other services forward
        // them, and events it emits carry them on (TraceScope).
        try await TraceScope.$current.withValue(header.trace) {
            guard CirrusTracing.enabled else { return try await handler(message, header) }
            try await Self.consumerSpan(message, header) { try await handler(message, header) }
        }
    }

    /// With tracing on: a consumer span, the child of the publish whose context the record's
    /// headers carry (or, for a record published without them, of the envelope's trace).
    static func consumerSpan(_ message: KafkaMessage, _ header: EventHeader, _ body: () async throws -> Void) async throws {
        var trace = header.trace
        if let traceparent = message.header("traceparent")?.stringValue {
            trace.traceparent = traceparent
            trace.tracestate = message.header("tracestate")?.stringValue
        }
        let parent = trace.traceparent == nil ? ServiceContext.topLevel : CirrusTracing.context(from: trace)
        try await ServiceContext.$current.withValue(parent) {
            try await CirrusTracing.span(
                "\(message.topic) process", kind: .consumer,
                attributes: {
                    $0["messaging.system"] = "kafka"
                    $0["messaging.operation.type"] = "process"
                    $0["messaging.destination.name"] = message.topic
                    $0["messaging.destination.partition.id"] = "\(message.partition)"
                    $0["messaging.kafka.offset"] = Int(message.offset)
                    $0["messaging.message.id"] = header.eventID.uuidString.lowercased()
                    $0["cirrus.request_id"] = header.trace.requestID
                }, body)
        }
    }
}
