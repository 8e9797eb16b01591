import CirrusContracts
import CirrusKafka
import Foundation
import Logging
import Metrics
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Tracing

/// Publishes outbox rows to Kafka and marks them published once the broker acknowledged.
///
/// Replicas take turns: a batch runs only while holding a transaction-scoped advisory
/// lock, so two relays never publish at once and events leave in outbox order (per-key
/// order holds across replicas). Rows are sent in id order and only the acknowledged
/// prefix is marked, so a failed row is retried before anything after it can overtake it.
/// A relay killed between publish and mark publishes those rows again when it comes back
/// (at-least-once), which consumers absorb through their inbox.
///
/// The relay is woken by PostgreSQL: a trigger on the outbox sends a notification on
/// `channel` when a transaction that wrote rows commits, and the relay, listening on one of
/// its connections, publishes at once. It still polls every `pollInterval`, for rows whose
/// notification it missed (while it reconnected its listener, or another replica held the lock).
public struct OutboxRelay: Service {
    /// The notification channel of the outbox trigger (migration `0000-kit-outbox-notify`).
    public static let channel = "cirrus_outbox"

    public struct Configuration: Sendable {
        /// The fallback poll while notifications wake the relay (`listens`); the only way it
        /// learns of new rows without them.
        public var pollInterval: Duration = .milliseconds(1000)
        /// Whether to listen for the outbox trigger's notifications.
        public var listens = true
        public var batchSize: Int = 200
        /// Published rows are kept this long for inspection, then deleted.
        public var retention: Duration = .seconds(86_400)
        /// Processed-event records of the inbox are kept this long (redeliveries come within
        /// minutes or hours; this only bounds the table), then deleted in the same cleanup.
        public var inboxRetention: Duration = .seconds(14 * 86_400)
        public var errorBackoff: Duration = .seconds(1)
        /// One pass (a batch published and marked) may take this long, then it counts as failed
        /// and the loop starts over on another connection (`withDeadline`).
        public var passTimeout: Duration = .seconds(60)

        public init() {}
    }

    private let client: PostgresClient
    private let producer: KafkaProducer
    private let configuration: Configuration
    private let startup: StartupGate?
    private let logger: Logger
    private let published = Counter(label: "cirrus_outbox_published_total")
    private let publishFailures = Counter(label: "cirrus_outbox_publish_failures_total")
    /// Rows not published yet, and the age of the oldest: sampled every 15 s by the relay.
    private let backlog = Gauge(label: "cirrus_outbox_backlog")
    private let oldestAge = Gauge(label: "cirrus_outbox_oldest_unpublished_age_seconds")

    public init(client: PostgresClient, producer: KafkaProducer, configuration: Configuration = .init(), startup: StartupGate? = nil, logger: Logger)
    {
        self.client = client
        self.producer = producer
        self.configuration = configuration
        self.startup = startup
        var logger = logger
        logger[metadataKey: "component"] = "outbox-relay"
        self.logger = logger
    }

