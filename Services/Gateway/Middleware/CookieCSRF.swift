import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird

/// Cross-site request forgery, for callers a browser authenticates by the session cookie.
///
/// A state-changing request (anything but GET, HEAD, OPTIONS) that carries the session cookie
/// and no `Authorization` header is served only if a browser could not have sent it from
/// another site: its `Content-Type` is JSON (a cross-origin page cannot send that without a
/// CORS preflight, which only configured origins pass), or `Sec-Fetch-Site` says
/// `same-origin`, or `Origin` is the API's own origin or a configured CORS origin. A missing
/// `Content-Type` counts as not JSON. Bearer-token callers are not affected: a browser never
/// adds that header by itself.
///
/// Login CSRF (a page logging the victim into the attacker's account, so that what the
/// victim uploads lands in the attacker's drive): `POST /v1/auth/login` must be JSON, and is
/// refused when `Sec-Fetch-Site` is `cross-site` or `same-site` or `Origin` is a foreign one.
struct CookieCSRFMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    /// The API's own origin (`scheme://host[:port]` of `CIRRUS_PUBLIC_URL`).
    let ownOrigin: String
    /// `CIRRUS_GATEWAY_CORS_ORIGINS` (credentialed cross-origin callers the operator allows).
    let allowedOrigins: Set<String>

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let safeMethods: Set<HTTPRequest.Method> = [.get, .head, .options]

    init(publicURL: String, corsOrigins: Set<String>) {
        ownOrigin = Self.origin(of: publicURL) ?? publicURL
        allowedOrigins = corsOrigins.filter { $0 != "*" }
    }

    /// `scheme://host[:port]` of a URL, lower case, default ports left out.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased()
        else {
            return nil
        }
        let defaultPort = scheme == "https" ? 443 : 80
        if let port = components.port, port != defaultPort { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Self.safeMethods.contains(request.method) else { return try await next(request, context) }
        if request.uri.path == "/v1/auth/login" {
            try checkLogin(request)
        } else if request.headers[.authorization] == nil, TokenVerifier.token(from: request) != nil,
            !request.uri.path.hasPrefix("/v1/public/")  // anonymous routes: the cookie is not used there
        {
            // No Authorization header: the token, if any, is the session cookie.
            try checkCookieWrite(request)
        }
        return try await next(request, context)
    }

    func checkCookieWrite(_ request: Request) throws {
        if Self.isJSON(request.headers[.contentType]) { return }
        if request.headers[Self.secFetchSite]?.lowercased() == "same-origin" { return }
        if let origin = request.headers[.origin], isAllowed(origin: origin) { return }
        throw ProblemError(
            .forbidden, type: "https://cirrus.dev/problems/csrf", title: "Cross-site request refused",
            detail: "A request authenticated by the session cookie must send Content-Type: application/json or come from this site's own origin.")
    }

    func checkLogin(_ request: Request) throws {
        let site = request.headers[Self.secFetchSite]?.lowercased()
        let foreignOrigin = request.headers[.origin].map { !isAllowed(origin: $0) } ?? false
        guard site != "cross-site", site != "same-site", !foreignOrigin, Self.isJSON(request.headers[.contentType]) else {
            throw ProblemError(
                .forbidden, type: "https://cirrus.dev/problems/csrf", title: "Cross-site login refused",
                detail: "Log in with Content-Type: application/json from this site's own origin.")
        }
    }

    func isAllowed(origin: String) -> Bool {
        let normalised = Self.origin(of: origin) ?? origin.lowercased()
        return normalised == ownOrigin || allowedOrigins.contains(origin)
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }
}
