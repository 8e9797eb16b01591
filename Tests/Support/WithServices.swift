import Logging
import ServiceLifecycle

/// Runs `services` in a ServiceGroup around `body`, then shuts the group down gracefully
/// (the same path SIGTERM takes in a service), also when `body` throws.
public func withServices(_ services: [any Service], logger: Logger, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: services, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
