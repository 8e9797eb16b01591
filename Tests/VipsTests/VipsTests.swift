import CirrusVips
import Foundation
import Testing

/// The libvips binding links and works (the thumbnail issue tests the pipeline in depth).
@Suite("libvips binding")
struct VipsTests {
    /// A 64x32 red PNG made by hand-free means: libvips itself is not used to make the input.
    static let png: Data = {
        // Minimal PNG writer: 8-bit RGB, no filter, zlib "stored" blocks, CRCs computed here.
        let width = 64
        let height = 32
        var raw = [UInt8]()
        for _ in 0..<height {
            raw.append(0)
            for _ in 0..<width { raw += [255, 0, 0] }
        }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
            }
            return ~crc
        }
        func adler32(_ bytes: [UInt8]) -> UInt32 {
            var a: UInt32 = 1
            var b: UInt32 = 0
            for byte in bytes {
                a = (a + UInt32(byte)) % 65521
                b = (b + a) % 65521
            }
            return (b << 16) | a
        }
        func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(crc32(body))
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        while offset < raw.count {
            let block = Array(raw[offset..<min(offset + 65535, raw.count)])
            offset += block.count
            let length = UInt16(block.count)
            zlib += [offset >= raw.count ? 1 : 0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)] + block
        }
        zlib += be32(adler32(raw))
        let header = be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", []))
    }()

    @Test func reportsItsVersion() throws {
        try Vips.initialize()
        #expect(Vips.version.split(separator: ".").count >= 2)
    }

    @Test func thumbnailsAPNGToTheRequestedHeightKeepingTheAspectRatio() throws {
        let thumbnail = try Vips.thumbnail(of: Self.png, width: 10_000, height: 16)
        #expect(thumbnail.height == 16)
        #expect(thumbnail.width == 32)
        #expect(thumbnail.bytes.starts(with: [0xFF, 0xD8, 0xFF]))  // JPEG
    }

    @Test func neverUpscales() throws {
        let thumbnail = try Vips.thumbnail(of: Self.png, width: 10_000, height: 400)
        #expect(thumbnail.height == 32)
    }

    @Test func garbageIsAnErrorNotACrash() {
        #expect(throws: Vips.Error.self) {
            try Vips.thumbnail(of: Data("definitely not an image".utf8), width: 100, height: 100)
        }
    }
}
