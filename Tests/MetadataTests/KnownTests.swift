import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

@testable import Metadata

/// What metadata tells the reconcilers of blob and thumbnail: a reference (current content, an
/// earlier version, a reservation) or a file (also in the trash) is known until it is purged.
@Suite("Metadata known ids", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct KnownTests {
    func contentID(_ h: MetadataHarness, of file: UUID) async throws -> UUID {
        for try await id in try await h.client.query("SELECT content_id FROM items WHERE id = \(file)", logger: TestDatabase.logger).decode(UUID.self)
        {
            return id
        }
        throw ProblemError.notFound("file")
    }

    func known(_ h: MetadataHarness, _ kind: String, _ ids: [UUID]) async throws -> Set<UUID> {
        let reply = try h.json(try await h.send(.post, "/internal/known/\(kind)", json: ["ids": ids.map(\.uuidString)], token: nil), .ok)
        #expect(reply["checked"] as? Int == ids.count)
        return Set((reply["known"] as? [String] ?? []).compactMap(UUID.init(uuidString:)))
    }

    @Test func referencesAndFilesAreKnownUntilPurged() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let file = UUID(uuidString: try await h.upload(user, Array("one".utf8), name: "a.txt")["id"] as! String)!
            let first = try await contentID(h, of: file)
            _ = try await h.upload(user, Array("two".utf8), name: "a.txt", replacing: file)
            let second = try await contentID(h, of: file)
            let reservation = try h.json(
                try await h.send(
                    .post, "/internal/uploads", json: ["size": 3, "name": "b.txt", "folder_id": user.root.uuidString],
                    token: user.token), .created)
            let reserved = UUID(uuidString: reservation["upload_id"] as! String)!
            let stranger = UUID()
            #expect(try await known(h, "references", [first, second, reserved, stranger]) == [first, second, reserved])
            #expect(try await known(h, "files", [file, stranger, user.root]) == [file], "folders are not files")
            // In the trash: still known; purged: neither the file nor its contents.
            #expect(try await h.send(.delete, "/v1/files/\(file)", token: user.token).status == .noContent)
            #expect(try await known(h, "files", [file]) == [file])
            #expect(try await h.send(.delete, "/v1/trash/\(file)", token: user.token).status == .noContent)
            #expect(try await known(h, "files", [file]).isEmpty)
            #expect(try await known(h, "references", [first, second]).isEmpty)
            // Bounded.
            let tooMany = (0...KnownIDsQuery.limit).map { _ in UUID().uuidString }
            #expect(try await h.send(.post, "/internal/known/files", json: ["ids": tooMany], token: nil).status == .unprocessableContent)
        }
    }
}
