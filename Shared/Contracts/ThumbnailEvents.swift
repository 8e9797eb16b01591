import Foundation

/// Metadata: render these thumbnail heights for an image. Key: file id.
public struct ThumbnailRequested: EventPayload {
    public static var topic: Topic { .thumbnailRequested }

    /// Why the thumbnails are requested (for logs and metrics; rendering is the same).
    public enum Reason: String, Codable, Sendable, CaseIterable {
        case upload
        case tierChanged = "tier_changed"
        case reconcile
        case onDemand = "on_demand"
    }

    public var fileID: UUID
    public var ownerID: UUID
    public var blobID: String
    public var contentType: String
    public var sizes: [Int]
    public var reason: Reason

    public init(fileID: UUID, ownerID: UUID, blobID: String, contentType: String, sizes: [Int], reason: Reason) {
        self.fileID = fileID
        self.ownerID = ownerID
        self.blobID = blobID
        self.contentType = contentType
        self.sizes = sizes
        self.reason = reason
    }

    public var partitionKey: String { fileID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case ownerID = "owner_id"
        case blobID = "blob_id"
        case contentType = "content_type"
        case sizes, reason
    }
}

/// Thumbnail: renditions are stored. Key: file id.
public struct ThumbnailGenerated: EventPayload {
    public static var topic: Topic { .thumbnailGenerated }

    /// One stored thumbnail of the image.
    public struct Rendition: Codable, Sendable, Equatable {
        /// The requested height.
        public var size: Int
        public var width: Int
        public var height: Int
        public var bytes: Int64
        /// `jpeg` or `webp`.
        public var format: String

        public init(size: Int, width: Int, height: Int, bytes: Int64, format: String) {
            self.size = size
            self.width = width
            self.height = height
            self.bytes = bytes
            self.format = format
        }

        enum CodingKeys: String, CodingKey { case size, width, height, bytes, format }
    }

    public var fileID: UUID
    public var ownerID: UUID
    public var blobID: String
    public var thumbnails: [Rendition]

    public init(fileID: UUID, ownerID: UUID, blobID: String, thumbnails: [Rendition]) {
        self.fileID = fileID
        self.ownerID = ownerID
        self.blobID = blobID
        self.thumbnails = thumbnails
    }

    public var partitionKey: String { fileID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case ownerID = "owner_id"
        case blobID = "blob_id"
        case thumbnails
    }
}

/// Thumbnail: the image cannot be thumbnailed. Key: file id.
public struct ThumbnailFailed: EventPayload {
    public static var topic: Topic { .thumbnailFailed }

    /// Why no thumbnail can be made; none of these is worth retrying.
    public enum FailureReason: String, Codable, Sendable, CaseIterable {
        case undecodable
        case tooLarge = "too_large"
        case unsupported
        case sourceMissing = "source_missing"
    }

    public var fileID: UUID
    public var ownerID: UUID
    public var blobID: String
    public var reason: FailureReason
    public var detail: String

    public init(fileID: UUID, ownerID: UUID, blobID: String, reason: FailureReason, detail: String) {
        self.fileID = fileID
        self.ownerID = ownerID
        self.blobID = blobID
        self.reason = reason
        self.detail = detail
    }

    public var partitionKey: String { fileID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case ownerID = "owner_id"
        case blobID = "blob_id"
        case reason, detail
    }
}

/// The media types that get thumbnails (those the libvips loaders Debian's libvips ships can
/// read): metadata requests thumbnails for these and thumbnail renders only these.
public enum Thumbnailable {
    public static let types: Set<String> = [
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif", "image/tiff",
    ]
    public static func contains(_ contentType: String) -> Bool { types.contains(contentType) }
}
