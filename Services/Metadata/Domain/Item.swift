import CirrusContracts
import CirrusServiceKit
import Foundation
import PostgresNIO

/// A folder or a file, as metadata stores it and as the API shows it.
struct Item: Sendable, Equatable, Codable {
    enum Kind: String, Codable, Sendable { case folder, file }

    var id: UUID
    var ownerID: UUID
    var parentID: UUID?
    var kind: Kind
    var name: String
    var state: String
    var size: Int64
    var contentType: String?
    var sha256: String?
    var blobID: String?
    var contentID: UUID?
    var version: Int
    var createdAt: Date
    var updatedAt: Date
    var trashedAt: Date?
    var thumbnailStatus: String
    var thumbnailSizes: [Int]
    /// Why thumbnail gave up on this content (`thumbnail.failed`), while the status is `failed`.
    var thumbnailFailure: String?
    var thumbnailFailureDetail: String?

    /// The columns `init(row:)` decodes, in order.
    static let columns = """
        id, owner_id, parent_id, kind, name, state, size, content_type, sha256, blob_id, content_id, version,
        created_at, updated_at, trashed_at, thumbnail_status, thumbnail_sizes, thumbnail_failure, thumbnail_failure_detail
        """

    var isImage: Bool { kind == .file && contentType.map(Thumbnailable.contains) == true }
}

extension Item {
    /// Decodes the columns of `row` from `o` on (in `columns` order); more may follow. (In an
    /// extension, so the memberwise initialiser stays for the tests.)
    init(row: PostgresRow, from o: Int = 0) throws {
        let r = row.makeRandomAccess()
        id = try r[o].decode(UUID.self)
        ownerID = try r[o + 1].decode(UUID.self)
        parentID = try r[o + 2].decode(UUID?.self)
        kind = Kind(rawValue: try r[o + 3].decode(String.self)) ?? .file
        name = try r[o + 4].decode(String.self)
        state = try r[o + 5].decode(String.self)
        size = try r[o + 6].decode(Int64.self)
        contentType = try r[o + 7].decode(String?.self)
        sha256 = try r[o + 8].decode(String?.self)
        blobID = try r[o + 9].decode(String?.self)
        contentID = try r[o + 10].decode(UUID?.self)
        version = try r[o + 11].decode(Int.self)
        createdAt = try r[o + 12].decode(Date.self)
        updatedAt = try r[o + 13].decode(Date.self)
        trashedAt = try r[o + 14].decode(Date?.self)
        thumbnailStatus = try r[o + 15].decode(String.self)
        thumbnailSizes = try r[o + 16].decode([Int].self)
        thumbnailFailure = try r[o + 17].decode(String?.self)
        thumbnailFailureDetail = try r[o + 18].decode(String?.self)
    }

    /// Column 19 of a listing row: the cursor key PostgreSQL printed for it.
    static func cursorKey(of row: PostgresRow) throws -> String {
        try row.makeRandomAccess()[19].decode(String.self)
    }
}

/// The public JSON of an item (snake_case, as the API documents).
struct ItemResource: Codable, Sendable {
    struct Thumbnails: Codable, Sendable {
        /// Why thumbnail gave up (`reason` as in `thumbnail.failed`, and its detail).
        struct Failure: Codable, Sendable {
            var reason: String
            var detail: String?
        }

        var status: String
        var sizes: [Int]
        var failure: Failure?
    }

    var id: UUID
    var kind: Item.Kind
    var name: String
    var parentID: UUID?
    var size: Int64?
    var contentType: String?
    var sha256: String?
    var version: Int?
    var state: String?
    var createdAt: Date
    var updatedAt: Date
    var trashedAt: Date?
    var thumbnails: Thumbnails?

    init(_ item: Item) {
        id = item.id
        kind = item.kind
        name = item.name
        parentID = item.parentID
        createdAt = item.createdAt
        updatedAt = item.updatedAt
        trashedAt = item.trashedAt
        if item.kind == .file {
            size = item.size
            contentType = item.contentType
            sha256 = item.sha256
            version = item.version
            state = item.state
            let failure =
                item.isImage && item.thumbnailStatus == "failed"
                ? Thumbnails.Failure(reason: item.thumbnailFailure ?? "unknown", detail: item.thumbnailFailureDetail) : nil
            thumbnails = Thumbnails(
                status: item.isImage ? item.thumbnailStatus : "not_applicable", sizes: item.thumbnailSizes.sorted(), failure: failure)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, name
        case parentID = "parent_id"
        case size
        case contentType = "content_type"
        case sha256, version, state
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case trashedAt = "trashed_at"
        case thumbnails
    }
}

/// A page of items and the cursor of the next one (absent on the last page).
struct ItemPage: Codable, Sendable {
    var items: [ItemResource]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }
}

/// An earlier content of a file.
struct VersionResource: Codable, Sendable {
    var id: UUID
    var version: Int
    var size: Int64
    var contentType: String
    var sha256: String
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, version, size
        case contentType = "content_type"
        case sha256
        case createdAt = "created_at"
    }
}

/// A user's tier as metadata knows it (from auth's events).
struct TierRecord: Sendable, Equatable {
    var id: UUID
    var thumbnailSizes: [Int]
    var quotaBytes: Int64
    var maxUploadBytes: Int64
    var originalLinks = false
    var expiringLinks = false
    var linkMinSeconds: Int?
    var linkMaxSeconds: Int?
}
