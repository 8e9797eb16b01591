import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// `InternalClient`, the one way services call each other, against small servers on loopback
/// ports of their own: credentials, the JSON encoding, decoding of answers and refusals, what
/// an unreachable peer becomes, and which calls are tried twice.
@Suite("Internal client", .timeLimit(.minutes(2)))
struct InternalClientTests {
    static let logger: Logger = {
        var logger = Logger(label: "internal-client-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// Configured as the services' client: no retried connection attempts (a refused
    /// connection fails at once), so each retry seen here is `InternalClient`'s own. The
    /// timeouts are generous: none of these tests waits for one, and the whole suite runs in
    /// parallel on two cores (a 2 s connect bound once made three of them flaky in CI).
    static let http = HTTPClientService(connectTimeout: .seconds(20), readTimeout: .seconds(30)).client

    func client(_ url: String, unavailableDetail: String? = nil, replyLimit: Int = 4 << 20) -> InternalClient {
        InternalClient(
            http: Self.http, service: "ledger", baseURL: url, timeout: .seconds(40), replyLimit: replyLimit,
            unavailableDetail: unavailableDetail, logger: Self.logger)
    }

    // MARK: - A recording server

    struct Received: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var headers: HTTPFields
        var body: ByteBuffer

        func values(_ name: String) -> [String] { HTTPField.Name(name).map { headers[values: $0] } ?? [] }
    }

    struct Recording<Context: RequestContext>: RouterMiddleware {
        let received: Recorder<Received>
        let answer: @Sendable (Received) async throws -> Response

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let seen = Received(method: request.method, path: request.uri.path, headers: request.headers, body: body)
            received.append(seen)
            return try await answer(seen)
        }
    }

    struct DidNotStart: Error {}

