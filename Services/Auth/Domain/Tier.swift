import CirrusContracts
import CirrusServiceKit
import Foundation
import PostgresNIO

/// A tier as stored: its permissions plus whether new users start on it.
struct Tier: Sendable, Equatable {
    var permissions: TierPermissions
    var isDefault: Bool

    var id: UUID { permissions.id }

    static let columns =
        "id, name, thumbnail_sizes, original_links, expiring_links, link_min_seconds, link_max_seconds, quota_bytes, max_upload_bytes, "
        + "requests_per_minute, is_default"

    typealias Row = (UUID, String, [Int32], Bool, Bool, Int32?, Int32?, Int64, Int64, Int32, Bool)

    init(permissions: TierPermissions, isDefault: Bool) {
        self.permissions = permissions
        self.isDefault = isDefault
    }

    init(row: Row) {
        let (
            id, name, thumbnailSizes, originalLinks, expiringLinks, linkMinSeconds, linkMaxSeconds, quotaBytes,
            maxUploadBytes, requestsPerMinute, isDefault
        ) = row
        permissions = TierPermissions(
            id: id, name: name, thumbnailSizes: thumbnailSizes.map(Int.init), originalLinks: originalLinks, expiringLinks: expiringLinks,
            linkMinSeconds: linkMinSeconds.map(Int.init), linkMaxSeconds: linkMaxSeconds.map(Int.init), quotaBytes: quotaBytes,
            maxUploadBytes: maxUploadBytes, requestsPerMinute: Int(requestsPerMinute)
        )
        self.isDefault = isDefault
    }
}

/// The JSON a client sees for a tier.
struct TierResponse: Codable, Sendable {
    var tier: TierPermissions
    var isDefault: Bool

    init(_ tier: Tier) {
        self.tier = tier.permissions
        self.isDefault = tier.isDefault
    }

    enum CodingKeys: String, CodingKey { case isDefault = "is_default" }

    func encode(to encoder: any Encoder) throws {
        try tier.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isDefault, forKey: .isDefault)
    }

    init(from decoder: any Decoder) throws {
        tier = try TierPermissions(from: decoder)
        isDefault = try decoder.container(keyedBy: CodingKeys.self).decode(Bool.self, forKey: .isDefault)
    }
}

/// Body of `POST /v1/admin/tiers` and `PATCH /v1/admin/tiers/{id}`: every field optional
/// so each missing or wrong one can be named.
struct TierInput: Decodable, Sendable {
    var name: String?
    var thumbnailSizes: [Int]?
    var originalLinks: Bool?
    var expiringLinks: Bool?
    var linkMinSeconds: Int??
    var linkMaxSeconds: Int??
    var quotaBytes: Int64?
    var maxUploadBytes: Int64?
    var requestsPerMinute: Int?

    enum CodingKeys: String, CodingKey {
        case name
        case thumbnailSizes = "thumbnail_sizes"
        case originalLinks = "original_links"
        case expiringLinks = "expiring_links"
        case linkMinSeconds = "link_min_seconds"
        case linkMaxSeconds = "link_max_seconds"
        case quotaBytes = "quota_bytes"
        case maxUploadBytes = "max_upload_bytes"
        case requestsPerMinute = "requests_per_minute"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        thumbnailSizes = try c.decodeIfPresent([Int].self, forKey: .thumbnailSizes)
        originalLinks = try c.decodeIfPresent(Bool.self, forKey: .originalLinks)
        expiringLinks = try c.decodeIfPresent(Bool.self, forKey: .expiringLinks)
        // Present-but-null clears a bound; absent leaves it.
        linkMinSeconds = c.contains(.linkMinSeconds) ? .some(try c.decodeIfPresent(Int.self, forKey: .linkMinSeconds)) : nil
        linkMaxSeconds = c.contains(.linkMaxSeconds) ? .some(try c.decodeIfPresent(Int.self, forKey: .linkMaxSeconds)) : nil
        quotaBytes = try c.decodeIfPresent(Int64.self, forKey: .quotaBytes)
        maxUploadBytes = try c.decodeIfPresent(Int64.self, forKey: .maxUploadBytes)
        requestsPerMinute = try c.decodeIfPresent(Int.self, forKey: .requestsPerMinute)
    }

