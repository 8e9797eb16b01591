/// The parts of the API's JSON the commands read (snake_case keys, decoded with
/// `.convertFromSnakeCase`). `--json` prints the answers themselves, not these.

/// A folder or a file.
struct Item: Decodable, Sendable {
    let id: String
    let kind: String
    let name: String
    let parentId: String?
    let size: Int64?
    let contentType: String?
    let sha256: String?
    let version: Int?
    let updatedAt: String?
    let trashedAt: String?

    var isFolder: Bool { kind == "folder" }
    /// The API's route prefix for this kind of item.
    var route: String { isFolder ? "/v1/folders/\(id)" : "/v1/files/\(id)" }
}

/// One page of a listing.
struct Page<Element: Decodable & Sendable>: Decodable, Sendable {
    let items: [Element]
    let nextCursor: String?
}

struct TokenPair: Decodable, Sendable {
    let accessToken: String
    let refreshToken: String
    let expiresIn: Int
}

struct Tier: Decodable, Sendable {
    let id: String
    let name: String
    let thumbnailSizes: [Int]
    let originalLinks: Bool
    let expiringLinks: Bool
    let linkMinSeconds: Int?
    let linkMaxSeconds: Int?
    let quotaBytes: Int64
    let maxUploadBytes: Int64
    let requestsPerMinute: Int
    let isDefault: Bool?
}

struct Quota: Decodable, Sendable {
    let totalBytes: Int64
    let maxUploadBytes: Int64
    let usedBytes: Int64?
}

/// A user account (`/v1/me`, `/v1/admin/users`).
struct Account: Decodable, Sendable {
    let id: String
    let username: String
    let email: String
    let role: String
    let disabled: Bool
    let tier: Tier
    let quota: Quota
}

struct Link: Decodable, Sendable {
    let url: String
    let expiresAt: String
}
