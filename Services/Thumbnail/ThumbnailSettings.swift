import CirrusServiceKit
import CirrusVips
import Foundation

/// Thumbnail's own configuration (`CIRRUS_THUMBNAIL_*`).
struct ThumbnailSettings: Sendable {
    var format: Vips.Format = .jpeg
    var quality = 80
    /// Renders at once; the consumer and on-demand requests share them.
    var concurrency = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Images declaring more pixels are refused as too large (decompression bombs).
    var maxPixels = 100_000_000
    /// Originals larger than this are not fetched (too large).
    var maxSourceBytes: Int64 = 256 << 20
    /// Thumbnails not read for this long are evicted (and rendered again on demand).
    var evictAfter: Duration = .seconds(7 * 86_400)
    var evictionInterval: Duration = .seconds(3600)
    /// libvips' operation cache.
    var vipsCacheBytes = 32 << 20

    init() {}

    init(reader: ConfigReader) throws {
        guard let format = Vips.Format(rawValue: reader.string("CIRRUS_THUMBNAIL_FORMAT", default: "jpeg")) else {
            throw ConfigurationError(key: "CIRRUS_THUMBNAIL_FORMAT", reason: "must be jpeg or webp")
        }
        self.format = format
        quality = try reader.int("CIRRUS_THUMBNAIL_QUALITY", default: quality, range: 1...100)
        concurrency = try reader.int("CIRRUS_THUMBNAIL_CONCURRENCY", default: concurrency, range: 1...64)
        maxPixels = try reader.int("CIRRUS_THUMBNAIL_MAX_PIXELS", default: maxPixels, range: 1...2_000_000_000)
        maxSourceBytes = Int64(try reader.int("CIRRUS_THUMBNAIL_MAX_SOURCE_BYTES", default: Int(maxSourceBytes), range: 1...(1 << 40)))
        evictAfter = try reader.seconds("CIRRUS_THUMBNAIL_EVICT_AFTER_SECONDS", default: evictAfter, range: 60...31_536_000)
        evictionInterval = try reader.seconds("CIRRUS_THUMBNAIL_EVICTION_INTERVAL_SECONDS", default: evictionInterval, range: 1...86_400)
    }
}
