import NIOConcurrencyHelpers

/// An operation ran past its deadline (`withDeadline`).
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "no answer within \(limit)" }
}

/// Runs `operation` in a task of its own and waits for it at most `limit`; past that, the task
/// is cancelled and left to finish on its own, and `DeadlineExceeded` is thrown.
///
/// For background loops that must keep going (a consumer's handler, the outbox relay's batch):
/// an await that never returns — seen on a database connection after PostgreSQL restarted,
/// with nothing logged — would otherwise stop the loop for good while readiness stays green.
/// With a deadline the loop logs, backs off and tries again on a fresh connection.
public func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let work = Task { try await operation() }
    let outcome = NIOLockedValueBox<CheckedContinuation<T, any Error>?>(nil)
    let finish: @Sendable (Result<T, any Error>) -> Bool = { result in
        guard
            let continuation = outcome.withLockedValue({ value -> CheckedContinuation<T, any Error>? in
                defer { value = nil }
                return value
            })
        else { return false }
        continuation.resume(with: result)
        return true
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.withLockedValue { $0 = continuation }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                if finish(.failure(DeadlineExceeded(limit: limit))) { work.cancel() }
            }
            Task {
                let result = await work.result
                timer.cancel()
                _ = finish(result)
            }
        }
    } onCancel: {
        work.cancel()
    }
}
