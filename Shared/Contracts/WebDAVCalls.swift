import Foundation

// The internal calls behind the gateway's WebDAV endpoint (`/dav/`, docs/webdav.md):
//   POST auth     /internal/app-passwords/check  BasicCredentials → 200 DAVSession (401, 429)
//   GET  metadata /internal/paths?path=/a/b[&children=true&after=name&limit=n]  → 200 PathLookup
//   POST metadata /internal/folders/{id}/copy  FolderCopyRequest → 201 PathEntry
// WebDAV clients name everything by path; the drive names everything by id. Metadata turns a
// path into its item (and a folder's children) for the caller; the gateway keeps nothing.

/// The HTTP Basic credentials of a WebDAV request, for auth to check.
public struct BasicCredentials: Codable, Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// Auth's answer to good credentials: an access token for this request only (short-lived;
/// the next request checks its credentials again, so a revoked app password stops at once).
public struct DAVSession: Codable, Sendable, Equatable {
    public var accessToken: String
    public var userID: UUID
    public var readOnly: Bool
    public var requestsPerMinute: Int?

    public init(accessToken: String, userID: UUID, readOnly: Bool, requestsPerMinute: Int?) {
        self.accessToken = accessToken
        self.userID = userID
        self.readOnly = readOnly
        self.requestsPerMinute = requestsPerMinute
    }

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case userID = "user_id"
        case readOnly = "read_only"
        case requestsPerMinute = "requests_per_minute"
    }
}

/// A file or folder as a WebDAV listing needs it.
public struct PathEntry: Codable, Sendable, Equatable {
    public var id: UUID
    /// `file` or `folder`.
    public var kind: String
    public var name: String
    public var size: Int64
    public var contentType: String?
    public var sha256: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// Its dead properties (PROPPATCH), when it has any.
    public var properties: [DeadProperty]?

    public init(
        id: UUID, kind: String, name: String, size: Int64, contentType: String?, sha256: String?, createdAt: Date, updatedAt: Date,
        properties: [DeadProperty]? = nil
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.properties = properties
    }

    public var isFolder: Bool { kind == "folder" }

    enum CodingKeys: String, CodingKey {
        case id, kind, name, size
        case contentType = "content_type"
        case sha256
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case properties
    }
}

/// What a path names: `item` when it exists; otherwise `parent` when the folder that would hold
/// it exists (a PUT or MKCOL may create it there). With `children=true` and a folder, a page of
/// its children in name order; `next_after` names the last one when more follow.
public struct PathLookup: Codable, Sendable, Equatable {
    public var item: PathEntry?
    public var parent: PathEntry?
    public var children: [PathEntry]?
    public var nextAfter: String?

    public init(item: PathEntry?, parent: PathEntry?, children: [PathEntry]? = nil, nextAfter: String? = nil) {
        self.item = item
        self.parent = parent
        self.children = children
        self.nextAfter = nextAfter
    }

    enum CodingKeys: String, CodingKey {
        case item, parent, children
        case nextAfter = "next_after"
    }
}

/// Copy a folder into `parentID` as `name`: with `recursive`, everything below it too (files
/// share their content, as a file copy does); without, the folder alone (WebDAV `Depth: 0`).
public struct FolderCopyRequest: Codable, Sendable, Equatable {
    public var parentID: UUID
    public var name: String
    public var recursive: Bool

    public init(parentID: UUID, name: String, recursive: Bool) {
        self.parentID = parentID
        self.name = name
        self.recursive = recursive
    }

    enum CodingKeys: String, CodingKey {
        case parentID = "parent_id"
        case name, recursive
    }
}

// Dead properties and locks:
//   PATCH  metadata /internal/items/{id}/properties  PropertyUpdate → 204
//   GET    metadata /internal/locks?path=/a/b        → 200 LockList (locks on the path, on its
//          folders with depth infinity, and below it)
//   POST   metadata /internal/locks                  LockRequest → 201 DAVLock (423 on a conflict)
//   POST   metadata /internal/locks/refresh          LockRefresh → 200 DAVLock (412 without it)
//   DELETE metadata /internal/locks?token=…&path=/a/b  → 204 (409 when it is not that path's lock)
//   DELETE metadata /internal/locks?path=/a/b&subtree=true → 204 (the path was deleted or moved away)

/// A property a client stored (PROPPATCH): its name and its value as XML.
public struct DeadProperty: Codable, Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// The property element's content, as XML (elements declare their own namespaces).
    public var value: String

    public init(namespace: String, name: String, value: String) {
        self.namespace = namespace
        self.name = name
        self.value = value
    }
}

/// PROPPATCH's instructions, in document order, applied all or nothing.
public struct PropertyUpdate: Codable, Sendable, Equatable {
    public struct Operation: Codable, Sendable, Equatable {
        /// Set (with `value`) or remove (without).
        public var namespace: String
        public var name: String
        public var value: String?

        public init(namespace: String, name: String, value: String?) {
            self.namespace = namespace
            self.name = name
            self.value = value
        }
    }

    public var operations: [Operation]

    public init(operations: [Operation]) { self.operations = operations }
}

/// A WebDAV write lock.
public struct DAVLock: Codable, Sendable, Equatable {
    public var token: String
    /// The locked path (`/a/b`, the lock root).
    public var path: String
    public var depthInfinity: Bool
    public var exclusive: Bool
    /// The client's `DAV:owner` content, as XML.
    public var owner: String
    public var timeoutSeconds: Int
    public var expiresAt: Date

    public init(token: String, path: String, depthInfinity: Bool, exclusive: Bool, owner: String, timeoutSeconds: Int, expiresAt: Date) {
        self.token = token
        self.path = path
        self.depthInfinity = depthInfinity
        self.exclusive = exclusive
        self.owner = owner
        self.timeoutSeconds = timeoutSeconds
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case token, path
        case depthInfinity = "depth_infinity"
        case exclusive, owner
        case timeoutSeconds = "timeout_seconds"
        case expiresAt = "expires_at"
    }
}

public struct LockList: Codable, Sendable, Equatable {
    public var locks: [DAVLock]
    public init(locks: [DAVLock]) { self.locks = locks }
}

/// Ask for a new lock on `path`.
public struct LockRequest: Codable, Sendable, Equatable {
    public var path: String
    public var depthInfinity: Bool
    public var exclusive: Bool
    public var owner: String
    public var timeoutSeconds: Int

    public init(path: String, depthInfinity: Bool, exclusive: Bool, owner: String, timeoutSeconds: Int) {
        self.path = path
        self.depthInfinity = depthInfinity
        self.exclusive = exclusive
        self.owner = owner
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case path
        case depthInfinity = "depth_infinity"
        case exclusive, owner
        case timeoutSeconds = "timeout_seconds"
    }
}

/// Refresh the lock `token`, which must cover `path`.
public struct LockRefresh: Codable, Sendable, Equatable {
    public var token: String
    public var path: String
    public var timeoutSeconds: Int

    public init(token: String, path: String, timeoutSeconds: Int) {
        self.token = token
        self.path = path
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case token, path
        case timeoutSeconds = "timeout_seconds"
    }
}
