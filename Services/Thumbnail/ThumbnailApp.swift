import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Thumbnail's behaviour: the events it consumes, the bytes it serves, what it evicts.
struct ThumbnailApp: Sendable {
    let coordinator: RenderCoordinator
    let index: ThumbnailIndex
    let store: any ObjectStore
    let signer: InternalGrantSigner
    let settings: ThumbnailSettings
    var client: PostgresClient { index.client }
    var logger: Logger { index.logger }

    init(client: PostgresClient, store: any ObjectStore, settings: ThumbnailSettings, signer: InternalGrantSigner, blobURL: String,
         http: HTTPClient = .shared, scratch: String, logger: Logger) {
        index = ThumbnailIndex(client: client, logger: logger)
        self.store = store
        self.signer = signer
        self.settings = settings
        coordinator = RenderCoordinator(settings: settings, store: store, index: index, blobURL: blobURL, signer: signer, http: http,
                                        scratch: scratch, logger: logger)
    }

    // MARK: - Events

    var handlers: EventHandlers {
        var handlers = EventHandlers()
        handlers.on(ThumbnailRequested.self) { try await requested($0) }
        handlers.on(FileDeleted.self) { try await deleted($0) }
        return handlers
    }

    /// Render what is missing, then announce the result once (inbox). A redelivered request
    /// finds its sizes stored and renders nothing.
    func requested(_ envelope: EventEnvelope<ThumbnailRequested>) async throws {
        let p = envelope.payload
        let source = SourceRef(fileID: p.fileID, ownerID: p.ownerID, blobID: p.blobID, contentType: p.contentType)
        var outcome: Result<[Int: Rendition], RenderFailure>
        do {
            outcome = .success(try await coordinator.ensure(source, sizes: p.sizes))
        } catch let failure as RenderFailure {
            outcome = .failure(failure)
        }
        try await Inbox.process(eventID: envelope.eventID, topic: ThumbnailRequested.topic.rawValue, consumer: "thumbnail.requested",
                                client: client, logger: logger) { connection in
            switch outcome {
            case .success(let renditions):
                // Rendered after all (an owner's retry): a failure recorded earlier no longer holds.
                try await index.clearFailure(fileID: p.fileID, blobID: p.blobID, on: connection)
                let event = ThumbnailGenerated(fileID: p.fileID, ownerID: p.ownerID, blobID: p.blobID, thumbnails: renditions.values.sorted { $0.size < $1.size }.map {
                    ThumbnailGenerated.Rendition(size: $0.size, width: $0.width, height: $0.height, bytes: $0.bytes, format: $0.format)
                })
                try await Outbox.enqueue(EventEnvelope(producer: "thumbnail", trace: envelope.trace, payload: event), on: connection, logger: logger)
            case .failure(let failure):
                try await index.recordFailure(source, failure, on: connection)
                let event = ThumbnailFailed(fileID: p.fileID, ownerID: p.ownerID, blobID: p.blobID, reason: failure.reason, detail: failure.detail)
                try await Outbox.enqueue(EventEnvelope(producer: "thumbnail", trace: envelope.trace, payload: event), on: connection, logger: logger)
                logger.info("thumbnail failed", metadata: ["file_id": "\(p.fileID)", "reason": "\(failure.reason.rawValue)"])
            }
        }
    }

    /// A purged file's renditions go (the rows in the inbox's transaction, then the objects).
    func deleted(_ envelope: EventEnvelope<FileDeleted>) async throws {
        let p = envelope.payload
        var keys: [String] = []
        try await Inbox.process(eventID: envelope.eventID, topic: FileDeleted.topic.rawValue, consumer: "thumbnail.file-deleted",
                                client: client, logger: logger) { connection in
            keys = try await index.remove(fileID: p.fileID, blobIDs: p.referenceIDs == nil ? nil : p.blobIDs, on: connection)
        }
        for key in keys { try? await store.delete(key: key) }
    }

    // MARK: - Serving

    func register(on router: Router<BasicRequestContext>) {
        router.get("/internal/thumbnails/:file/:size") { request, context in try await serve(request, context) }
    }

    /// A rendition's bytes for the gateway. The grant (from metadata, which checked the
    /// caller's ownership and tier) names the file, its content and the size; a missing
    /// rendition is rendered now, once however many ask.
    func serve(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let grant = try request.grant(.read, signer: signer)
        let fileID = try context.parameters.uuid("file", resource: "thumbnail")
        guard let size = context.parameters.get("size").flatMap(Int.init), grant.fileID == fileID, grant.size == Int64(size),
              let blobID = grant.blobID, let contentType = grant.contentType else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        if let reason = try await index.failure(fileID: fileID, blobID: blobID) {
            throw ProblemError(.unprocessableContent, type: "https://cirrus.dev/problems/no-thumbnail", title: "No thumbnail",
                               detail: "This file cannot have thumbnails (\(reason)).")
        }
        let source = SourceRef(fileID: fileID, ownerID: grant.ownerID, blobID: blobID, contentType: contentType)
        var rendition = try await index.touch(fileID: fileID, blobID: blobID, size: size)
        if rendition == nil {
            do {
                rendition = try await coordinator.ensure(source, sizes: [size])[size]
            } catch let failure as RenderFailure {
                try await client.withConnection { try await index.recordFailure(source, failure, on: $0) }
                throw ProblemError(.unprocessableContent, type: "https://cirrus.dev/problems/no-thumbnail", title: "No thumbnail",
                                   detail: "This file cannot have thumbnails (\(failure.reason.rawValue)).")
            }
        }
        guard let rendition else { throw ProblemError.notFound("thumbnail") }
        let etag = "\"\(rendition.objectKey.split(separator: "/").last ?? "")\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "private, max-age=86400"]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        let read = try await store.read(key: rendition.objectKey, range: nil)
        headers[.contentType] = rendition.format == "webp" ? "image/webp" : "image/jpeg"
        headers[.contentLength] = String(read.size)
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: read.body))
    }

    // MARK: - Eviction

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
