import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird

/// Request paths, made canonical once at the edge, before the router, the rate limiter and the
/// proxy see them, so all three agree on which route a request is.
///
/// - Empty segments are dropped (`//v1/auth/register`, `/v1/auth//register`,
///   `/v1/auth/register/` are `/v1/auth/register`): the router ignores them anyway, so the
///   request is rewritten and every later step sees the canonical path.
/// - Dot segments (`.`, `..`, also percent-encoded) and percent-encoded `/`, `\` (but under
///   `/dav/`, where names may hold one) or NUL are refused with 400: no route has them, and an upstream or a store must never have to
///   resolve them.
enum CanonicalPath {
    enum Verdict: Equatable {
        /// The path is canonical as sent.
        case canonical
        /// The same route under its canonical path (query kept).
        case rewrite(String)
        /// Refused, with the reason for the problem's detail.
        case refuse(String)
    }

    /// `target` is the request target as sent: path and optional query. Runs twice per request
    /// (before routing, and in `PathGuardMiddleware`), so an ordinary path is told apart in
    /// one pass over its bytes without splitting it.
    static func check(_ target: String) -> Verdict {
        if isPlainlyCanonical(target) { return .canonical }
        let path: Substring
        let query: Substring?
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = target[...]
            query = nil
        }
        guard path.first == "/" else { return .refuse("The request path must start with /.") }
        if path == "/" { return .canonical }
        let isDAV = path.hasPrefix("/dav/")
        var kept: [Substring] = []
        var dropped = false
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            if segment.isEmpty {
                dropped = true
                continue
            }
            if segment.utf8.contains(UInt8(ascii: "\\")) { return .refuse("The request path must not contain a backslash.") }
            if segment.utf8.contains(UInt8(ascii: "%")) {
                let lower = segment.lowercased()
                // WebDAV names may hold a backslash (the API allows it in names); there it arrives
                // as %5C and DAVPath decodes it as a character of the name, never a separator.
                if lower.contains("%2f") || lower.contains("%00") || (lower.contains("%5c") && !isDAV) {
                    return .refuse("The request path must not contain an encoded slash, backslash or NUL.")
                }
                let decoded = lower.replacingOccurrences(of: "%2e", with: ".")
                if decoded == "." || decoded == ".." { return .refuse("The request path must not contain . or .. segments.") }
            } else if segment == "." || segment == ".." {
                return .refuse("The request path must not contain . or .. segments.")
            }
            kept.append(segment)
        }
        guard dropped else { return .canonical }
        var canonical = "/" + kept.joined(separator: "/")
        if let query { canonical += "?" + query }
        return .rewrite(canonical)
    }

    /// True when the path (up to `?`) starts with `/` and has no `%`, `\`, `//`, `/.` and no
    /// trailing `/`: nothing the full check could rewrite or refuse.
    static func isPlainlyCanonical(_ target: String) -> Bool {
        var previous: UInt8 = 0
        var count = 0
        for byte in target.utf8 {
            if byte == UInt8(ascii: "?") { break }
            if count == 0, byte != UInt8(ascii: "/") { return false }
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") { return false }
            if previous == UInt8(ascii: "/"), byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") { return false }
            previous = byte
            count += 1
        }
        return count == 1 || (count > 1 && previous != UInt8(ascii: "/"))
    }
}

/// Wraps the gateway's router: a request whose path has empty segments reaches the router
/// (route resolution happens before any middleware) with its canonical path instead.
struct CanonicalPathResponder<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let inner: Inner

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let target = request.head.path, case .rewrite(let canonical) = CanonicalPath.check(target) else {
            return try await inner.respond(to: request, context: context)
        }
        var head = request.head
        head.path = canonical
        return try await inner.respond(to: Request(head: head, body: request.body), context: context)
    }
}

/// The router, built behind `CanonicalPathResponder`.
struct CanonicalPathRouter<Builder: HTTPResponderBuilder>: HTTPResponderBuilder {
    let router: Builder
    func buildResponder() -> CanonicalPathResponder<Builder.Responder> { CanonicalPathResponder(inner: router.buildResponder()) }
}

/// Refuses what `CanonicalPath` refuses (400, problem+json), inside the edge's middleware so
/// the answer carries the security headers and is logged like any other.
struct PathGuardMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let target = request.head.path, case .refuse(let why) = CanonicalPath.check(target) {
            throw ProblemError(.badRequest, type: "https://cirrus.dev/problems/invalid-path", title: "Invalid request path", detail: why)
        }
        return try await next(request, context)
    }
}
