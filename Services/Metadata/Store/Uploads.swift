import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import PostgresNIO

enum Quota {
    static func exceeded(_ account: Account) -> ProblemError {
        ProblemError(
            HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), type: "https://cirrus.dev/problems/quota-exceeded",
            title: "Quota exceeded",
            detail:
                "This would exceed your storage quota (\(account.usedBytes) of \(account.tier.quotaBytes) bytes used, "
                + "\(account.reservedBytes) reserved by uploads in progress)."
        )
    }
}

/// What the gateway needs to send an upload's bytes to blob.
/// The content blob stored, from its receipt or its `file.uploaded` event.
struct StoredContent: Sendable, Equatable {
    var uploadID: UUID
    var fileID: UUID
    var ownerID: UUID
    var blobID: String
    var sha256: String
    var size: Int64
    var contentType: String
}

/// Reservations before bytes flow, and their completion. Quota use changes in the same
/// transactions as the files, under the account row's lock, so parallel uploads cannot
/// overshoot the quota together.
struct Uploads: Sendable {
    let drive: Drive
    let thumbnails: ThumbnailRequests
    let signer: InternalGrantSigner
    var client: PostgresClient { drive.client }
    var logger: Logger { drive.logger }
    var settings: MetadataSettings { drive.settings }

    /// Reserve a new file (`folderID` + `name`) or a new content for `replacing`. `declaredSize`
    /// (from Content-Length) is checked against the tier's largest upload at once; without it
    /// the reservation covers the most the upload may be.
    func reserve(
        _ identity: Identity, folderID: UUID?, name rawName: String?, replacing: UUID?, declaredSize: Int64?, resumable: Bool = false,
        lifetime requested: Duration? = nil
    ) async throws -> UploadReservation {
        let lifetime = requested ?? (resumable ? settings.resumableUploadTTL : settings.uploadTTL)
        let name = replacing == nil ? try Names.validate(rawName) : nil
        if replacing == nil, folderID == nil { throw ProblemError.validation(field: "folder_id", "is required") }
        return try await client.transaction(logger: logger) { connection in
            // Whose drive the bytes go to: the caller's, or the owner's of a folder (or file)
            // shared with the caller as editor. Quota and largest upload are that owner's.
            _ = try await drive.accounts.account(for: identity, on: connection)
            func resolve() async throws -> (item: Item, access: Access) {
                if let replacing {
                    return try await drive.accessible(replacing, caller: identity.userID, kind: .file, needed: .editor, on: connection)
                }
                return try await drive.writableFolder(folderID!, caller: identity.userID, field: "folder_id", on: connection)
            }
            var target = try await resolve()
            let owner = target.access.ownerID
            guard let account = try await drive.accounts.find(owner, lock: true, on: connection) else { throw ProblemError.notFound("folder") }
            if !target.access.isOwner {
                // A recipient's access, resolved again under the owner's lock (see `Drive.changeable`).
                target = try await resolve()
                guard target.access.ownerID == owner else { throw ProblemError.notFound(replacing == nil ? "folder" : "file") }
            }
            let limit = account.tier.maxUploadBytes
            if let declaredSize, declaredSize > limit {
                throw ProblemError(.contentTooLarge, detail: "Your tier allows uploads of at most \(limit) bytes.")
            }
            let free = account.tier.quotaBytes - account.usedBytes - account.reservedBytes
            let amount = declaredSize ?? min(limit, max(free, 0))
            if amount > free || free <= 0 { throw Quota.exceeded(account) }
            let uploadID = UUID()
            let fileID: UUID
            if let replacing {
                // Locked after the account row, in the order every writer takes them.
                fileID = try await drive.item(replacing, owner: owner, kind: .file, lock: true, on: connection).id
            } else {
                fileID = UUID()
                let parent = target.item.id
                try await drive.insertChecked(name: name!, parentID: parent, on: connection) {
                    try await connection.query(
                        """
                        INSERT INTO items (id, owner_id, parent_id, kind, name, state)
                        VALUES (\(fileID), \(owner), \(parent), 'file', \(name!), 'pending')
                        """, logger: logger)
                }
            }
            let expiresAt = Date().addingTimeInterval(TimeInterval(lifetime.components.seconds))
            try await connection.query(
                """
                INSERT INTO uploads (id, owner_id, file_id, replaces, reserved_bytes, expires_at, created_by)
                VALUES (\(uploadID), \(owner), \(fileID), \(replacing != nil), \(amount), \(expiresAt), \(identity.userID))
                """, logger: logger)
            try await connection.query("UPDATE users SET reserved_bytes = reserved_bytes + \(amount) WHERE id = \(owner)", logger: logger)
            let grant = signer.sign(
                InternalGrant(
                    purpose: .upload, ownerID: owner, fileID: fileID, uploadID: uploadID, maxBytes: amount,
                    lifetime: resumable ? Self.resumableGrantLifetime : lifetime))
            return UploadReservation(uploadID: uploadID, fileID: fileID, maxBytes: amount, grant: grant, expiresAt: expiresAt)
        }
    }