    /// A Hummingbird server that records each request and answers it with `answer` (errors
    /// rendered by the services' `ErrorMiddleware`), for the duration of `body`.
    static func serve(
        _ answer: @escaping @Sendable (Received) async throws -> Response, _ body: (String, Recorder<Received>) async throws -> Void
    ) async throws {
        let received = Recorder<Received>()
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: Recording(received: received, answer: answer))
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { announce.finish() }
                try await app.runService(gracefulShutdownSignals: [])
            }
            defer { group.cancelAll() }
            var listening = ports.makeAsyncIterator()
            guard let port = await listening.next(), port > 0 else { throw DidNotStart() }
            try await body("http://127.0.0.1:\(port)", received)
        }
    }

    // MARK: - A server that drops connections

    /// Counts the requests it receives and closes the connection of the first `dropping` of
    /// them once the request has been read, without answering (a peer restarting, or closing a
    /// pooled connection as it is reused); later requests get 200 "answered". Deterministic:
    /// a call sees exactly as many attempts as the client makes.
    final class DroppingServer: Sendable {
        private let seen = Mutex<[String]>([])
        let dropping: Int

        init(dropping: Int) { self.dropping = dropping }

        /// Records a request ("METHOD /path"); true when its connection is to be dropped.
        func record(_ request: String) -> Bool {
            seen.withLock { requests in
                requests.append(request)
                return requests.count <= dropping
            }
        }

        var requests: [String] { seen.withLock { $0 } }
    }

    final class DroppingHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let server: DroppingServer
        private var drop = false

        init(server: DroppingServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch Self.unwrapInboundIn(data) {
            case .head(let head):
                drop = server.record("\(head.method.rawValue) \(head.uri)")
            case .body:
                break
            case .end:
                guard !drop else {
                    context.close(promise: nil)
                    return
                }
                let body = ByteBuffer(string: "answered")
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "text/plain")
                headers.add(name: "Content-Length", value: "\(body.readableBytes)")
                headers.add(name: "Connection", value: "close")
                context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    static func withDroppingServer(dropping count: Int, _ body: (DroppingServer, String) async throws -> Void) async throws {
        let server = DroppingServer(dropping: count)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(DroppingHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        let port = try #require(channel.localAddress?.port)
        try await body(server, "http://127.0.0.1:\(port)")
    }

    // MARK: - Credentials and bodies

    @Test func eachCredentialSetsItsOwnHeader() async throws {
        try await Self.serve({ _ in Response(status: .noContent) }) { url, received in
            let ledger = client(url)
            _ = try await ledger.send(.GET, "/whoami")
            _ = try await ledger.send(.GET, "/whoami", as: .bearer("access-token-1"))
            _ = try await ledger.send(.GET, "/whoami", as: .grant("grant-1"))
            // A credential replaces a header of the same name the caller passed along.
            _ = try await ledger.send(.GET, "/whoami", as: .bearer("fresh"), headers: ["Authorization": "Bearer stale"])
            _ = try await ledger.send(.GET, "/whoami", as: .grant("fresh-grant"), headers: ["X-Cirrus-Grant": "stale-grant"])

            let seen = received.all
            try #require(seen.count == 5)
            #expect(seen[0].values("Authorization").isEmpty)
            #expect(seen[0].values(InternalGrant.header).isEmpty)
            #expect(seen[1].values("Authorization") == ["Bearer access-token-1"])
            #expect(seen[1].values(InternalGrant.header).isEmpty)
            #expect(seen[2].values(InternalGrant.header) == ["grant-1"])
            #expect(seen[2].values("Authorization").isEmpty)
            #expect(seen[3].values("Authorization") == ["Bearer fresh"])
            #expect(seen[4].values(InternalGrant.header) == ["fresh-grant"])
        }
    }

    @Test func aJSONBodyIsTheContractsEncodingSentAsJSON() async throws {
        let reservation = UploadReservation(
            uploadID: UUID(), fileID: UUID(), maxBytes: 5_000_000, grant: "v1.k1.payload/with+slash==",
            expiresAt: Date(timeIntervalSince1970: 1_900_000_000.123))
        try await Self.serve({ _ in Response(status: .noContent) }) { url, received in
            // The caller's Content-Type cannot contradict the body.
            _ = try await client(url).send(.POST, "/ledger/entries", as: .bearer("t"), json: reservation, headers: ["Content-Type": "text/plain"])
            let seen = try #require(received.all.first)
            #expect(seen.method == .post)
            #expect(seen.path == "/ledger/entries")
            #expect(seen.values("Content-Type") == ["application/json"])
            #expect(Array(seen.body.readableBytesView) == Array(try ContractCoding.encoder().encode(reservation)))
            #expect(try ContractCoding.decoder().decode(UploadReservation.self, from: Data(seen.body.readableBytesView)) == reservation)
            let text = String(buffer: seen.body)
            #expect(text.contains(#""expires_at":"2030-03-17T17:46:40.123Z""#), "\(text)")
            #expect(text.contains(#""grant":"v1.k1.payload/with+slash==""#), "slashes are not escaped")
        }
    }

    @Test func theRequestIDAndTraceOfTheWorkInProgressTravel() async throws {
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "k=v", requestID: "req-42")
        try await Self.serve({ _ in Response(status: .noContent) }) { url, received in
            let ledger = client(url)
            try await TraceScope.$current.withValue(trace) {
                _ = try await ledger.send(.GET, "/traced")
            }
            _ = try await ledger.send(.GET, "/untraced")
            let seen = received.all
            try #require(seen.count == 2)
            #expect(seen[0].values("X-Request-Id") == ["req-42"])
            #expect(seen[0].values("traceparent") == [trace.traceparent!])
            #expect(seen[0].values("tracestate") == ["k=v"])
            #expect(seen[1].values("X-Request-Id").isEmpty, "outside a request or event nothing is forwarded")
            #expect(seen[1].values("traceparent").isEmpty)
        }
    }

    // MARK: - Answers

    @Test func decodeReturnsTheContractOnlyOnTheExpectedStatus() async throws {
        let reservation = UploadReservation(
            uploadID: UUID(), fileID: UUID(), maxBytes: 1_000, grant: "g", expiresAt: Date(timeIntervalSince1970: 1_800_000_000))
        try await Self.serve({ request in
            switch request.path {
            case "/created": return try Response.json(reservation, status: .created)
            case "/ok": return try Response.json(reservation)
            default:
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"unexpected":true}"#)))
            }
        }) { url, _ in
            let ledger = client(url)
            let created = try await ledger.send(.POST, "/created", json: UploadReservationRequest(name: "a", size: 1))
            #expect(created.status == 201)
            #expect(try created.decode(UploadReservation.self, status: 201) == reservation)
            #expect(try created.decode(UploadReservation.self) == nil, "200 expected by default")
            #expect(created.problem == nil)

            let ok = try await ledger.send(.GET, "/ok")
            #expect(try ok.decode(UploadReservation.self) == reservation)
            #expect(try ok.decode(UploadReservation.self, status: 201) == nil)

            let other = try await ledger.send(.GET, "/other")
            #expect(other.status == 200)
            // The expected status with a body that is not the contract's: a 502, never a success.
            #expect(throws: ProblemError.self) { try other.decode(UploadReservation.self) }
            #expect((try? other.decode(UploadReservation.self, status: 201)) == .some(nil), "another status is a refusal to pass on")
        }
    }

    @Test func problemDecodesAProblemAnswerOnly() async throws {
        let refusal = ProblemError.conflict("An item with this name already exists in the folder.")
        try await Self.serve({ _ in throw refusal }) { url, _ in
            let reply = try await client(url).send(.POST, "/internal/uploads", json: UploadReservationRequest(name: "a"))
            #expect(reply.status == 409)
            #expect(reply.problem == refusal.problem)
            #expect(try reply.decode(UploadReservationRequest.self) == nil)
        }
        let body = ByteBuffer(bytes: try ContractCoding.encoder().encode(refusal.problem))
        let withParameters = InternalReply(status: 409, headers: ["Content-Type": "application/problem+json; charset=utf-8"], body: body)
        #expect(withParameters.problem == refusal.problem)
        let notAProblem = InternalReply(status: 409, headers: ["Content-Type": "application/json"], body: body)
        #expect(notAProblem.problem == nil, "only application/problem+json is a problem")
        let notARefusal = InternalReply(status: 200, headers: ["Content-Type": Problem.mediaType], body: body)
        #expect(notARefusal.problem == nil, "only an answer of 400 or more is a refusal")
        let garbled = InternalReply(status: 500, headers: ["Content-Type": Problem.mediaType], body: ByteBuffer(string: "<html>"))
        #expect(garbled.problem == nil)
    }

    // MARK: - Unreachable peers

    @Test func anUnreachablePeerIsA503WithTheConfiguredDetail() async throws {
        let url = "http://127.0.0.1:\(try freePort())"
        let configured = client(url, unavailableDetail: "The ledger is closed for the night.")
        let error = await #expect(throws: ProblemError.self) { _ = try await configured.send(.GET, "/balance") }
        #expect(error?.status == .serviceUnavailable)
        #expect(error?.problem.detail == "The ledger is closed for the night.")
        #expect(error?.headers[.retryAfter] == "5")
        let streamed = await #expect(throws: ProblemError.self) { _ = try await configured.stream(.GET, "/statement") }
        #expect(streamed?.problem.detail == "The ledger is closed for the night.")

        // Unconfigured, the detail names the service.
        let plain = client(url)
        #expect(plain.unavailableDetail == "The ledger service is unavailable.")
        let posted = await #expect(throws: ProblemError.self) {
            _ = try await plain.send(.POST, "/entries", json: UploadCompletion(receipt: "r"))
        }
        #expect(posted?.status == .serviceUnavailable)
        #expect(posted?.problem.detail == "The ledger service is unavailable.")
    }

    @Test func anAnswerLargerThanTheReplyLimitIsA502() async throws {
        try await Self.serve({ _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x61, count: 4_096))) }) { url, _ in
            let error = await #expect(throws: ProblemError.self) {
                _ = try await client(url, replyLimit: 1_024).send(.GET, "/statement")
            }
            #expect(error?.status == .badGateway)  // the peer answered, with more than a caller takes
            // Within the limit the same answer is collected whole.
            let reply = try await client(url, replyLimit: 8_192).send(.GET, "/statement")
            #expect(reply.body.readableBytes == 4_096)
        }
    }

    @Test func streamOrUnreachableThrowsUnreachableForTheCallerToCleanUp() async throws {
        let closed = client("http://127.0.0.1:\(try freePort())")
        let error = await #expect(throws: InternalClient.Unreachable.self) {
            _ = try await closed.streamOrUnreachable(.PUT, "/uploads/1", as: .grant("g"), body: .bytes(ByteBuffer(string: "bytes")))
        }
        #expect(error?.service == "ledger")

        // A reachable peer's answer comes back unread, whatever its status.
        try await Self.serve({ request in
            Response(status: .created, headers: [.contentType: "text/plain"], body: .init(byteBuffer: request.body))
        }) { url, received in
            let response = try await client(url).streamOrUnreachable(
                .PUT, "/uploads/1", as: .grant("g"), body: .bytes(ByteBuffer(string: "bytes")))
            #expect(response.status.code == 201)
            #expect(String(buffer: try await response.body.collect(upTo: 1_024)) == "bytes")
            #expect(received.all.first?.values(InternalGrant.header) == ["g"])
        }
    }

    // MARK: - Retries

    @Test func aGETIsTriedOnceMoreWhenItsConnectionDrops() async throws {
        try await Self.withDroppingServer(dropping: 1) { server, url in
            let reply = try await client(url).send(.GET, "/ledger/balance")
            #expect(reply.status == 200)
            #expect(String(buffer: reply.body) == "answered")
            #expect(server.requests == ["GET /ledger/balance", "GET /ledger/balance"])
        }
    }

    @Test func aPOSTWithAJSONBodyIsSentOnce() async throws {
        // A second attempt would be answered: the call fails only because none is made.
        try await Self.withDroppingServer(dropping: 1) { server, url in
            let error = await #expect(throws: ProblemError.self) {
                _ = try await client(url).send(.POST, "/ledger/entries", json: UploadCompletion(receipt: "r-1"))
            }
            #expect(error?.status == .serviceUnavailable)
            #expect(server.requests == ["POST /ledger/entries"])
        }
    }

    struct RetryCase: Sendable, CustomTestStringConvertible {
        var method: HTTPMethod
        var withBody: Bool
        var attempts: Int
        var testDescription: String { "\(method.rawValue)\(withBody ? " with a body" : ""): \(attempts) attempt(s)" }
    }

    static let retryCases: [RetryCase] = [
        RetryCase(method: .GET, withBody: false, attempts: 2),
        RetryCase(method: .HEAD, withBody: false, attempts: 2),
        // Not DELETE: a forwarded DELETE that reached the peer before the connection broke would answer 404 the second time.
        RetryCase(method: .DELETE, withBody: false, attempts: 1),
        RetryCase(method: .GET, withBody: true, attempts: 1),
        RetryCase(method: .POST, withBody: false, attempts: 1),
        RetryCase(method: .PUT, withBody: true, attempts: 1),
        RetryCase(method: .PATCH, withBody: true, attempts: 1),
    ]

    /// Against a peer that drops every connection: a GET or HEAD without a body is tried
    /// exactly twice, anything else once; either way the caller gets the 503.
    @Test(arguments: InternalClientTests.retryCases)
    func onlyIdempotentCallsWithoutABodyAreTriedTwice(_ retry: RetryCase) async throws {
        try await Self.withDroppingServer(dropping: .max) { server, url in
            let error = await #expect(throws: ProblemError.self) {
                _ = try await client(url).send(retry.method, "/ledger", body: retry.withBody ? ByteBuffer(string: "{}") : nil)
            }
            #expect(error?.status == .serviceUnavailable)
            #expect(server.requests == Array(repeating: "\(retry.method.rawValue) /ledger", count: retry.attempts))
        }
    }
}
