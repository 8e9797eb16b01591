import CVips
import Foundation

/// The process-wide libvips binding: initialise once, bound its cache, thumbnail buffers.
public enum Vips {
    /// An error libvips reported (its message, without internal paths).
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private static let initResult: Int32 = {
        let status = vips_init("cirrus")
        return status
    }()

    /// Initialise libvips once per process and bound its operation cache and threads.
    /// - Parameters:
    ///   - maxCacheMemory: bytes the operation cache may hold.
    ///   - concurrency: worker threads per image pipeline (0 lets libvips decide).
    public static func initialize(maxCacheMemory: Int = 32 << 20, maxCacheOperations: Int32 = 50, concurrency: Int32 = 1) throws {
        try ensureStarted()
        vips_cache_set_max_mem(maxCacheMemory)
        vips_cache_set_max(maxCacheOperations)
        vips_concurrency_set(concurrency)
    }

    /// libvips is started (once per process); the limits `initialize` set stay as they are.
    static func ensureStarted() throws {
        guard initResult == 0 else { throw lastError() }
    }

    /// The libvips version, e.g. "8.14.1".
    public static var version: String {
        String(cString: vips_version_string())
    }

    /// A thumbnail of an encoded image, fitting inside `width` x `height`, never upscaled.
    public static func thumbnail(of data: Data, width: Int, height: Int, quality: Int = 80) throws -> (bytes: Data, width: Int, height: Int) {
        try ensureStarted()
        var image: UnsafeMutablePointer<VipsImage>?
        let status = data.withUnsafeBytes { raw in
            cirrus_vips_thumbnail_buffer(UnsafeMutableRawPointer(mutating: raw.baseAddress), raw.count, Int32(width), Int32(height), &image)
        }
        guard status == 0, let image else { throw lastError() }
        defer { cirrus_vips_unref(image) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard cirrus_vips_jpegsave_buffer(image, &buffer, &length, Int32(quality)) == 0, let buffer else { throw lastError() }
        defer { g_free(buffer) }
        return (Data(bytes: buffer, count: length), Int(vips_image_get_width(image)), Int(vips_image_get_height(image)))
    }

    public enum Format: String, Sendable, CaseIterable {
        case jpeg, webp
        public var mediaType: String { self == .jpeg ? "image/jpeg" : "image/webp" }
    }

    /// The size in pixels an image file declares, read from its header only (so a
    /// decompression bomb is recognised before anything is decoded).
    public static func dimensions(ofFile path: String) throws -> (width: Int, height: Int) {
        try ensureStarted()
        var width: Int32 = 0
        var height: Int32 = 0
        guard cirrus_vips_header(path, &width, &height) == 0 else { throw lastError() }
        return (Int(width), Int(height))
    }

    /// A thumbnail of an image file `height` pixels high (never upscaled; at most
    /// `maxWidth` wide for panoramas), EXIF-rotated, in sRGB, metadata stripped.
    public static func thumbnail(
        ofFile path: String, height: Int, maxWidth: Int, format: Format, quality: Int
    ) throws -> (bytes: Data, width: Int, height: Int) {
        try ensureStarted()
        var thumbnail: UnsafeMutablePointer<VipsImage>?
        guard cirrus_vips_thumbnail_file(path, Int32(maxWidth), Int32(height), &thumbnail) == 0, let thumbnail else { throw lastError() }
        defer { cirrus_vips_unref(thumbnail) }
        var srgb: UnsafeMutablePointer<VipsImage>?
        guard cirrus_vips_to_srgb(thumbnail, &srgb) == 0, let srgb else { throw lastError() }
        defer { cirrus_vips_unref(srgb) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let status =
            switch format {
            case .jpeg: cirrus_vips_jpegsave_buffer(srgb, &buffer, &length, Int32(quality))
            case .webp: cirrus_vips_webpsave_buffer(srgb, &buffer, &length, Int32(quality))
            }
        guard status == 0, let buffer else { throw lastError() }
        defer { g_free(buffer) }
        return (Data(bytes: buffer, count: length), Int(vips_image_get_width(srgb)), Int(vips_image_get_height(srgb)))
    }

    static func lastError() -> Error {
        let message = vips_error_buffer().map { String(cString: $0) } ?? "libvips error"
        vips_error_clear()
        return Error(message: message.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
