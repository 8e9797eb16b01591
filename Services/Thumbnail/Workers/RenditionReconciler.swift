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
    struct Configuration: Sendable {
        /// 0 turns reconciliation off (`CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS`).
        var interval: Duration = .seconds(3600)
        var grace: Duration = .seconds(3600)
        var pageSize = 500
    }

    let index: ThumbnailIndex
    let store: any ObjectStore
    let metadata: MetadataKnownIDs
    let configuration: Configuration
    let logger: Logger

    /// One full pass; returns how many files' renditions were removed.
    func pass() async throws -> Int {
        var removed = 0
        var after: UUID?
        while true {
            let files = try await index.filesWithRenditions(olderThan: configuration.grace, after: after, limit: configuration.pageSize)
            guard let last = files.last else { break }
            after = last
            let known = try await metadata.known(files)
            for file in files where !known.contains(file) {
                let keys = try await index.client.transaction(logger: logger) { connection in
                    try await index.remove(fileID: file, blobIDs: nil, on: connection)
                }
                for key in keys { try? await store.delete(key: key) }
                logger.notice("removed the renditions of a file metadata no longer has", metadata: ["file_id": "\(file)", "objects": "\(keys.count)"])
                removed += 1
            }
            if files.count < configuration.pageSize { break }
        }
        return removed
    }

    var service: AntiEntropyLoop {
        AntiEntropyLoop(name: "thumbnail-renditions", interval: configuration.interval, logger: logger) { try await pass() }
    }
}
