import CirrusContracts
import CirrusKafka
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// The dead letters of this service's consumers, kept in its own database (`cirrus_dead_letters`)
/// so that an admin can list them, read one, replay one or all of a topic through the same
/// handler that failed, or discard them. Each message is also published to `<topic>.dlq` for
/// other tools; this table is the working set. One row per consumed message (group, topic,
/// partition, offset): a message dead-lettered again (after a failed replay, or delivered
/// again) adds its attempts to the row and moves its last failure.
public final class DeadLetters: Sendable {
    public typealias Handler = @Sendable (KafkaMessage) async throws -> Void

    /// A dead letter as the admin API shows it.
    public struct Entry: Codable, Sendable {
        public var id: UUID
        public var service: String
        public var consumer: String
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var key: String?
        public var eventID: UUID?
        public var eventType: String?
        public var error: String
        public var attempts: Int
        public var replays: Int
        public var firstFailedAt: Date
        public var lastFailedAt: Date
        /// The message itself (UTF-8 text; base64 when it is not), on `show` only.
        public var payload: String?
        public var payloadEncoding: String?

        enum CodingKeys: String, CodingKey {
            case id, service, consumer, topic, partition, offset, key
            case eventID = "event_id"
            case eventType = "event_type"
            case error, attempts, replays
            case firstFailedAt = "first_failed_at"
            case lastFailedAt = "last_failed_at"
            case payload
            case payloadEncoding = "payload_encoding"
        }
    }

    /// What a replay did.
    public struct Outcome: Codable, Sendable {
        public var id: UUID
        public var outcome: String
        public var error: String?
    }

    public struct Summary: Codable, Sendable {
        public var topic: String
        public var replayed: Int
        public var failed: Int
    }

    static let migration = Migration(
        "0000-kit-dead-letters",
        [
            """
            CREATE TABLE cirrus_dead_letters (
                id UUID PRIMARY KEY,
                consumer TEXT NOT NULL,
                topic TEXT NOT NULL,
                partition INT NOT NULL,
                message_offset BIGINT NOT NULL,
                message_key BYTEA,
                payload BYTEA NOT NULL,
                headers TEXT NOT NULL,
                event_id UUID,
                event_type TEXT,
                error TEXT NOT NULL,
                attempts INT NOT NULL,
                replays INT NOT NULL DEFAULT 0,
                first_failed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                last_failed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                UNIQUE (consumer, topic, partition, message_offset)
            )
            """,
            "CREATE INDEX cirrus_dead_letters_topic ON cirrus_dead_letters (topic, last_failed_at)",
        ])

    let service: String
    let client: PostgresClient
    let logger: Logger
    private let handlers = NIOLockedValueBox<[String: Handler]>([:])
    private let gauges: [String: Gauge]

    public init(service: String, client: PostgresClient, logger: Logger) {
        self.service = service
        self.client = client
        self.logger = logger
        var gauges: [String: Gauge] = [:]
        for topic in Topic.allCases { gauges[topic.rawValue] = Gauge(label: "cirrus_dead_letters", dimensions: [("topic", topic.rawValue)]) }
        self.gauges = gauges
    }

    /// The handler a replay of `consumer`'s messages goes through.
    public func register(consumer: String, handler: @escaping Handler) {
        handlers.withLockedValue { $0[consumer] = handler }
    }

    // MARK: - Recording (the consumer's sink)

    public func record(_ message: KafkaMessage, consumer: String, error: String, attempts: Int) async throws {
        let header = try? ContractCoding.decoder().decode(EventHeader.self, from: Data(message.value))
        let key = message.key.map { ByteBuffer(bytes: $0) }
        let payload = ByteBuffer(bytes: message.value)
        let headers = Self.encodeHeaders(message.headers)
        try await client.query(
            """
            INSERT INTO cirrus_dead_letters (id, consumer, topic, partition, message_offset, message_key, payload, headers,
                                             event_id, event_type, error, attempts)
            VALUES (\(UUID()), \(consumer), \(message.topic), \(Int(message.partition)), \(message.offset), \(key), \(payload), \(headers),
                    \(header?.eventID), \(header?.type), \(error), \(attempts))
            ON CONFLICT (consumer, topic, partition, message_offset) DO UPDATE
            SET error = EXCLUDED.error, attempts = cirrus_dead_letters.attempts + EXCLUDED.attempts, last_failed_at = now()
            """, logger: logger)
        await refreshGauges()
    }

    // MARK: - Reading

    static let columns = """
        id, consumer, topic, partition, message_offset, message_key, event_id, event_type, error, attempts, replays,
        first_failed_at, last_failed_at
        """

