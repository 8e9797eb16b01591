import CirrusContracts
import CirrusServiceKit
import Foundation

/// `file.deleted`: the file's contents lose its references, once per event (inbox).
struct FileDeletedHandler: Sendable {
    static let consumerName = "blob.file-deleted"
    let index: BlobIndex

    func handle(_ envelope: EventEnvelope<FileDeleted>) async throws {
        try await Inbox.process(
            eventID: envelope.eventID, topic: FileDeleted.topic.rawValue, consumer: Self.consumerName,
            client: index.client, logger: index.logger
        ) { connection in
            try await index.release(
                ownerID: envelope.payload.ownerID, fileID: envelope.payload.fileID,
                referenceIDs: envelope.payload.referenceIDs, on: connection)
        }
    }
}

extension FileDeletedHandler {
    /// Blob's consumer: the one event it handles.
    static func handlers(index: BlobIndex) -> EventHandlers {
        let handler = FileDeletedHandler(index: index)
        var handlers = EventHandlers()
        handlers.on(FileDeleted.self) { try await handler.handle($0) }
        return handlers
    }
}
