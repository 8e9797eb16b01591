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

/// A file or folder shared with a user (`/v1/{files|folders}/{id}/shares`, `/v1/shared-with-me`).
struct Share: Decodable, Sendable {
    struct User: Decodable, Sendable {
        let id: String
        let username: String
    }

    let id: String
    /// The shared item (for its recipient, `parent_id` is null).
    let item: Item
    let owner: User
    let recipient: User
    let role: String
    let createdAt: String?
    let updatedAt: String?
}

/// A link anyone can open without an account (`/v1/public-links`).
struct PublicLink: Decodable, Sendable {
    struct Target: Decodable, Sendable {
        let id: String
        let kind: String
        let name: String
    }

    let id: String
    let item: Target
    let token: String
    /// `/v1/public/<token>`.
    let path: String
    /// The path under the server's public URL (added by the gateway).
    let url: String?
    let hasPassword: Bool
    let expiresAt: String?
    let downloads: Int64
    let createdAt: String?
}
