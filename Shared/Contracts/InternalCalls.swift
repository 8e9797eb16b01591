import Foundation

// The bodies of the internal routes services call on each other (`/internal/...`), shared by
// the caller and the owner of the route so neither spells a field by hand. Like the events,
// their wire format is frozen by golden fixtures (Tests/ContractsTests/Fixtures/internal/).
// Grants inside them are opaque strings: only the service that checks one reads it.
//
// The upload flow, gateway's view:
//   POST metadata /internal/uploads            UploadReservationRequest → 201 UploadReservation
//   PUT  blob     /internal/uploads/{upload}   bytes + reservation.grant → 201 StoredUpload
//   POST metadata /internal/uploads/{id}/complete  UploadCompletion(receipt) → 200 the file
//   DELETE metadata /internal/uploads/{id}     (the transfer failed) → 204
// Reads: GET metadata /internal/files/{id}/content → ContentGrant, then blob /internal/blobs/{blob};
// GET metadata /internal/files/{id}/thumbnails/{size} → ThumbnailGrant, then thumbnail's route.

/// Ask metadata to reserve an upload: a new file (`folderID` and `name`) or a new version of
/// `fileID`. `size` is the declared length when the client sent one. `resumable`: a tus
/// upload, whose reservation lives as long as resumable uploads may (not one request's time).
public struct UploadReservationRequest: Codable, Sendable, Equatable {
    public var folderID: UUID?
    public var name: String?
    public var size: Int64?
    public var fileID: UUID?
    public var resumable: Bool?

    public init(folderID: UUID? = nil, name: String? = nil, size: Int64? = nil, fileID: UUID? = nil, resumable: Bool? = nil) {
        self.folderID = folderID
        self.name = name
        self.size = size
        self.fileID = fileID
        self.resumable = resumable
    }

    enum CodingKeys: String, CodingKey {
        case folderID = "folder_id"
        case name, size
        case fileID = "file_id"
        case resumable
    }
}

// Resumable (tus) uploads, gateway's view:
//   POST metadata /internal/uploads  {resumable: true} → 201 UploadReservation
//   POST blob /internal/resumable/{upload}  ResumableUploadCreation + grant → 201 ResumableUploadState
//   GET metadata /internal/uploads/{id} → 200 UploadReservation (a fresh grant; 404 unless the caller's)
//   GET blob /internal/resumable/{upload} + grant → 200 ResumableUploadState
//   PATCH blob /internal/resumable/{upload} + grant, bytes, Upload-Offset → 200 ResumableUploadState
//     (with `stored` once the last byte is in; then metadata's complete as for any upload)
//   DELETE blob /internal/resumable/{upload} + grant → 204, then DELETE metadata /internal/uploads/{id}

/// The caller's upload limits (metadata's `GET /internal/upload-limits`).
public struct UploadLimits: Codable, Sendable, Equatable {
    public var maxBytes: Int64

    public init(maxBytes: Int64) { self.maxBytes = maxBytes }

    enum CodingKeys: String, CodingKey { case maxBytes = "max_bytes" }
}

/// What blob needs to begin staging a resumable upload.
public struct ResumableUploadCreation: Codable, Sendable, Equatable {
    /// The whole upload's length; nil when the client defers it.
    public var length: Int64?
    /// The client's `Upload-Metadata`, kept to be given back as it came.
    public var metadata: String?
    /// The whole file's SHA-256 (hex) the client declared; checked before the file appears.
    public var sha256: String?
    public var expiresAt: Date

    public init(length: Int64?, metadata: String?, sha256: String?, expiresAt: Date) {
        self.length = length
        self.metadata = metadata
        self.sha256 = sha256
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case length, metadata, sha256
        case expiresAt = "expires_at"
    }
}

/// Blob's view of a resumable upload: the offset every acknowledged byte reaches, and once
/// the last byte is in, what was stored (with the receipt metadata completes with).
public struct ResumableUploadState: Codable, Sendable, Equatable {
    public var uploadID: UUID
    public var offset: Int64
    public var length: Int64?
    public var metadata: String?
    public var expiresAt: Date
    public var stored: StoredUpload?

