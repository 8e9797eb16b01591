import CirrusContracts
import CirrusKafka
import Foundation
import Logging

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
            try await handler(message, header)
        }
    }
}
