import CirrusContracts
import Foundation
import Logging
import NIOConcurrencyHelpers

/// One thing a service needs to serve: its database, the broker, a store.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var timeout: Duration
    public var check: @Sendable () async throws -> Void

    public init(_ name: String, timeout: Duration = .seconds(2), check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.timeout = timeout
        self.check = check
    }
}

/// Answers `/readyz`: ready only once start-up (migrations, topics) finished and every
/// check answers within its timeout. Check failures are reported by name with a short
/// reason; internal detail stays in the log.
public final class Readiness: Sendable {
    public let service: String
    private let checks: NIOLockedValueBox<[ReadinessCheck]>
    private let startup: StartupGate
    private let logger: Logger

    public init(service: String, startup: StartupGate, checks: [ReadinessCheck] = [], logger: Logger) {
        self.service = service
        self.startup = startup
        self.checks = NIOLockedValueBox(checks)
        self.logger = logger
    }

    public func add(_ check: ReadinessCheck) {
        checks.withLockedValue { $0.append(check) }
    }

    public func report() async -> ReadinessReport {
        let checks = self.checks.withLockedValue { $0 }
        var results: [String: CheckResult] = [:]
        results["startup"] = CheckResult(ok: startup.isOpen, detail: startup.isOpen ? nil : "starting", latencyMs: nil)
        await withTaskGroup(of: (String, CheckResult).self) { group in
            for check in checks {
                group.addTask { [logger] in
                    let clock = ContinuousClock()
                    let start = clock.now
                    let outcome = await Self.run(check)
                    let ms = Double((clock.now - start).components.attoseconds) / 1e15 + Double((clock.now - start).components.seconds) * 1000
                    if let failure = outcome {
                        logger.warning("readiness check failed", metadata: ["check": "\(check.name)", "error": "\(failure)"])
                        return (check.name, CheckResult(ok: false, detail: Self.publicReason(failure), latencyMs: ms))
                    }
                    return (check.name, CheckResult(ok: true, detail: nil, latencyMs: ms))
                }
            }
            for await (name, result) in group { results[name] = result }
        }
        return ReadinessReport(service: service, ready: results.values.allSatisfy(\.ok), checks: results)
    }

    /// nil when the check passed in time.
    static func run(_ check: ReadinessCheck) async -> (any Error)? {
        await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    try await check.check()
                    return nil
                } catch { return error }
            }
            group.addTask {
                try? await Task.sleep(for: check.timeout)
                return TimedOut()
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    struct TimedOut: Error, CustomStringConvertible { var description: String { "timed out" } }

    static func publicReason(_ error: any Error) -> String {
        if let failure = error as? any PublicReadinessDetail { return failure.publicDetail }
        return error is TimedOut ? "timed out" : "unavailable"
    }
}

/// Opens once a service's start-up work (migrations, topic creation) is done; long-lived
/// workers wait on it so they never touch a table before it exists.
public final class StartupGate: Sendable {
    private struct State {
        var open = false
        var failed: (any Error)?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public var isOpen: Bool { state.withLockedValue { $0.open } }

    public func open() {
        let waiters = state.withLockedValue { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public func fail(_ error: any Error) {
        let waiters = state.withLockedValue { state in
            state.failed = error
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    public func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLockedValue { state in
                if state.open { return .success(()) }
                if let failed = state.failed { return .failure(failed) }
                state.waiters.append(continuation)
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}
