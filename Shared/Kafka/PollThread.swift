import Foundation
import NIOConcurrencyHelpers

/// A dedicated OS thread that calls `body` (a blocking poll with a short timeout) until
/// asked to stop. Keeps librdkafka's blocking calls off Swift's cooperative pool.
final class PollThread: Sendable {
    private struct State {
        var stopRequested = false
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    init(name: String, body: @escaping @Sendable () -> Void) {
        let state = self.state
        let thread = Thread {
            while !state.withLockedValue({ $0.stopRequested }) { body() }
            let waiters = state.withLockedValue { state in
                state.finished = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = name
        thread.start()
    }

    func requestStop() {
        state.withLockedValue { $0.stopRequested = true }
    }

    /// Returns once the thread has left its loop (after `requestStop`).
    func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                if state.finished { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
