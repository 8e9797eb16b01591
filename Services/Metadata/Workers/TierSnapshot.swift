import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// The tier catalogue at start. Metadata learns tiers from auth's events, but on a fresh
/// deployment no event has carried any yet, and a user who registers and calls at once would
/// get "still being set up" until `user.registered` arrives. So at start metadata asks auth
/// for the catalogue (`GET /internal/tiers`, retried every second until auth answers), adds
/// the tiers it does not know, and from then on follows the events. Until then, or until any
/// tier is known from earlier runs, `/readyz` reports the `tiers` check not ready.
final class TierSnapshot: Service, Sendable {
    let accounts: Accounts
    let auth: InternalClient
    let logger: Logger
    private let loaded = Atomic<Bool>(false)

    init(accounts: Accounts, auth: InternalClient, logger: Logger) {
        self.accounts = accounts
        self.auth = auth
        self.logger = logger
    }

    struct Unavailable: Error {}

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled && !self.loaded.load(ordering: .acquiring) {
                do {
                    try await self.load()
                } catch {
                    failures += 1
                    if failures == 1 || failures % 30 == 0 {
                        self.logger.warning("tier catalogue not loaded yet, retrying", metadata: ["error": "\(error)", "attempts": "\(failures)"])
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        // A service that returns would end the whole group: stay until shutdown.
        try? await gracefulShutdown()
    }

    func load() async throws {
        let reply = try await auth.send(.GET, "/internal/tiers", timeout: .seconds(5))
        guard let catalogue = try reply.decode(TierCatalogue.self) else { throw Unavailable() }
        try await accounts.addMissingTiers(catalogue.items)
        loaded.store(true, ordering: .releasing)
        logger.info("tier catalogue loaded", metadata: ["tiers": "\(catalogue.items.count)"])
    }

    /// Ready once the catalogue was loaded, or tiers are known already (a restart).
    var readinessCheck: ReadinessCheck {
        ReadinessCheck("tiers") { [self] in
            if loaded.load(ordering: .acquiring) { return }
            guard try await accounts.knowsTiers() else { throw Unavailable() }
        }
    }
}