    /// A resumable upload's grant covers one request to blob; each request gets a fresh one.
    static let resumableGrantLifetime: Duration = .seconds(3600)

    /// The caller's reservation `uploadID`, with a fresh grant for its next request to blob
    /// (a resumable upload's). 404 unless it is the caller's and has not expired.
    func reservation(_ identity: Identity, uploadID: UUID) async throws -> UploadReservation {
        let rows = try await client.query(
            """
            SELECT file_id, reserved_bytes, expires_at, owner_id, replaces FROM uploads
            WHERE id = \(uploadID) AND COALESCE(created_by, owner_id) = \(identity.userID) AND expires_at > now()
            """, logger: logger)
        var found: (fileID: UUID, reserved: Int64, expiresAt: Date, owner: UUID, replaces: Bool)?
        for try await row in rows.decode((UUID, Int64, Date, UUID, Bool).self) { found = row }
        // An editor's upload into a shared folder goes on only while they are its editor.
        guard let found else { throw ProblemError.notFound("upload") }
        if found.owner != identity.userID {
            let allowed = try await client.withConnection {
                try await drive.mayStillWrite(identity.userID, owner: found.owner, fileID: found.fileID, replaces: found.replaces, on: $0)
            }
            guard allowed else { throw ProblemError.notFound("upload") }
        }
        let grant = signer.sign(
            InternalGrant(
                purpose: .upload, ownerID: found.owner, fileID: found.fileID, uploadID: uploadID, maxBytes: found.reserved,
                lifetime: Self.resumableGrantLifetime))
        return UploadReservation(uploadID: uploadID, fileID: found.fileID, maxBytes: found.reserved, grant: grant, expiresAt: found.expiresAt)
    }

    enum Completion: Sendable {
        case completed(Item)
        /// Already completed earlier (the receipt and the event both arrive): the file as it is.
        case alreadyCompleted(Item)
        /// The reservation is gone (expired, cancelled, or its file purged): the content is released.
        case orphaned
    }