    /// The tier this input makes from `base` (a new tier's base has no values yet).
    func apply(to base: TierPermissions?, id: UUID) throws -> TierPermissions {
        var errors: [FieldError] = []
        func required<T>(_ value: T?, _ baseValue: T?, _ field: String) -> T? {
            if let value { return value }
            if let baseValue { return baseValue }
            errors.append(FieldError(field: field, message: "is required"))
            return nil
        }
        let name = required(self.name, base?.name, "name")
        let sizes = required(thumbnailSizes, base?.thumbnailSizes, "thumbnail_sizes")
        let original = required(originalLinks, base?.originalLinks, "original_links")
        let expiring = required(expiringLinks, base?.expiringLinks, "expiring_links")
        let quota = required(quotaBytes, base?.quotaBytes, "quota_bytes")
        let maxUpload = required(maxUploadBytes, base?.maxUploadBytes, "max_upload_bytes")
        let rate = required(requestsPerMinute, base?.requestsPerMinute, "requests_per_minute")
        let minSeconds = linkMinSeconds ?? base?.linkMinSeconds
        let maxSeconds = linkMaxSeconds ?? base?.linkMaxSeconds

        if let name {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.count > 64 || trimmed != name
                || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            {
                errors.append(
                    FieldError(field: "name", message: "must be 1 to 64 characters without leading or trailing spaces or control characters"))
            }
        }
        if let sizes {
            if sizes.count > 10 { errors.append(FieldError(field: "thumbnail_sizes", message: "at most 10 sizes")) }
            if sizes.contains(where: { !(16...4096).contains($0) }) {
                errors.append(FieldError(field: "thumbnail_sizes", message: "each size is a height in pixels from 16 to 4096"))
            }
            if Set(sizes).count != sizes.count { errors.append(FieldError(field: "thumbnail_sizes", message: "sizes must be distinct")) }
        }
        if let quota, quota < 0 { errors.append(FieldError(field: "quota_bytes", message: "must be 0 or more")) }
        if let maxUpload, maxUpload < 1 { errors.append(FieldError(field: "max_upload_bytes", message: "must be at least 1")) }
        if let rate, !(1...1_000_000).contains(rate) { errors.append(FieldError(field: "requests_per_minute", message: "must be from 1 to 1000000")) }
        if expiring == true {
            if minSeconds == nil { errors.append(FieldError(field: "link_min_seconds", message: "is required when expiring_links is true")) }
            if maxSeconds == nil { errors.append(FieldError(field: "link_max_seconds", message: "is required when expiring_links is true")) }
            if let minSeconds, !(1...2_592_000).contains(minSeconds) {
                errors.append(FieldError(field: "link_min_seconds", message: "must be from 1 to 2592000"))
            }
            if let maxSeconds, !(1...2_592_000).contains(maxSeconds) {
                errors.append(FieldError(field: "link_max_seconds", message: "must be from 1 to 2592000"))
            }
            if let minSeconds, let maxSeconds, minSeconds > maxSeconds {
                errors.append(FieldError(field: "link_max_seconds", message: "must not be less than link_min_seconds"))
            }
        }
        guard errors.isEmpty, let name, let sizes, let original, let expiring, let quota, let maxUpload, let rate else {
            throw ProblemError.validation(errors)
        }
        return TierPermissions(
            id: id, name: name, thumbnailSizes: sizes.sorted(), originalLinks: original, expiringLinks: expiring,
            linkMinSeconds: expiring ? minSeconds : nil, linkMaxSeconds: expiring ? maxSeconds : nil,
            quotaBytes: quota, maxUploadBytes: maxUpload, requestsPerMinute: rate
        )
    }
}
