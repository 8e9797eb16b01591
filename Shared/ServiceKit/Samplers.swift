import Logging
import ServiceLifecycle

/// Gauges read from a store rather than counted as things happen (database connections, bytes
/// stored): each sampler runs at its interval, after start-up, until shutdown. A failed sample
/// is logged at debug level and tried again at the next interval.
public struct Samplers: Service {
    public struct Sampler: Sendable {
        var name: String
        var interval: Duration
        var sample: @Sendable () async throws -> Void
    }

    let samplers: [Sampler]
    let logger: Logger

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for sampler in samplers {
                group.addTask {
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        do {
                            try await sampler.sample()
                        } catch {
                            logger.debug("sample failed", metadata: ["sampler": "\(sampler.name)", "error": "\(error)"])
                        }
                        try? await Task.sleep(for: sampler.interval)
                    }
                }
            }
            await withGracefulShutdownHandler {
                while !Task.isCancelled && !Task.isShuttingDownGracefully { try? await Task.sleep(for: .seconds(1)) }
            } onGracefulShutdown: {
            }
            group.cancelAll()
        }
    }
}
