import AsyncHTTPClient
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
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
    /// The trace context sent on is the request's own (validated; with tracing on, the client span's).
    static let traceHeaders: Set<String> = ["traceparent", "tracestate", "x-request-id"]

    func forward(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let answer = try await fetch(request, context: context, path: nil)
        return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
    }

    /// The upstream's answer to `request` (or to a GET of `path` with the caller's headers).
    func fetch(_ request: Request, context: GatewayRequestContext, path: String?) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        let body = path == nil ? try await request.collectBody(limit: bodyLimit) : ByteBuffer()
        let target = path ?? request.uri.description
        var upstream = HTTPClientRequest(url: baseURL + (target.hasPrefix("/") ? target : "/" + target))
        upstream.method = path == nil ? HTTPMethod(rawValue: request.method.rawValue) : .GET
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || name.hasPrefix("x-cirrus-") || Self.traceHeaders.contains(name) { continue }
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.headers.replaceOrAdd(name: "X-Cirrus-Client-Address", value: context.clientAddress)
        if body.readableBytes > 0 { upstream.body = .bytes(body) }
        let response: HTTPClientResponse
        do {
            response = try await CirrusTracing.call(upstream.method.rawValue, service) {
                // The request id, and the trace context: the client span's with tracing on.
                upstream.headers.propagateTrace()
                return try await client.execute(upstream, timeout: timeout)
            }
        } catch {
            context.logger.warning("upstream unreachable", metadata: ["service": "\(service)", "error": "\(error)"])
            throw ProblemError.unavailable("The \(service) service is unavailable.")
        }
        var headers = HTTPFields()
        for (name, value) in response.headers where !Self.hopByHop.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (HTTPResponse.Status(code: Int(response.status.code)), headers, bytes)
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

extension Router where Context == GatewayRequestContext {
    /// Metadata's public routes (shared/API.md): folders, files, versions, copies, trash.
    /// File bytes do not pass here (see `FileTransfer`).
    func addDriveRoutes(_ proxy: UpstreamProxy) {
        let forward: @Sendable (Request, GatewayRequestContext) async throws -> Response = { try await proxy.forward($0, context: $1) }
        get("/v1/folders/root", use: forward)
        post("/v1/folders", use: forward)
        get("/v1/folders/:id", use: forward)
        get("/v1/folders/:id/children", use: forward)
        patch("/v1/folders/:id", use: forward)
        delete("/v1/folders/:id", use: forward)
        get("/v1/files", use: forward)
        get("/v1/files/:id", use: forward)
        patch("/v1/files/:id", use: forward)
        delete("/v1/files/:id", use: forward)
        get("/v1/files/:id/versions", use: forward)
        get("/v1/images", use: forward)
        post("/v1/files/:id/copy", use: forward)
        post("/v1/files/:id/thumbnails/retry", use: forward)
        get("/v1/trash", use: forward)
        delete("/v1/trash", use: forward)
        post("/v1/trash/:id/restore", use: forward)
        delete("/v1/trash/:id", use: forward)
    }
}

/// `GET /v1/me`: auth's profile, with the storage used from metadata (the owner of that
/// figure) joined into `quota`.
struct MeEndpoint: Sendable {
    let auth: UpstreamProxy
    let metadata: UpstreamProxy

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let profile = try await auth.fetch(request, context: context, path: nil)
        let relayed = Response(status: profile.status, headers: profile.headers, body: .init(byteBuffer: profile.body))
        guard profile.status == .ok, var object = try? JSONSerialization.jsonObject(with: Data(buffer: profile.body)) as? [String: Any] else { return relayed }
        var quota = object["quota"] as? [String: Any] ?? [:]
        quota["used_bytes"] = NSNull()
        if let usage = try? await metadata.fetch(request, context: context, path: "/internal/usage"), usage.status == .ok {
            if let values = try? JSONSerialization.jsonObject(with: Data(buffer: usage.body)) as? [String: Any] {
                quota["used_bytes"] = values["used_bytes"]
                quota["reserved_bytes"] = values["reserved_bytes"]
            }
        }
        object["quota"] = quota
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
