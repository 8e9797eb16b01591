import CirrusStorage
import Foundation

/// A `Range` request header (RFC 9110 §14) resolved against a content's size. One range is
/// served; a header Cirrus does not serve (another unit, several ranges, bad syntax) is
/// ignored and the whole content is sent, as the RFC allows.
enum RangeRequest: Equatable {
    case whole
    case partial(ByteRange)
    case unsatisfiable

    static func resolve(_ header: String?, size: Int64) -> RangeRequest {
        guard let header = header?.trimmingCharacters(in: .whitespaces) else { return .whole }
        let lower = header.lowercased()
        guard lower.hasPrefix("bytes=") else { return .whole }
        let spec = lower.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let firstText = spec[..<dash]
        let lastText = spec[spec.index(after: dash)...]
        func number(_ text: Substring) -> Int64? {
            guard !text.isEmpty, text.count <= 18, text.allSatisfy(\.isASCIIDigit) else { return nil }
            return Int64(text)
        }
        if firstText.isEmpty {
            // Suffix range: the last n bytes.
            guard let count = number(lastText) else { return .whole }
            guard count > 0, size > 0 else { return .unsatisfiable }
            return .partial(ByteRange(first: max(0, size - count), last: size - 1))
        }
        guard let first = number(firstText) else { return .whole }
        let last: Int64
        if lastText.isEmpty {
            last = size - 1
        } else {
            guard let value = number(lastText) else { return .whole }
            guard value >= first else { return .whole }  // invalid: ignored
            last = min(value, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .partial(ByteRange(first: first, last: last))
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// `If-None-Match`: does any listed entity tag (or `*`) match ours? Weak comparison (RFC 9110 §13.1.2).
enum EntityTag {
    static func matches(_ header: String?, etag: String) -> Bool {
        guard let header else { return false }
        let ours = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        return header.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            return tag == "*" || (tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag) == ours
        }
    }
}
