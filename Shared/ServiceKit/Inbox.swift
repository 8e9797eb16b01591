import Foundation
import Logging
import Metrics
import PostgresNIO

/// The idempotent-consumer inbox: an event's effect and the record that it happened commit
/// in one transaction, so an event delivered twice has its effect once.
public enum Inbox {
    /// Runs `effect` inside a transaction that first records `(consumer, eventID)`.
    /// Returns false, without running `effect`, when this consumer already processed the event.
    @discardableResult
    public static func process(
        eventID: UUID,
        topic: String,
        consumer: String,
        client: PostgresClient,
        logger: Logger,
        effect: (PostgresConnection) async throws -> Void
    ) async throws -> Bool {
        try await client.transaction(logger: logger) { connection in
            let inserted = try await connection.query(
                """
                INSERT INTO cirrus_inbox (consumer, event_id, topic) VALUES (\(consumer), \(eventID), \(topic))
                ON CONFLICT (consumer, event_id) DO NOTHING
                RETURNING 1
                """, logger: logger)
            var isNew = false
            for try await _ in inserted { isNew = true }
            guard isNew else {
                Counter(label: "cirrus_inbox_duplicates_skipped_total", dimensions: [("consumer", consumer)]).increment()
                logger.debug("duplicate event skipped", metadata: ["event_id": "\(eventID)", "consumer": "\(consumer)"])
                return false
            }
            try await effect(connection)
            return true
        }
    }

    /// Forget processed events older than `age` (redeliveries arrive within minutes; the
    /// retention only bounds the table).
    public static func prune(olderThan age: Duration, client: PostgresClient, logger: Logger) async throws {
        let seconds = Int(age.components.seconds)
        try await client.query("DELETE FROM cirrus_inbox WHERE processed_at < now() - make_interval(secs => \(seconds))", logger: logger)
    }
}
