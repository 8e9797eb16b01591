import CirrusServiceKit
import CirrusStorage
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Collects resumable uploads past their expiry (`Upload-Expires`): the staged bytes are
/// discarded (on S3 the multipart upload is aborted, so no part stays stored and billed) and
/// the record removed. Metadata expires the matching reservation on its own, releasing the
/// quota it held. Runs every `interval`; counted in `cirrus_blob_resumable_expired_total`.
struct ResumableExpiry: Service {
    let uploads: ResumableUploads
    let store: any StagedObjectStore
    var interval: Duration = .seconds(60)
    let logger: Logger
    private let expired = Counter(label: "cirrus_blob_resumable_expired_total")

    init(uploads: ResumableUploads, store: any StagedObjectStore, interval: Duration, logger: Logger) {
        self.uploads = uploads
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                Heartbeats.shared.beat("blob-resumable-expiry", bound: AntiEntropyLoop.bound(interval: interval))
                do {
                    try await collect()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("resumable upload expiry pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass; how many uploads were collected.
    @discardableResult
    func collect() async throws -> Int {
        var count = 0
        while true {
            let batch = try await uploads.claimExpired(limit: 100)
            for upload in batch where upload.stored == nil { await store.discardStaged(upload.staged) }
            count += batch.count
            expired.increment(by: batch.count)
            if batch.count < 100 { break }
        }
        if count > 0 { logger.info("expired resumable uploads collected", metadata: ["uploads": "\(count)"]) }
        return count
    }
}
