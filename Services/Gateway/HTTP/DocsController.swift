import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /openapi.json` (the OpenAPI 3.1 document of the public API) and `GET /docs` (the page
/// that renders it). Both are public and static: bodies and entity tags are computed once, and
/// a matching `If-None-Match` is answered with 304. HEAD comes with each GET (Hummingbird).
struct DocsController: Sendable {
    /// A static body with its media type and a strong entity tag.
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String

        init(_ text: String, contentType: String) {
            body = ByteBuffer(string: text)
            self.contentType = contentType
            etag = "\"" + Self.fingerprint(text) + "\""
        }

        /// FNV-1a (64 bit) of the UTF-8 bytes: enough to tell versions of a built-in text apart.
        static func fingerprint(_ text: String) -> String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    /// `Resources/openapi.json`, written by hand from the code: when a public route, parameter,
    /// body, status or JSON field changes, change it in the same commit. The statuses listed
    /// for each operation are every one the code can answer (Tests/api/schemathesis.sh fails on
    /// any other); GatewayTests' `RouteTableTests` fails on a route served but not documented or
    /// documented but not served. Keep it valid OpenAPI 3.1 (`openapi-spec-validator`).
    let document: Asset
    /// `Resources/docs.html`: one self-contained page (inline CSS and JavaScript, nothing
    /// external, so it works offline and under a strict Content-Security-Policy) that fetches
    /// `/openapi.json` and renders every operation and schema; all text from the document is
    /// HTML-escaped.
    let page: Asset

    struct MissingResource: Error, CustomStringConvertible {
        var name: String
        var description: String { "the gateway's resource \(name) is missing (it belongs in cirrus_Gateway.resources beside the binary)" }
    }

    /// Reads both documents from the gateway's resources (once, at start).
    init() throws {
        document = Asset(try Self.resource("openapi", "json"), contentType: "application/json")
        page = Asset(try Self.resource("docs", "html"), contentType: "text/html; charset=utf-8")
    }

    static func resource(_ name: String, _ type: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: type), let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw MissingResource(name: "\(name).\(type)")
        }
        return text
    }

    /// The public API's document, parsed (for tests of the route table).
    static func openAPIPaths() throws -> [String: Set<String>] {
        struct Document: Decodable { var paths: [String: [String: Discard]] }
        struct Discard: Decodable { init(from decoder: any Decoder) throws {} }
        let document = try JSONDecoder().decode(Document.self, from: Data(try resource("openapi", "json").utf8))
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        return document.paths.mapValues { Set($0.keys.filter(methods.contains).map { $0.uppercased() }) }
    }

    /// The page's scripts and styles are inline; it may only fetch from this origin (the
    /// document) and load nothing else.
    static let pagePolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
        + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/openapi.json") { request, _ in
            Self.serve(document, to: request, headers: [.accessControlAllowOrigin: "*"])
        }
        router.get("/docs") { request, _ in
            Self.serve(
                page, to: request,
                headers: [
                    .contentSecurityPolicy: Self.pagePolicy,
                    .xContentTypeOptions: "nosniff",
                    HTTPField.Name("Referrer-Policy")!: "no-referrer",
                ])
        }
    }

    /// The asset, or 304 when the client already has this version. Clients revalidate each
    /// time (`no-cache`), so a new gateway build is seen at once.
    static func serve(_ asset: Asset, to request: Request, headers extra: HTTPFields) -> Response {
        var headers = extra
        headers[.eTag] = asset.etag
        headers[.cacheControl] = "public, no-cache"
        if matches(request.headers[.ifNoneMatch], etag: asset.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }

    /// `If-None-Match`: `*` or any listed tag equal to ours (weak comparison, RFC 9110 §13.1.2).
    static func matches(_ header: String?, etag: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == "*" || tag == etag
        }
    }
}
