/// The content type of a file from its first bytes, never from what the client claims.
/// Knows the formats a drive most needs to recognise (images for thumbnails, documents,
/// archives); anything else is `application/octet-stream`, or `text/plain` for UTF-8 text.
enum ContentSniffer {
    /// How many leading bytes `sniff` needs at most.
    static let prefixLength = 512

    static func sniff(_ bytes: some Collection<UInt8>) -> String {
        let head = Array(bytes.prefix(prefixLength))
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + signature.count && Array(head[offset..<offset + signature.count]) == signature
        }
        func ascii(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }

        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if ascii("GIF87a") || ascii("GIF89a") { return "image/gif" }
        if ascii("RIFF") && ascii("WEBP", at: 8) { return "image/webp" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "image/tiff" }
        if ascii("%PDF-") { return "application/pdf" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return "application/zip" }
        if ascii("ftyp", at: 4), let type = isoMediaType(head) { return type }
        if looksLikeText(head) { return "text/plain; charset=utf-8" }
        return "application/octet-stream"
    }

    /// ISO base media files (HEIF/HEIC, AVIF, MP4): decided by the major and compatible brands.
    static func isoMediaType(_ head: [UInt8]) -> String? {
        guard head.count >= 12 else { return nil }
        let boxSize = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
        let end = min(max(boxSize, 12), head.count)
        var brands: [String] = [String(decoding: head[8..<12], as: UTF8.self)]
        var offset = 16  // skip minor version
        while offset + 4 <= end {
            brands.append(String(decoding: head[offset..<offset + 4], as: UTF8.self))
            offset += 4
        }
        if brands.contains(where: { ["avif", "avis"].contains($0) }) { return "image/avif" }
        if brands.contains(where: { ["heic", "heix", "hevc", "hevx", "heim", "heis"].contains($0) }) { return "image/heic" }
        if brands.contains(where: { ["mif1", "msf1"].contains($0) }) { return "image/heif" }
        if brands.contains(where: { ["isom", "iso2", "mp41", "mp42", "avc1", "dash"].contains($0) }) { return "video/mp4" }
        if brands.contains("qt  ") { return "video/quicktime" }
        return nil
    }

    /// Valid UTF-8 (a sequence cut at the end of the prefix is fine) without NULs or most
    /// control characters.
    static func looksLikeText(_ head: [UInt8]) -> Bool {
        guard !head.isEmpty else { return false }
        if head.contains(where: { $0 == 0 || ($0 < 0x20 && ![0x09, 0x0A, 0x0C, 0x0D, 0x1B].contains($0)) }) { return false }
        var bytes = head[...]
        // Drop a possibly truncated multi-byte sequence at the end.
        var trailing = 0
        while trailing < 3, let last = bytes.last, last & 0xC0 == 0x80 {
            bytes = bytes.dropLast()
            trailing += 1
        }
        if let last = bytes.last, last >= 0xC0 { bytes = bytes.dropLast() } else if trailing > 0 { bytes = head[...] }
        return String(validating: bytes, as: UTF8.self) != nil
    }
}
