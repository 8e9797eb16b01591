import CRdKafka
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A Kafka producer whose `send` returns once the broker acknowledged the message
/// (`acks=all`). Delivery reports are served by a dedicated poll thread, so no blocking
/// librdkafka call runs on the cooperative pool. Run it as a `Service`: on graceful
/// shutdown it flushes what is in flight, then closes.
public final class KafkaProducer: Service, Sendable {
    public struct Configuration: Sendable {
        /// How long the client keeps retrying one message before reporting failure.
        public var messageTimeout: Duration = .seconds(30)
        /// How long shutdown waits for in-flight messages.
        public var flushTimeout: Duration = .seconds(10)
        /// Batching delay: small, events are latency-sensitive.
        public var linger: Duration = .milliseconds(2)

        public init() {}
    }

    private let client: RdKafkaClient
    private let configuration: Configuration
    private let logger: Logger
    private let poller: PollThread
    private let stopped = NIOLockedValueBox(false)

    public init(client clientConfiguration: KafkaClientConfiguration, configuration: Configuration = .init(), logger: Logger) throws {
        let conf = try clientConfiguration.makeConf([
            "acks": "all",
            "linger.ms": "\(configuration.linger.milliseconds)",
            "message.timeout.ms": "\(configuration.messageTimeout.milliseconds)",
            "partitioner": "murmur2_random",
        ])
        let context = RdKafkaContext(logger: logger)
        let client = try RdKafkaClient(type: RD_KAFKA_PRODUCER, conf: conf, context: context) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { rk, message, _ in
                guard let rk, let message, let opaque = rd_kafka_opaque(rk) else { return }
                let context = Unmanaged<RdKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
                let id = UInt(bitPattern: cirrus_rdk_message_opaque(message))
                let completion = context.pending.withLockedValue { $0.waiting.removeValue(forKey: id) }
                let m = message.pointee
                if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                    completion?(.success(KafkaDeliveryReport(topic: topic, partition: m.partition, offset: m.offset)))
                } else {
                    completion?(.failure(KafkaError.from(m.err)))
                }
            }
        }
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.poller = PollThread(name: "kafka-producer-poll") {
            rd_kafka_poll(client.handle, 100)
        }
    }

    /// Publish `record` and wait for the broker's acknowledgement.
    @discardableResult
    public func send(_ record: KafkaRecord) async throws -> KafkaDeliveryReport {
        try await send([record])[0].get()
    }

    /// Publish `records` in order (so messages with one key keep their order) and wait for
    /// every acknowledgement. Each record gets its own result.
    public func send(_ records: [KafkaRecord]) async -> [Result<KafkaDeliveryReport, any Error>] {
        let batch = DeliveryBatch(count: records.count)
        let context = client.context
        for (index, record) in records.enumerated() {
            while true {
                let id: UInt? = context.pending.withLockedValue { state in
                    guard !state.closed else { return nil }
                    let id = state.nextID
                    state.nextID &+= 1
                    state.waiting[id] = { batch.complete(index, $0) }
                    return id
                }
                guard let id else {
                    batch.complete(index, .failure(KafkaError.shutdown))
                    break
                }
                let err = Self.enqueue(record, handle: client.handle, opaque: id)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR { break }
                // Not enqueued: no delivery report will come for this id.
                context.pending.withLockedValue { _ = $0.waiting.removeValue(forKey: id) }
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    // Back off briefly instead of buffering without bound.
                    try? await Task.sleep(for: .milliseconds(5))
                    continue
                }
                batch.complete(index, .failure(KafkaError.from(err)))
                break
            }
        }
        return await batch.results()
    }

    private static func enqueue(_ record: KafkaRecord, handle: OpaquePointer, opaque: UInt) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                if let value = header.value {
                    _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
        }
        let err = record.value.withUnsafeBytes { value in
            withOptionalBytes(record.key) { key in
                cirrus_rdk_produce(
                    handle, record.topic, key.baseAddress, key.count, value.baseAddress, value.count,
                    headers, UnsafeMutableRawPointer(bitPattern: opaque))
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    /// True when the brokers answer a metadata request within the timeout.
    public func checkConnection(timeout: Duration = .seconds(2)) async throws {
        let client = self.client
        let ms = Int32(timeout.milliseconds)
        try await BlockingCalls.run { try client.ping(timeoutMilliseconds: ms) }
    }

    public func run() async throws {
        // Stop polling on graceful shutdown or cancellation alike, then flush and close.
        await withTaskCancellationOrGracefulShutdownHandler {
            await poller.waitUntilStopped()
        } onCancelOrGracefulShutdown: {
            self.poller.requestStop()
        }
        await close()
    }

    /// Flush in-flight messages (bounded by `flushTimeout`), fail what is left, destroy the client.
    public func close() async {
        let first = stopped.withLockedValue { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        poller.requestStop()
        await poller.waitUntilStopped()
        let client = self.client
        let flushMs = Int32(configuration.flushTimeout.milliseconds)
        let leftover: [@Sendable (Result<KafkaDeliveryReport, any Error>) -> Void] = await BlockingCalls.run(on: .global()) {
            _ = rd_kafka_flush(client.handle, flushMs)
            return client.context.pending.withLockedValue { state in
                state.closed = true
                defer { state.waiting = [:] }
                return Array(state.waiting.values)
            }
        }
        if !leftover.isEmpty { logger.warning("kafka producer closed with undelivered messages", metadata: ["count": "\(leftover.count)"]) }
        for completion in leftover { completion(.failure(KafkaError.shutdown)) }
        await BlockingCalls.run(on: .global()) { client.destroy() }
    }
}

func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let bytes { return bytes.withUnsafeBytes(body) }
    return body(UnsafeRawBufferPointer(start: nil, count: 0))
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Collects the delivery results of one `send` batch and wakes the sender when all are in.
final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, any Error>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReport, any Error>], Never>?
    }

    private let state: NIOLockedValueBox<State>

    init(count: Int) {
        state = NIOLockedValueBox(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, any Error>) {
        let wake: (CheckedContinuation<[Result<KafkaDeliveryReport, any Error>], Never>, [Result<KafkaDeliveryReport, any Error>])? =
            state.withLockedValue { state in
                guard state.results[index] == nil else { return nil }
                state.results[index] = result
                state.remaining -= 1
                guard state.remaining == 0, let waiter = state.waiter else { return nil }
                state.waiter = nil
                return (waiter, state.results.map { $0! })
            }
        if let (waiter, results) = wake { waiter.resume(returning: results) }
    }

    func results() async -> [Result<KafkaDeliveryReport, any Error>] {
        await withCheckedContinuation { continuation in
            let ready: [Result<KafkaDeliveryReport, any Error>]? = state.withLockedValue { state in
                if state.remaining == 0 { return state.results.map { $0! } }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
