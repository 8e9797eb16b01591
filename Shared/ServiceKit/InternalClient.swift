import AsyncHTTPClient
import CirrusContracts
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// How a service calls another: every service-to-service request goes through one of these,
/// so grants, the caller's token, the request id and trace context, timeouts, the retry of
/// safe calls and the decoding of answers are written once.
///
/// - A call that cannot reach the peer (refused, reset, timed out) throws a 503 problem naming
///   it (`unavailableDetail`); it is logged with the peer's name. A GET or HEAD that failed
///   for any reason but a timeout is tried once more first (it is safe to repeat, and one retry
///   covers a pooled connection the peer closed as it was reused); a call that timed out is not
///   (that would double the wait), and no other method is (a DELETE forwarded twice could
///   answer 404 for what the first one did).
/// - An answer of any status is returned as an `InternalReply`, whose body is decoded into the
///   route's contract type (`decode`) or passed on as it is (`relayed` in the gateway).
/// - A streaming call (`stream`) returns AsyncHTTPClient's response with its body unread: the
///   caller passes it on, and must read or drop it.
public struct InternalClient: Sendable {
    public let http: HTTPClient
    /// The peer's name in spans, logs and errors ("metadata", "blob").
    public let service: String
    public let baseURL: String
    /// Per call, unless the call says otherwise.
    public var timeout: TimeAmount
    /// The largest answer `send` collects (streams are not bounded here).
    public var replyLimit: Int
    /// The detail of the 503 a caller sees when the peer cannot be reached.
    public var unavailableDetail: String
    let logger: Logger

    public init(
        http: HTTPClient, service: String, baseURL: String, timeout: TimeAmount = .seconds(30), replyLimit: Int = 4 << 20,
        unavailableDetail: String? = nil, logger: Logger = Logger(label: "cirrus.internal-client")
    ) {
        self.http = http
        self.service = service
        self.baseURL = baseURL
        self.timeout = timeout
        self.replyLimit = replyLimit
        self.unavailableDetail = unavailableDetail ?? "The \(service) service is unavailable."
        self.logger = logger
    }

    /// Who the call is made for.
    public enum Credential: Sendable {
        /// No credential (the route is open to the network of services, or checks a signature in its path).
        case none
        /// The end user's access token, forwarded: the callee verifies it itself.
        case bearer(String)
        /// A grant the callee checks (`X-Cirrus-Grant`).
        case grant(String)
    }

    /// Sends a request with a JSON body (a contract type) and collects the answer.
    public func send(
        _ method: HTTPMethod, _ path: String, as credential: Credential = .none, json: some Encodable & Sendable,
        headers: HTTPHeaders = [:], timeout: TimeAmount? = nil
    ) async throws -> InternalReply {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        let body = ByteBuffer(bytes: try ContractCoding.encoder().encode(json))
        return try await collect(method, path, credential: credential, headers: headers, body: .bytes(body), timeout: timeout, retries: 0)
    }

    /// Sends a request (with `body`, if any, sent as it is) and collects the answer (up to `replyLimit` bytes).
    public func send(
        _ method: HTTPMethod, _ path: String, as credential: Credential = .none, body: ByteBuffer? = nil,
        headers: HTTPHeaders = [:], timeout: TimeAmount? = nil
    ) async throws -> InternalReply {
        let retries = body == nil && [.GET, .HEAD].contains(method) ? 1 : 0
        return try await collect(
            method, path, credential: credential, headers: headers, body: body.map { .bytes($0) }, timeout: timeout, retries: retries)
    }

    private func collect(
        _ method: HTTPMethod, _ path: String, credential: Credential, headers: HTTPHeaders, body: HTTPClientRequest.Body?,
        timeout: TimeAmount?, retries: Int
    ) async throws -> InternalReply {
        let replyLimit = self.replyLimit
        return try await perform(method, path, credential: credential, headers: headers, body: body, timeout: timeout, retries: retries) { response in
            InternalReply(
                status: Int(response.status.code), headers: response.headers, body: try await response.body.collect(upTo: replyLimit),
                service: service)
        }
    }

    /// Sends a request (its body streamed when it is one) and returns the answer unread.
    public func stream(
        _ method: HTTPMethod, _ path: String, as credential: Credential = .none, headers: HTTPHeaders = [:],
        body: HTTPClientRequest.Body? = nil, timeout: TimeAmount? = nil
    ) async throws -> HTTPClientResponse {
        try await perform(method, path, credential: credential, headers: headers, body: body, timeout: timeout, retries: 0) { $0 }
    }