    /// Make the reserved file ready with the content blob stored. Idempotent: the second of the
    /// receipt and the `file.uploaded` event finds nothing left to do.
    func complete(_ content: StoredContent, trace: TraceContext, on connection: PostgresConnection) async throws -> Completion {
        // The owner's account row first, then the upload's: the order a purge takes them in;
        // not at all when the reservation is gone (the second of receipt and event, mostly).
        var pending = false
        for try await _ in try await connection.query("SELECT 1 FROM uploads WHERE id = \(content.uploadID)", logger: logger) { pending = true }
        let account = pending ? try await drive.accounts.find(content.ownerID, lock: true, on: connection) : nil
        var upload: (replaces: Bool, reserved: Int64, creator: UUID)?
        for try await (replaces, reserved, creator) in try await connection.query(
            """
            SELECT replaces, reserved_bytes, COALESCE(created_by, owner_id) FROM uploads
            WHERE id = \(content.uploadID) AND owner_id = \(content.ownerID) AND file_id = \(content.fileID) FOR UPDATE
            """, logger: logger
        ).decode((Bool, Int64, UUID).self) where pending { upload = (replaces, reserved, creator) }
        // An editor whose share was revoked (or turned to viewer) while the bytes went up does
        // not add them: the reservation goes, and blob collects the content.
        if let made = upload, made.creator != content.ownerID,
            try await !drive.mayStillWrite(made.creator, owner: content.ownerID, fileID: content.fileID, replaces: made.replaces, on: connection)
        {
            try await drive.release(uploadID: content.uploadID, owner: content.ownerID, on: connection)
            upload = nil
        }
        guard let upload else {
            if let file = try? await drive.item(content.fileID, owner: content.ownerID, includeTrashed: true, on: connection),
                file.contentID == content.uploadID
            {
                return .alreadyCompleted(file)
            }
            if try await isPastContent(content, on: connection) { return .orphaned }
            // Nobody will ever point at these bytes: let blob collect them.
            let event = FileDeleted(fileID: content.fileID, ownerID: content.ownerID, blobIDs: [content.blobID], referenceIDs: [content.uploadID])
            try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
            return .orphaned
        }
        try await connection.query("DELETE FROM uploads WHERE id = \(content.uploadID)", logger: logger)
        try await connection.query(
            """
            UPDATE users SET reserved_bytes = GREATEST(reserved_bytes - \(upload.reserved), 0), used_bytes = used_bytes + \(content.size)
            WHERE id = \(content.ownerID)
            """, logger: logger)
        let isImage = Thumbnailable.contains(content.contentType)
        if upload.replaces {
            // The current content becomes the newest version.
            try await connection.query(
                """
                INSERT INTO versions (content_id, file_id, owner_id, version, blob_id, sha256, size, content_type, created_at)
                SELECT content_id, id, owner_id, version, blob_id, sha256, size, content_type, updated_at FROM items
                WHERE id = \(content.fileID) AND content_id IS NOT NULL
                """, logger: logger)
        }
        try await connection.query(
            """
            UPDATE items SET state = 'ready', size = \(content.size), content_type = \(content.contentType), sha256 = \(content.sha256),
              blob_id = \(content.blobID), content_id = \(content.uploadID), version = version + 1, updated_at = now(),
              thumbnail_status = \(isImage ? "pending" : "none"), thumbnail_sizes = '{}', thumbnail_blob_id = \(content.blobID),
              thumbnail_requested_at = \(isImage ? Date() : nil)
            WHERE id = \(content.fileID)
            """, logger: logger)
        if upload.replaces { try await pruneVersions(of: content.fileID, owner: content.ownerID, trace: trace, on: connection) }
        if isImage, let sizes = account?.tier.thumbnailSizes, !sizes.isEmpty {
            try await thumbnails.request(
                fileID: content.fileID, owner: content.ownerID, blobID: content.blobID, contentType: content.contentType,
                sizes: sizes, reason: .upload, trace: trace, on: connection)
        }
        return .completed(try await drive.item(content.fileID, owner: content.ownerID, includeTrashed: true, on: connection))
    }