    public func list(topic: String?, limit: Int) async throws -> [Entry] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM cirrus_dead_letters
            WHERE (\(topic == nil) OR topic = \(topic ?? ""))
            ORDER BY last_failed_at DESC, id LIMIT \(limit)
            """, logger: logger)
        var entries: [Entry] = []
        for try await row in rows { entries.append(try entry(row)) }
        return entries
    }

    public func show(_ id: UUID) async throws -> Entry? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns), payload FROM cirrus_dead_letters WHERE id = \(id)
            """, logger: logger)
        for try await row in rows {
            var result = try entry(row)
            let bytes = try row.makeRandomAccess()[13].decode(ByteBuffer.self)
            let raw = Array(bytes.readableBytesView)
            if let text = String(validating: raw, as: UTF8.self) {
                result.payload = text
                result.payloadEncoding = "utf-8"
            } else {
                result.payload = Data(raw).base64EncodedString()
                result.payloadEncoding = "base64"
            }
            return result
        }
        return nil
    }

    private func entry(_ row: PostgresRow) throws -> Entry {
        let c = row.makeRandomAccess()
        let key = try c[5].decode(ByteBuffer?.self).map { String(decoding: $0.readableBytesView, as: UTF8.self) }
        return Entry(
            id: try c[0].decode(UUID.self), service: service, consumer: try c[1].decode(String.self), topic: try c[2].decode(String.self),
            partition: Int32(try c[3].decode(Int.self)), offset: try c[4].decode(Int64.self), key: key,
            eventID: try c[6].decode(UUID?.self), eventType: try c[7].decode(String?.self), error: try c[8].decode(String.self),
            attempts: try c[9].decode(Int.self), replays: try c[10].decode(Int.self),
            firstFailedAt: try c[11].decode(Date.self), lastFailedAt: try c[12].decode(Date.self))
    }

    // MARK: - Acting

    /// Run `id`'s message through its consumer's handler again. Replayed: the row is removed.
    /// Failed again: the row keeps it, with the new error. Nil: no such dead letter.
    public func replay(_ id: UUID, by admin: UUID) async throws -> Outcome? {
        let rows = try await client.query(
            """
            SELECT consumer, topic, partition, message_offset, message_key, payload, headers FROM cirrus_dead_letters WHERE id = \(id)
            """, logger: logger)
        var found: (consumer: String, message: KafkaMessage)?
        for try await (consumer, topic, partition, offset, key, payload, headers) in rows.decode(
            (String, String, Int, Int64, ByteBuffer?, ByteBuffer, String).self)
        {
            let message = KafkaMessage(
                topic: topic, partition: Int32(partition), offset: offset, key: key.map { Array($0.readableBytesView) },
                value: Array(payload.readableBytesView), headers: Self.decodeHeaders(headers))
            found = (consumer, message)
        }
        guard let found else { return nil }
        var log = logger
        log[metadataKey: "dead_letter"] = "\(id)"
        log[metadataKey: "admin"] = "\(admin)"
        log[metadataKey: "consumer"] = "\(found.consumer)"
        log[metadataKey: "topic"] = "\(found.message.topic)"
        guard let handler = handlers.withLockedValue({ $0[found.consumer] }) else {
            log.warning("dead letter replay refused: its consumer does not run here")
            throw ProblemError.conflict("The consumer \(found.consumer) of this dead letter does not run in this service any more.")
        }
        do {
            try await handler(found.message)
        } catch {
            let reason = String(describing: error).prefix(1000).description
            try await client.query(
                """
                UPDATE cirrus_dead_letters SET error = \(reason), attempts = attempts + 1, replays = replays + 1, last_failed_at = now()
                WHERE id = \(id)
                """, logger: logger)
            log.warning("dead letter replayed by an admin and failed again", metadata: ["error": "\(reason)"])
            await refreshGauges()
            return Outcome(id: id, outcome: "failed", error: reason)
        }
        try await client.query("DELETE FROM cirrus_dead_letters WHERE id = \(id)", logger: logger)
        log.notice("dead letter replayed by an admin")
        await refreshGauges()
        return Outcome(id: id, outcome: "replayed", error: nil)
    }

    /// Replay every dead letter of `topic` (oldest failure first), up to `limit`.
    public func replayAll(topic: String, by admin: UUID, limit: Int = 1000) async throws -> Summary {
        let rows = try await client.query(
            """
            SELECT id FROM cirrus_dead_letters WHERE topic = \(topic) ORDER BY first_failed_at, id LIMIT \(limit)
            """, logger: logger)
        var ids: [UUID] = []
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        var summary = Summary(topic: topic, replayed: 0, failed: 0)
        for id in ids {
            guard let outcome = try await replay(id, by: admin) else { continue }
            if outcome.outcome == "replayed" { summary.replayed += 1 } else { summary.failed += 1 }
        }
        return summary
    }

    /// Drop `id` for good. False: no such dead letter.
    public func discard(_ id: UUID, by admin: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM cirrus_dead_letters WHERE id = \(id) RETURNING consumer, topic", logger: logger)
        for try await (consumer, topic) in rows.decode((String, String).self) {
            logger.notice(
                "dead letter discarded by an admin",
                metadata: [
                    "dead_letter": "\(id)", "admin": "\(admin)", "consumer": "\(consumer)", "topic": "\(topic)",
                ])
            await refreshGauges()
            return true
        }
        return false
    }

    /// `cirrus_dead_letters{topic}`: every topic, zero included, so an alert can say "non-empty".
    public func refreshGauges() async {
        do {
            var counts: [String: Int] = [:]
            let rows = try await client.query("SELECT topic, count(*)::BIGINT FROM cirrus_dead_letters GROUP BY topic", logger: logger)
            for try await (topic, count) in rows.decode((String, Int).self) { counts[topic] = count }
            for (topic, gauge) in gauges { gauge.record(counts[topic] ?? 0) }
        } catch {
            logger.debug("dead-letter count failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Headers as text

    static func encodeHeaders(_ headers: [KafkaHeader]) -> String {
        let pairs = headers.map { [$0.key, $0.value.map { Data($0).base64EncodedString() }] }
        let data = (try? JSONEncoder().encode(pairs)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeHeaders(_ text: String) -> [KafkaHeader] {
        guard let pairs = try? JSONDecoder().decode([[String?]].self, from: Data(text.utf8)) else { return [] }
        return pairs.compactMap { pair in
            guard pair.count == 2, let key = pair[0] else { return nil }
            return KafkaHeader(key: key, value: pair[1].flatMap { Data(base64Encoded: $0) }.map { Array($0) })
        }
    }
}
