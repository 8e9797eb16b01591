import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

@testable import Metadata

/// Shares and public links in metadata, with a real database and blob (docs/sharing.md):
/// access resolved on every request, the owner's quota for an editor's writes, events in the
/// outbox, copies across drives, and what ends a share or a link.
@Suite("Metadata sharing", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct SharingTests {
    func name(_ user: MetadataHarness.User, _ h: MetadataHarness) -> String { h.names.name(of: user.id)! }

    func share(
        _ h: MetadataHarness, _ owner: MetadataHarness.User, _ id: UUID, with user: MetadataHarness.User, role: String? = nil,
        kind: String = "folders"
    )
        async throws -> [String: Any]
    {
        var body: [String: Any] = ["user": name(user, h)]
        if let role { body["role"] = role }
        return try h.json(try await h.send(.post, "/v1/\(kind)/\(id)/shares", json: body, token: owner.token), .created)
    }

    @Test func rolesDecideWhatRecipientsMayDoAndRevocationIsImmediate() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let viewer = try await h.newUser()
            let editor = try await h.newUser()
            let stranger = try await h.newUser()
            let folder = try await h.mkdir(owner, "Team")
            let file = try await h.upload(owner, Array("hello".utf8), name: "a.txt", in: folder)
            let fileID = file["id"] as! String
            let viewerShare = try await share(h, owner, folder, with: viewer)
            #expect(viewerShare["role"] as? String == "viewer")
            _ = try await share(h, owner, folder, with: editor, role: "editor")

            // Reading: recipients yes (the shared folder's parent hidden), a stranger 404.
            let seen = try h.json(try await h.send(.get, "/v1/folders/\(folder)", token: viewer.token), .ok)
            #expect(seen["parent_id"] == nil)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(folder)/children", token: viewer.token), .ok)) == ["a.txt"])
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: viewer.token).status == .ok)
            #expect(try await h.send(.get, "/internal/files/\(fileID)/content", token: viewer.token).status == .ok)
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: stranger.token).status == .notFound)
            #expect(try await h.send(.get, "/v1/folders/\(folder)/children", token: stranger.token).status == .notFound)

            // Writing: the editor inside the folder, never the shared folder itself; the viewer not at all.
            #expect(try await h.send(.patch, "/v1/files/\(fileID)", json: ["name": "b.txt"], token: viewer.token).status == .forbidden)
            #expect(try await h.send(.patch, "/v1/files/\(fileID)", json: ["name": "b.txt"], token: editor.token).status == .ok)
            #expect(try await h.send(.patch, "/v1/folders/\(folder)", json: ["name": "Mine"], token: editor.token).status == .forbidden)
            #expect(try await h.send(.delete, "/v1/folders/\(folder)", token: editor.token).status == .forbidden)
            let moved = try await h.send(.patch, "/v1/files/\(fileID)", json: ["parent_id": editor.root.uuidString], token: editor.token)
            #expect(moved.status == .unprocessableContent)
            let sub = try h.json(
                try await h.send(.post, "/v1/folders", json: ["name": "Sub", "parent_id": folder.uuidString], token: editor.token), .created)
            #expect(
                try await h.send(.post, "/v1/folders", json: ["name": "No", "parent_id": folder.uuidString], token: viewer.token).status == .forbidden
            )
            // The editor's folder is the owner's: the owner lists it as theirs.
            #expect(Set(h.names(try h.json(try await h.send(.get, "/v1/folders/\(folder)/children", token: owner.token), .ok))) == ["Sub", "b.txt"])
            #expect(try await h.send(.delete, "/v1/folders/\(sub["id"] as! String)", token: editor.token).status == .noContent)
            let trash = try h.json(try await h.send(.get, "/v1/trash", token: owner.token), .ok)
            #expect(h.names(trash) == ["Sub"])

            // Only the owner sees and changes the shares.
            #expect(try await h.send(.get, "/v1/folders/\(folder)/shares", token: viewer.token).status == .forbidden)
            let shares = try h.json(try await h.send(.get, "/v1/folders/\(folder)/shares", token: owner.token), .ok)
            #expect((shares["items"] as? [[String: Any]])?.count == 2)
            let shareID = viewerShare["id"] as! String
            #expect(try await h.send(.patch, "/v1/shares/\(shareID)", json: ["role": "editor"], token: viewer.token).status == .forbidden)
            #expect(try await h.send(.patch, "/v1/shares/\(shareID)", json: ["role": "editor"], token: owner.token).status == .ok)
            #expect(try await h.send(.patch, "/v1/files/\(fileID)", json: ["name": "c.txt"], token: viewer.token).status == .ok)

            // Revoked: the next request is refused.
            #expect(try await h.send(.delete, "/v1/shares/\(shareID)", token: owner.token).status == .noContent)
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: viewer.token).status == .notFound)
            #expect(try await h.send(.get, "/internal/files/\(fileID)/content", token: viewer.token).status == .notFound)
            let listed = try h.json(try await h.send(.get, "/v1/shared-with-me", token: viewer.token), .ok)
            #expect((listed["items"] as? [Any])?.isEmpty == true)

            let created = try await h.outbox(ShareCreated.self)
            #expect(created.map(\.role) == [.viewer, .editor])
            #expect(try await h.outbox(ShareUpdated.self).map(\.previousRole) == [.viewer])
            #expect(try await h.outbox(ShareRevoked.self).map(\.reason) == [.revoked])
        }
    }

    @Test func anEditorsUploadIsTheOwnersAndCountsOnTheOwnersQuota() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser(tier: MetadataHarness.tier(quota: 1000))
            let editor = try await h.newUser()
            let folder = try await h.mkdir(owner, "Drop")
            _ = try await share(h, owner, folder, with: editor, role: "editor")
            let file = try await h.upload(editor, Array(repeating: 7, count: 600), name: "up.bin", in: folder)
            #expect(file["parent_id"] as? String == folder.uuidString)
            #expect(try await h.usage(owner).used == 600)
            #expect(try await h.usage(editor).used == 0)
            // Beyond the owner's quota: 507, whatever the editor's own quota.
            let refused = try await h.send(
                .post, "/internal/uploads", json: ["name": "big.bin", "folder_id": folder.uuidString, "size": 600], token: editor.token)
            #expect(refused.status.code == 507)
            // A new version by the editor; the owner may cancel nothing of the editor's.
            let reservation = try h.json(
                try await h.send(.post, "/internal/uploads", json: ["file_id": file["id"] as! String, "size": 10], token: editor.token), .created)
            let uploadID = reservation["upload_id"] as! String
            #expect(try await h.send(.delete, "/internal/uploads/\(uploadID)", token: owner.token).status == .notFound)
            #expect(try await h.send(.get, "/internal/uploads/\(uploadID)", token: editor.token).status == .ok)
            #expect(try await h.send(.delete, "/internal/uploads/\(uploadID)", token: editor.token).status == .noContent)
        }
    }

    @Test func aRevokedEditorsUploadGetsNoGrantAndDoesNotComplete() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let editor = try await h.newUser()
            let folder = try await h.mkdir(owner, "Drop")
            let inner = try await h.mkdir(owner, "Inner", in: folder)
            let share = try await share(h, owner, folder, with: editor, role: "editor")
            func reserve(_ name: String, in folder: UUID) async throws -> [String: Any] {
                try h.json(
                    try await h.send(
                        .post, "/internal/uploads", json: ["name": name, "folder_id": folder.uuidString, "size": 5], token: editor.token),
                    .created)
            }
            func complete(_ reservation: [String: Any], _ stored: [String: Any]) async throws -> HTTPResponse.Status {
                try await h.send(
                    .post, "/internal/uploads/\(reservation["upload_id"] as! String)/complete", json: ["receipt": stored["receipt"]!],
                    token: editor.token
                ).status
            }
            // Lowered to viewer while the bytes went up: the reservation ends with the change
            // (the owner's reserved bytes back at once), no fresh grant, no completion.
            let first = try await reserve("late.bin", in: folder)
            #expect(try await h.usage(owner).reserved == 5)
            let firstStored = try await h.putToBlob(first, Array("late!".utf8))
            #expect(try await h.send(.patch, "/v1/shares/\(share["id"] as! String)", json: ["role": "viewer"], token: owner.token).status == .ok)
            #expect(try await h.usage(owner).reserved == 0)
            #expect(try await h.send(.get, "/internal/uploads/\(first["upload_id"] as! String)", token: editor.token).status == .notFound)
            #expect(try await complete(first, firstStored) == .gone)
            // The target moved out of the share (the share itself unchanged): refused when the
            // grant is asked for and at completion, then released.
            #expect(try await h.send(.patch, "/v1/shares/\(share["id"] as! String)", json: ["role": "editor"], token: owner.token).status == .ok)
            let second = try await reserve("moved.bin", in: inner)
            let secondStored = try await h.putToBlob(second, Array("moved".utf8))
            #expect(try await h.send(.patch, "/v1/folders/\(inner)", json: ["parent_id": owner.root.uuidString], token: owner.token).status == .ok)
            #expect(try await h.send(.get, "/internal/uploads/\(second["upload_id"] as! String)", token: editor.token).status == .notFound)
            #expect(try await complete(second, secondStored) == .gone)
            #expect(try await h.usage(owner).reserved == 0)
            #expect(try await h.usage(owner).used == 0)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(folder)/children", token: owner.token), .ok)) == [])
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(inner)/children", token: owner.token), .ok)) == [])
            // Blob is told to collect both contents.
            let collected = try await h.outbox(FileDeleted.self).map(\.referenceIDs)
            #expect(collected == [[UUID(uuidString: first["upload_id"] as! String)!], [UUID(uuidString: second["upload_id"] as! String)!]])
            // Back inside the share: a new upload works as before.
            #expect(try await h.upload(editor, Array("again".utf8), name: "late.bin", in: folder)["parent_id"] as? String == folder.uuidString)
            // Lowered by sharing again (POST) as viewer: the same as a PATCH.
            let third = try await reserve("third.bin", in: folder)
            #expect(try await h.usage(owner).reserved == 5)
            let lowered = try await h.send(
                .post, "/v1/folders/\(folder)/shares", json: ["user": name(editor, h), "role": "viewer"], token: owner.token)
            #expect(lowered.status == .ok)
            #expect(try await h.usage(owner).reserved == 0)
            #expect(try await h.send(.get, "/internal/uploads/\(third["upload_id"] as! String)", token: editor.token).status == .notFound)
        }
    }

    @Test func aDeletedEditorsUploadsInOthersDrivesAreReleased() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let editor = try await h.newUser()
            let folder = try await h.mkdir(owner, "Drop")
            _ = try await share(h, owner, folder, with: editor, role: "editor")
            _ = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "never.bin", "folder_id": folder.uuidString, "size": 70], token: editor.token),
                .created)
            #expect(try await h.usage(owner).reserved == 70)
            try await h.app.events.userDeleted(EventEnvelope(producer: "auth", payload: UserDeleted(userID: editor.id)))
            #expect(try await h.usage(owner).reserved == 0)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(folder)/children", token: owner.token), .ok)).isEmpty)
        }
    }

    @Test func aFileMovedOutOfTheSharedFolderIsNoLongerReachable() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let viewer = try await h.newUser()
            let folder = try await h.mkdir(owner, "Shared")
            let inner = try await h.mkdir(owner, "Deep", in: folder)
            let file = try await h.upload(owner, Array("x".utf8), name: "x.txt", in: inner)
            let fileID = file["id"] as! String
            _ = try await share(h, owner, folder, with: viewer)
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: viewer.token).status == .ok)
            // Search below the shared folder finds it too.
            let found = try h.json(try await h.send(.get, "/v1/files?folder_id=\(folder)&q=x", token: viewer.token), .ok)
            #expect(h.names(found) == ["x.txt"])
            _ = try h.json(try await h.send(.patch, "/v1/files/\(fileID)", json: ["parent_id": owner.root.uuidString], token: owner.token), .ok)
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: viewer.token).status == .notFound)
            // The trash ends access too, and restoring brings it back.
            #expect(try await h.send(.delete, "/v1/folders/\(folder)", token: owner.token).status == .noContent)
            #expect(try await h.send(.get, "/v1/folders/\(inner)", token: viewer.token).status == .notFound)
            #expect(try await h.send(.post, "/v1/trash/\(folder)/restore", token: owner.token).status == .ok)
            #expect(try await h.send(.get, "/v1/folders/\(inner)", token: viewer.token).status == .ok)
            // Purged for good: the share goes, announced.
            #expect(try await h.send(.delete, "/v1/folders/\(folder)", token: owner.token).status == .noContent)
            #expect(try await h.send(.delete, "/v1/trash/\(folder)", token: owner.token).status == .noContent)
            #expect(try await h.outbox(ShareRevoked.self).map(\.reason) == [.itemDeleted])
        }
    }

    @Test func copiesAcrossDrivesAreTheCopiersAndCopyTheBytes() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let viewer = try await h.newUser()
            let folder = try await h.mkdir(owner, "Shared")
            let file = try await h.upload(owner, Array(repeating: 3, count: 300), name: "c.bin", in: folder)
            _ = try await share(h, owner, folder, with: viewer)
            let copy = try h.json(
                try await h.send(.post, "/v1/files/\(file["id"] as! String)/copy", json: ["parent_id": viewer.root.uuidString], token: viewer.token),
                .created)
            #expect(copy["sha256"] as? String == file["sha256"] as? String)
            #expect(try await h.usage(viewer).used == 300)
            #expect(try await h.usage(owner).used == 300)
            // The copy lives on once the share is gone.
            let shareID = (try h.json(try await h.send(.get, "/v1/folders/\(folder)/shares", token: owner.token), .ok)["items"] as! [[String: Any]])[
                0]["id"]!
            #expect(try await h.send(.delete, "/v1/shares/\(shareID)", token: viewer.token).status == .noContent)
            #expect(try await h.outbox(ShareRevoked.self).map(\.reason) == [.left])
            #expect(try await h.send(.get, "/internal/files/\(copy["id"] as! String)/content", token: viewer.token).status == .ok)
        }
    }

    @Test func shareRequestsAreValidated() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let other = try await h.newUser()
            let folder = try await h.mkdir(owner, "F")
            func fields(_ body: [String: Any], _ id: UUID) async throws -> [String] {
                let answer = try h.json(try await h.send(.post, "/v1/folders/\(id)/shares", json: body, token: owner.token), .unprocessableContent)
                return (answer["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            }
            #expect(try await fields([:], folder) == ["user"])
            #expect(try await fields(["user": "nobody-here"], folder) == ["user"])
            #expect(try await fields(["user": name(owner, h)], folder) == ["user"])
            #expect(try await fields(["user": name(other, h), "role": "admin"], folder) == ["role"])
            #expect(
                try await h.send(.post, "/v1/folders/\(owner.root)/shares", json: ["user": name(other, h)], token: owner.token).status == .conflict)
            #expect(try await h.send(.post, "/v1/folders/\(folder)/shares", json: ["user": name(owner, h)], token: other.token).status == .notFound)
            _ = try await share(h, owner, folder, with: other)
            // Again: the role changes (200), no second share.
            let again = try await h.send(.post, "/v1/folders/\(folder)/shares", json: ["user": name(other, h), "role": "editor"], token: owner.token)
            #expect(again.status == .ok)
            #expect(try await h.outbox(ShareCreated.self).count == 1)
            #expect(try await h.outbox(ShareUpdated.self).count == 1)
        }
    }

    @Test func publicLinksCheckPasswordExpiryAndSubtree() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser(tier: MetadataHarness.tier(originalLinks: true, expiringLinks: true, linkSeconds: 60...3600))
            let folder = try await h.mkdir(owner, "Pub")
            let file = try await h.upload(owner, Array("pub".utf8), name: "p.txt", in: folder)
            let outside = try await h.upload(owner, Array("no".utf8), name: "n.txt")
            let link = try h.json(
                try await h.send(.post, "/v1/public-links", json: ["item_id": folder.uuidString, "password": "open sesame"], token: owner.token),
                .created)
            let token = link["token"] as! String
            func visit(_ path: String, _ password: String?) async throws -> HTTPResponse.Status {
                var headers: HTTPFields = [:]
                if let password { headers[HTTPField.Name("X-Link-Password")!] = password }
                return try await h.http.execute(uri: "/internal/public/\(token)\(path)", method: .get, headers: headers, body: nil).status
            }
            #expect(try await visit("", nil) == .unauthorized)
            #expect(try await visit("", "wrong one") == .forbidden)
            #expect(try await visit("", "open sesame") == .ok)
            #expect(try await visit("/files/\(file["id"] as! String)/content?count=true", "open sesame") == .ok)
            #expect(try await visit("/files/\(outside["id"] as! String)/content", "open sesame") == .notFound)
            #expect(try await visit("/children?folder_id=\(owner.root)", "open sesame") == .notFound)
            let listed = try h.json(try await h.send(.get, "/v1/public-links", token: owner.token), .ok)
            #expect((listed["items"] as? [[String: Any]])?.first?["downloads"] as? Int == 1)
            #expect((listed["items"] as? [[String: Any]])?.first?["token"] as? String == token)
            // Ten wrong guesses lock the link, even for the right password.
            for _ in 0..<9 { _ = try await visit("", "wrong one") }
            #expect(try await visit("", "open sesame") == .tooManyRequests)
            // Guesses at once each take an attempt before bcrypt: at most ten are tried.
            try await h.client.query("UPDATE public_links SET failed_attempts = 0, failures_since = NULL", logger: TestDatabase.logger)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<24 { group.addTask { try await visit("", "guess \(i)") } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .forbidden }.count == 10)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 14)
            // Expired: 410; revoked: 404; forged: 404.
            try await h.client.query("UPDATE public_links SET expires_at = now() - interval '1 second'", logger: TestDatabase.logger)
            try await h.client.query("UPDATE public_links SET failed_attempts = 0", logger: TestDatabase.logger)
            #expect(try await visit("", "open sesame") == .gone)
            #expect(try await h.send(.delete, "/v1/public-links/\(link["id"] as! String)", token: owner.token).status == .noContent)
            #expect(try await visit("", "open sesame") == .notFound)
            var forged = Array(token)
            forged[12] = forged[12] == "A" ? "B" : "A"
            let forgedToken = String(forged)
            #expect(try await h.http.execute(uri: "/internal/public/\(forgedToken)", method: .get, headers: [:], body: nil).status == .notFound)
            // Bounds of the tier: expires_in outside them is refused.
            let refused = try await h.send(.post, "/v1/public-links", json: ["item_id": folder.uuidString, "expires_in": 10], token: owner.token)
            #expect(refused.status == .unprocessableContent)
        }
    }

    @Test func theArchiveListingHoldsEveryFolderAndFileParentsFirst() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let folder = try await h.mkdir(owner, "Z")
            let empty = try await h.mkdir(owner, "leer ä", in: folder)
            _ = try await h.mkdir(owner, "tief", in: empty)
            _ = try await h.upload(owner, Array("1".utf8), name: "b.txt", in: folder)
            _ = try await h.upload(owner, Array("22".utf8), name: "a.txt", in: empty)
            let gone = try await h.upload(owner, Array("3".utf8), name: "gone.txt", in: folder)
            #expect(try await h.send(.delete, "/v1/files/\(gone["id"] as! String)", token: owner.token).status == .noContent)
            let listing = try h.json(try await h.send(.get, "/internal/folders/\(folder)/archive", token: owner.token), .ok)
            #expect(listing["name"] as? String == "Z")
            let entries = listing["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["path"] as! String } == ["b.txt", "leer ä/", "leer ä/a.txt", "leer ä/tief/"])
            #expect(entries.map { $0["size"] as! Int } == [1, 0, 2, 0])
        }
    }

    @Test func anArchiveGrantReadsTheFilesWhileTheReaderMayAndNamesAreSafeOnWindows() async throws {
        try await MetadataHarness.run { h in
            let owner = try await h.newUser()
            let viewer = try await h.newUser()
            let folder = try await h.mkdir(owner, "Z")
            let file = try await h.upload(owner, Array("x".utf8), name: "..\\up.txt", in: folder)
            let fileID = file["id"] as! String
            let shareID = try await share(h, owner, folder, with: viewer)["id"] as! String
            let listing = try h.json(try await h.send(.get, "/internal/folders/\(folder)/archive", token: viewer.token), .ok)
            #expect((listing["entries"] as? [[String: Any]])?.map { $0["path"] as! String } == [".._up.txt"])
            let grant = try #require(listing["grant"] as? String)
            func read(_ grant: String?, _ id: String = fileID) async throws -> TestResponse {
                var headers: HTTPFields = [:]
                if let grant { headers[HTTPField.Name(InternalGrant.header)!] = grant }
                return try await h.http.execute(uri: "/internal/archive/files/\(id)/content", method: .get, headers: headers, body: nil)
            }
            // No token needed: the grant names the reader; their access is checked on each read.
            let granted = try h.json(try await read(grant), .ok)
            #expect(granted["size"] as? Int == 1)
            #expect(try await read(nil).status == .forbidden)
            var forged = Array(grant)
            forged[forged.count - 10] = forged[forged.count - 10] == "A" ? "g" : "A"  // inside the signature
            #expect(try await read(String(forged)).status == .forbidden)
            let other = try await h.upload(owner, Array("y".utf8), name: "elsewhere.txt")
            #expect(try await read(grant, other["id"] as! String).status == .notFound)
            try await h.client.query("UPDATE users SET disabled = true WHERE id = \(viewer.id)", logger: TestDatabase.logger)
            #expect(try await read(grant).status == .notFound)
            try await h.client.query("UPDATE users SET disabled = false WHERE id = \(viewer.id)", logger: TestDatabase.logger)
            #expect(try await read(grant).status == .ok)
            // The owner's grant reads their folder's files, and none of the rest of their drive.
            let owners = try h.json(try await h.send(.get, "/internal/folders/\(folder)/archive", token: owner.token), .ok)
            let ownersGrant = try #require(owners["grant"] as? String)
            #expect(try await read(ownersGrant).status == .ok)
            #expect(try await read(ownersGrant, other["id"] as! String).status == .notFound)
            #expect(try await h.send(.delete, "/v1/shares/\(shareID)", token: owner.token).status == .noContent)
            #expect(try await read(grant).status == .notFound)
        }
    }
}