    /// `POST /v1/files/{id}/thumbnails/retry`: the owner asks again for thumbnails of an image
    /// whose rendering failed (or is still pending). The failure is forgotten and a request for
    /// the sizes the owner's tier allows goes out; the answer comes as usual, by event.
    func retryThumbnails(_ identity: Identity, fileID: UUID, trace: TraceContext) async throws -> Item {
        try await client.transaction(logger: logger) { connection in
            let (item, access) = try await drive.accessible(fileID, caller: identity.userID, kind: .file, needed: .editor, lock: true, on: connection)
            guard item.isImage, let blobID = item.blobID, let contentType = item.contentType else {
                throw ProblemError(
                    .conflict, type: "https://cirrus.dev/problems/not-an-image", title: "Not an image",
                    detail: "Only images have thumbnails; this file is \(item.contentType ?? "of no known type").")
            }
            guard item.thumbnailStatus != "ready" else {
                throw ProblemError.conflict("This file's thumbnails are ready; there is nothing to retry.")
            }
            guard let account = try await drive.accounts.find(access.ownerID, on: connection) else { throw ProblemError.notFound("file") }
            guard !account.tier.thumbnailSizes.isEmpty else {
                throw ProblemError.conflict("Your tier has no thumbnail sizes.")
            }
            try await connection.query(
                """
                UPDATE items SET thumbnail_status = 'pending', thumbnail_failure = NULL, thumbnail_failure_detail = NULL
                WHERE id = \(fileID)
                """, logger: logger)
            try await thumbnails.request(
                fileID: fileID, owner: access.ownerID, blobID: blobID, contentType: contentType,
                sizes: account.tier.thumbnailSizes, reason: .onDemand, trace: trace, on: connection)
            return try await drive.item(fileID, owner: access.ownerID, on: connection)
        }
    }

    /// Was this upload's content a version of the file once (and pruned since)? Then it was
    /// already released with the version.
    private func isPastContent(_ content: StoredContent, on connection: PostgresConnection) async throws -> Bool {
        for try await _ in try await connection.query("SELECT 1 FROM versions WHERE content_id = \(content.uploadID)", logger: logger) { return true }
        return false
    }

