import CirrusServiceKit
import Foundation
import Logging
import ServiceLifecycle

/// Self-healing, periodically: expire reservations whose bytes never came, and ask again for
/// thumbnails that did not arrive within the grace period.
struct Reconciler: Service {
    let uploads: Uploads
    let logger: Logger

    func run() async throws {
        let settings = uploads.settings
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                Heartbeats.shared.beat("metadata-reconciler", bound: AntiEntropyLoop.bound(interval: settings.reconcileInterval))
                do {
                    let expired = try await uploads.expire()
                    let requested = try await uploads.thumbnails.reconcile(grace: settings.thumbnailGrace)
                    if expired + requested > 0 {
                        logger.info("reconciled", metadata: ["expired_uploads": "\(expired)", "thumbnail_requests": "\(requested)"])
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("reconciliation pass failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: settings.reconcileInterval)
            }
        }
    }
}
