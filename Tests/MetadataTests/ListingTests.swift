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

/// Listing and search: every sort order pages through everything exactly once, in order;
/// filters; pages stay stable while items are added; bad parameters name themselves.
@Suite("Metadata listing", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct ListingTests {
    /// `count` ready files straight into the database (sizes and dates spread, names shuffled).
    static func seed(_ h: MetadataHarness, _ user: MetadataHarness.User, folder: UUID, count: Int, prefix: String = "f") async throws {
        try await h.client.query(
            """
            INSERT INTO items (id, owner_id, parent_id, kind, name, state, size, content_type, sha256, blob_id, content_id, version, created_at, updated_at)
            SELECT gen_random_uuid(), \(user.id), \(folder), 'file', \(prefix) || lpad(((g * 7919) % \(count))::text, 6, '0'), 'ready',
                   (g % 17) * 100, CASE WHEN g % 3 = 0 THEN 'image/png' ELSE 'text/plain' END, 'x', 'sha256:x', gen_random_uuid(), 1,
                   now() - (g % 50) * interval '1 minute', now() - (g % 23) * interval '1 second'
            FROM generate_series(1, \(count)) g
            """, logger: TestDatabase.logger)
    }

    func pageAll(_ h: MetadataHarness, _ user: MetadataHarness.User, _ base: String, limit: Int = 40) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var cursor: String?
        repeat {
            let separator = base.contains("?") ? "&" : "?"
            let uri = base + separator + "limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try h.json(try await h.send(.get, uri, token: user.token), .ok)
            all += page["items"] as? [[String: Any]] ?? []
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return all
    }

    @Test func everySortOrderVisitsEveryItemOnceInOrder() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let folder = try await h.mkdir(user, "many")
            try await Self.seed(h, user, folder: folder, count: 230)
            for sort in ListQuery.sorts {
                let items = try await pageAll(h, user, "/v1/folders/\(folder)/children?sort=\(sort)")
                #expect(items.count == 230, "\(sort)")
                #expect(Set(items.map { $0["id"] as! String }).count == 230, "\(sort): no duplicates")
                let key = String(sort.drop(while: { $0 == "-" }))
                func value(_ item: [String: Any]) -> String {
                    key == "size" ? String(format: "%012d", item["size"] as! Int) : "\(item[key]!)"
                }
                let keys = items.map(value)
                let ordered = sort.hasPrefix("-") ? keys.sorted(by: >) : keys.sorted()
                if key == "name" || key == "size" { #expect(keys == ordered, "\(sort)") }
            }
            // Search across all files uses the same machinery.
            #expect(try await pageAll(h, user, "/v1/files?sort=-size", limit: 100).count == 230)
        }
    }

    @Test func filtersNarrowTheListing() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let folder = try await h.mkdir(user, "mixed")
            try await Self.seed(h, user, folder: folder, count: 60)
            _ = try await h.mkdir(user, "sub", in: folder)
            func count(_ query: String) async throws -> Int {
                try await pageAll(h, user, "/v1/folders/\(folder)/children?\(query)", limit: 1000).count
            }
            #expect(try await count("kind=folder") == 1)
            #expect(try await count("kind=file") == 60)
            #expect(try await count("content_type=image/png") == 20)
            #expect(try await count("content_type=image/*") == 20)
            #expect(try await count("min_size=800&max_size=1000") == (1...60).filter { (800...1000).contains(($0 % 17) * 100) }.count)
            #expect(try await count("q=F00004") == 10, "names f000040…f000049, case-insensitively")
            #expect(try await count("q=%25") == 0, "% is matched literally")
            let cutoff = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-9.5 * 60))
            #expect(try await count("kind=file&created_after=\(cutoff)") == (1...60).filter { $0 % 50 < 10 }.count)
            // Search over all files applies the same filters.
            #expect(try await pageAll(h, user, "/v1/files?content_type=text/plain", limit: 1000).count == 40)
        }
    }

    @Test func pagesStayStableWhileItemsAreAdded() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let folder = try await h.mkdir(user, "busy")
            try await Self.seed(h, user, folder: folder, count: 100)
            let first = try h.json(try await h.send(.get, "/v1/folders/\(folder)/children?sort=name&limit=50", token: user.token), .ok)
            // Items sorting before and after the cursor appear meanwhile.
            try await Self.seed(h, user, folder: folder, count: 30, prefix: "a")
            try await Self.seed(h, user, folder: folder, count: 30, prefix: "z")
            var rest: [[String: Any]] = []
            var cursor = first["next_cursor"] as? String
            while let current = cursor {
                let page = try h.json(
                    try await h.send(.get, "/v1/folders/\(folder)/children?sort=name&limit=50&cursor=\(current)", token: user.token), .ok)
                rest += page["items"] as? [[String: Any]] ?? []
                cursor = page["next_cursor"] as? String
            }
            let firstNames = h.names(first)
            let restNames = rest.map { $0["name"] as! String }
            #expect(Set(firstNames).isDisjoint(with: restNames), "no item twice")
            #expect(restNames.filter { $0.hasPrefix("f") }.count == 50, "no original item skipped")
            #expect(restNames.filter { $0.hasPrefix("z") }.count == 30, "new items after the cursor appear")
            #expect(!restNames.contains { $0.hasPrefix("a") }, "new items before the cursor do not shift pages")
        }
    }

    @Test func badParametersAreNamed() async throws {
        try await MetadataHarness.run { h in
            let user = try await h.newUser()
            let base = "/v1/folders/\(user.root)/children"
            for (query, field) in [
                ("sort=size_desc", "sort"), ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
                ("kind=link", "kind"), ("min_size=-1", "min_size"), ("max_size=big", "max_size"),
                ("created_after=yesterday", "created_after"), ("created_before=2026-13-01", "created_before"),
                ("content_type=png", "content_type"), ("cursor=garbage", "cursor"), ("min_size=10&max_size=5", "min_size"),
            ] {
                let response = try await h.send(.get, base + "?" + query, token: user.token)
                #expect(response.status == .unprocessableContent, "\(query)")
                #expect(String(buffer: response.body).contains("\"field\":\"\(field)\""), "\(query)")
            }
            // A cursor of one listing is refused by another (different sort or folder).
            let folder = try await h.mkdir(user, "f")
            try await Self.seed(h, user, folder: folder, count: 5)
            let page = try h.json(try await h.send(.get, "/v1/folders/\(folder)/children?limit=2", token: user.token), .ok)
            let cursor = page["next_cursor"] as! String
            #expect(
                try await h.send(.get, "/v1/folders/\(folder)/children?limit=2&sort=-name&cursor=\(cursor)", token: user.token).status
                    == .unprocessableContent)
            #expect(try await h.send(.get, "\(base)?limit=2&cursor=\(cursor)", token: user.token).status == .unprocessableContent)
            #expect(try await h.send(.get, "/v1/folders/\(UUID())/children", token: user.token).status == .notFound)
            #expect(try await h.send(.get, "/v1/folders/not-a-uuid/children", token: user.token).status == .notFound)
        }
    }
}