    /// The transport's error when the peer could not be reached, for callers that handle it themselves.
    public struct Unreachable: Error, CustomStringConvertible {
        public var service: String
        public var underlying: any Error
        public var description: String { "\(service) unreachable: \(underlying)" }
    }

    /// Like `stream`, but throws `Unreachable` (not a 503 problem), for callers that must clean up first.
    public func streamOrUnreachable(
        _ method: HTTPMethod, _ path: String, as credential: Credential = .none, headers: HTTPHeaders = [:],
        body: HTTPClientRequest.Body? = nil, timeout: TimeAmount? = nil
    ) async throws -> HTTPClientResponse {
        try await execute(method, path, credential: credential, headers: headers, body: body, timeout: timeout)
    }

    private func perform<T: Sendable>(
        _ method: HTTPMethod, _ path: String, credential: Credential, headers: HTTPHeaders, body: HTTPClientRequest.Body?,
        timeout: TimeAmount?, retries: Int, _ read: (HTTPClientResponse) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            let response: HTTPClientResponse
            do {
                response = try await execute(method, path, credential: credential, headers: headers, body: body, timeout: timeout)
            } catch let unreachable as Unreachable {
                if attempt < retries && !Self.isTimeout(unreachable.underlying) {
                    attempt += 1
                    continue
                }
                logger.warning("\(service) unreachable", metadata: ["service": "\(service)", "error": "\(unreachable.underlying)"])
                throw ProblemError.unavailable(unavailableDetail)
            }
            do {
                return try await read(response)
            } catch is NIOTooManyBytesError {
                logger.warning("\(service) answer too large", metadata: ["service": "\(service)"])
                throw ProblemError(.badGateway, detail: "The \(service) service answered with more than expected.")
            } catch {
                logger.warning("\(service) answer unreadable", metadata: ["service": "\(service)", "error": "\(error)"])
                throw ProblemError.unavailable(unavailableDetail)
            }
        }
    }

    static func isTimeout(_ error: any Error) -> Bool {
        guard let error = error as? HTTPClientError else { return false }
        return error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
    }

    private func execute(
        _ method: HTTPMethod, _ path: String, credential: Credential, headers: HTTPHeaders, body: HTTPClientRequest.Body?,
        timeout: TimeAmount?
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers = headers
        switch credential {
        case .none: break
        case .bearer(let token): request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        case .grant(let grant): request.headers.replaceOrAdd(name: InternalGrant.header, value: grant)
        }
        request.body = body
        let deadline = timeout ?? self.timeout
        do {
            return try await CirrusTracing.call(method.rawValue, service) {
                // The request id, and the trace context: the client span's with tracing on.
                request.headers.propagateTrace()
                return try await http.execute(request, timeout: deadline)
            }
        } catch {
            throw Unreachable(service: service, underlying: error)
        }
    }
}

/// A peer's answer, collected.
public struct InternalReply: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// The peer that answered.
    public var service: String

    public init(status: Int, headers: HTTPHeaders, body: ByteBuffer, service: String = "internal") {
        self.status = status
        self.headers = headers
        self.body = body
        self.service = service
    }

    /// The body as `type` when the answer has status `expected`; nil for any other answer (a
    /// refusal the caller passes on). An answer with the expected status whose body is not the
    /// contract's (a peer of another version, say) is a 502: never passed on as a success, since
    /// an internal body may hold a grant.
    public func decode<T: Decodable>(_ type: T.Type, status expected: Int = 200) throws -> T? {
        guard status == expected else { return nil }
        guard let value = try? ContractCoding.decoder().decode(T.self, from: Data(body.readableBytesView)) else {
            throw ProblemError(.badGateway, detail: "The \(service) service answered in a form this version does not read.")
        }
        return value
    }

    /// The problem the peer answered with, if the answer is one.
    public var problem: Problem? {
        guard status >= 400, headers.first(name: "Content-Type")?.lowercased().hasPrefix(Problem.mediaType) == true else { return nil }
        return try? ContractCoding.decoder().decode(Problem.self, from: Data(body.readableBytesView))
    }
}
