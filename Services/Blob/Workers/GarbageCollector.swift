import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Removes content no file references any more, and objects no index row names.
///
/// Each pass: (1) claim contents unreferenced for longer than `grace` (rows deleted in a
/// transaction), then delete their objects after commit — an object whose delete fails is
/// left for (2); (2) sweep objects under `blobs/` older than `grace` that no row names: what
/// a crash left between writing an object and registering it, or a failed delete. The grace
/// period keeps in-flight uploads safe; nothing a row names is ever deleted.
struct GarbageCollector: Service {
    struct Configuration: Sendable {
        var interval: Duration = .seconds(60)
        var grace: Duration = .seconds(3600)
        var batchSize = 500
    }

    let index: BlobIndex
    let store: any ObjectStore
    let configuration: Configuration
    let logger: Logger
    private let collected = Counter(label: "cirrus_blob_gc_objects_deleted_total")

    init(index: BlobIndex, store: any ObjectStore, configuration: Configuration, logger: Logger) {
        self.index = index
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                Heartbeats.shared.beat("blob-gc", bound: AntiEntropyLoop.bound(interval: configuration.interval))
                do {
                    try await collect()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("garbage collection pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: configuration.interval)
            }
        }
    }

    /// One full pass; returns how many objects were deleted.
    @discardableResult
    func collect() async throws -> Int {
        var deleted = 0
        while true {
            let keys = try await index.client.transaction(logger: logger) { connection in
                try await index.claimGarbage(grace: configuration.grace, limit: configuration.batchSize, on: connection)
            }
            for key in keys where await delete(key) { deleted += 1 }
            if keys.count < configuration.batchSize { break }
        }
        deleted += try await sweepOrphans()
        if let local = store as? LocalObjectStore {
            try await local.sweepTemporaryFiles(olderThan: TimeInterval(configuration.grace.components.seconds))
        }
        if deleted > 0 { logger.info("garbage collected", metadata: ["objects": "\(deleted)"]) }
        return deleted
    }

    private func sweepOrphans() async throws -> Int {
        let cutoff = Date().timeIntervalSince1970 - Double(configuration.grace.components.seconds)
        let old = try await store.list(prefix: BlobObjects.prefix).filter { $0.lastModified <= cutoff }.map(\.key)
        var deleted = 0
        for batch in stride(from: 0, to: old.count, by: 1000).map({ Array(old[$0..<min($0 + 1000, old.count)]) }) {
            let known = try await index.knownObjectKeys(among: batch)
            for key in batch where !known.contains(key) {
                if await delete(key) { deleted += 1 }
            }
        }
        return deleted
    }

    private func delete(_ key: String) async -> Bool {
        do {
            try await store.delete(key: key)
            collected.increment()
            return true
        } catch {
            logger.warning("object delete failed; the sweep retries it", metadata: ["key": "\(key)", "error": "\(error)"])
            return false
        }
    }
}
