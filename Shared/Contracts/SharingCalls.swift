import Foundation

// Sharing's internal calls (docs/sharing.md):
//   GET auth /internal/users/lookup?user=<username or e-mail>  (the caller's token)
//     → 200 UserLookup: the active user so named and the caller themself; 404 otherwise.
//     Metadata asks it when an owner shares with someone: auth owns names and e-mails.
//   GET metadata /internal/folders/{id}/archive  (the caller's token)
//   GET metadata /internal/public/{token}/archive?folder_id=  (a public link's password, if any)
//     → 200 ArchiveListing: what a folder's ZIP holds, in archive order (a signed-in caller's
//     with an archive grant); then for each file
//     GET metadata /internal/archive/files/{id}/content  (the archive grant: it outlives the
//       caller's access token, and the caller's access to each file is checked again)
//     (or /internal/public/{token}/files/{id}/content)
//     → ContentGrant, and the bytes from blob. The gateway writes the ZIP as they stream.

//   POST blob /internal/uploads/{upload}/copy  (the upload's grant) ContentCopy → 201 StoredUpload
//     A copy into another owner's drive: blob copies the bytes (contents are per owner).

/// The content to copy: a read grant for the source's blob, from metadata.
public struct ContentCopy: Codable, Sendable, Equatable {
    public var source: String

    public init(source: String) { self.source = source }
}

/// One user as auth names them.
public struct UserName: Codable, Sendable, Equatable {
    public var id: UUID
    public var username: String

    public init(id: UUID, username: String) {
        self.id = id
        self.username = username
    }
}

/// Auth's answer to a lookup: the user asked for, and the caller (so the share records both names).
public struct UserLookup: Codable, Sendable, Equatable {
    public var user: UserName
    public var caller: UserName

    public init(user: UserName, caller: UserName) {
        self.user = user
        self.caller = caller
    }
}

/// A folder's content as its ZIP holds it: every folder (empty ones too) and file below it,
/// parents before children, with paths relative to the folder (`/`-separated, no leading
/// slash, folders ending in `/`).
public struct ArchiveListing: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// The file's id (nil for a folder).
        public var fileID: UUID?
        public var path: String
        public var size: Int64
        public var modifiedAt: Date

        public init(fileID: UUID?, path: String, size: Int64, modifiedAt: Date) {
            self.fileID = fileID
            self.path = path
            self.size = size
            self.modifiedAt = modifiedAt
        }

        enum CodingKeys: String, CodingKey {
            case fileID = "file_id"
            case path, size
            case modifiedAt = "modified_at"
        }
    }

    /// The folder's own name (the archive's file name).
    public var name: String
    public var entries: [Entry]
    /// For a signed-in caller: the grant (`InternalGrant.Purpose.archive`) the gateway sends
    /// for each file's read while the archive streams, so a ZIP that outlives the caller's
    /// access token is not cut off. Absent for a public link's ZIP (the link's token serves).
    public var grant: String?

    public init(name: String, entries: [Entry], grant: String? = nil) {
        self.name = name
        self.entries = entries
        self.grant = grant
    }
}
