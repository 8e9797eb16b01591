import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// What metadata does with the events it consumes, each effect once per event (inbox).
struct MetadataEvents: Sendable {
    let uploads: Uploads
    var drive: Drive { uploads.drive }
    var accounts: Accounts { drive.accounts }
    var thumbnails: ThumbnailRequests { uploads.thumbnails }
    var client: PostgresClient { drive.client }
    var logger: Logger { drive.logger }

    var handlers: EventHandlers {
        var handlers = EventHandlers()
        handlers.on(UserRegistered.self) { try await userRegistered($0) }
        handlers.on(UserTierChanged.self) { try await userTierChanged($0) }
        handlers.on(UserDeleted.self) { try await userDeleted($0) }
        handlers.on(UserStatusChanged.self) { try await userStatusChanged($0) }
        handlers.on(TierUpdated.self) { try await tierUpdated($0) }
        handlers.on(FileUploaded.self) { try await fileUploaded($0) }
        handlers.on(ThumbnailGenerated.self) { try await thumbnailGenerated($0) }
        handlers.on(ThumbnailFailed.self) { try await thumbnailFailed($0) }
        return handlers
    }

    private func once<P: EventPayload>(_ envelope: EventEnvelope<P>, _ effect: (PostgresConnection) async throws -> Void) async throws {
        try await Inbox.process(
            eventID: envelope.eventID, topic: P.topic.rawValue, consumer: "metadata." + P.topic.rawValue,
            client: client, logger: logger, effect: effect)
    }

    func userRegistered(_ envelope: EventEnvelope<UserRegistered>) async throws {
        try await once(envelope) { connection in
            try await accounts.upsertTier(envelope.payload.tier, on: connection)
            try await accounts.ensureUser(envelope.payload.userID, tierID: envelope.payload.tier.id, on: connection)
        }
    }

    func userTierChanged(_ envelope: EventEnvelope<UserTierChanged>) async throws {
        try await once(envelope) { connection in
            let tier = envelope.payload.tier
            try await accounts.upsertTier(tier, on: connection)
            try await accounts.ensureUser(envelope.payload.userID, tierID: tier.id, on: connection)
            try await accounts.setTier(of: envelope.payload.userID, to: tier.id, on: connection)
            let requested = try await thumbnails.requestMissing(
                tierID: nil, userID: envelope.payload.userID, reason: .tierChanged,
                trace: envelope.trace, on: connection)
            logger.info("tier changed", metadata: ["user": "\(envelope.payload.userID)", "thumbnail_requests": "\(requested)"])
        }
    }

    func tierUpdated(_ envelope: EventEnvelope<TierUpdated>) async throws {
        try await once(envelope) { connection in
            try await accounts.upsertTier(envelope.payload.tier, deleted: envelope.payload.deleted, on: connection)
            if !envelope.payload.deleted {
                _ = try await thumbnails.requestMissing(
                    tierID: envelope.payload.tier.id, userID: nil, reason: .tierChanged,
                    trace: envelope.trace, on: connection)
            }
        }
    }

    /// A disabled user's links stop (`Drive.linkOwner`); enabled again, they work again.
    func userStatusChanged(_ envelope: EventEnvelope<UserStatusChanged>) async throws {
        try await once(envelope) { connection in
            try await accounts.setDisabled(envelope.payload.userID, to: envelope.payload.disabled, on: connection)
        }
    }

    /// The user's files are purged (each announced with `file.deleted`), then the user.
    func userDeleted(_ envelope: EventEnvelope<UserDeleted>) async throws {
        try await once(envelope) { connection in
            let user = envelope.payload.userID
            try await accounts.markDeleted(user, on: connection)
            guard let account = try await accounts.find(user, lock: true, on: connection) else { return }
            try await accounts.deleteUploads(of: user, on: connection)
            // Uploads they were making as an editor into others' drives end too (each owner's
            // reservation freed, the pending file gone; bytes arriving later are orphans).
            var made: [(upload: UUID, owner: UUID)] = []
            for try await row in try await connection.query(
                "SELECT id, owner_id FROM uploads WHERE created_by = \(user) AND owner_id <> \(user) ORDER BY owner_id, id", logger: logger
            ).decode((UUID, UUID).self) { made.append(row) }
            for (upload, owner) in made {
                _ = try await accounts.find(owner, lock: true, on: connection)
                try await drive.release(uploadID: upload, owner: owner, on: connection)
            }
            // What they shared and what others shared with them ends.
            try await Shares.revoke(
                connection.query(
                    "DELETE FROM shares WHERE owner_id = \(user) OR recipient_id = \(user) RETURNING id, item_id, owner_id, recipient_id",
                    logger: logger),
                reason: .userDeleted, trace: envelope.trace, on: connection, logger: logger)
            try await drive.deleteSubtrees([account.rootID], owner: user, trace: envelope.trace, on: connection)
            try await accounts.deleteUser(user, on: connection)
        }
    }

    func fileUploaded(_ envelope: EventEnvelope<FileUploaded>) async throws {
        let p = envelope.payload
        try await once(envelope) { connection in
            _ = try await uploads.complete(
                StoredContent(
                    uploadID: p.uploadID, fileID: p.fileID, ownerID: p.ownerID, blobID: p.blobID,
                    sha256: p.sha256, size: p.size, contentType: p.contentType),
                trace: envelope.trace, on: connection)
        }
    }

    func thumbnailGenerated(_ envelope: EventEnvelope<ThumbnailGenerated>) async throws {
        try await once(envelope) { try await thumbnails.generated(envelope.payload, on: $0) }
    }

    func thumbnailFailed(_ envelope: EventEnvelope<ThumbnailFailed>) async throws {
        try await once(envelope) { try await thumbnails.failed(envelope.payload, on: $0) }
    }
}
