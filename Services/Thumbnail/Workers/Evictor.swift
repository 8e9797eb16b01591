import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Eviction: renditions nobody read for `evictAfter`, and objects no row names.
extension ThumbnailApp {
    func evict() async throws -> Int {
        var evicted = 0
        while true {
            let keys = try await index.claimStale(olderThan: settings.evictAfter)
            for key in keys { try? await store.delete(key: key) }
            evicted += keys.count
            if keys.count < 500 { break }
        }
        return evicted + (try await sweepOrphans())
    }

    /// Objects no row names, older than one eviction interval: a render killed between writing
    /// its object and indexing it. Younger ones may be renders in flight, left for a later pass.
    func sweepOrphans() async throws -> Int {
        let cutoff = Date().timeIntervalSince1970 - Double(settings.evictionInterval.components.seconds)
        let old = try await store.list(prefix: "thumbs/").filter { $0.lastModified <= cutoff }.map(\.key)
        var deleted = 0
        for batch in stride(from: 0, to: old.count, by: 1000).map({ Array(old[$0..<min($0 + 1000, old.count)]) }) {
            let known = try await index.knownObjectKeys(among: batch)
            for key in batch where !known.contains(key) {
                if (try? await store.delete(key: key)) != nil { deleted += 1 }
            }
        }
        if deleted > 0 { logger.info("unindexed thumbnail objects deleted", metadata: ["objects": "\(deleted)"]) }
        return deleted
    }
}

/// Evicts renditions nobody read for `evictAfter`, every `evictionInterval`.
struct Evictor: Service {
    let app: ThumbnailApp

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                Heartbeats.shared.beat("thumbnail-eviction", bound: AntiEntropyLoop.bound(interval: app.settings.evictionInterval))
                do {
                    let evicted = try await app.evict()
                    if evicted > 0 { app.logger.info("evicted thumbnails", metadata: ["count": "\(evicted)"]) }
                } catch {
                    if Task.isCancelled { return }
                    app.logger.warning("eviction pass failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: app.settings.evictionInterval)
            }
        }
    }
}
