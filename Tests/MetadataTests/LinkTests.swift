import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import Metadata

/// Expiring links and the image gallery: tier rights, bounds, signatures, expiry, ownership.
@Suite("Metadata links and images", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct LinkTests {
    static let enterprise = MetadataHarness.tier(sizes: [200, 400], originalLinks: true, expiringLinks: true, linkSeconds: 300...30000)
    static let premium = MetadataHarness.tier(sizes: [200, 400], originalLinks: true)
    static let basic = MetadataHarness.tier(sizes: [200])

    @Test func onlyATierWithExpiringLinksGetsThemWithinItsBounds() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser(tier: Self.enterprise)
            let image = try await h.upload(user, FileTests.png, name: "a.png")
            let text = try await h.upload(user, Array("hello".utf8), name: "a.txt")
            let imageID = image["id"] as! String
            func link(_ id: String, _ body: [String: Any], as who: MetadataHarness.User? = nil) async throws -> TestResponse {
                try await h.send(.post, "/v1/files/\(id)/links", json: body, token: (who ?? user).token)
            }
            // Bounds and fields, each named.
            for (body, field) in [
                (["variant": "original", "expires_in": 299], "expires_in"), (["variant": "original", "expires_in": 30001], "expires_in"),
                (["variant": "original"], "expires_in"), (["variant": "sideways", "expires_in": 600], "variant"),
                (["expires_in": 600], "variant"), (["variant": "thumbnail", "size": 800, "expires_in": 600], "size"),
                (["variant": "thumbnail", "expires_in": 600], "size"), (["variant": "original", "size": 200, "expires_in": 600], "size"),
            ] as [([String: Any], String)] {
                let answer = try await link(imageID, body)
                #expect(answer.status == .unprocessableContent, "\(body)")
                #expect(String(buffer: answer.body).contains("\"field\":\"\(field)\""), "\(body): \(String(buffer: answer.body))")
            }
            let notImage = try h.json(
                try await link(text["id"] as! String, ["variant": "thumbnail", "size": 200, "expires_in": 600]), .unprocessableContent)
            #expect((notImage["errors"] as? [[String: Any]])?.first?["field"] as? String == "variant")

            let created = try h.json(try await link(imageID, ["variant": "thumbnail", "size": 400, "expires_in": 300]), .created)
            let token = created["token"] as! String
            #expect(created["path"] as? String == "/v1/links/" + token)
            #expect(created["size"] as? Int == 400)
            let expiresAt = try #require(ListQuery.parseDate(created["expires_at"] as? String ?? ""), "\(created)")
            #expect(abs(expiresAt.timeIntervalSinceNow - 300) < 5)
            let resolved = try h.json(try await h.send(.get, "/internal/links/\(token)", token: nil), .ok)
            #expect((resolved["file_id"] as? String)?.lowercased() == imageID.lowercased() && resolved["grant"] is String)
            let original = try h.json(try await link(imageID, ["variant": "original", "expires_in": 30000]), .created)
            let content = try h.json(try await h.send(.get, "/internal/links/\(original["token"] as! String)", token: nil), .ok)
            #expect(content["blob_id"] is String && content["grant"] is String && content["name"] as? String == "a.png")

            // Another user's file: 404 whatever they ask for.
            let other = try await h.newUser(tier: Self.enterprise)
            #expect(try await link(imageID, ["variant": "original", "expires_in": 600], as: other).status == .notFound)

            // Trash ends the link at once; restore brings it back.
            #expect(try await h.send(.delete, "/v1/files/\(imageID)", token: user.token).status == .noContent)
            #expect(try await h.send(.get, "/internal/links/\(token)", token: nil).status == .notFound)
            #expect(try await h.send(.post, "/v1/trash/\(imageID)/restore", token: user.token).status == .ok)
            #expect(try await h.send(.get, "/internal/links/\(token)", token: nil).status == .ok)
        }
    }

    @Test func tiersWithoutTheRightAreRefused() async throws {
        try await MetadataHarness.run { h in
            let premium = try await h.newUser(tier: Self.premium)
            let image = try await h.upload(premium, FileTests.png, name: "a.png")
            let refused = try await h.send(
                .post, "/v1/files/\(image["id"] as! String)/links", json: ["variant": "thumbnail", "size": 200, "expires_in": 600],
                token: premium.token)
            #expect(refused.status == .forbidden)
            #expect(String(buffer: refused.body).contains("expiring links"))
            let noOriginal = MetadataHarness.tier(sizes: [200], originalLinks: false, expiringLinks: true)
            let user = try await h.newUser(tier: noOriginal)
            let file = try await h.upload(user, FileTests.png, name: "b.png")
            let id = file["id"] as! String
            #expect(
                try await h.send(.post, "/v1/files/\(id)/links", json: ["variant": "original", "expires_in": 600], token: user.token).status
                    == .forbidden)
            #expect(
                try await h.send(.post, "/v1/files/\(id)/links", json: ["variant": "thumbnail", "size": 200, "expires_in": 600], token: user.token)
                    .status == .created)
        }
    }

    @Test func tamperedAndExpiredLinksAreTold() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser(tier: Self.enterprise)
            let image = try await h.upload(user, FileTests.png, name: "a.png")
            let fileID = UUID(uuidString: image["id"] as! String)!
            let good = MetadataHarness.linkSigner.sign(
                LinkToken(
                    fileID: fileID, version: 1, variant: .original, size: nil,
                    expiresAt: Int64(Date().timeIntervalSince1970) + 600))
            #expect(try await h.send(.get, "/internal/links/\(good)", token: nil).status == .ok)
            // Flip one character of the payload; sign with a key this deployment does not have.
            var parts = good.split(separator: ".").map(String.init)
            parts[1] = String(parts[1].dropLast()) + (parts[1].hasSuffix("A") ? "B" : "A")
            #expect(try await h.send(.get, "/internal/links/\(parts.joined(separator: "."))", token: nil).status == .forbidden)
            let foreign = LinkSigner(secrets: ["another-deployment-secret-0123456789abcdef"]).sign(
                LinkToken(fileID: fileID, version: 1, variant: .original, size: nil, expiresAt: Int64(Date().timeIntervalSince1970) + 600))
            #expect(try await h.send(.get, "/internal/links/\(foreign)", token: nil).status == .forbidden)
            #expect(try await h.send(.get, "/internal/links/garbage", token: nil).status == .forbidden)
            // A genuine link to a version the file does not have (any more) finds nothing.
            let mismatched = MetadataHarness.linkSigner.sign(
                LinkToken(
                    fileID: fileID, version: 2, variant: .original, size: nil,
                    expiresAt: Int64(Date().timeIntervalSince1970) + 600))
            #expect(try await h.send(.get, "/internal/links/\(mismatched)", token: nil).status == .notFound)
            let expired = MetadataHarness.linkSigner.sign(
                LinkToken(
                    fileID: fileID, version: 1, variant: .original, size: nil,
                    expiresAt: Int64(Date().timeIntervalSince1970) - 1))
            #expect(try await h.send(.get, "/internal/links/\(expired)", token: nil).status == .gone)
        }
    }

    @Test func linksEndWithTheirVersionAndTheirOwnersAccount() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser(tier: Self.enterprise)
            let image = try await h.upload(user, FileTests.png, name: "a.png")
            let fileID = UUID(uuidString: image["id"] as! String)!
            func link(_ variant: String) async throws -> String {
                var body: [String: Any] = ["variant": variant, "expires_in": 600]
                if variant == "thumbnail" { body["size"] = 200 }
                return try h.json(try await h.send(.post, "/v1/files/\(fileID)/links", json: body, token: user.token), .created)["token"] as! String
            }
            let original = try await link("original")
            let thumbnail = try await link("thumbnail")
            // The payload (readable by anyone holding the link) does not name the owner.
            let payload = try #require(Base64URL.decode(original.split(separator: ".")[1]))
            #expect(!String(decoding: payload, as: UTF8.self).lowercased().contains(user.id.uuidString.lowercased()))
            for token in [original, thumbnail] { #expect(try await h.send(.get, "/internal/links/\(token)", token: nil).status == .ok) }
            // The owner disabled: every link stops; enabled again: they work again.
            try await h.app.events.userStatusChanged(EventEnvelope(producer: "auth", payload: UserStatusChanged(userID: user.id, disabled: true)))
            for token in [original, thumbnail] { #expect(try await h.send(.get, "/internal/links/\(token)", token: nil).status == .notFound) }
            try await h.app.events.userStatusChanged(EventEnvelope(producer: "auth", payload: UserStatusChanged(userID: user.id, disabled: false)))
            for token in [original, thumbnail] { #expect(try await h.send(.get, "/internal/links/\(token)", token: nil).status == .ok) }
            // New content: links made for the old one end; a new link works.
            _ = try await h.upload(user, FileTests.png + [7], name: "a.png", replacing: fileID)
            for token in [original, thumbnail] { #expect(try await h.send(.get, "/internal/links/\(token)", token: nil).status == .notFound) }
            #expect(try await h.send(.get, "/internal/links/\(try await link("original"))", token: nil).status == .ok)
        }
    }

    @Test func imagesListsOnlyTheCallersImagesWithTheirTiersLinks() async throws {
        try await MetadataHarness.run { h in
            let basic = try await h.newUser(tier: Self.basic)
            let folder = try await h.mkdir(basic, "photos")
            for index in 0..<3 { _ = try await h.upload(basic, FileTests.png + [UInt8(index)], name: "p\(index).png", in: folder) }
            _ = try await h.upload(basic, Array("not an image".utf8), name: "notes.txt")
            let other = try await h.newUser(tier: Self.enterprise)
            let theirs = try await h.upload(other, FileTests.png, name: "theirs.png")

            let first = try h.json(try await h.send(.get, "/v1/images?limit=2&sort=name", token: basic.token), .ok)
            #expect(h.names(first) == ["p0.png", "p1.png"])
            let item = (first["items"] as! [[String: Any]])[0]
            let links = item["links"] as! [String: Any]
            #expect(links["thumbnails"] as? [String: String] == ["200": "/v1/files/\(item["id"] as! String)/thumbnails/200"])
            #expect(links["original"] is NSNull)
            #expect((first["expiring_links"] as? [String: Any])?["allowed"] as? Bool == false)
            let second = try h.json(
                try await h.send(.get, "/v1/images?limit=2&sort=name&cursor=\(first["next_cursor"] as! String)", token: basic.token), .ok)
            #expect(h.names(second) == ["p2.png"] && second["next_cursor"] is NSNull)

            let rich = try h.json(try await h.send(.get, "/v1/images", token: other.token), .ok)
            let richItem = (rich["items"] as! [[String: Any]])[0]
            #expect(richItem["id"] as? String == theirs["id"] as? String)
            #expect(((richItem["links"] as! [String: Any])["thumbnails"] as? [String: String])?.keys.sorted() == ["200", "400"])
            #expect((richItem["links"] as! [String: Any])["original"] as? String == "/v1/files/\(theirs["id"] as! String)/content")
            #expect((rich["expiring_links"] as? [String: Any])?["max_seconds"] as? Int == 30000)

            #expect(
                try await h.send(.get, "/v1/images?sort=-name&cursor=\(first["next_cursor"] as! String)", token: basic.token).status
                    == .unprocessableContent)
            #expect(try await h.send(.get, "/v1/images", token: nil).status == .unauthorized)
        }
    }
}
