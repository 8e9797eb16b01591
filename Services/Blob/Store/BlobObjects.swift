import Foundation

/// Where blob keeps contents in its store: `blobs/<upload id>`.
enum BlobObjects {
    static let prefix = "blobs/"
    static func key(uploadID: UUID) -> String { prefix + uploadID.uuidString.lowercased() }
}
