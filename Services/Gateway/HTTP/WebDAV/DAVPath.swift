import Foundation

/// Paths under `/dav/`: the request target (percent-encoded, as sent) to the names of the
/// caller's folders and file, and names back to hrefs.
struct DAVPath: Sendable, Equatable {
    static let prefix = "/dav"

    /// The names below the caller's root, decoded (an empty list is the root).
    var segments: [String]

    init(segments: [String]) { self.segments = segments }

    enum Failure: Error, Equatable {
        case outside
        case invalid(String)
    }

    /// `raw` is a path as sent (`/dav/a%20b/c`), without query. nil when it is not under `/dav`.
    init(raw: Substring) throws {
        guard raw == Substring(Self.prefix) || raw.hasPrefix(Self.prefix + "/") else { throw Failure.outside }
        var segments: [String] = []
        for piece in raw.dropFirst(Self.prefix.count).split(separator: "/") {
            guard let name = String(piece).removingPercentEncoding else {
                throw Failure.invalid("The path is not valid UTF-8 once percent-decoded.")
            }
            if name == "." || name == ".." { throw Failure.invalid("The path must not contain . or .. segments.") }
            if name.contains("/") || name.unicodeScalars.contains(where: { $0.value == 0 }) {
                throw Failure.invalid("The path must not contain an encoded slash or NUL.")
            }
            segments.append(name.precomposedStringWithCanonicalMapping)
        }
        self.segments = segments
    }

    /// A `Destination` header (or an `If` header's tag): an absolute URI or an absolute path.
    /// Only its path counts: behind a proxy the `Host` the gateway sees is often not the one the
    /// client used, and a path outside `/dav/` is what names another server's resource (502).
    init(destination: String) throws {
        var rest = Substring(destination.trimmingCharacters(in: .whitespaces))
        if let scheme = rest.range(of: "://") {
            let afterScheme = rest[scheme.upperBound...]
            rest = afterScheme[(afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex)...]
        }
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<query] }
        if rest.isEmpty { rest = "/" }
        try self.init(raw: rest)
    }

    var isRoot: Bool { segments.isEmpty }
    var name: String { segments.last ?? "" }
    var parent: DAVPath { DAVPath(segments: Array(segments.dropLast())) }

    /// The path as metadata's `GET /internal/paths` takes it (`/a/b`).
    var plain: String { "/" + segments.joined(separator: "/") }

    /// True when `self` is `other` or below it.
    func isWithin(_ other: DAVPath) -> Bool {
        segments.count >= other.segments.count && Array(segments.prefix(other.segments.count)) == other.segments
    }

    /// Characters left as they are in hrefs; everything else is percent-encoded (UTF-8).
    static let unescaped: Set<UInt8> = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$'()*,;=:@".utf8))

    static func encode(_ name: String) -> String {
        var out = ""
        for byte in name.utf8 {
            if unescaped.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// The href of this path; folders end with `/`.
    func href(folder: Bool) -> String {
        var href = Self.prefix + "/" + segments.map(Self.encode).joined(separator: "/")
        if folder, !segments.isEmpty { href += "/" }
        return href
    }

    func appending(_ name: String) -> DAVPath { DAVPath(segments: segments + [name]) }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
