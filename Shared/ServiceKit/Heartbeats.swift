import Foundation
import Metrics
import Synchronization

/// Liveness of a service's background loops (outbox relay, consumers, collectors,
/// reconcilers): each beats once per iteration; one silent for longer than its bound has
/// stopped or hangs, which turns `/readyz` red with the loop's name (the `workers` check) and
/// is counted in `cirrus_worker_silent_total{worker}`. The time of each loop's last beat is
/// `cirrus_worker_last_beat_timestamp_seconds{worker}`. A loop is tracked from its first beat.
public final class Heartbeats: Sendable {
    /// The process's loops (one process is one service).
    public static let shared = Heartbeats()

    private struct Entry {
        var last: ContinuousClock.Instant
        var bound: Duration
        var recorded: ContinuousClock.Instant
        let gauge: Gauge
        let silent: Counter
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// `worker` is alive now; it counts as stalled once silent for longer than `bound`.
    public func beat(_ worker: String, bound: Duration) {
        let now = ContinuousClock.now
        let record: Gauge? = entries.withLock { entries in
            if var entry = entries[worker] {
                entry.last = now
                entry.bound = bound
                let due = now - entry.recorded >= .seconds(1)  // a consumer beats every 100 ms: record at most once a second
                if due { entry.recorded = now }
                entries[worker] = entry
                return due ? entry.gauge : nil
            }
            let entry = Entry(
                last: now, bound: bound, recorded: now,
                gauge: Gauge(label: "cirrus_worker_last_beat_timestamp_seconds", dimensions: [("worker", worker)]),
                silent: Counter(label: "cirrus_worker_silent_total", dimensions: [("worker", worker)]))
            entries[worker] = entry
            return entry.gauge
        }
        record?.record(Date().timeIntervalSince1970)
    }

    /// The loops silent for longer than their bound, by name.
    public func silent(now: ContinuousClock.Instant = .now) -> [String] {
        let stalled = entries.withLock { entries in entries.filter { now - $0.value.last > $0.value.bound } }
        for entry in stalled.values { entry.silent.increment() }
        return stalled.keys.sorted()
    }

    /// The error of the `workers` readiness check: its detail names the silent loops.
    public struct Silent: Error, PublicReadinessDetail {
        public var workers: [String]
        public var publicDetail: String { "silent: " + workers.joined(separator: ", ") }
    }

    /// `/readyz`'s `workers` check.
    public var readinessCheck: ReadinessCheck {
        ReadinessCheck("workers") { [self] in
            let silent = silent()
            if !silent.isEmpty { throw Silent(workers: silent) }
        }
    }
}

/// A readiness failure whose detail is safe to show (it names what failed, nothing internal).
public protocol PublicReadinessDetail: Error {
    var publicDetail: String { get }
}