    public init(uploadID: UUID, offset: Int64, length: Int64?, metadata: String?, expiresAt: Date, stored: StoredUpload? = nil) {
        self.uploadID = uploadID
        self.offset = offset
        self.length = length
        self.metadata = metadata
        self.expiresAt = expiresAt
        self.stored = stored
    }

    enum CodingKeys: String, CodingKey {
        case uploadID = "upload_id"
        case offset, length, metadata
        case expiresAt = "expires_at"
        case stored
    }
}

/// Metadata's reservation: the upload's id, the file it will become, the most bytes it may
/// hold and the grant blob checks before it stores them.
public struct UploadReservation: Codable, Sendable, Equatable {
    public var uploadID: UUID
    public var fileID: UUID
    public var maxBytes: Int64
    public var grant: String
    public var expiresAt: Date

    public init(uploadID: UUID, fileID: UUID, maxBytes: Int64, grant: String, expiresAt: Date) {
        self.uploadID = uploadID
        self.fileID = fileID
        self.maxBytes = maxBytes
        self.grant = grant
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case uploadID = "upload_id"
        case fileID = "file_id"
        case maxBytes = "max_bytes"
        case grant
        case expiresAt = "expires_at"
    }
}

/// Blob's answer to an upload: what it stored, and `receipt`, its signed statement of the same
/// for metadata (which trusts the receipt, not the other fields).
public struct StoredUpload: Codable, Sendable, Equatable {
    public var uploadID: UUID
    public var fileID: UUID
    public var blobID: String
    public var sha256: String
    public var size: Int64
    public var contentType: String
    public var receipt: String

    public init(uploadID: UUID, fileID: UUID, blobID: String, sha256: String, size: Int64, contentType: String, receipt: String) {
        self.uploadID = uploadID
        self.fileID = fileID
        self.blobID = blobID
        self.sha256 = sha256
        self.size = size
        self.contentType = contentType
        self.receipt = receipt
    }

    enum CodingKeys: String, CodingKey {
        case uploadID = "upload_id"
        case fileID = "file_id"
        case blobID = "blob_id"
        case sha256, size
        case contentType = "content_type"
        case receipt
    }
}

/// Complete a reservation with blob's receipt.
public struct UploadCompletion: Codable, Sendable, Equatable {
    public var receipt: String?

    public init(receipt: String?) {
        self.receipt = receipt
    }

    enum CodingKeys: String, CodingKey { case receipt }
}

/// Metadata's permission to read one file's content from blob, with what a download needs.
public struct ContentGrant: Codable, Sendable, Equatable {
    public var fileID: UUID
    public var name: String
    public var blobID: String
    public var size: Int64
    public var contentType: String
    public var sha256: String
    public var grant: String

    public init(fileID: UUID, name: String, blobID: String, size: Int64, contentType: String, sha256: String, grant: String) {
        self.fileID = fileID
        self.name = name
        self.blobID = blobID
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
        self.grant = grant
    }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case name
        case blobID = "blob_id"
        case size
        case contentType = "content_type"
        case sha256, grant
    }
}

/// Metadata's permission to read one image's thumbnail of one size from the thumbnail service.
/// `name` is set when the grant answers an expiring link.
public struct ThumbnailGrant: Codable, Sendable, Equatable {
    public var fileID: UUID
    public var grant: String
    public var name: String?

    public init(fileID: UUID, grant: String, name: String? = nil) {
        self.fileID = fileID
        self.grant = grant
        self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case grant, name
    }
}

/// A user's storage as metadata counts it (`GET /internal/usage`), joined into `GET /v1/me`.
public struct StorageUsage: Codable, Sendable, Equatable {
    public var usedBytes: Int64
    public var reservedBytes: Int64
    public var quotaBytes: Int64

    public init(usedBytes: Int64, reservedBytes: Int64, quotaBytes: Int64) {
        self.usedBytes = usedBytes
        self.reservedBytes = reservedBytes
        self.quotaBytes = quotaBytes
    }

    enum CodingKeys: String, CodingKey {
        case usedBytes = "used_bytes"
        case reservedBytes = "reserved_bytes"
        case quotaBytes = "quota_bytes"
    }
}
