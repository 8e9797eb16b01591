import AsyncHTTPClient
import CirrusContracts
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
    let peer: InternalClient
    var bodyLimit = 1 << 20

    var service: String { peer.service }

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host",
        "content-length", "proxy-connection",
    ]
    /// The trace context sent on is the request's own (validated; with tracing on, the client span's).
    static let traceHeaders: Set<String> = ["traceparent", "tracestate", "x-request-id"]

    func forward(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let answer = try await fetch(request, context: context, path: nil)
        return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
    }

    /// The upstream's answer to `request` (or to a GET of `path` with the caller's headers).
    func fetch(
        _ request: Request, context: GatewayRequestContext, path: String?
    ) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        let body = path == nil ? try await request.collectBody(limit: bodyLimit) : ByteBuffer()
        let target = path ?? request.uri.description
        var headers = HTTPHeaders()
        // Headers the client's Connection header names are hop-by-hop too (RFC 9110 §7.6.1).
        let named = Set(
            request.headers[values: .connection].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || named.contains(name) || name.hasPrefix("x-cirrus-") || Self.traceHeaders.contains(name) { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        headers.replaceOrAdd(name: "X-Cirrus-Client-Address", value: context.clientAddress)
        let method = path == nil ? HTTPMethod(rawValue: request.method.rawValue) : .GET
        let reply = try await peer.send(
            method, target.hasPrefix("/") ? target : "/" + target, body: body.readableBytes > 0 ? body : nil, headers: headers)
        var fields = HTTPFields()
        for (name, value) in reply.headers where !Self.hopByHop.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return (HTTPResponse.Status(code: reply.status), fields, reply.body)
    }
}

/// The public routes the gateway forwards as they are, by the service that owns them
/// (shared/API.md): the one list the router is built from. The routes the gateway serves
/// itself (file bytes, links, `/v1/me`, dead letters, status, documents) register themselves;
/// GatewayTests' `RouteTableTests` checks the whole router against `Resources/openapi.json`.
enum ProxiedRoutes {
    /// Auth's: accounts, tokens, JWKS and administration.
    static let auth: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "/v1/auth/register"), (.post, "/v1/auth/login"), (.post, "/v1/auth/refresh"), (.post, "/v1/auth/logout"),
        (.post, "/v1/auth/bootstrap-admin"), (.post, "/v1/admin/signing-keys/rotate"), (.get, "/v1/auth/jwks"),
        (.get, "/v1/admin/tiers"), (.post, "/v1/admin/tiers"), (.get, "/v1/admin/tiers/:id"), (.patch, "/v1/admin/tiers/:id"),
        (.delete, "/v1/admin/tiers/:id"), (.get, "/v1/admin/users"), (.patch, "/v1/admin/users/:id"), (.delete, "/v1/admin/users/:id"),
        (.post, "/v1/me/app-passwords"), (.get, "/v1/me/app-passwords"), (.delete, "/v1/me/app-passwords/:id"),
    ]

    /// Metadata's: folders, files, versions, copies, trash (file bytes do not pass here: `FileTransfer`).
    static let metadata: [(method: HTTPRequest.Method, path: String)] = [
        (.get, "/v1/folders/root"), (.post, "/v1/folders"), (.get, "/v1/folders/:id"), (.get, "/v1/folders/:id/children"),
        (.patch, "/v1/folders/:id"), (.delete, "/v1/folders/:id"),
        (.get, "/v1/files"), (.get, "/v1/files/:id"), (.patch, "/v1/files/:id"), (.delete, "/v1/files/:id"), (.get, "/v1/files/:id/versions"),
        (.get, "/v1/images"), (.post, "/v1/files/:id/copy"), (.post, "/v1/files/:id/thumbnails/retry"),
        (.get, "/v1/trash"), (.delete, "/v1/trash"), (.post, "/v1/trash/:id/restore"), (.delete, "/v1/trash/:id"),
        (.post, "/v1/files/:id/shares"), (.get, "/v1/files/:id/shares"), (.post, "/v1/folders/:id/shares"), (.get, "/v1/folders/:id/shares"),
        (.patch, "/v1/shares/:id"), (.delete, "/v1/shares/:id"), (.get, "/v1/shared-with-me"),
    ]

    /// Routes whose answer may take long: a copy into another owner's drive copies the bytes
    /// (blob reads and writes the whole file before metadata answers). The usual 30 s would
    /// answer 503 while the copy still lands.
    static let slow: [(method: HTTPRequest.Method, path: String)] = [(.post, "/v1/files/:id/copy")]
    static let slowTimeout: TimeAmount = .hours(6)
}

extension Router where Context == GatewayRequestContext {
    /// Every route of `ProxiedRoutes` forwarded to its service, the slow ones through the
    /// patient pool (`Peers.patientMetadata`).
    func addProxiedRoutes(peers: Peers) {
        addProxiedRoutes(ProxiedRoutes.auth, to: UpstreamProxy(peer: peers.auth))
        addProxiedRoutes(ProxiedRoutes.metadata, to: UpstreamProxy(peer: peers.metadata), slow: UpstreamProxy(peer: peers.patientMetadata))
    }

    /// Each of `routes` forwarded to `proxy`, those of `ProxiedRoutes.slow` to `slow`.
    func addProxiedRoutes(_ routes: [(method: HTTPRequest.Method, path: String)], to proxy: UpstreamProxy, slow: UpstreamProxy? = nil) {
        let patient = slow ?? proxy
        let forward: @Sendable (Request, GatewayRequestContext) async throws -> Response = { try await proxy.forward($0, context: $1) }
        let wait: @Sendable (Request, GatewayRequestContext) async throws -> Response = { try await patient.forward($0, context: $1) }
        for route in routes {
            let slow = ProxiedRoutes.slow.contains { $0.method == route.method && $0.path == route.path }
            on(RouterPath(route.path), method: route.method, use: slow ? wait : forward)
        }
    }
}

/// `GET /v1/me`: auth's profile, with the storage used from metadata (the owner of that
/// figure) joined into `quota`.
struct MeEndpoint: Sendable {
    let auth: UpstreamProxy
    let metadata: InternalClient

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let profile = try await auth.fetch(request, context: context, path: nil)
        let relayed = Response(status: profile.status, headers: profile.headers, body: .init(byteBuffer: profile.body))
        guard profile.status == .ok, var object = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: profile.body)), case .object = object
        else {
            return relayed
        }
        var quota = object["quota"] ?? .object([:])
        if case .object = quota {} else { quota = .object([:]) }
        // Unknown unless metadata, which owns these figures, answers: `used_bytes` null,
        // `reserved_bytes` absent (as the OpenAPI document says).
        quota["used_bytes"] = .null
        quota["reserved_bytes"] = nil
        if let token = TokenVerifier.token(from: request),
            let usage = (try? await metadata.send(.GET, "/internal/usage", as: .bearer(token))).flatMap({ try? $0.decode(StorageUsage.self) }) ?? nil
        {
            quota["used_bytes"] = .integer(usage.usedBytes)
            quota["reserved_bytes"] = .integer(usage.reservedBytes)
        }
        object["quota"] = quota
        let data = try ContractCoding.encoder().encode(object)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
