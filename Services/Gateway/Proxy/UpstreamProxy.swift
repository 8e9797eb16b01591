import AsyncHTTPClient
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Forwards a request to the service that owns it and relays the answer. The body is
/// buffered up to `bodyLimit` (these are small JSON routes; file bytes stream elsewhere).
/// The caller's address and request id travel along; hop-by-hop headers and any
/// client-supplied `X-Cirrus-*` header do not, so a client cannot pose as the gateway.
struct UpstreamProxy: Sendable {
    let client: HTTPClient
    let baseURL: String
    let service: String
    var bodyLimit = 1 << 20
    var timeout: TimeAmount = .seconds(30)

    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"]

    func forward(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await request.collectBody(limit: bodyLimit)
        let path = request.uri.description
        var upstream = HTTPClientRequest(url: baseURL + (path.hasPrefix("/") ? path : "/" + path))
        upstream.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || name.hasPrefix("x-cirrus-") { continue }
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.headers.replaceOrAdd(name: "X-Cirrus-Client-Address", value: context.clientAddress)
        if let requestID = context.logger[metadataKey: "request_id"] {
            upstream.headers.replaceOrAdd(name: "X-Request-Id", value: "\(requestID)")
        }
        if body.readableBytes > 0 { upstream.body = .bytes(body) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, timeout: timeout)
        } catch {
            context.logger.warning("upstream unreachable", metadata: ["service": "\(service)", "error": "\(error)"])
            throw ProblemError.unavailable("The \(service) service is unavailable.")
        }
        var headers = HTTPFields()
        for (name, value) in response.headers where !Self.hopByHop.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Response(status: HTTPResponse.Status(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: bytes))
    }
}

extension Router where Context == GatewayRequestContext {
    /// Auth's public routes (shared/API.md): accounts, tokens, JWKS and administration.
    func addAuthRoutes(_ proxy: UpstreamProxy) {
        let forward: @Sendable (Request, GatewayRequestContext) async throws -> Response = { try await proxy.forward($0, context: $1) }
        for path in ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout", "/v1/auth/bootstrap-admin", "/v1/admin/signing-keys/rotate"] {
            post(RouterPath(path), use: forward)
        }
        get("/v1/auth/jwks", use: forward)
        get("/v1/me", use: forward)
        get("/v1/admin/tiers", use: forward)
        post("/v1/admin/tiers", use: forward)
        get("/v1/admin/tiers/:id", use: forward)
        patch("/v1/admin/tiers/:id", use: forward)
        delete("/v1/admin/tiers/:id", use: forward)
        get("/v1/admin/users", use: forward)
        patch("/v1/admin/users/:id", use: forward)
        delete("/v1/admin/users/:id", use: forward)
    }
}
