import CRdKafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// State librdkafka's C callbacks reach through the client's opaque pointer.
/// It lives as long as the `RdKafkaClient` that owns the handle.
final class RdKafkaContext: Sendable {
    let logger: Logger
    /// Producer deliveries awaiting the broker's acknowledgement, by message id.
    let pending = NIOLockedValueBox(PendingDeliveries())

    init(logger: Logger) {
        self.logger = logger
    }
}

struct PendingDeliveries {
    var nextID: UInt = 1
    var waiting: [UInt: @Sendable (Result<KafkaDeliveryReport, any Error>) -> Void] = [:]
    var closed = false
}

/// An `rd_kafka_t` handle in a small box; destroyed explicitly (off the cooperative pool)
/// or, as a fallback, in `deinit`.
final class RdKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let context: RdKafkaContext
    private let destroyed = NIOLockedValueBox(false)

    /// Creates the client. `configure` may install further callbacks on the conf.
    init(type: rd_kafka_type_t, conf: OpaquePointer, context: RdKafkaContext, configure: (OpaquePointer) -> Void = { _ in }) throws {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let context = Unmanaged<RdKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            context.logger.log(level: RdKafkaClient.logLevel(syslog: level), "\(text)", metadata: ["kafka.facility": "\(fac)"])
        }
        configure(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError.clientCreation(String(cString: errstr))
        }
        self.handle = handle
        self.context = context
    }

    /// Destroy the handle once. Blocking: call from a dedicated thread.
    func destroy(flags: Int32 = 0) {
        let first = destroyed.withLockedValue { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        rd_kafka_destroy_flags(handle, flags)
    }

    deinit {
        if !destroyed.withLockedValue({ $0 }) {
            rd_kafka_destroy(handle)
        }
    }

    /// Ask the cluster for its metadata: proves the brokers answer.
    func ping(timeoutMilliseconds: Int32) throws {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMilliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err) }
    }

    static func logLevel(syslog: Int32) -> Logger.Level {
        switch syslog {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}

/// Runs blocking librdkafka calls on threads of their own, never on Swift's cooperative pool.
enum BlockingCalls {
    private static let queue = DispatchQueue(label: "cirrus.kafka.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    static func run<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
