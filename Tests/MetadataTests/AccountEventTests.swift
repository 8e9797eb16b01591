import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Testing

@testable import Blob
@testable import Metadata

/// auth's account events as metadata applies them: a deleted user's drive is purged once
/// (every content released to blob, late bytes too), and a lowered tier refuses what no
/// longer fits without touching what is stored.
@Suite("Metadata account events", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct AccountEventTests {
    func count(_ h: MetadataHarness, _ query: PostgresQuery, on client: PostgresClient? = nil) async throws -> Int {
        var result = -1
        for try await value in try await (client ?? h.client).query(query, logger: TestDatabase.logger).decode(Int.self) { result = value }
        return result
    }

    /// The rows metadata keeps for `user`, table by table.
    func rows(_ h: MetadataHarness, of user: UUID) async throws -> [String: Int] {
        [
            "users": try await count(h, "SELECT count(*)::int FROM users WHERE id = \(user)"),
            "items": try await count(h, "SELECT count(*)::int FROM items WHERE owner_id = \(user)"),
            "versions": try await count(h, "SELECT count(*)::int FROM versions WHERE owner_id = \(user)"),
            "uploads": try await count(h, "SELECT count(*)::int FROM uploads WHERE owner_id = \(user)"),
        ]
    }

    /// What blob does with metadata's `file.deleted` events (its own handler, its own database).
    func deliverFileDeletedToBlob(_ h: MetadataHarness) async throws {
        let handler = FileDeletedHandler(index: BlobIndex(client: h.blobDatabase, logger: TestDatabase.logger))
        let rows = try await h.client.query(
            "SELECT payload FROM cirrus_outbox WHERE topic = \(FileDeleted.topic.rawValue) ORDER BY id", logger: TestDatabase.logger)
        for try await payload in rows.decode(ByteBuffer.self) {
            try await handler.handle(try ContractCoding.decoder().decode(EventEnvelope<FileDeleted>.self, from: Data(buffer: payload)))
        }
    }

    @Test func aDeletedUsersDriveIsPurgedOnceAndBytesArrivingLaterAreReleased() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let other = try await h.newUser()
            let docs = try await h.mkdir(user, "docs")
            let deep = try await h.mkdir(user, "deep", in: docs)
            let a = try await h.upload(user, Array("alpha".utf8), name: "a.txt")
            let b = try await h.upload(user, Array("bravo, first".utf8), name: "b.txt", in: deep)
            let bNow = try await h.upload(user, Array("bravo, second".utf8), name: "", replacing: UUID(uuidString: b["id"] as! String)!)
            let copy = try h.json(
                try await h.send(.post, "/v1/files/\(a["id"] as! String)/copy", json: ["parent_id": docs.uuidString], token: user.token), .created)
            let trashed = try await h.upload(user, Array("charlie".utf8), name: "c.txt", in: docs)
            #expect(try await h.send(.delete, "/v1/files/\(trashed["id"] as! String)", token: user.token).status == .noContent)
            // An upload in flight: reserved, its bytes not arrived yet.
            let reservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "late.png", "folder_id": docs.uuidString, "size": FileTests.png.count],
                    token: user.token), .created)
            let uploadID = UUID(uuidString: reservation["upload_id"] as! String)!
            let kept = try await h.upload(other, Array("someone else's".utf8), name: "o.txt")
            #expect(try await rows(h, of: user.id) == ["users": 1, "items": 8, "versions": 1, "uploads": 1])
            let othersRows = try await rows(h, of: other.id)

            let deleted = EventEnvelope(producer: "auth", payload: UserDeleted(userID: user.id))
            try await h.app.events.userDeleted(deleted)
            try await h.app.events.userDeleted(deleted)  // redelivered: no second effect

            #expect(try await rows(h, of: user.id) == ["users": 0, "items": 0, "versions": 0, "uploads": 0])
            #expect(try await rows(h, of: other.id) == othersRows)
            // One file.deleted per file (trashed ones too; none for the pending file), naming every
            // content of it (current and versions) and no references: all of the file's go.
            let blob = { (file: [String: Any]) in "sha256:" + (file["sha256"] as! String) }
            let expected: [UUID: [String]] = [
                UUID(uuidString: a["id"] as! String)!: [blob(a)],
                UUID(uuidString: b["id"] as! String)!: [blob(b), blob(bNow)].sorted(),
                UUID(uuidString: copy["id"] as! String)!: [blob(a)],
                UUID(uuidString: trashed["id"] as! String)!: [blob(trashed)],
            ]
            let events = try await h.outbox(FileDeleted.self)
            #expect(events.count == expected.count)
            #expect(Dictionary(events.map { ($0.fileID, $0.blobIDs.sorted()) }, uniquingKeysWith: { $0 + $1 }) == expected)
            #expect(events.allSatisfy { $0.ownerID == user.id && $0.referenceIDs == nil })

            // Blob, given those events, keeps no reference of the user; the other user's stays.
            try await deliverFileDeletedToBlob(h)
            #expect(try await count(h, "SELECT count(*)::int FROM blob_refs WHERE owner_id = \(user.id)", on: h.blobDatabase) == 0)
            #expect(try await count(h, "SELECT count(*)::int FROM blobs WHERE owner_id = \(user.id) AND ref_count <> 0", on: h.blobDatabase) == 0)
            #expect(try await count(h, "SELECT count(*)::int FROM blobs WHERE owner_id = \(other.id) AND ref_count = 1", on: h.blobDatabase) == 1)
            #expect(kept["state"] as? String == "ready")

            // The in-flight upload's bytes arrive afterwards: the receipt is refused as gone (and
            // does not bring the user back), the event is no error, blob is told to drop them.
            let reply = try await h.putToBlob(reservation, FileTests.png)
            #expect(try await count(h, "SELECT count(*)::int FROM blob_refs WHERE owner_id = \(user.id)", on: h.blobDatabase) == 1)
            #expect(
                try await h.send(.post, "/internal/uploads/\(uploadID)/complete", json: ["receipt": reply["receipt"]!], token: user.token).status
                    == .gone)
            let late = EventEnvelope(
                producer: "blob",
                payload: FileUploaded(
                    fileID: UUID(uuidString: reservation["file_id"] as! String)!, ownerID: user.id, uploadID: uploadID,
                    blobID: reply["blob_id"] as! String, sha256: reply["sha256"] as! String, size: Int64(FileTests.png.count),
                    contentType: "image/png"))
            try await h.app.events.fileUploaded(late)
            let released = try await h.outbox(FileDeleted.self).filter { $0.referenceIDs == [uploadID] }
            #expect(released.count == 2, "one per completion attempt; blob's release is idempotent")
            #expect(released.allSatisfy { $0.blobIDs == [reply["blob_id"] as! String] && $0.ownerID == user.id })
            try await deliverFileDeletedToBlob(h)
            #expect(try await count(h, "SELECT count(*)::int FROM blob_refs WHERE owner_id = \(user.id)", on: h.blobDatabase) == 0)
            #expect(try await rows(h, of: user.id) == ["users": 0, "items": 0, "versions": 0, "uploads": 0])
            // Their access token is still valid for a while: it cannot set up a new drive.
            #expect(try await h.send(.get, "/v1/folders/root", token: user.token).status == .unauthorized)
            #expect(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "again.txt", "folder_id": user.root.uuidString, "size": 1], token: user.token
                ).status != .created)
            #expect(try await rows(h, of: user.id) == ["users": 0, "items": 0, "versions": 0, "uploads": 0])
        }
    }

    @Test func aLoweredTierRefusesWhatNoLongerFitsAndDeletesNothing() async throws {
        try await MetadataHarness.run { h in
            let tier = MetadataHarness.tier(quota: 10_000, maxUpload: 5_000)
            let user = try await h.newUser(tier: tier)
            let stored = try await h.upload(user, Array(repeating: 7, count: 2_000), name: "big.bin")
            let id = stored["id"] as! String
            @Sendable func reserve(_ name: String, _ size: Int?) async throws -> HTTPResponse.Status {
                var body: [String: Any] = ["name": name, "folder_id": user.root.uuidString]
                if let size { body["size"] = size }
                return try await h.send(.post, "/internal/uploads", json: body, token: user.token).status
            }
            @Sendable func copy(_ name: String) async throws -> HTTPResponse.Status {
                try await h.send(.post, "/v1/files/\(id)/copy", json: ["parent_id": user.root.uuidString, "name": name], token: user.token).status
            }

            // Quota 2,500 (2,000 used), uploads of at most 1,000 bytes.
            var lowered = tier
            lowered.quotaBytes = 2_500
            lowered.maxUploadBytes = 1_000
            let event = EventEnvelope(producer: "auth", payload: TierUpdated(tier: lowered, deleted: false))
            try await h.app.events.tierUpdated(event)
            try await h.app.events.tierUpdated(event)
            #expect(try await reserve("too-large", 1_001) == .contentTooLarge)
            #expect(try await reserve("over-quota", 600).code == 507)
            #expect(try await copy("copy-1").code == 507)
            let fits = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "fits", "folder_id": user.root.uuidString, "size": 500], token: user.token), .created)
            #expect(try await h.usage(user) == (2_000, 500))

            // Below what is stored already: every new reservation and copy is refused.
            lowered.quotaBytes = 1_000
            try await h.app.events.tierUpdated(EventEnvelope(producer: "auth", payload: TierUpdated(tier: lowered, deleted: false)))
            #expect(try await reserve("one-byte", 1).code == 507)
            #expect(try await reserve("undeclared", nil).code == 507)
            #expect(try await copy("copy-2").code == 507)

            // Nothing stored went: the file, its content, its use and its blob reference are there.
            let file = try h.json(try await h.send(.get, "/v1/files/\(id)", token: user.token), .ok)
            #expect(file["size"] as? Int == 2_000)
            #expect(try await h.send(.get, "/internal/files/\(id)/content", token: user.token).status == .ok)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(user.root)/children", token: user.token), .ok)) == ["big.bin"])
            #expect(try await h.outbox(FileDeleted.self).isEmpty)
            #expect(try await h.blobStore.list(prefix: "blobs/").count == 1)
            #expect(try await count(h, "SELECT count(*)::int FROM blobs WHERE ref_count = 1", on: h.blobDatabase) == 1)
            #expect(try await h.usage(user) == (2_000, 500))

            // A reservation made before the change keeps its amount: it completes (documented).
            let reply = try await h.putToBlob(fits, Array(repeating: 8, count: 500))
            #expect(
                try await h.send(
                    .post, "/internal/uploads/\(fits["upload_id"] as! String)/complete", json: ["receipt": reply["receipt"]!], token: user.token
                ).status == .ok)
            #expect(try await h.usage(user) == (2_500, 0))
            #expect(try await reserve("still-over", 1).code == 507)
        }
    }
}
