import Testing

@testable import Blob

@Suite("Content sniffing")
struct ContentSnifferTests {
    static func bytes(_ values: [UInt8], padTo count: Int = 64) -> [UInt8] {
        values + Array(repeating: 0x00, count: max(0, count - values.count))
    }

    static func ftyp(_ major: String, _ compatible: [String]) -> [UInt8] {
        let brands = [major] + ["\0\0\0\0"] + compatible
        let body = Array("ftyp".utf8) + brands.flatMap { Array($0.utf8) }
        let size = UInt32(body.count + 4)
        return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + body + [0, 0, 0, 8]
    }

    @Test(
        arguments: [
            (bytes([0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg"),
            (bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "image/png"),
            (bytes(Array("GIF89a".utf8)), "image/gif"),
            (bytes(Array("GIF87a".utf8)), "image/gif"),
            (bytes(Array("RIFF".utf8) + [0x10, 0, 0, 0] + Array("WEBPVP8 ".utf8)), "image/webp"),
            (bytes([0x49, 0x49, 0x2A, 0x00]), "image/tiff"),
            (bytes([0x4D, 0x4D, 0x00, 0x2A]), "image/tiff"),
            (bytes(Array("%PDF-1.7\n".utf8)), "application/pdf"),
            (bytes([0x50, 0x4B, 0x03, 0x04]), "application/zip"),
            (ftyp("heic", ["mif1", "heic"]), "image/heic"),
            (ftyp("mif1", ["mif1", "heic"]), "image/heic"),
            (ftyp("mif1", ["mif1"]), "image/heif"),
            (ftyp("avif", ["avif", "mif1", "miaf"]), "image/avif"),
            (ftyp("isom", ["isom", "iso2", "mp41"]), "video/mp4"),
            (Array("plain words, ünïcödé and a newline\n".utf8), "text/plain; charset=utf-8"),
            (bytes([0x00, 0x01, 0x02, 0x03]), "application/octet-stream"),
            ([], "application/octet-stream"),
        ] as [([UInt8], String)])
    func recognisesTheFormatFromItsFirstBytes(input: [UInt8], expected: String) {
        #expect(ContentSniffer.sniff(input) == expected)
    }

    @Test func aClientCannotPassAnExecutableOffAsAnImageByItsName() {
        // An ELF binary is what its bytes say, whatever name or type the client sent.
        #expect(ContentSniffer.sniff(Self.bytes([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01])) == "application/octet-stream")
    }

    @Test func textCutInTheMiddleOfACharacterIsStillText() {
        let text = Array(String(repeating: "é", count: 300).utf8)  // 600 bytes; the prefix cuts one in half
        #expect(ContentSniffer.sniff(text) == "text/plain; charset=utf-8")
    }
}
