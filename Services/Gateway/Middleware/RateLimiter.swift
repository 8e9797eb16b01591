import Foundation
import Synchronization

/// Token buckets keyed by caller: each holds up to a minute's worth of requests and refills
/// continuously at `perMinute / 60` per second, so a burst up to the limit is allowed and
/// the long-run rate is the limit. Buckets that have refilled completely are forgotten (a
/// full bucket and a missing one are the same), so memory follows the active callers.
final class RateLimiter: Sendable {
    struct Decision: Equatable {
        var allowed: Bool
        var limit: Int
        var remaining: Int
        /// Seconds until the bucket is full again.
        var reset: Int
        /// Seconds until one request is allowed (0 when allowed now).
        var retryAfter: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
        var perMinute: Int
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var lastSweep: Double = 0
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Double
    /// Forgotten buckets are swept when there are more than this many, at most once a second.
    let sweepThreshold: Int

    init(sweepThreshold: Int = 10_000, clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.sweepThreshold = sweepThreshold
        self.clock = clock
    }

    func take(_ key: String, perMinute: Int) -> Decision {
        let now = clock()
        let capacity = Double(max(1, perMinute))
        let rate = capacity / 60
        return state.withLock { state in
            var bucket = state.buckets[key] ?? Bucket(tokens: capacity, updated: now, perMinute: perMinute)
            if bucket.perMinute != perMinute {  // the tier changed: keep the fill level, new size
                bucket.tokens = min(capacity, bucket.tokens * capacity / Double(max(1, bucket.perMinute)))
                bucket.perMinute = perMinute
            }
            bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.updated) * rate)
            bucket.updated = now
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = Decision(
                    allowed: true, limit: perMinute, remaining: Int(bucket.tokens.rounded(.down)),
                    reset: Int(((capacity - bucket.tokens) / rate).rounded(.up)), retryAfter: 0)
            } else {
                decision = Decision(
                    allowed: false, limit: perMinute, remaining: 0, reset: Int(((capacity - bucket.tokens) / rate).rounded(.up)),
                    retryAfter: max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
            }
            state.buckets[key] = bucket
            if state.buckets.count > sweepThreshold, now - state.lastSweep >= 1 {
                state.lastSweep = now
                state.buckets = state.buckets.filter { _, bucket in
                    bucket.tokens + (now - bucket.updated) * Double(bucket.perMinute) / 60 < Double(bucket.perMinute)
                }
            }
            return decision
        }
    }

    /// True when `key`'s bucket would allow a request now; nothing is taken.
    func wouldAllow(_ key: String, perMinute: Int) -> Bool {
        let now = clock()
        let capacity = Double(max(1, perMinute))
        return state.withLock { state in
            guard let bucket = state.buckets[key] else { return true }
            return min(capacity, bucket.tokens + max(0, now - bucket.updated) * capacity / 60) >= 1
        }
    }

    var trackedCallers: Int { state.withLock { $0.buckets.count } }
}
