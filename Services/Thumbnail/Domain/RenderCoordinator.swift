import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusVips
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import Synchronization

/// Why an image has no thumbnails (permanent: retrying does not help).
struct RenderFailure: Error, Equatable {
    var reason: ThumbnailFailed.FailureReason
    var detail: String
}

/// One stored rendition.
struct Rendition: Sendable, Equatable {
    var size: Int
    var width: Int
    var height: Int
    var bytes: Int64
    var format: String
    var objectKey: String
}

/// The content to render: which file, which of its contents, whose.
struct SourceRef: Sendable, Hashable {
    var fileID: UUID
    var ownerID: UUID
    var blobID: String
    var contentType: String
}

/// Renders thumbnails: fetches the original from blob into a temporary file (streamed, never
/// held in memory), checks its declared size against the pixel limit, renders each size with
/// libvips on a pool of `concurrency` threads (the bound on CPU and memory), stores and indexes
/// the results. Concurrent requests for the same content and size share one render.
actor RenderCoordinator {
    let settings: ThumbnailSettings
    let store: any ObjectStore
    let index: ThumbnailIndex
    let originals: BlobOriginals
    let pool: NIOThreadPool
    let scratch: String
    let logger: Logger
    private var jobs: [SourceRef: (sizes: Set<Int>, task: Task<[Int: Rendition], any Error>)] = [:]
    private let renders = Counter(label: "cirrus_thumbnail_renders_total")
    private let renderSeconds = Timer(label: "cirrus_thumbnail_render_seconds")
    /// Renders started (for tests and metrics).
    private(set) var renderCount = 0
    /// libvips calls running now and the most ever at once (never above `concurrency`).
    nonisolated let gauge = RenderGauge()

    init(
        settings: ThumbnailSettings, store: any ObjectStore, index: ThumbnailIndex, blob: InternalClient, signer: InternalGrantSigner,
        scratch: String, logger: Logger
    ) {
        self.settings = settings
        self.store = store
        self.index = index
        originals = BlobOriginals(blob: blob, signer: signer, maxBytes: settings.maxSourceBytes, scratch: scratch)
        self.scratch = scratch
        self.logger = logger
        pool = NIOThreadPool(numberOfThreads: settings.concurrency)
        pool.start()
    }

    static func isSupported(_ contentType: String) -> Bool { Thumbnailable.contains(contentType) }

    /// The renditions of `source` in `sizes`, rendering the missing ones (once, however many
    /// callers ask at the same time).
    func ensure(_ source: SourceRef, sizes: [Int]) async throws -> [Int: Rendition] {
        var result = try await index.renditions(fileID: source.fileID, blobID: source.blobID, sizes: sizes)
        var missing = Set(sizes).subtracting(result.keys)
        guard !missing.isEmpty else { return result }
        var waits: [Task<[Int: Rendition], any Error>] = []
        if let running = jobs[source] {
            waits.append(running.task)
            missing.subtract(running.sizes)
        }
        if !missing.isEmpty {
            let wanted = missing
            let task = Task { try await self.render(source, sizes: wanted) }
            let covered = (jobs[source]?.sizes ?? []).union(wanted)
            jobs[source] = (covered, task)
            waits.append(task)
            Task {
                _ = try? await task.value
                self.finished(source, task: task)
            }
        }
        for wait in waits {
            for (size, rendition) in try await wait.value where sizes.contains(size) { result[size] = rendition }
        }
        if result.count < Set(sizes).count {
            // Sizes another, replaced job rendered are in the index by now.
            result.merge(try await index.renditions(fileID: source.fileID, blobID: source.blobID, sizes: sizes)) { current, _ in current }
        }
        return result
    }

    private func finished(_ source: SourceRef, task: Task<[Int: Rendition], any Error>) {
        if let current = jobs[source], current.task == task { jobs[source] = nil }
    }

    func render(_ source: SourceRef, sizes: Set<Int>) async throws -> [Int: Rendition] {
        guard Self.isSupported(source.contentType) else {
            throw RenderFailure(reason: .unsupported, detail: "\(source.contentType) files have no thumbnails.")
        }
        renderCount += 1
        let path = try await originals.fetch(source)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = self.settings
        let dimensions: (width: Int, height: Int)
        do {
            dimensions = try await pool.runIfActive { try Vips.dimensions(ofFile: path) }
        } catch {
            throw RenderFailure(reason: .undecodable, detail: "The file is not an image libvips can read.")
        }
        if dimensions.width * dimensions.height > settings.maxPixels {
            throw RenderFailure(
                reason: .tooLarge,
                detail: "The image has \(dimensions.width)x\(dimensions.height) pixels, more than the \(settings.maxPixels) allowed.")
        }
        var result: [Int: Rendition] = [:]
        for size in sizes.sorted() {
            let started = ContinuousClock.now
            let image: (bytes: Data, width: Int, height: Int)
            do {
                image = try await pool.runIfActive { [gauge] in
                    gauge.enter()
                    defer { gauge.leave() }
                    return try Vips.thumbnail(ofFile: path, height: size, maxWidth: size * 4, format: settings.format, quality: settings.quality)
                }
            } catch {
                throw RenderFailure(reason: .undecodable, detail: "The image could not be decoded.")
            }
            renders.increment()
            renderSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            let key = ThumbnailObjects.key(fileID: source.fileID, blobID: source.blobID, size: size, format: settings.format)
            let writer = try await store.makeWriter(key: key)
            do {
                try await writer.write(ByteBuffer(data: image.bytes))
                try await writer.commit()
            } catch {
                await writer.abort()
                throw error
            }
            let rendition = Rendition(
                size: size, width: image.width, height: image.height, bytes: Int64(image.bytes.count), format: settings.format.rawValue,
                objectKey: key)
            let recorded: ThumbnailIndex.Recorded
            do {
                recorded = try await index.record(source, rendition)
            } catch {
                try? await store.delete(key: key)  // unindexed bytes would never be collected
                throw error
            }
            switch recorded {
            case .fileDeleted:
                try? await store.delete(key: key)  // deleted while it rendered: nothing to keep
            case .recorded(let replaced):
                // A rendition it replaces (another replica rendered the same one) goes now.
                if let replaced, replaced != key { try? await store.delete(key: replaced) }
                result[size] = rendition
            }
        }
        return result
    }
}

/// Counts the renders running at once.
final class RenderGauge: Sendable {
    private let state = Mutex((running: 0, peak: 0))
    func enter() {
        state.withLock {
            $0.running += 1
            $0.peak = max($0.peak, $0.running)
        }
    }
    func leave() { state.withLock { $0.running -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
}

/// Where thumbnail keeps renditions: `thumbs/<file id>/<content hash>-<size>-<render>.<format>`.
/// Every render gets a key of its own, so eviction (which deletes the objects of the rows it
/// claimed) can never delete a rendition rendered again meanwhile under the same name.
enum ThumbnailObjects {
    static func key(fileID: UUID, blobID: String, size: Int, format: Vips.Format, render: UUID = UUID()) -> String {
        let hash = blobID.split(separator: ":").last.map(String.init) ?? blobID
        let safe = hash.lowercased().filter { $0.isLetter || $0.isNumber }
        let tag = render.uuidString.lowercased().prefix(8)
        return "thumbs/\(fileID.uuidString.lowercased())/\(safe)-\(size)-\(tag).\(format == .jpeg ? "jpg" : "webp")"
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
