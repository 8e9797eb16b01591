import Foundation

/// A request path as logs may hold it: ids, link tokens and other long values replaced by
/// placeholders. Bounded cardinality for the access log's `route`, and a link's token — which
/// is a credential to a file — never lands in a log line, whatever the path went through
/// (`/v1/links/<token>` at the gateway, `/internal/links/<token>` in metadata).
public enum LogSafePath {
    public static func label(_ path: String) -> String {
        let path = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var out: [Substring] = []
        for (index, segment) in segments.enumerated() {
            let previous = index > 0 ? segments[index - 1] : ""
            if previous == "links" && index == segments.count - 1 && !segment.isEmpty {
                out.append("{token}")
            } else if UUID(uuidString: String(segment)) != nil {
                out.append("{id}")
            } else if previous == "thumbnails", !segment.isEmpty, segment.allSatisfy(\.isNumber) {
                out.append("{size}")
            } else if segment.utf8.count > 64 {
                out.append("{value}")
            } else {
                out.append(segment)
            }
        }
        return out.joined(separator: "/")
    }
}
