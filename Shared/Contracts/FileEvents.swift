import Foundation

/// Blob: the bytes of an upload are durable. Key: file id.
public struct FileUploaded: EventPayload {
    public static var topic: Topic { .fileUploaded }
    public var fileID: UUID
    public var ownerID: UUID
    /// The reservation metadata made before the bytes flowed.
    public var uploadID: UUID
    /// Content address of the stored object.
    public var blobID: String
    public var sha256: String
    public var size: Int64
    /// Sniffed from the first bytes, not taken from the client.
    public var contentType: String

    public init(fileID: UUID, ownerID: UUID, uploadID: UUID, blobID: String, sha256: String, size: Int64, contentType: String) {
        self.fileID = fileID
        self.ownerID = ownerID
        self.uploadID = uploadID
        self.blobID = blobID
        self.sha256 = sha256
        self.size = size
        self.contentType = contentType
    }

    public var partitionKey: String { fileID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case ownerID = "owner_id"
        case uploadID = "upload_id"
        case blobID = "blob_id"
        case sha256, size
        case contentType = "content_type"
    }
}

/// Metadata: content of a file is gone for good (purged), versions included, so blob and
/// thumbnail can collect garbage. Key: file id.
public struct FileDeleted: EventPayload {
    public static var topic: Topic { .fileDeleted }
    public var fileID: UUID
    public var ownerID: UUID
    public var blobIDs: [String]
    /// The uses of content being dropped (each upload or copy of a content is one reference);
    /// omitted when every reference of the file goes (the file is purged). Added in v1 without
    /// a version bump: readers that do not know it drop every reference of the file, which is
    /// what a purge means.
    public var referenceIDs: [UUID]?

    public init(fileID: UUID, ownerID: UUID, blobIDs: [String], referenceIDs: [UUID]? = nil) {
        self.fileID = fileID
        self.ownerID = ownerID
        self.blobIDs = blobIDs
        self.referenceIDs = referenceIDs
    }

    public var partitionKey: String { fileID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case ownerID = "owner_id"
        case blobIDs = "blob_ids"
        case referenceIDs = "reference_ids"
    }
}
