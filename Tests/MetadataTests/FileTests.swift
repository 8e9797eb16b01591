import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

@testable import Metadata

/// Files: reservations and their completion (from blob's receipt and, idempotently, its
/// event), quotas under parallel uploads, copies, versions, and the thumbnail requests.
@Suite("Metadata files", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct FileTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 1, count: 100)

    @Test func aReservedFileIsInvisibleUntilReadyAndTheEventCompletesItOnlyOnce() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let reservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "a.png", "folder_id": user.root.uuidString, "size": Self.png.count], token: user.token),
                .created)
            let fileID = reservation["file_id"] as! String
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: user.token).status == .notFound)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(user.root)/children", token: user.token), .ok)).isEmpty)
            #expect(try await h.usage(user).reserved == Int64(Self.png.count))
            // The name is held meanwhile.
            let clash = try await h.send(.post, "/internal/uploads", json: ["name": "a.png", "folder_id": user.root.uuidString], token: user.token)
            #expect(clash.status == .conflict)
            let reply = try await h.putToBlob(reservation, Self.png)
            // The event arrives first (the gateway's call is slow), then the receipt, then the event again.
            let event = EventEnvelope(
                producer: "blob",
                payload: FileUploaded(
                    fileID: UUID(uuidString: fileID)!, ownerID: user.id, uploadID: UUID(uuidString: reservation["upload_id"] as! String)!,
                    blobID: reply["blob_id"] as! String, sha256: reply["sha256"] as! String, size: Int64(Self.png.count), contentType: "image/png"))
            try await h.app.events.fileUploaded(event)
            let completed = try h.json(
                try await h.send(
                    .post, "/internal/uploads/\(reservation["upload_id"] as! String)/complete",
                    json: ["receipt": reply["receipt"]!], token: user.token), .ok)
            try await h.app.events.fileUploaded(EventEnvelope(producer: "blob", payload: event.payload))
            #expect(completed["state"] as? String == "ready")
            #expect(completed["content_type"] as? String == "image/png")
            #expect(completed["size"] as? Int == Self.png.count)
            #expect(try await h.usage(user) == (Int64(Self.png.count), 0))
            // One thumbnail request, with the tier's sizes.
            let requests = try await h.outbox(ThumbnailRequested.self)
            #expect(requests.count == 1)
            #expect(requests.first?.sizes == [200])
            #expect(requests.first?.reason == .upload)
            let file = try h.json(try await h.send(.get, "/v1/files/\(fileID)", token: user.token), .ok)
            #expect((file["thumbnails"] as? [String: Any])?["status"] as? String == "pending")
        }
    }

    @Test func purgingAFolderWhileAnUploadIsInFlightFreesTheReservationAndReleasesTheLateBytes() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let folder = try await h.mkdir(user, "inbox")
            let reservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "late.png", "folder_id": folder.uuidString, "size": Self.png.count],
                    token: user.token), .created)
            let uploadID = UUID(uuidString: reservation["upload_id"] as! String)!
            #expect(try await h.usage(user).reserved == Int64(Self.png.count))
            #expect(try await h.send(.delete, "/v1/folders/\(folder)", token: user.token).status == .noContent)
            #expect(try await h.send(.delete, "/v1/trash/\(folder)", token: user.token).status == .noContent)
            #expect(try await h.usage(user) == (0, 0), "the purge freed the reservation")
            // The bytes land afterwards: the receipt is refused as gone, the event is no error, and
            // blob is told (once) to drop the reference so nothing leaks.
            let reply = try await h.putToBlob(reservation, Self.png)
            #expect(
                try await h.send(.post, "/internal/uploads/\(uploadID)/complete", json: ["receipt": reply["receipt"]!], token: user.token).status
                    == .gone)
            let event = EventEnvelope(
                producer: "blob",
                payload: FileUploaded(
                    fileID: UUID(uuidString: reservation["file_id"] as! String)!, ownerID: user.id, uploadID: uploadID,
                    blobID: reply["blob_id"] as! String, sha256: reply["sha256"] as! String, size: Int64(Self.png.count), contentType: "image/png"))
            try await h.app.events.fileUploaded(event)
            let released = try await h.outbox(FileDeleted.self).filter { $0.referenceIDs?.contains(uploadID) == true }
            #expect(released.count == 2, "one per completion attempt; blob's release is idempotent")
            #expect(released.allSatisfy { $0.blobIDs == [reply["blob_id"] as! String] })
            #expect(try await h.usage(user) == (0, 0))
        }
    }

    @Test func receiptsAreCheckedAndCancelledOrExpiredReservationsLetGo() async throws {
        var settings = MetadataSettings()
        settings.uploadTTL = .seconds(60)
        try await MetadataHarness.run(settings: settings) { h in
            let user = try await h.newUser()
            let other = try await h.newUser()
            let reservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "x.bin", "folder_id": user.root.uuidString, "size": 10], token: user.token), .created)
            let upload = reservation["upload_id"] as! String
            let forged = InternalGrantSigner(secrets: ["not-the-secret-0123456789abcdefghijkl"]).sign(
                InternalGrant(
                    purpose: .receipt, ownerID: user.id, fileID: UUID(uuidString: reservation["file_id"] as! String),
                    uploadID: UUID(uuidString: upload),
                    blobID: "sha256:00", sha256: "00", size: 1, contentType: "text/plain"))
            let refused = try await h.send(.post, "/internal/uploads/\(upload)/complete", json: ["receipt": forged], token: user.token)
            #expect(refused.status == .unprocessableContent)
            #expect(String(buffer: refused.body).contains("\"field\":\"receipt\""))
            // Someone else's genuine receipt does not complete this user's upload.
            let theirs = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "y.bin", "folder_id": other.root.uuidString, "size": 3], token: other.token), .created)
            let theirReceipt = try await h.putToBlob(theirs, [1, 2, 3])["receipt"]!
            #expect(
                try await h.send(.post, "/internal/uploads/\(upload)/complete", json: ["receipt": theirReceipt], token: user.token).status
                    == .unprocessableContent)
            // Cancelled: the name and the quota are free again.
            #expect(try await h.send(.delete, "/internal/uploads/\(upload)", token: user.token).status == .noContent)
            #expect(try await h.usage(user).reserved == 0)
            _ = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "x.bin", "folder_id": user.root.uuidString, "size": 10], token: user.token), .created)
            // Expired: the sweep releases it.
            try await h.client.query("UPDATE uploads SET expires_at = now() - interval '1 second'", logger: TestDatabase.logger)
            #expect(try await h.app.uploads.expire() == 2)
            #expect(try await h.usage(user).reserved == 0)
            // Bytes arriving after expiry are released back to blob (nothing points at them).
            let content = StoredContent(
                uploadID: UUID(uuidString: theirs["upload_id"] as! String)!, fileID: UUID(uuidString: theirs["file_id"] as! String)!,
                ownerID: other.id, blobID: "sha256:abc", sha256: "abc", size: 3, contentType: "text/plain")
            let late = try await h.client.transaction(logger: TestDatabase.logger) {
                try await h.app.uploads.complete(content, trace: TraceContext(), on: $0)
            }
            guard case .orphaned = late else {
                Issue.record("expected orphaned")
                return
            }
            #expect(try await h.outbox(FileDeleted.self).first?.referenceIDs == [UUID(uuidString: theirs["upload_id"] as! String)!])
        }
    }

    @Test func parallelUploadsCannotOvershootTheQuota() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser(tier: MetadataHarness.tier(quota: 1000, maxUpload: 400))
            #expect(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "big", "folder_id": user.root.uuidString, "size": 401], token: user.token
                ).status == .contentTooLarge)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<10 {
                    group.addTask {
                        try await h.send(
                            .post, "/internal/uploads", json: ["name": "part\(i)", "folder_id": user.root.uuidString, "size": 300], token: user.token
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 3)
            #expect(statuses.filter { $0.code == 507 }.count == 7)
            #expect(try await h.usage(user).reserved == 900)
            // Without a declared size the reservation takes what is left (at most the largest upload).
            let open = try h.json(
                try await h.send(.post, "/internal/uploads", json: ["name": "open", "folder_id": user.root.uuidString], token: user.token), .created)
            #expect(open["max_bytes"] as? Int == 100)
            #expect(
                try await h.send(.post, "/internal/uploads", json: ["name": "none", "folder_id": user.root.uuidString], token: user.token).status.code
                    == 507)
        }
    }

    @Test func aTierChangeAppliesAtOnceToQuotaAndThumbnails() async throws {
        try await MetadataHarness.run { h in
            let small = MetadataHarness.tier(sizes: [200], quota: 200)
            let user = try await h.newUser(tier: small)
            let image = try await h.upload(user, Self.png, name: "p.png")
            #expect(
                try await h.send(.post, "/internal/uploads", json: ["name": "n", "folder_id": user.root.uuidString, "size": 150], token: user.token)
                    .status.code == 507)
            let bigger = MetadataHarness.tier(sizes: [200, 400], quota: 10_000)
            let changed = EventEnvelope(producer: "auth", payload: UserTierChanged(userID: user.id, previousTierID: small.id, tier: bigger))
            try await h.app.events.userTierChanged(changed)
            try await h.app.events.userTierChanged(changed)  // redelivered: no second request
            #expect(
                try await h.send(.post, "/internal/uploads", json: ["name": "n", "folder_id": user.root.uuidString, "size": 150], token: user.token)
                    .status == .created)
            let requests = try await h.outbox(ThumbnailRequested.self)
            #expect(requests.map(\.sizes) == [[200], [200, 400]])
            // Thumbnail reports back: sizes recorded, and a size already there is not requested again.
            let blobID = "sha256:" + (image["sha256"] as! String)
            let fileID = UUID(uuidString: image["id"] as! String)!
            try await h.app.events.thumbnailGenerated(
                EventEnvelope(
                    producer: "thumbnail",
                    payload: ThumbnailGenerated(
                        fileID: fileID, ownerID: user.id, blobID: blobID,
                        thumbnails: [.init(size: 200, width: 200, height: 200, bytes: 900, format: "jpeg")])))
            let file = try h.json(try await h.send(.get, "/v1/files/\(fileID)", token: user.token), .ok)
            #expect((file["thumbnails"] as? [String: Any])?["sizes"] as? [Int] == [200])
            #expect((file["thumbnails"] as? [String: Any])?["status"] as? String == "ready")
            // The tier gains a size: only the missing one is requested.
            var evenBigger = bigger
            evenBigger.thumbnailSizes = [200, 400, 800]
            try await h.app.events.tierUpdated(EventEnvelope(producer: "auth", payload: TierUpdated(tier: evenBigger, deleted: false)))
            #expect(try await h.outbox(ThumbnailRequested.self).last?.sizes == [400, 800])
            // The reconciler asks again once the grace period passed without an answer — but not
            // while the last request is still in the outbox (no relay runs here: it is).
            try await h.client.query(
                "UPDATE items SET thumbnail_requested_at = now() - interval '1 hour' WHERE id = \(fileID)", logger: TestDatabase.logger)
            #expect(try await h.app.uploads.thumbnails.reconcile(grace: .seconds(60)) == 0)
            try await h.client.query("UPDATE cirrus_outbox SET published_at = now() WHERE published_at IS NULL", logger: TestDatabase.logger)
            #expect(try await h.app.uploads.thumbnails.reconcile(grace: .seconds(60)) == 1)
            #expect(try await h.outbox(ThumbnailRequested.self).last?.reason == .reconcile)
            // A failure stops the requests.
            try await h.app.events.thumbnailFailed(
                EventEnvelope(
                    producer: "thumbnail",
                    payload: ThumbnailFailed(
                        fileID: fileID, ownerID: user.id, blobID: blobID, reason: .undecodable, detail: "not an image")))
            try await h.client.query(
                "UPDATE items SET thumbnail_requested_at = now() - interval '1 hour' WHERE id = \(fileID)", logger: TestDatabase.logger)
            #expect(try await h.app.uploads.thumbnails.reconcile(grace: .seconds(60)) == 0)
        }
    }

    @Test func copiesShareContentAndVersionsKeepTheLastN() async throws {
        var settings = MetadataSettings()
        settings.maxVersions = 2
        try await MetadataHarness.run(settings: settings) { h in
            let user = try await h.newUser()
            let folder = try await h.mkdir(user, "dest")
            let original = try await h.upload(user, Array("version 1".utf8), name: "doc.txt")
            let id = original["id"] as! String
            // Copy: a new file, same content, one more reference in blob, no new object.
            let copy = try h.json(
                try await h.send(.post, "/v1/files/\(id)/copy", json: ["parent_id": folder.uuidString], token: user.token), .created)
            #expect(copy["sha256"] as? String == original["sha256"] as? String)
            #expect(copy["id"] as? String != id)
            #expect(try await h.blobStore.list(prefix: "blobs/").count == 1)
            let refs = try await h.blobDatabase.query("SELECT ref_count FROM blobs", logger: TestDatabase.logger)
            for try await count in refs.decode(Int.self) { #expect(count == 2) }
            #expect(try await h.usage(user).used == 18)
            #expect(try await h.send(.post, "/v1/files/\(id)/copy", json: ["parent_id": folder.uuidString], token: user.token).status == .conflict)
            // Replace the content three times: versions 1..3 are kept as 2 (the last N = 2).
            for n in 2...4 { _ = try await h.upload(user, Array("version \(n)".utf8), name: "", replacing: UUID(uuidString: id)!) }
            let current = try h.json(try await h.send(.get, "/v1/files/\(id)", token: user.token), .ok)
            #expect(current["version"] as? Int == 4)
            let versions =
                (try h.json(try await h.send(.get, "/v1/files/\(id)/versions", token: user.token), .ok)["versions"] as? [[String: Any]]) ?? []
            #expect(versions.map { $0["version"] as? Int } == [3, 2])
            // The pruned version 1 is released by reference only (the copy still uses its bytes).
            let pruned = try await h.outbox(FileDeleted.self)
            #expect(pruned.count == 1)
            #expect(pruned.first?.referenceIDs?.count == 1)
            // 9 bytes each: copy + current + 2 versions.
            #expect(try await h.usage(user).used == 36)
            // An old version's content can be fetched for download.
            let old = try h.json(
                try await h.send(.get, "/internal/files/\(id)/content?version=\(versions[1]["id"] as! String)", token: user.token), .ok)
            #expect(old["size"] as? Int == 9)
            #expect(old["blob_id"] as? String != current["sha256"].map { "sha256:\($0)" } as? String)
            #expect(try await h.send(.get, "/internal/files/\(id)/content?version=\(UUID())", token: user.token).status == .notFound)
        }
    }
}
