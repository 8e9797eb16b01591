import CirrusServiceKit
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// The other half of blob's reference reconciliation: contents metadata counts on (a ready
/// file's current content, an earlier version) that blob does not hold. That should never
/// happen — blob registers a reference before metadata completes an upload or a copy, and
/// releases one only on `file.deleted` or when metadata no longer has it — so each one found
/// is reported loudly: an error log line per content ("content metadata has but blob lacks",
/// with owner, file and content ids) and `cirrus_reconcile_missing{worker="metadata-contents"}`,
/// the count found by the last complete pass (alert `CirrusContentMissing`). Nothing is changed
/// or dropped: the file stays listed, its download fails, and an operator decides (restore
/// blob's store and database from a backup, or delete the file).
struct ContentAudit: Sendable {
    /// `CIRRUS_METADATA_CONTENT_AUDIT_INTERVAL_SECONDS` (0: off) and `..._GRACE_SECONDS`.
    typealias Configuration = ReconcileSchedule

    let known: Known
    let blob: KnownIDs
    let configuration: Configuration
    let logger: Logger
    private static let missing = Gauge(label: "cirrus_reconcile_missing", dimensions: [("worker", "metadata-contents")])

    /// One full pass; returns how many contents blob lacks.
    func pass() async throws -> Int {
        let found = try await blob.reconcile(
            pageSize: configuration.pageSize,
            page: { last in
                try await known.contents(after: last?.content, olderThan: configuration.grace, limit: configuration.pageSize)
            }, id: { $0.content }
        ) { content in
            logger.error(
                "content metadata has but blob lacks",
                metadata: [
                    "owner_id": "\(content.owner)", "file_id": "\(content.file)", "content_id": "\(content.content)",
                ])
        }
        Self.missing.record(found)
        if found > 0 { logger.error("content audit: blob lacks contents metadata has", metadata: ["missing": "\(found)"]) }
        return 0  // nothing cleaned: reported, never repaired by guessing
    }

    var service: AntiEntropyLoop {
        AntiEntropyLoop(name: "metadata-contents", interval: configuration.interval, logger: logger) { try await pass() }
    }
}