    /// Keep the newest `maxVersions` versions; the rest leave the quota and blob releases them.
    func pruneVersions(of fileID: UUID, owner: UUID, trace: TraceContext, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            DELETE FROM versions WHERE file_id = \(fileID) AND content_id IN (
                SELECT content_id FROM versions WHERE file_id = \(fileID) ORDER BY version DESC OFFSET \(settings.maxVersions)
            ) RETURNING content_id, blob_id, size
            """, logger: logger)
        var pruned: [(contentID: UUID, blobID: String, size: Int64)] = []
        for try await (contentID, blobID, size) in rows.decode((UUID, String, Int64).self) { pruned.append((contentID, blobID, size)) }
        guard !pruned.isEmpty else { return }
        let freed = pruned.reduce(0) { $0 + $1.size }
        try await connection.query("UPDATE users SET used_bytes = GREATEST(used_bytes - \(freed), 0) WHERE id = \(owner)", logger: logger)
        let event = FileDeleted(
            fileID: fileID, ownerID: owner, blobIDs: Array(Set(pruned.map(\.blobID))).sorted(), referenceIDs: pruned.map(\.contentID))
        try await Outbox.enqueue(EventEnvelope(producer: "metadata", trace: trace, payload: event), on: connection, logger: logger)
    }

    /// Complete from blob's signed receipt (the gateway's synchronous path).
    func complete(_ identity: Identity, uploadID: UUID, receipt: String?, trace: TraceContext) async throws -> Item {
        guard let receipt else { throw ProblemError.validation(field: "receipt", "is required") }
        let grant: InternalGrant
        do { grant = try signer.verify(receipt, purpose: .receipt) } catch {
            throw ProblemError.validation(field: "receipt", "is not a valid receipt from blob")
        }
        guard grant.uploadID == uploadID, let fileID = grant.fileID, let blobID = grant.blobID,
            let sha256 = grant.sha256, let size = grant.size, let contentType = grant.contentType,
            try await madeBy(identity.userID, uploadID: uploadID, owner: grant.ownerID, fileID: fileID)
        else {
            throw ProblemError.validation(field: "receipt", "does not belong to this upload")
        }
        let content = StoredContent(
            uploadID: uploadID, fileID: fileID, ownerID: grant.ownerID, blobID: blobID, sha256: sha256, size: size, contentType: contentType)
        let completion = try await client.transaction(logger: logger) { try await complete(content, trace: trace, on: $0) }
        switch completion {
        case .completed(let item), .alreadyCompleted(let item): return item
        case .orphaned:
            throw ProblemError(
                .gone, detail: "The upload's reservation expired or was cancelled, or your share no longer lets you write there; nothing was kept.")
        }
    }

    /// Is the upload the caller's? Their own drive's, or one they made as an editor; once
    /// completed (the reservation gone), the caller must still reach the file, since the
    /// answer is the file. A reservation that ended without completing (expired, cancelled,
    /// ended with an editor's share) answers 410 to whoever holds blob's receipt: nothing to see.
    private func madeBy(_ caller: UUID, uploadID: UUID, owner: UUID, fileID: UUID) async throws -> Bool {
        for try await madeBy in try await client.query(
            "SELECT COALESCE(created_by, owner_id) FROM uploads WHERE id = \(uploadID) AND owner_id = \(owner)", logger: logger
        ).decode(UUID.self) { return madeBy == caller }
        if owner == caller { return true }
        if (try? await drive.accessible(fileID, caller: caller, kind: .file)) != nil { return true }
        for try await _ in try await client.query(
            """
            SELECT 1 FROM items WHERE id = \(fileID) AND owner_id = \(owner) AND content_id = \(uploadID)
            UNION ALL SELECT 1 FROM versions WHERE content_id = \(uploadID)
            """, logger: logger)
        {
            return false
        }
        return true
    }

    /// Copy `fileID` (which the caller may read, in another owner's drive) into the caller's
    /// folder `parentID`: a new file of the folder's owner, charged to them, its bytes copied
    /// by blob (contents are per owner). The upload flow, with blob reading instead of a client.
    func copyAcross(_ identity: Identity, fileID: UUID, parentID: UUID, name: String?, blob: BlobClient, trace: TraceContext) async throws -> Item {
        let content = try await drive.content(of: fileID, version: nil, caller: identity.userID)
        // The reservation lasts as long as blob may take to copy (the expiry job would end it
        // under a long copy otherwise).
        let reservation = try await reserve(
            identity, folderID: parentID, name: name ?? content.item.name, replacing: nil, declaredSize: content.size,
            lifetime: .seconds(BlobClient.copyTimeout.nanoseconds / 1_000_000_000))
        let source = signer.sign(InternalGrant(purpose: .read, ownerID: content.owner, blobID: content.blobID, lifetime: .seconds(300)))
        do {
            let receipt = try await blob.copy(into: reservation, source: source)
            return try await complete(identity, uploadID: reservation.uploadID, receipt: receipt, trace: trace)
        } catch {
            try? await cancel(identity, uploadID: reservation.uploadID)
            throw error
        }
    }

    /// Give up a reservation (the upload failed): the pending file disappears, the quota is freed.
    func cancel(_ identity: Identity, uploadID: UUID) async throws {
        try await client.transaction(logger: logger) { connection in
            var owner: UUID?
            for try await found in try await connection.query(
                "SELECT owner_id FROM uploads WHERE id = \(uploadID) AND COALESCE(created_by, owner_id) = \(identity.userID)", logger: logger
            ).decode(UUID.self) { owner = found }
            guard let owner else { throw ProblemError.notFound("upload") }
            _ = try await drive.accounts.find(owner, lock: true, on: connection)  // before the upload's row, as everywhere
            guard try await drive.release(uploadID: uploadID, owner: owner, on: connection) else { throw ProblemError.notFound("upload") }
        }
    }

    /// Expire reservations whose bytes never came. Returns how many. Each owner's account row
    /// is locked before their uploads' rows (the order of completions and purges), and never
    /// waited for: an owner busy in another transaction is left for the next round.
    func expire(limit: Int = 500) async throws -> Int {
        try await client.transaction(logger: logger) { connection in
            var expired: [(upload: UUID, owner: UUID)] = []
            for try await r in try await connection.query(
                "SELECT id, owner_id FROM uploads WHERE expires_at < now() ORDER BY owner_id, id LIMIT \(limit)", logger: logger
            ).decode((UUID, UUID).self) { expired.append(r) }
            var count = 0
            var owner: (id: UUID, locked: Bool)?
            for (upload, uploadOwner) in expired {
                if owner?.id != uploadOwner {
                    var locked = false
                    for try await _ in try await connection.query(
                        "SELECT 1 FROM users WHERE id = \(uploadOwner) FOR UPDATE SKIP LOCKED", logger: logger)
                    {
                        locked = true
                    }
                    owner = (uploadOwner, locked)
                }
                guard owner?.locked == true else { continue }
                if try await drive.release(uploadID: upload, owner: uploadOwner, expiredOnly: true, on: connection) { count += 1 }
            }
            return count
        }
    }
}

extension Drive {
    /// May `caller` still write what their upload `fileID` (in `owner`'s drive) writes? The
    /// owner always; an editor while the share still makes them one: of the file it replaces,
    /// or of the folder a new file goes into.
    func mayStillWrite(_ caller: UUID, owner: UUID, fileID: UUID, replaces: Bool, on connection: PostgresConnection) async throws -> Bool {
        if caller == owner { return true }
        var target = fileID
        if !replaces {
            var parent: UUID?
            for try await found in try await connection.query(
                "SELECT parent_id FROM items WHERE id = \(fileID) AND owner_id = \(owner)", logger: logger
            ).decode(UUID?.self) { parent = found }
            guard let parent else { return false }
            target = parent
        }
        guard let access = try await sharedAccess(to: target, caller: caller, on: connection) else { return false }
        return access.ownerID == owner && access.role >= .editor
    }

    /// Give up reservation `uploadID` of `owner` (`expiredOnly`: only if it has expired): the
    /// owner's reserved bytes go back, a new file's pending item goes. False when it was gone.
    @discardableResult
    func release(uploadID: UUID, owner: UUID, expiredOnly: Bool = false, on connection: PostgresConnection) async throws -> Bool {
        var upload: (file: UUID, replaces: Bool, reserved: Int64)?
        for try await (file, replaces, reserved) in try await connection.query(
            """
            DELETE FROM uploads WHERE id = \(uploadID) AND owner_id = \(owner) AND (\(!expiredOnly) OR expires_at < now())
            RETURNING file_id, replaces, reserved_bytes
            """, logger: logger
        ).decode((UUID, Bool, Int64).self) { upload = (file, replaces, reserved) }
        guard let upload else { return false }
        try await connection.query(
            "UPDATE users SET reserved_bytes = GREATEST(reserved_bytes - \(upload.reserved), 0) WHERE id = \(owner)", logger: logger)
        if !upload.replaces {
            try await connection.query("DELETE FROM items WHERE id = \(upload.file) AND state = 'pending'", logger: logger)
        }
        return true
    }

    /// End the uploads `creator` is making in `owner`'s drive that their shares no longer
    /// allow (a share revoked or lowered to viewer): each reservation freed, its pending file
    /// gone; bytes that arrive later are orphans blob is told to collect. The caller holds the
    /// owner's account lock.
    func releaseLostUploads(creator: UUID, owner: UUID, on connection: PostgresConnection) async throws {
        var made: [(upload: UUID, file: UUID, replaces: Bool)] = []
        for try await row in try await connection.query(
            "SELECT id, file_id, replaces FROM uploads WHERE owner_id = \(owner) AND created_by = \(creator) ORDER BY id", logger: logger
        ).decode((UUID, UUID, Bool).self) { made.append(row) }
        for upload in made {
            guard try await !mayStillWrite(creator, owner: owner, fileID: upload.file, replaces: upload.replaces, on: connection) else { continue }
            try await release(uploadID: upload.upload, owner: owner, on: connection)
        }
    }
}
