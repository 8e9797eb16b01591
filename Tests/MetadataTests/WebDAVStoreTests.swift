import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Testing

@testable import Metadata

/// Metadata's side of WebDAV: paths to items, folder copies, dead properties, locks.
@Suite("WebDAV in metadata", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct WebDAVStoreTests {
    func lookup(_ h: MetadataHarness, _ user: MetadataHarness.User, _ path: String, query: String = "") async throws -> PathLookup {
        let encoded = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) ?? ""
        let response = try await h.send(.get, "/internal/paths?path=\(encoded)\(query)", token: user.token)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try ContractCoding.decoder().decode(PathLookup.self, from: Data(buffer: response.body))
    }

    @Test func pathsNameItemsTheirParentsAndChildren() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let photos = try await h.mkdir(user, "Fotos 2026")
            let nested = try await h.mkdir(user, "Café", in: photos)
            _ = try await h.upload(user, Array("hello".utf8), name: "a.txt", in: nested)
            for index in 0..<5 { _ = try await h.upload(user, [UInt8(index)], name: "f\(index)", in: photos) }

            var found = try await lookup(h, user, "/")
            #expect(found.item?.id == user.root && found.parent == nil)
            found = try await lookup(h, user, "/Fotos 2026/Café/a.txt")
            #expect(found.item?.name == "a.txt" && found.item?.size == 5 && found.parent?.id == nested)
            // NFD in the path finds the NFC name.
            found = try await lookup(h, user, "/Fotos 2026/Cafe\u{301}")
            #expect(found.item?.id == nested)
            // Missing, with or without the folder that would hold it; a file is no folder.
            found = try await lookup(h, user, "/Fotos 2026/new.txt")
            #expect(found.item == nil && found.parent?.id == photos)
            found = try await lookup(h, user, "/nowhere/new.txt")
            #expect(found.item == nil && found.parent == nil)
            found = try await lookup(h, user, "/Fotos 2026/Café/a.txt/below")
            #expect(found.item == nil && found.parent == nil)

            // Children in name order, paged.
            found = try await lookup(h, user, "/Fotos 2026", query: "&children=true&limit=4")
            #expect(found.children?.map(\.name) == ["Café", "f0", "f1", "f2"] && found.nextAfter == "f2")
            found = try await lookup(h, user, "/Fotos 2026", query: "&children=true&limit=4&after=f2")
            #expect(found.children?.map(\.name) == ["f3", "f4"] && found.nextAfter == nil)

            // Another user's names are not there; trashed items are not either.
            let other = try await h.newUser()
            found = try await lookup(h, other, "/Fotos 2026")
            #expect(found.item == nil && found.parent?.id == other.root)
            #expect(try await h.send(.delete, "/v1/folders/\(nested.lower)", token: user.token).status == .noContent)
            found = try await lookup(h, user, "/Fotos 2026/Café")
            #expect(found.item == nil && found.parent?.id == photos)
        }
    }

    @Test func deadPropertiesAreSetRemovedCopiedAndBounded() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let folder = try await h.mkdir(user, "props")
            let file = try await h.upload(user, Array("x".utf8), name: "p.txt", in: folder)
            let id = file["id"] as! String
            func patch(_ operations: [[String: Any]]) async throws -> TestResponse {
                try await h.send(.patch, "/internal/items/\(id)/properties", json: ["operations": operations], token: user.token)
            }
            #expect(
                try await patch([
                    ["namespace": "urn:a", "name": "x", "value": "1"], ["namespace": "urn:a", "name": "y", "value": "2"],
                    ["namespace": "urn:a", "name": "x", "value": "3"], ["namespace": "urn:a", "name": "y"],
                ]).status == .noContent)
            var found = try await lookup(h, user, "/props/p.txt")
            #expect(found.item?.properties == [DeadProperty(namespace: "urn:a", name: "x", value: "3")])
            // Children carry theirs too.
            found = try await lookup(h, user, "/props", query: "&children=true")
            #expect(found.children?.first?.properties?.count == 1)
            // A file copy keeps them.
            let copied = try await h.send(.post, "/v1/files/\(id)/copy", json: ["parent_id": folder.lower, "name": "q.txt"], token: user.token)
            #expect(copied.status == .created)
            #expect(try await lookup(h, user, "/props/q.txt").item?.properties?.first?.value == "3")
            // Too large a value: nothing applied.
            let large = try await patch([
                ["namespace": "urn:a", "name": "z", "value": "1"],
                ["namespace": "urn:a", "name": "big", "value": String(repeating: "v", count: Paths.maxPropertyBytes + 1)],
            ])
            #expect(large.status == .contentTooLarge)
            #expect(try await lookup(h, user, "/props/p.txt").item?.properties?.count == 1)
            // Someone else's item: 404.
            let other = try await h.newUser()
            #expect(
                try await h.send(
                    .patch, "/internal/items/\(id)/properties", json: ["operations": [["namespace": "", "name": "n", "value": "v"]]],
                    token: other.token
                ).status == .notFound)
        }
    }

    @Test func folderCopiesCopyTheTreeSharingContentsWithinTheQuota() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser(tier: MetadataHarness.tier(quota: 80))
            let source = try await h.mkdir(user, "src")
            let inner = try await h.mkdir(user, "inner", in: source)
            let file = try await h.upload(user, Array(repeating: 7, count: 30), name: "f.bin", in: inner)
            #expect(
                try await h.send(
                    .patch, "/internal/items/\(inner.lower)/properties",
                    json: ["operations": [["namespace": "urn:a", "name": "k", "value": "v"]]], token: user.token
                ).status == .noContent)
            var response = try await h.send(
                .post, "/internal/folders/\(source.lower)/copy", json: ["parent_id": user.root.lower, "name": "dst", "recursive": true],
                token: user.token)
            #expect(response.status == .created, "\(String(buffer: response.body))")
            let copy = try await lookup(h, user, "/dst/inner/f.bin")
            #expect(copy.item?.size == 30 && copy.item?.sha256 == file["sha256"] as? String && copy.item?.id.lower != file["id"] as? String)
            #expect(try await lookup(h, user, "/dst/inner").item?.properties == [DeadProperty(namespace: "urn:a", name: "k", value: "v")])
            #expect(try await h.usage(user).used == 60)
            // The copy's content is referenced in blob: purging the original keeps it.
            #expect(try await h.send(.get, "/internal/files/\(copy.item!.id.lower)/content", token: user.token).status == .ok)

            // Depth 0: the folder alone.
            response = try await h.send(
                .post, "/internal/folders/\(source.lower)/copy", json: ["parent_id": user.root.lower, "name": "shallow", "recursive": false],
                token: user.token)
            #expect(response.status == .created)
            #expect(try await lookup(h, user, "/shallow", query: "&children=true").children == [])
            // Over the quota (60 + 30 > 80): refused, nothing created.
            response = try await h.send(
                .post, "/internal/folders/\(source.lower)/copy", json: ["parent_id": user.root.lower, "name": "third", "recursive": true],
                token: user.token)
            #expect(response.status.code == 507)
            #expect(try await lookup(h, user, "/third").item == nil)
            // Into itself: refused. A taken name: 409.
            response = try await h.send(
                .post, "/internal/folders/\(source.lower)/copy", json: ["parent_id": inner.lower, "name": "loop", "recursive": true],
                token: user.token)
            #expect(response.status == .unprocessableContent)
            response = try await h.send(
                .post, "/internal/folders/\(source.lower)/copy", json: ["parent_id": user.root.lower, "name": "dst", "recursive": false],
                token: user.token)
            #expect(response.status == .conflict)
        }
    }

    @Test func locksConflictAsRFC4918SaysAndExpire() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            func lock(_ path: String, infinity: Bool = false, exclusive: Bool = true, timeout: Int = 60) async throws -> TestResponse {
                try await h.send(
                    .post, "/internal/locks",
                    json: ["path": path, "depth_infinity": infinity, "exclusive": exclusive, "owner": "t", "timeout_seconds": timeout],
                    token: user.token)
            }
            func locks(_ path: String) async throws -> [DAVLock] {
                let response = try await h.send(.get, "/internal/locks?path=\(path)", token: user.token)
                return try ContractCoding.decoder().decode(LockList.self, from: Data(buffer: response.body)).locks
            }
            let folderLock = try ContractCoding.decoder().decode(DAVLock.self, from: Data(buffer: try await lock("/a", infinity: true).body))
            #expect(folderLock.token.hasPrefix("opaquelocktoken:"))
            // Below an exclusive infinity lock nothing else locks; above it, no infinity lock.
            #expect(try await lock("/a/b").status.code == 423)
            #expect(try await lock("/", infinity: true).status.code == 423)
            #expect(try await lock("/", infinity: false).status == .created)
            #expect(try await locks("/a/b").map(\.token) == [folderLock.token])
            #expect(try await locks("/").count == 2)
            // Shared locks share; an exclusive one does not join them.
            #expect(try await lock("/s", exclusive: false).status == .created)
            #expect(try await lock("/s", exclusive: false).status == .created)
            #expect(try await lock("/s").status.code == 423)
            // Refresh and unlock need the lock to apply to the path.
            var response = try await h.send(
                .post, "/internal/locks/refresh", json: ["token": folderLock.token, "path": "/a/b/c", "timeout_seconds": 120], token: user.token)
            #expect(response.status == .ok)
            response = try await h.send(
                .post, "/internal/locks/refresh", json: ["token": folderLock.token, "path": "/s", "timeout_seconds": 120], token: user.token)
            #expect(response.status == .preconditionFailed)
            #expect(try await h.send(.delete, "/internal/locks?path=/s&token=\(folderLock.token)", token: user.token).status == .conflict)
            #expect(try await h.send(.delete, "/internal/locks?path=/a&token=\(folderLock.token)", token: user.token).status == .noContent)
            #expect(try await lock("/a/b").status == .created)
            // Another user's drive has its own locks.
            let other = try await h.newUser()
            #expect(
                try await h.send(
                    .post, "/internal/locks", json: ["path": "/a/b", "depth_infinity": false, "exclusive": true, "owner": "", "timeout_seconds": 60],
                    token: other.token
                ).status == .created)
            // A moved or deleted path forgets its locks; expired locks are gone.
            #expect(try await h.send(.delete, "/internal/locks?path=/a&subtree=true", token: user.token).status == .noContent)
            #expect(try await locks("/a/b").isEmpty)
            #expect(try await lock("/short", timeout: 1).status == .created)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await locks("/short").isEmpty)
        }
    }
}
