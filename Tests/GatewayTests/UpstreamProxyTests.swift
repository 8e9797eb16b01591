import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import Gateway

/// The gateway's forwarding (`UpstreamProxy`) and `GET /v1/me` (`MeEndpoint`) against fake
/// peers (`FakePeer`, in FileTransferTests.swift) that record what they received.
@Suite("Gateway upstream proxy", .timeLimit(.minutes(1)))
struct UpstreamProxyTests {
    /// The client address the edge settled on for every request here (as `EdgeMiddleware` does
    /// for a client behind a trusted proxy).
    static let clientAddress = "203.0.113.7"
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// Sets the context's client, as the edge would.
    struct PretendClient: RouterMiddleware {
        typealias Context = GatewayRequestContext
        let address: String

        func handle(
            _ request: Request, context: GatewayRequestContext, next: (Request, GatewayRequestContext) async throws -> Response
        ) async throws -> Response {
            context.forwardedClient = address
            return try await next(request, context)
        }
    }

    /// A peer as the gateway's `Peers` builds one.
    static func peer(_ service: String, _ url: String) -> InternalClient {
        InternalClient(http: FakePeer.http, service: service, baseURL: url, replyLimit: 16 << 20, logger: FakePeer.logger)
    }

    /// A gateway router with the runtime's request-id and problem middleware, the edge's client
    /// address, and the routes `addRoutes` adds.
    static func withGateway(
        _ addRoutes: (Router<GatewayRequestContext>) -> Void, _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: PretendClient(address: clientAddress))
        addRoutes(router)
        try await Application(router: router, logger: FakePeer.logger).test(.router, body)
    }

    /// A peer that answers 202 with the body it received, streamed (so its answer arrives
    /// chunked: `Transfer-Encoding` is in what the gateway gets back), with headers of its own.
    static let echo: FakePeer.Answer = { request in
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.eTag] = "\"v7\""
        headers[HTTPField.Name("X-Upstream-Note")!] = "kept"
        headers[HTTPField.Name("Keep-Alive")!] = "timeout=5"
        headers.append(HTTPField(name: .setCookie, value: "a=1; Path=/"))
        headers.append(HTTPField(name: .setCookie, value: "b=2; Path=/"))
        let body = request.body
        return Response(
            status: .accepted, headers: headers,
            body: ResponseBody { writer in
                if body.readableBytes > 0 { try await writer.write(body) }
                try await writer.finish(nil)
            })
    }

    static func problem(_ response: TestResponse) throws -> Problem {
        try ContractCoding.decoder().decode(Problem.self, from: Data(response.body.readableBytesView))
    }

    // MARK: - Forwarding

    @Test func aRequestIsForwardedWithoutHopByHopOrClientSuppliedInternalHeaders() async throws {
        try await FakePeer.serve(Self.echo) { metadata in
            try await Self.withGateway({ router in
                router.addProxiedRoutes(ProxiedRoutes.metadata, to: UpstreamProxy(peer: Self.peer("metadata", metadata.url)))
            }) { client in
                let fileID = UUID().uuidString.lowercased()
                let body = ByteBuffer(string: #"{"name":"Tax return 2024.pdf"}"#)
                var headers = HTTPFields()
                headers[.authorization] = "Bearer user-token"
                headers[.contentType] = "application/json"
                headers[.accept] = "application/json"
                headers[.ifMatch] = "\"v6\""
                headers[.requestID] = "req-proxy-1"
                headers[HTTPField.Name("traceparent")!] = Self.traceparent
                // Hop-by-hop: meant for the connection to the gateway only.
                headers[.connection] = "keep-alive"
                headers[HTTPField.Name("Keep-Alive")!] = "timeout=5"
                headers[.transferEncoding] = "chunked"
                headers[.te] = "trailers"
                headers[.upgrade] = "websocket"
                // A client posing as the gateway.
                headers[HTTPField.Name("X-Cirrus-Grant")!] = "forged-grant"
                headers[HTTPField.Name("X-Cirrus-Client-Address")!] = "6.6.6.6"
                headers[HTTPField.Name("X-Cirrus-User-Id")!] = "someone-else"
                let response = try await client.executeRequest(
                    uri: "/v1/files/\(fileID)?expand=versions&q=tax%20return", method: .patch, headers: headers, body: body)

                let seen = try #require(metadata.received.all.first)
                #expect(metadata.received.count == 1)
                #expect(seen.method == .patch)
                #expect(seen.path == "/v1/files/\(fileID)")
                #expect(seen.query == "expand=versions&q=tax%20return")
                #expect(seen.body == body)
                for dropped in ["Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Upgrade", "X-Cirrus-Grant", "X-Cirrus-User-Id"] {
                    #expect(seen.values(dropped).isEmpty, "\(dropped) was passed on: \(seen.values(dropped))")
                }
                #expect(seen.values("X-Cirrus-Client-Address") == [Self.clientAddress], "the context's client, not the client's claim")
                #expect(seen.values("X-Request-Id") == ["req-proxy-1"])
                #expect(seen.values("traceparent") == [Self.traceparent], "once: the request's own (validated) context")
                #expect(seen.values("Authorization") == ["Bearer user-token"])
                #expect(seen.values("Content-Type") == ["application/json"])
                #expect(seen.values("Accept") == ["application/json"])
                #expect(seen.values("If-Match") == ["\"v6\""])
                #expect(seen.values("Content-Length") == ["\(body.readableBytes)"])

                #expect(response.status == .accepted)
                #expect(response.body == body)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[.eTag] == "\"v7\"")
                #expect(response.headers[values: HTTPField.Name("X-Upstream-Note")!] == ["kept"])
                #expect(response.headers[values: .setCookie] == ["a=1; Path=/", "b=2; Path=/"], "each cookie, separately")
                #expect(response.headers[values: .transferEncoding].isEmpty)
                #expect(response.headers[values: HTTPField.Name("Keep-Alive")!].isEmpty)
                #expect(response.headers[values: .contentLength] == ["\(body.readableBytes)"], "the gateway's own framing")
                #expect(response.headers[values: .requestID] == ["req-proxy-1"])
            }
        }
    }

    @Test func theGatewaysRequestIDTravelsAndAnUnacceptableTraceContextDoesNot() async throws {
        try await FakePeer.serve(Self.echo) { metadata in
            try await Self.withGateway({ router in
                router.addProxiedRoutes(ProxiedRoutes.metadata, to: UpstreamProxy(peer: Self.peer("metadata", metadata.url)))
            }) { client in
                let folderID = UUID().uuidString.lowercased()
                var headers = HTTPFields()
                headers[.authorization] = "Bearer user-token"
                // Longer than RequestIDMiddleware accepts: dropped there, and not copied on either.
                headers[HTTPField.Name("traceparent")!] = String(repeating: "f", count: 200)
                let response = try await client.executeRequest(
                    uri: "/v1/folders/\(folderID)/children?limit=5", method: .get, headers: headers, body: nil)
                #expect(response.status == .accepted)
                let id = try #require(response.headers[.requestID], "the id the gateway made")

                let seen = try #require(metadata.received.all.first)
                #expect(seen.method == .get)
                #expect(seen.path == "/v1/folders/\(folderID)/children")
                #expect(seen.query == "limit=5")
                #expect(seen.body.readableBytes == 0)
                #expect(seen.values("X-Request-Id") == [id])
                #expect(seen.values("traceparent").isEmpty)
                #expect(seen.values("X-Cirrus-Client-Address") == [Self.clientAddress])
            }
        }
    }

    struct Unreachable: Sendable, CustomTestStringConvertible {
        var service: String
        var method: HTTPRequest.Method
        var uri: String
        var testDescription: String { "\(service): \(method.rawValue) \(uri)" }
    }

    @Test(arguments: [
        Unreachable(service: "metadata", method: .get, uri: "/v1/folders/root"),
        Unreachable(service: "auth", method: .post, uri: "/v1/auth/login"),
    ])
    func anUnreachablePeerIsA503NamingTheService(_ unreachable: Unreachable) async throws {
        let url = try FakePeer.unreachable().url
        try await Self.withGateway({ router in
            router.addProxiedRoutes(
                unreachable.service == "auth" ? ProxiedRoutes.auth : ProxiedRoutes.metadata,
                to: UpstreamProxy(peer: Self.peer(unreachable.service, url)))
        }) { client in
            let response = try await client.executeRequest(
                uri: unreachable.uri, method: unreachable.method, headers: [.contentType: "application/json"],
                body: unreachable.method == .post ? ByteBuffer(string: #"{"username":"ann","password":"secret-secret"}"#) : nil)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(response.headers[.retryAfter] == "5")
            let problem = try Self.problem(response)
            #expect(problem.status == 503)
            #expect(problem.detail == "The \(unreachable.service) service is unavailable.")
            #expect(problem.instance == unreachable.uri)
        }
    }

    // MARK: - GET /v1/me

    /// Auth's profile: `quota` holds what auth knows; other members the gateway does not know.
    static let profile = ByteBuffer(
        string: #"{"id":"8d3c2f4e-6a0b-4c1d-9e2f-3a4b5c6d7e8f","username":"ann","role":"user","#
            + #""quota":{"quota_bytes":10000000,"tier":"basic"},"#
            + #""preferences":{"theme":"dark","recent":[1,2.5,"x",null,true]}}"#)

    static let authProfile: FakePeer.Answer = { request in
        guard request.matches(.get, "/v1/me") else { throw ProblemError.notFound() }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: UpstreamProxyTests.profile))
    }

    static func withMe(auth: FakePeer, metadataURL: String, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await withGateway(
            { router in
                let me = MeEndpoint(auth: UpstreamProxy(peer: peer("auth", auth.url)), metadata: peer("metadata", metadataURL))
                router.get("/v1/me") { request, context in try await me.handle(request, context: context) }
            }, body)
    }

    static func json(_ buffer: ByteBuffer) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
    }

    @Test func meJoinsMetadatasUsageIntoAuthsQuotaAndKeepsEverythingElse() async throws {
        let usage = StorageUsage(usedBytes: 123_456, reservedBytes: 7_890, quotaBytes: 10_000_000)
        try await FakePeer.serve(Self.authProfile) { auth in
            try await FakePeer.serve({ request in
                guard request.matches(.get, "/internal/usage") else { throw ProblemError.notFound() }
                return try Response.json(usage)
            }) { metadata in
                try await Self.withMe(auth: auth, metadataURL: metadata.url) { client in
                    let response = try await client.executeRequest(
                        uri: "/v1/me", method: .get, headers: [.authorization: "Bearer ann-token"], body: nil)
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/json")
                    let answer = try Self.json(response.body)
                    let original = try Self.json(Self.profile)
                    #expect(answer["quota"]?["used_bytes"] == .integer(123_456))
                    #expect(answer["quota"]?["reserved_bytes"] == .integer(7_890))
                    #expect(answer["quota"]?["quota_bytes"] == .integer(10_000_000), "auth's figure")
                    #expect(answer["quota"]?["tier"] == .string("basic"))
                    for member in ["id", "username", "role", "preferences"] {
                        #expect(answer[member] == original[member], "\(member)")
                    }

                    let profileCall = try #require(auth.received.all.first)
                    #expect(profileCall.values("Authorization") == ["Bearer ann-token"])
                    #expect(profileCall.values("X-Cirrus-Client-Address") == [Self.clientAddress])
                    let usageCall = try #require(metadata.received.all.first)
                    #expect(metadata.received.count == 1)
                    #expect(usageCall.matches(.get, "/internal/usage"))
                    #expect(usageCall.values("Authorization") == ["Bearer ann-token"])
                }
            }
        }
    }

    @Test func meAnswersWithUnknownUsageWhenMetadataIsDown() async throws {
        try await FakePeer.serve(Self.authProfile) { auth in
            try await Self.withMe(auth: auth, metadataURL: try FakePeer.unreachable().url) { client in
                let response = try await client.executeRequest(
                    uri: "/v1/me", method: .get, headers: [.authorization: "Bearer ann-token"], body: nil)
                #expect(response.status == .ok)
                let answer = try Self.json(response.body)
                let original = try Self.json(Self.profile)
                #expect(answer["quota"]?["used_bytes"] == .null)
                let reserved = answer["quota"]?["reserved_bytes"]
                #expect(reserved == nil)  // absent, as the OpenAPI document says
                #expect(answer["quota"]?["quota_bytes"] == .integer(10_000_000))
                #expect(answer["preferences"] == original["preferences"])
            }
        }
    }

    @Test func meRelaysAuthsRefusalWithoutAskingMetadata() async throws {
        let refusal = TokenVerifier.unauthorized("The access token is invalid or expired.")
        try await FakePeer.serve({ _ in throw refusal }) { auth in
            try await FakePeer.serve(FakePeer.unexpected) { metadata in
                try await Self.withMe(auth: auth, metadataURL: metadata.url) { client in
                    let response = try await client.executeRequest(
                        uri: "/v1/me", method: .get, headers: [.authorization: "Bearer expired"], body: nil)
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    #expect(response.headers[.contentType] == Problem.mediaType)
                    #expect(try Self.problem(response).detail == refusal.problem.detail)
                    #expect(metadata.received.count == 0)
                }
            }
        }
    }
}
