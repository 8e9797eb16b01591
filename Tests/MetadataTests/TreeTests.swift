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

/// The folder tree: names, conflicts (also under concurrency), moves without cycles, trash,
/// restore and purge; and that nobody reaches another user's items.
@Suite("Metadata tree", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct TreeTests {
    @Test func registrationCreatesOneRootEvenWhenTheEventComesTwice() async throws {
        try await MetadataHarness.run { h in
            let tier = MetadataHarness.tier()
            let user = UUID()
            let event = EventEnvelope(producer: "auth", payload: UserRegistered(userID: user, username: "twice", role: "user", tier: tier))
            try await h.app.events.userRegistered(event)
            try await h.app.events.userRegistered(event)
            // The same user announced again under a new event id changes nothing either.
            try await h.app.events.userRegistered(EventEnvelope(producer: "auth", payload: event.payload))
            let rows = try await h.client.query(
                "SELECT count(*) FROM items WHERE owner_id = \(user) AND parent_id IS NULL", logger: TestDatabase.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 1) }
        }
    }

    @Test func aUserUnknownYetIsSetUpFromTheTokenWhenTheirTierIsKnown() async throws {
        try await MetadataHarness.run { h in
            let known = try await h.newUser()  // makes the tier known
            let early = Identity(userID: UUID(), role: .user, tierID: known.identity.tierID)
            let root = try await h.send(.get, "/v1/folders/root", token: try await h.tokens.token(for: early))
            #expect(root.status == .ok)
            let unknownTier = Identity(userID: UUID(), role: .user, tierID: UUID())
            let retry = try await h.send(.get, "/v1/folders/root", token: try await h.tokens.token(for: unknownTier))
            #expect(retry.status == .serviceUnavailable)
            #expect(retry.headers[.retryAfter] == "1")
            #expect(try await h.send(.get, "/v1/folders/root", token: nil).status == .unauthorized)
        }
    }

    @Test func namesAreValidatedAndFieldNamed() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let bad = ["", ".", "..", "a/b", "nul\u{0}byte", "tab\tname", "line\nbreak", String(repeating: "é", count: 128)]
            for name in bad {
                let response = try await h.send(.post, "/v1/folders", json: ["name": name, "parent_id": user.root.uuidString], token: user.token)
                #expect(response.status == .unprocessableContent, "\(name.debugDescription)")
                #expect(String(buffer: response.body).contains("\"field\":\"name\""), "\(name.debugDescription)")
            }
            #expect(
                try await h.send(.post, "/v1/folders", json: ["parent_id": user.root.uuidString], token: user.token).status == .unprocessableContent)
            let wrongType = try await h.send(.post, "/v1/folders", json: ["name": 5, "parent_id": user.root.uuidString], token: user.token)
            #expect(String(buffer: wrongType.body).contains("\"field\":\"name\""))
            // 255 bytes is fine, and names are NFC-normalised: "é" typed two ways is one name.
            _ = try await h.mkdir(user, String(repeating: "a", count: 255))
            _ = try await h.mkdir(user, "caf\u{00E9}")
            let decomposed = try await h.send(
                .post, "/v1/folders", json: ["name": "cafe\u{0301}", "parent_id": user.root.uuidString], token: user.token)
            #expect(decomposed.status == .conflict)
            // A parent that is not one of the caller's folders.
            let nowhere = try await h.send(.post, "/v1/folders", json: ["name": "x", "parent_id": UUID().uuidString], token: user.token)
            #expect(nowhere.status == .unprocessableContent)
            #expect(String(buffer: nowhere.body).contains("\"field\":\"parent_id\""))
        }
    }

    @Test func simultaneousCreatesOfOneNameGiveOne201AndThe409sNameTheWinner() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let r = try await h.send(
                            .post, "/v1/folders", json: ["name": "Photos", "parent_id": user.root.uuidString], token: user.token)
                        return (r.status, String(buffer: r.body))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == .created }.count == 1)
            #expect(statuses.filter { $0.0 == .conflict }.count == 11)
            let rows = try await h.client.query("SELECT id FROM items WHERE owner_id = \(user.id) AND name = 'Photos'", logger: TestDatabase.logger)
            var ids: [UUID] = []
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            #expect(ids.count == 1)
            #expect(statuses.filter { $0.0 == .conflict }.allSatisfy { $0.1.contains(ids[0].lower) }, "the 409 names the existing item")
        }
    }

    @Test func renameAndMoveRefuseCyclesAndConflicts() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let a = try await h.mkdir(user, "a")
            let b = try await h.mkdir(user, "b", in: a)
            let c = try await h.mkdir(user, "c", in: b)
            let other = try await h.mkdir(user, "other")
            for target in [a, b, c] {
                let response = try await h.send(.patch, "/v1/folders/\(a)", json: ["parent_id": target.uuidString], token: user.token)
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("\"field\":\"parent_id\""))
            }
            let moved = try h.json(
                try await h.send(.patch, "/v1/folders/\(c)", json: ["parent_id": other.uuidString, "name": "c2"], token: user.token), .ok)
            #expect(moved["parent_id"] as? String == other.uuidString)
            #expect(moved["name"] as? String == "c2")
            _ = try await h.mkdir(user, "taken", in: other)
            #expect(try await h.send(.patch, "/v1/folders/\(c)", json: ["name": "taken"], token: user.token).status == .conflict)
            #expect(try await h.send(.patch, "/v1/folders/\(user.root)", json: ["name": "x"], token: user.token).status == .conflict)
            #expect(try await h.send(.patch, "/v1/folders/\(c)", json: [:], token: user.token).status == .unprocessableContent)
            // Crossing moves at once (a into other, other into a): never a cycle.
            async let first = h.send(.patch, "/v1/folders/\(a)", json: ["parent_id": other.uuidString], token: user.token)
            async let second = h.send(.patch, "/v1/folders/\(other)", json: ["parent_id": a.uuidString], token: user.token)
            let statuses = [try await first.status, try await second.status]
            #expect(statuses.filter { $0 == .ok }.count == 1, "\(statuses)")
            let cycle = try await h.client.query(
                """
                WITH RECURSIVE up(id, parent_id, depth) AS (
                    SELECT id, parent_id, 0 FROM items WHERE id = \(a)
                    UNION ALL SELECT i.id, i.parent_id, up.depth + 1 FROM items i JOIN up ON i.id = up.parent_id WHERE up.depth < 50
                ) SELECT max(depth) FROM up
                """, logger: TestDatabase.logger)
            for try await depth in cycle.decode(Int.self) { #expect(depth < 50, "a reaches the root") }
        }
    }

    @Test func trashRestoreAndPurge() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let docs = try await h.mkdir(user, "docs")
            let inner = try await h.mkdir(user, "inner", in: docs)
            let file = try await h.upload(user, Array("hello".utf8), name: "hello.txt", in: inner)
            let fileID = file["id"] as! String
            #expect(try await h.usage(user).used == 5)
            // Deleting the folder trashes everything in it; the trash shows the folder only.
            #expect(try await h.send(.delete, "/v1/folders/\(docs)", token: user.token).status == .noContent)
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: user.token).status == .notFound)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/folders/\(user.root)/children", token: user.token), .ok)).isEmpty)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/trash", token: user.token), .ok)) == ["docs"])
            // A new "docs" can be made meanwhile; restoring the old one then renames it.
            _ = try await h.mkdir(user, "docs")
            let restored = try h.json(try await h.send(.post, "/v1/trash/\(docs)/restore", token: user.token), .ok)
            #expect(restored["name"] as? String == "docs (restored)")
            #expect(try await h.send(.get, "/v1/files/\(fileID)", token: user.token).status == .ok)
            // A file whose folder is in the trash is restored to the root.
            #expect(try await h.send(.delete, "/v1/files/\(fileID)", token: user.token).status == .noContent)
            #expect(try await h.send(.delete, "/v1/folders/\(docs)", token: user.token).status == .noContent)
            let back = try h.json(try await h.send(.post, "/v1/trash/\(fileID)/restore", token: user.token), .ok)
            #expect(back["parent_id"] as? String == user.root.uuidString)
            // Purge: the folder goes for good; the file (restored) stays. Then purge the file.
            #expect(try await h.send(.delete, "/v1/trash/\(docs)", token: user.token).status == .noContent)
            #expect(try await h.send(.post, "/v1/trash/\(docs)/restore", token: user.token).status == .notFound)
            #expect(try await h.send(.delete, "/v1/files/\(fileID)", token: user.token).status == .noContent)
            #expect(try await h.send(.delete, "/v1/trash", token: user.token).status == .noContent)
            #expect(try await h.usage(user).used == 0)
            let deleted = try await h.outbox(FileDeleted.self)
            #expect(deleted.map(\.fileID.lower) == [fileID.lowercased()])
            #expect(deleted.first?.blobIDs == [file["sha256"].map { "sha256:\($0)" } as? String ?? ""])
            #expect(try await h.send(.delete, "/v1/folders/\(user.root)", token: user.token).status == .conflict)
        }
    }

    @Test func nobodyReachesAnotherUsersItems() async throws {
        try await MetadataHarness.run { h in
            let alice = try await h.newUser()
            let mallory = try await h.newUser()
            let folder = try await h.mkdir(alice, "private")
            let file = UUID(uuidString: try await h.upload(alice, Array("secret".utf8), name: "s.txt", in: folder)["id"] as! String)!
            let trashed = try await h.mkdir(alice, "old")
            _ = try await h.send(.delete, "/v1/folders/\(trashed)", token: alice.token)
            let mine = try await h.mkdir(mallory, "mine")
            let myFile = UUID(uuidString: try await h.upload(mallory, Array("mine".utf8), name: "m.txt", in: mine)["id"] as! String)!
            _ = try await h.upload(alice, Array("secret, v2".utf8), name: "s.txt", replacing: file)
            let aliceVersion =
                try h.json(try await h.send(.get, "/v1/files/\(file)/versions", token: alice.token), .ok)["versions"]
                .flatMap { ($0 as? [[String: Any]])?.first?["id"] as? String } ?? "missing"
            let aliceReservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "pending.txt", "folder_id": folder.uuidString, "size": 3],
                    token: alice.token), .created)
            let aliceUpload = aliceReservation["upload_id"] as! String
            let attempts: [(HTTPRequest.Method, String, [String: Any]?)] = [
                (.get, "/v1/folders/\(folder)", nil), (.get, "/v1/folders/\(folder)/children", nil),
                (.patch, "/v1/folders/\(folder)", ["name": "x"]), (.delete, "/v1/folders/\(folder)", nil),
                (.get, "/v1/files/\(file)", nil), (.get, "/v1/files/\(file)/versions", nil),
                (.patch, "/v1/files/\(file)", ["name": "x"]), (.delete, "/v1/files/\(file)", nil),
                (.post, "/v1/files/\(file)/copy", ["parent_id": mine.uuidString]),
                (.post, "/v1/trash/\(trashed)/restore", nil), (.delete, "/v1/trash/\(trashed)", nil),
                (.get, "/internal/files/\(file)/content", nil),
                (.post, "/internal/uploads", ["file_id": file.uuidString, "size": 1]),
                (.get, "/internal/files/\(file)/thumbnails/200", nil),
                (.post, "/v1/files/\(file)/links", ["variant": "original", "expires_in": 600]),
                (.get, "/internal/files/\(myFile)/content?version=\(aliceVersion)", nil),
                (.delete, "/internal/uploads/\(aliceUpload)", nil),
            ]
            for (method, uri, body) in attempts {
                let response = try await h.send(method, uri, json: body, token: mallory.token)
                #expect(response.status == .notFound, "\(method) \(uri): \(response.status)")
                #expect(!String(buffer: response.body).contains("private") && !String(buffer: response.body).contains("s.txt"))
            }
            // Nor can Mallory put things into Alice's folder or move her own there.
            let into = try await h.send(.post, "/v1/folders", json: ["name": "x", "parent_id": folder.uuidString], token: mallory.token)
            #expect(into.status == .unprocessableContent)
            let moveInto = try await h.send(.patch, "/v1/folders/\(mine)", json: ["parent_id": folder.uuidString], token: mallory.token)
            #expect(moveInto.status == .unprocessableContent)
            let uploadInto = try await h.send(.post, "/internal/uploads", json: ["name": "x", "folder_id": folder.uuidString], token: mallory.token)
            #expect(uploadInto.status == .unprocessableContent)
            let moveFileInto = try await h.send(.patch, "/v1/files/\(myFile)", json: ["parent_id": folder.uuidString], token: mallory.token)
            #expect(moveFileInto.status == .unprocessableContent)
            let copyInto = try await h.send(.post, "/v1/files/\(myFile)/copy", json: ["parent_id": folder.uuidString], token: mallory.token)
            #expect(copyInto.status == .unprocessableContent)
            // Mallory's own receipt cannot complete Alice's reservation.
            let myReservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["name": "r.txt", "folder_id": mine.uuidString, "size": 3],
                    token: mallory.token), .created)
            let myReceipt = try await h.putToBlob(myReservation, Array("abc".utf8))["receipt"]!
            let steal = try await h.send(.post, "/internal/uploads/\(aliceUpload)/complete", json: ["receipt": myReceipt], token: mallory.token)
            #expect(steal.status == .unprocessableContent || steal.status == .notFound, "\(steal.status)")
            #expect(try await h.usage(alice).reserved == 3, "Alice's reservation is untouched")
            // Emptying Mallory's trash leaves Alice's alone; searching finds only one's own files.
            _ = try await h.send(.delete, "/v1/trash", token: mallory.token)
            #expect(h.names(try h.json(try await h.send(.get, "/v1/trash", token: alice.token), .ok)) == ["old"])
            #expect(h.names(try h.json(try await h.send(.get, "/v1/files?sort=name", token: mallory.token), .ok)) == ["m.txt"])
            #expect(try await h.send(.get, "/v1/files/\(file)", token: alice.token).status == .ok)
        }
    }
}
