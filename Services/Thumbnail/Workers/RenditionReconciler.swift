import CirrusServiceKit
import CirrusStorage
import Foundation
import Logging

/// Anti-entropy for renditions: a purged file's renditions normally go with `file.deleted`.
/// When that event is lost, they would stay (and be served to anyone holding a grant for
/// them, which metadata no longer issues, but the bytes stay stored). Each pass pages through
/// the files that have renditions older than the grace period, asks metadata which of them
/// still exist (live, pending or in the trash), and removes the renditions of the others as
/// `file.deleted` would, tombstone included. Nothing is removed on an error or an answer that
/// does not account for every id.
struct RenditionReconciler: Sendable {
    /// `CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS` (0: off) and `..._GRACE_SECONDS`.
    typealias Configuration = ReconcileSchedule

    let index: ThumbnailIndex
    let store: any ObjectStore
    let metadata: KnownIDs
    let configuration: Configuration
    let logger: Logger

    /// One full pass; returns how many files' renditions were removed.
    func pass() async throws -> Int {
        try await metadata.reconcile(
            pageSize: configuration.pageSize,
            page: { last in
                try await index.filesWithRenditions(olderThan: configuration.grace, after: last, limit: configuration.pageSize)
            }, id: { $0 }
        ) { file in
            let keys = try await index.client.transaction(logger: logger) { connection in
                try await index.remove(fileID: file, blobIDs: nil, on: connection)
            }
            for key in keys { try? await store.delete(key: key) }
            logger.notice("removed the renditions of a file metadata no longer has", metadata: ["file_id": "\(file)", "objects": "\(keys.count)"])
        }
    }

    var service: AntiEntropyLoop {
        AntiEntropyLoop(name: "thumbnail-renditions", interval: configuration.interval, logger: logger) { try await pass() }
    }
}
