import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging

/// Anti-entropy for blob's references: a reference (one use of a content: an upload or a
/// copy) normally ends with `file.deleted`. When that event is lost (a broker that lost data,
/// a topic deleted, retention shorter than an outage), the reference would keep its content
/// forever. Each pass pages through references older than the grace period, asks metadata
/// which of them it still has (a file's content, an earlier version, or a reservation), and
/// releases the others exactly as `file.deleted` would; the garbage collector then removes
/// contents left without references after its own grace.
///
/// The grace period covers the moment between blob registering a reference and metadata
/// committing its row (an upload completing, a copy). Nothing is released on an error or an
/// answer that does not account for every id.
struct ReferenceReconciler: Sendable {
    /// `CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS` (0: off) and `..._GRACE_SECONDS`.
    typealias Configuration = ReconcileSchedule

    let index: BlobIndex
    let metadata: KnownIDs
    let configuration: Configuration
    let logger: Logger

    /// One full pass; returns how many references were released.
    func pass() async throws -> Int {
        try await metadata.reconcile(
            pageSize: configuration.pageSize,
            page: { last in
                try await index.references(olderThan: configuration.grace, after: last.map { ($0.owner, $0.ref) }, limit: configuration.pageSize)
            }, id: { $0.ref }
        ) { reference in
            try await index.client.transaction(logger: logger) { connection in
                try await index.release(ownerID: reference.owner, fileID: reference.file, referenceIDs: [reference.ref], on: connection)
            }
            logger.notice(
                "released a reference metadata no longer has",
                metadata: [
                    "owner_id": "\(reference.owner)", "file_id": "\(reference.file)", "reference_id": "\(reference.ref)",
                ])
        }
    }

    var service: AntiEntropyLoop {
        AntiEntropyLoop(name: "blob-references", interval: configuration.interval, logger: logger) { try await pass() }
    }
}
