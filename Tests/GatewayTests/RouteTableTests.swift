import AsyncHTTPClient
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Testing

@testable import Gateway

/// The gateway's router against `Resources/openapi.json`: a route served but not documented,
/// or documented but not served, fails here.
@Suite("Route table")
struct RouteTableTests {
    /// The gateway's router as `GatewayApp` builds it (no peer is called).
    static func router() throws -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        let readiness = Readiness(service: "gateway", startup: StartupGate(), logger: Logger(label: "test"))
        router.addOperationalRoutes(readiness: readiness)
        let peers = Peers(http: HTTPClient.shared, urls: try PeerURLs(reader: ConfigReader(environment: [:])), logger: Logger(label: "test"))
        try GatewayApp.addRoutes(
            to: router, peers: peers, verifier: TestTokens().verifier(logger: Logger(label: "test")), readiness: readiness,
            links: LinkSigner(secrets: [String(repeating: "k", count: 32)]), publicURL: "http://127.0.0.1")
        return router
    }

    /// `/v1/files/:id` → `/v1/files/{id}`.
    static func openAPIPath(_ path: String) -> String {
        "/" + path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }

    /// Every route but WebDAV's: `/dav/` is its own protocol (RFC 4918, docs/webdav.md), whose
    /// methods (PROPFIND, MKCOL, …) OpenAPI cannot name; the document's App passwords tag says so.
    static func served() throws -> Set<String> {
        Set(try router().routes.filter { !$0.path.description.hasPrefix("/dav") }.map { "\($0.method.rawValue) \(openAPIPath($0.path.description))" })
    }

    @Test func webDAVIsServedWithEveryMethodAndPointedToByTheDocument() throws {
        let dav = Set(try Self.router().routes.filter { $0.path.description.hasPrefix("/dav") }.map(\.method.rawValue))
        #expect(dav == Set(WebDAVEndpoint.methods.map(\.rawValue)))
        #expect(dav.contains("PROPFIND") && dav.contains("LOCK"))
        let document = try DocsController.resource("openapi", "json")
        #expect(document.contains("docs/webdav.md"))
    }

    static func documented() throws -> Set<String> {
        Set(try DocsController.openAPIPaths().flatMap { path, methods in methods.map { "\($0) \(path)" } })
    }

    @Test func everyServedRouteIsDocumented() throws {
        let undocumented = try Self.served().subtracting(Self.documented())
        #expect(undocumented.isEmpty, "served but not in openapi.json: \(undocumented.sorted())")
    }

    @Test func everyDocumentedRouteIsServed() throws {
        let missing = try Self.documented().subtracting(Self.served())
        #expect(missing.isEmpty, "in openapi.json but not served: \(missing.sorted())")
    }

    @Test func theTableIsNotEmptyAndHoldsEachKindOfRoute() throws {
        let served = try Self.served()
        // Proxied (auth, metadata), served by the gateway itself, operational, and documents.
        for route in [
            "POST /v1/auth/login", "GET /v1/folders/{id}/children", "POST /v1/files", "HEAD /v1/links/{token}", "GET /readyz",
            "GET /openapi.json",
        ] {
            #expect(served.contains(route), "\(route)")
        }
    }

    @Test func aProxiedRouteIsListedOnce() {
        let all = (ProxiedRoutes.auth + ProxiedRoutes.metadata).map { "\($0.method.rawValue) \($0.path)" }
        #expect(Set(all).count == all.count)
    }
}
