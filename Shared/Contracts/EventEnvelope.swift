import Foundation

/// A payload that travels in an `EventEnvelope`.
public protocol EventPayload: Codable, Sendable, Equatable {
    /// Equals the topic name, e.g. `file.uploaded`.
    static var eventType: String { get }
    /// Bumped only for breaking changes; consumers refuse versions newer than they know.
    static var schemaVersion: Int { get }
    /// The Kafka topic the event is published on.
    static var topic: Topic { get }
    /// The entity the event is about (file, user, tier id): the Kafka key, so per-entity order holds.
    var partitionKey: String { get }
}

/// Defaults: the type is the topic name, and every payload starts at version 1.
extension EventPayload {
    public static var eventType: String { topic.rawValue }
    public static var schemaVersion: Int { 1 }
}

/// W3C trace context carried across Kafka hops, with the id of the request that caused the
/// event (`request_id`, the `X-Request-Id` every response carries). Absent members are
/// omitted, so an empty context encodes as `{}`.
public struct TraceContext: Codable, Sendable, Equatable {
    public var traceparent: String?
    public var tracestate: String?
    public var requestID: String?

    public init(traceparent: String? = nil, tracestate: String? = nil, requestID: String? = nil) {
        self.traceparent = traceparent
        self.tracestate = tracestate
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case traceparent, tracestate
        case requestID = "request_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(traceparent, forKey: .traceparent)
        try container.encodeIfPresent(tracestate, forKey: .tracestate)
        try container.encodeIfPresent(requestID, forKey: .requestID)
    }
}

/// Contract violations found while decoding an event. Both are permanent: retrying the
/// same bytes cannot succeed, so a consumer dead-letters the message at once.
public enum ContractError: Error, Sendable, Equatable {
    /// The envelope's `type` is not the one the payload type decodes.
    case typeMismatch(expected: String, found: String)
    /// The envelope's `schema_version` is newer than this build knows.
    case unsupportedSchemaVersion(type: String, version: Int)
}

/// The versioned JSON envelope every event travels in.
public struct EventEnvelope<Payload: EventPayload>: Codable, Sendable, Equatable {
    public var eventID: UUID
    public var type: String
    public var schemaVersion: Int
    public var occurredAt: Date
    /// The service that emitted it: `auth`, `metadata`, `blob`, `thumbnail`.
    public var producer: String
    public var trace: TraceContext
    public var payload: Payload

    public init(eventID: UUID = UUID(), occurredAt: Date = Date(), producer: String, trace: TraceContext = .init(), payload: Payload) {
        self.eventID = eventID
        self.type = Payload.eventType
        self.schemaVersion = Payload.schemaVersion
        // Whole milliseconds, the wire precision: an envelope equals itself after a round trip.
        self.occurredAt = Date(timeIntervalSince1970: (occurredAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        self.producer = producer
        self.trace = trace
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case type
        case schemaVersion = "schema_version"
        case occurredAt = "occurred_at"
        case producer, trace, payload
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        guard type == Payload.eventType else { throw ContractError.typeMismatch(expected: Payload.eventType, found: type) }
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        guard schemaVersion <= Payload.schemaVersion else {
            throw ContractError.unsupportedSchemaVersion(type: type, version: schemaVersion)
        }
        eventID = try container.decode(UUID.self, forKey: .eventID)
        occurredAt = try container.decode(Date.self, forKey: .occurredAt)
        producer = try container.decode(String.self, forKey: .producer)
        trace = try container.decodeIfPresent(TraceContext.self, forKey: .trace) ?? TraceContext()
        payload = try container.decode(Payload.self, forKey: .payload)
    }

    /// The envelope without its payload.
    public var header: EventHeader {
        EventHeader(eventID: eventID, type: type, schemaVersion: schemaVersion, occurredAt: occurredAt, producer: producer, trace: trace)
    }
}

/// The envelope without its payload, to dispatch on `type` before decoding the rest. It
/// decodes from any envelope, whatever its type or version, and never reads `payload`.
public struct EventHeader: Codable, Sendable, Equatable {
    public var eventID: UUID
    public var type: String
    public var schemaVersion: Int
    public var occurredAt: Date
    public var producer: String
    public var trace: TraceContext

    public init(eventID: UUID, type: String, schemaVersion: Int, occurredAt: Date, producer: String, trace: TraceContext = .init()) {
        self.eventID = eventID
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.producer = producer
        self.trace = trace
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case type
        case schemaVersion = "schema_version"
        case occurredAt = "occurred_at"
        case producer, trace
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try container.decode(UUID.self, forKey: .eventID)
        type = try container.decode(String.self, forKey: .type)
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        occurredAt = try container.decode(Date.self, forKey: .occurredAt)
        producer = try container.decode(String.self, forKey: .producer)
        trace = try container.decodeIfPresent(TraceContext.self, forKey: .trace) ?? TraceContext()
    }
}