    public func run() async throws {
        try await startup?.wait()
        let wakeup = RelayWakeup()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if configuration.listens { group.addTask { await self.listen(wakeup: wakeup) } }
                group.addTask { await self.relay(wakeup: wakeup) }
                await group.next()  // the relay loop ends only when cancelled
                group.cancelAll()
            }
        }
    }

    /// Listens for the outbox trigger's notifications and wakes the relay for each, until
    /// cancelled. Never fails: a lost connection is logged and listened again after the error
    /// backoff, the relay polling meanwhile.
    func listen(wakeup: RelayWakeup) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        wakeup.signal()  // rows committed before the listen began
                        for try await _ in notifications { wakeup.signal() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("outbox notifications lost; polling until listening again", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: configuration.errorBackoff)
        }
    }

    func relay(wakeup: RelayWakeup) async {
        var lastCleanup = ContinuousClock.now
        var lastSample = ContinuousClock.now - .seconds(60)
        // A pass is bounded by its timeout, a pause by the error backoff or poll interval.
        let bound = configuration.passTimeout + configuration.errorBackoff + configuration.pollInterval + .seconds(60)
        while !Task.isCancelled {
            Heartbeats.shared.beat("outbox-relay", bound: bound)
            do {
                let count = try await withDeadline(configuration.passTimeout) { try await self.relayBatch() }
                if ContinuousClock.now - lastSample > .seconds(15) {
                    try await sampleBacklog()
                    lastSample = .now
                }
                if ContinuousClock.now - lastCleanup > .seconds(600) {
                    try await deletePublished()
                    lastCleanup = .now
                }
                if count < configuration.batchSize {
                    await wakeup.wait(timeout: configuration.pollInterval)
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("outbox relay pass failed", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: configuration.errorBackoff)
            }
        }
    }

    /// Publish one batch of unpublished rows; returns how many rows were claimed.
    @discardableResult
    public func relayBatch() async throws -> Int {
        try await client.transaction(logger: logger) { connection in
            guard try await AdvisoryLock.outboxRelay.tryLock(on: connection, logger: logger) else { return 0 }  // another replica is publishing
            let rows = try await connection.query(
                """
                SELECT id, event_id, topic, partition_key, event_type, payload, traceparent, tracestate
                FROM cirrus_outbox WHERE published_at IS NULL
                ORDER BY id LIMIT \(configuration.batchSize)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var ids: [Int64] = []
            var records: [KafkaRecord] = []
            var spans: [any Span] = []
            for try await (id, eventID, topic, key, type, payload, traceparent, tracestate)
                in rows.decode((Int64, UUID, String, String, String, ByteBuffer, String?, String?).self)
            {
                ids.append(id)
                var trace = TraceContext(traceparent: traceparent, tracestate: tracestate)
                if CirrusTracing.enabled, traceparent != nil {
                    // The publish is a child of the transaction that wrote the event; the
                    // record's headers name the publish, so consumers hang below it.
                    let span = startSpan("\(topic) publish", context: CirrusTracing.context(from: trace), ofKind: .producer)
                    span.updateAttributes {
                        $0["messaging.system"] = "kafka"
                        $0["messaging.operation.type"] = "publish"
                        $0["messaging.destination.name"] = topic
                        $0["messaging.message.id"] = eventID.uuidString.lowercased()
                    }
                    trace = CirrusTracing.outgoing(trace, context: span.context)
                    spans.append(span)
                }
                records.append(Outbox.record(topic: topic, key: key, eventID: eventID, type: type, payload: payload, trace: trace))
            }
            guard !records.isEmpty else { return 0 }
            let results = await producer.send(records)
            for span in spans { span.end() }
            var done: [Int64] = []
            for (id, result) in zip(ids, results) {
                if case .failure(let error) = result {
                    publishFailures.increment()
                    logger.warning("outbox publish failed, will retry", metadata: ["outbox.id": "\(id)", "error": "\(error)"])
                    break
                }
                done.append(id)
            }
            if !done.isEmpty {
                try await connection.query("UPDATE cirrus_outbox SET published_at = now() WHERE id = ANY(\(done))", logger: logger)
                published.increment(by: done.count)
            }
            return records.count
        }
    }

    /// `cirrus_outbox_backlog` and `cirrus_outbox_oldest_unpublished_age_seconds` (0 when empty).
    private func sampleBacklog() async throws {
        let rows = try await client.query(
            """
            SELECT count(*)::int8, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
            FROM cirrus_outbox WHERE published_at IS NULL
            """, logger: logger)
        for try await (count, age) in rows.decode((Int64, Double).self) {
            backlog.record(count)
            oldestAge.record(age)
        }
    }

    private func deletePublished() async throws {
        let seconds = Int(configuration.retention.components.seconds)
        try await client.query("DELETE FROM cirrus_outbox WHERE published_at < now() - make_interval(secs => \(seconds))", logger: logger)
        try await Inbox.prune(olderThan: configuration.inboxRetention, client: client, logger: logger)
    }
}

/// Wakes the relay loop early. A signal while nobody waits is kept (one, however many came)
/// for the next wait, so a notification that arrives during a pass is not lost.
final class RelayWakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns on a signal (or one kept from before), after `timeout`, or when cancelled.
    func wait(timeout: Duration) async {
        let kept = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if kept { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
