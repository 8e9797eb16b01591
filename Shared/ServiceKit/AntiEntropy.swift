import AsyncHTTPClient
import CirrusContracts
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Asks another service which ids it still has (`POST /internal/known/<kind>`), for the
/// reconcilers: blob's references and thumbnail's renditions against metadata, metadata's
/// contents against blob. An answer that does not account for every id asked is an error,
/// never "none known": a reconciler acts only on ids the other side positively does not have.
public struct KnownIDs: Sendable {
    public enum Kind: String, Sendable { case references, files }

    let peer: InternalClient
    let path: String

    /// Metadata's `/internal/known/<kind>`.
    public init(metadata: InternalClient, kind: Kind) {
        self.init(peer: metadata, path: "/internal/known/" + kind.rawValue)
    }

    /// Any service's answer in the same shape (`KnownIDsQuery` → `KnownIDsReply`).
    public init(peer: InternalClient, path: String) {
        self.peer = peer
        self.path = path
    }

    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    /// The subset of `ids` metadata has.
    public func known(_ ids: [UUID]) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let answer = try await peer.send(.POST, path, json: KnownIDsQuery(ids: ids))
        guard let reply = try answer.decode(KnownIDsReply.self) else {
            throw Unusable(description: "\(peer.service) \(path) answered \(answer.status)")
        }
        guard reply.checked == ids.count else { throw Unusable(description: "\(peer.service) \(path) checked \(reply.checked) of \(ids.count) ids") }
        let asked = Set(ids)
        return Set(reply.known.filter(asked.contains))
    }
}

/// When and over what a reconciler runs: every `interval` (0 turns it off), over what is
/// older than `grace`, `pageSize` ids per question to metadata.
public struct ReconcileSchedule: Sendable {
    public var interval: Duration = .seconds(3600)
    public var grace: Duration = .seconds(3600)
    public var pageSize = 500

    public init() {}

    /// `<PREFIX>_INTERVAL_SECONDS` (0–604800, 0: off) and `<PREFIX>_GRACE_SECONDS` (1–2592000),
    /// each defaulting to the value above: how every reconciler is configured.
    public init(reader: ConfigReader, prefix: String) throws {
        interval = try reader.seconds(prefix + "_INTERVAL_SECONDS", default: interval, range: 0...604_800)
        grace = try reader.seconds(prefix + "_GRACE_SECONDS", default: grace, range: 1...2_592_000)
    }
}

extension KnownIDs {
    /// One full reconciliation pass: `page(last)` gives the local items after `last` (in a
    /// stable order, at most `pageSize`), the other service is asked about each page's ids, and
    /// `clean` handles every item it does not have. Returns how many were cleaned.
    public func reconcile<Item: Sendable>(
        pageSize: Int, page: (Item?) async throws -> [Item], id: (Item) -> UUID,
        clean: (Item) async throws -> Void
    ) async throws -> Int {
        var cleaned = 0
        var last: Item?
        while true {
            let items = try await page(last)
            guard let final = items.last else { break }
            last = final
            let known = try await self.known(items.map(id))
            for item in items where !known.contains(id(item)) {
                try await clean(item)
                cleaned += 1
            }
            if items.count < pageSize { break }
        }
        return cleaned
    }
}

/// A periodic anti-entropy pass: `pass` cleans up one full round and returns how many
/// things it cleaned. Counted in `cirrus_reconcile_cleaned_total{worker}`, with the time of
/// the last complete pass in `cirrus_reconcile_last_success_timestamp_seconds{worker}`.
/// A failed pass is logged and tried again at the next interval; nothing is cleaned on a
/// partial answer.
public struct AntiEntropyLoop: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let pass: @Sendable () async throws -> Int
    private let cleaned: Counter
    private let lastSuccess: Gauge

    public init(name: String, interval: Duration, logger: Logger, pass: @escaping @Sendable () async throws -> Int) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.pass = pass
        cleaned = Counter(label: "cirrus_reconcile_cleaned_total", dimensions: [("worker", name)])
        lastSuccess = Gauge(label: "cirrus_reconcile_last_success_timestamp_seconds", dimensions: [("worker", name)])
    }

    /// How long a periodic loop may stay silent: its pause plus a generous pass (passes page
    /// through a whole table).
    public static func bound(interval: Duration) -> Duration {
        interval + max(interval * 2, .seconds(600))
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                Heartbeats.shared.beat(name, bound: Self.bound(interval: interval))
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                do {
                    let count = try await pass()
                    cleaned.increment(by: count)
                    lastSuccess.record(Date().timeIntervalSince1970)
                    if count > 0 { logger.warning("reconciled what events lost", metadata: ["worker": "\(name)", "cleaned": "\(count)"]) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("reconciliation pass failed", metadata: ["worker": "\(name)", "error": "\(error)"])
                }
            }
        }
    }
}
