import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// What thumbnail does with the events it consumes.
extension ThumbnailApp {
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
        try await Inbox.process(
            eventID: envelope.eventID, topic: ThumbnailRequested.topic.rawValue, consumer: "thumbnail.requested",
            client: client, logger: logger
        ) { connection in
            switch outcome {
            case .success(let renditions):
                // Rendered after all (an owner's retry): a failure recorded earlier no longer holds.
                try await index.clearFailure(fileID: p.fileID, blobID: p.blobID, on: connection)
                let event = ThumbnailGenerated(
                    fileID: p.fileID, ownerID: p.ownerID, blobID: p.blobID,
                    thumbnails: renditions.values.sorted { $0.size < $1.size }.map {
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
        try await Inbox.process(
            eventID: envelope.eventID, topic: FileDeleted.topic.rawValue, consumer: "thumbnail.file-deleted",
            client: client, logger: logger
        ) { connection in
            keys = try await index.remove(fileID: p.fileID, blobIDs: p.referenceIDs == nil ? nil : p.blobIDs, on: connection)
        }
        for key in keys { try? await store.delete(key: key) }
    }
}
