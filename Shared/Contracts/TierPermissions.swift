import Foundation

/// What a tier allows, embedded in user and tier events so no consumer has to call auth back.
public struct TierPermissions: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    /// Thumbnail heights in pixels, e.g. `[200, 400]`.
    public var thumbnailSizes: [Int]
    /// Links to the original file.
    public var originalLinks: Bool
    /// Links that expire, within `linkMinSeconds...linkMaxSeconds`.
    public var expiringLinks: Bool
    public var linkMinSeconds: Int?
    public var linkMaxSeconds: Int?
    public var quotaBytes: Int64
    public var maxUploadBytes: Int64
    public var requestsPerMinute: Int

    public init(
        id: UUID, name: String, thumbnailSizes: [Int], originalLinks: Bool, expiringLinks: Bool, linkMinSeconds: Int?, linkMaxSeconds: Int?,
        quotaBytes: Int64, maxUploadBytes: Int64, requestsPerMinute: Int
    ) {
        self.id = id
        self.name = name
        self.thumbnailSizes = thumbnailSizes
        self.originalLinks = originalLinks
        self.expiringLinks = expiringLinks
        self.linkMinSeconds = linkMinSeconds
        self.linkMaxSeconds = linkMaxSeconds
        self.quotaBytes = quotaBytes
        self.maxUploadBytes = maxUploadBytes
        self.requestsPerMinute = requestsPerMinute
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case thumbnailSizes = "thumbnail_sizes"
        case originalLinks = "original_links"
        case expiringLinks = "expiring_links"
        case linkMinSeconds = "link_min_seconds"
        case linkMaxSeconds = "link_max_seconds"
        case quotaBytes = "quota_bytes"
        case maxUploadBytes = "max_upload_bytes"
        case requestsPerMinute = "requests_per_minute"
    }

    /// Absent link bounds are written as explicit `null`s: every field is always present.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(thumbnailSizes, forKey: .thumbnailSizes)
        try c.encode(originalLinks, forKey: .originalLinks)
        try c.encode(expiringLinks, forKey: .expiringLinks)
        try c.encode(linkMinSeconds, forKey: .linkMinSeconds)
        try c.encode(linkMaxSeconds, forKey: .linkMaxSeconds)
        try c.encode(quotaBytes, forKey: .quotaBytes)
        try c.encode(maxUploadBytes, forKey: .maxUploadBytes)
        try c.encode(requestsPerMinute, forKey: .requestsPerMinute)
    }
}
