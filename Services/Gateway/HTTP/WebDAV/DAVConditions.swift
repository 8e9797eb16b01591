import Foundation

/// The `If` header (RFC 4918 10.4): lists of conditions on lock tokens and entity tags, each
/// list optionally tagged with the resource it is about. The header holds when one list holds;
/// a list holds when each of its conditions does. Every lock token it names is "submitted".
struct IfHeader: Sendable, Equatable {
    struct Condition: Sendable, Equatable {
        var not: Bool
        /// A state token (`opaquelocktoken:…`, `DAV:no-lock`, …) or an entity tag (`"…"`).
        var token: String?
        var etag: String?
    }

    struct List: Sendable, Equatable {
        /// The tagged resource (a URL or absolute path as sent), or nil for the request's.
        var resource: String?
        var conditions: [Condition]
    }

    var lists: [List]

    /// Every state token the header names (they are submitted whether their list holds or not).
    var tokens: Set<String> { Set(lists.flatMap { $0.conditions.compactMap(\.token) }) }

    struct Malformed: Error {}

    static func parse(_ text: String) throws -> IfHeader {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var lists: [List] = []
        var tag: String?
        func skipBlanks() {
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
        }
        func read(until end: Unicode.Scalar) throws -> String {
            var out = String.UnicodeScalarView()
            index += 1
            while index < scalars.count, scalars[index] != end {
                out.append(scalars[index])
                index += 1
            }
            guard index < scalars.count else { throw Malformed() }
            index += 1
            return String(out)
        }
        while true {
            skipBlanks()
            guard index < scalars.count else { break }
            switch scalars[index] {
            case "<":
                tag = try read(until: ">")
            case "(":
                index += 1
                var conditions: [Condition] = []
                while true {
                    skipBlanks()
                    guard index < scalars.count else { throw Malformed() }
                    if scalars[index] == ")" {
                        index += 1
                        break
                    }
                    var not = false
                    if index + 3 <= scalars.count, String(String.UnicodeScalarView(scalars[index..<index + 3])).lowercased() == "not" {
                        not = true
                        index += 3
                        skipBlanks()
                    }
                    guard index < scalars.count else { throw Malformed() }
                    switch scalars[index] {
                    case "<": conditions.append(Condition(not: not, token: try read(until: ">")))
                    case "[": conditions.append(Condition(not: not, etag: try read(until: "]")))
                    default: throw Malformed()
                    }
                }
                guard !conditions.isEmpty else { throw Malformed() }
                lists.append(List(resource: tag, conditions: conditions))
            default:
                throw Malformed()
            }
        }
        guard !lists.isEmpty else { throw Malformed() }
        return IfHeader(lists: lists)
    }

    /// What a condition is checked against: the lock tokens that apply to a resource, and its
    /// entity tag (nil for a folder or nothing).
    struct State: Sendable {
        var tokens: Set<String>
        var etag: String?
    }

    /// Does the header hold? `state` gives each resource's state (nil: the request's resource).
    func holds(_ state: (String?) async throws -> State) async rethrows -> Bool {
        for list in lists {
            let current = try await state(list.resource)
            let holds = list.conditions.allSatisfy { condition in
                var matches: Bool
                if let token = condition.token {
                    matches = current.tokens.contains(token)
                } else {
                    let wanted = condition.etag.map(Self.strong)
                    matches = current.etag != nil && current.etag.map(Self.strong) == wanted
                }
                if condition.not { matches.toggle() }
                return matches
            }
            if holds { return true }
        }
        return false
    }

    /// An entity tag without its weakness mark (`W/"x"` is `"x"`): the If header compares them so.
    static func strong(_ tag: String) -> String { tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag }
}

/// The `Timeout` header of LOCK: the first `Second-N` (or `Infinite`) the server can honour.
enum DAVTimeout {
    static let defaultSeconds = 3600
    static let maxSeconds = 86_400

    static func seconds(_ header: String?) -> Int {
        guard let header else { return defaultSeconds }
        for piece in header.split(separator: ",") {
            let value = piece.trimmingCharacters(in: .whitespaces)
            if value.lowercased() == "infinite" { return maxSeconds }
            if value.lowercased().hasPrefix("second-"), let seconds = Int(value.dropFirst(7)), seconds > 0 { return min(seconds, maxSeconds) }
        }
        return defaultSeconds
    }
}
