import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

extension HTTPField.Name {
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
    static let rateLimitReset = Self("RateLimit-Reset")!
    static let rateLimitPolicy = Self("RateLimit-Policy")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}

/// The access log's `route`: the path with ids and tokens replaced (`LogSafePath`).
func routeLabel(_ path: String) -> String { LogSafePath.label(path) }

/// One line per request, apart from the application log: method, route, status, bytes
/// sent, duration (until the last byte was written), user id, request id, client address.
/// Written when the response body is done, so a 1 GiB download is logged with its real
/// duration and byte count.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let sink: AccessLogSink

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let route = routeLabel(request.uri.path)
        let requestID = context.logger[metadataKey: "request_id"].map { "\($0)" }
        let line: @Sendable (Int, Int?, Bool) -> Void = { [edge = context.edge, context] status, bytes, aborted in
            let client = context.clientAddress  // at the end: the rate limiter may have learnt it from a trusted proxy
            let elapsed = ContinuousClock.now - started
            let microseconds = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            sink.write(
                AccessLogSink.Entry(
                    method: request.method.rawValue, route: route, status: status, bytes: bytes, durationMicroseconds: microseconds,
                    userID: edge.userID, requestID: requestID, client: client, aborted: aborted))
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ProblemError {
            line(error.status.code, nil, false)
            throw error
        } catch let error as any HTTPResponseError {
            line(error.status.code, nil, false)  // Hummingbird's own (no such route: 404…)
            throw error
        } catch {
            line(500, nil, false)
            throw error
        }
        guard sink.enabled else { return response }
        if request.method == .head || response.status == .notModified || response.status == .noContent {
            line(response.status.code, 0, false)
            return response
        }
        let counter = ByteCounter()
        let counted = response.body.map { buffer in
            counter.add(buffer.readableBytes)
            return buffer
        }
        var logged = response
        logged.body = ResponseBody(contentLength: response.body.contentLength) { writer in
            do {
                try await counted.write(writer)
                line(response.status.code, counter.value, false)
            } catch {
                line(response.status.code, counter.value, true)
                throw error
            }
        }
        return logged
    }
}

final class ByteCounter: Sendable {
    private let total = Atomic<Int>(0)
    func add(_ bytes: Int) { total.add(bytes, ordering: .relaxed) }
    var value: Int { total.load(ordering: .relaxed) }
}

/// Where access lines go (`CIRRUS_GATEWAY_ACCESS_LOG`): standard output (marked
/// `"log":"access"`), a file of their own, or nowhere. Lines are written by hand
/// (`JSONWriter`) into a buffer that a background loop writes out every
/// `flushInterval` (and once more at shutdown), so no request waits for a `write(2)`;
/// a burst past `flushThreshold` bytes is written by the request that crossed it.
final class AccessLogSink: Service, Sendable {
    struct Entry {
        var ts = Date()
        var method: String
        var route: String
        var status: Int
        var bytes: Int?
        var durationMicroseconds: Int64
        var userID: String?
        var requestID: String?
        var client: String
        var aborted: Bool

        /// The JSON line, keys sorted: `aborted, bytes, client, duration_ms, log, method,
        /// request_id, route, status, ts, user_id` (absent values left out).
        var line: ByteBuffer {
            var json = JSONWriter(capacity: 320)
            json.beginObject()
            json.member("aborted", aborted)
            if let bytes { json.member("bytes", Int64(bytes)) }
            json.member("client", client)
            json.key("duration_ms")
            let (whole, fraction) = durationMicroseconds.quotientAndRemainder(dividingBy: 1000)
            json.buffer.writeString(String(whole))
            if fraction > 0 {
                var digits = String(fraction)
                digits = String(repeating: "0", count: 3 - digits.count) + digits
                while digits.hasSuffix("0") { digits.removeLast() }
                json.buffer.writeString("." + digits)
            }
            json.member("log", "access")
            json.member("method", method)
            json.member("request_id", requestID)
            json.member("route", route)
            json.member("status", Int64(status))
            json.member("ts", ts)
            json.member("user_id", userID)
            json.endObject()
            json.buffer.writeInteger(UInt8(ascii: "\n"))
            return json.buffer
        }
    }

    private enum Target {
        case stdout
        case file(FileHandle)
        case off
    }
    private let target: Target
    private let pending = Mutex(ByteBuffer())
    let flushInterval: Duration
    let flushThreshold: Int

    init(setting: String, flushInterval: Duration = .milliseconds(50), flushThreshold: Int = 256 * 1024) throws {
        self.flushInterval = flushInterval
        self.flushThreshold = flushThreshold
        switch setting {
        case "", "stdout": target = .stdout
        case "off": target = .off
        default:
            if !FileManager.default.fileExists(atPath: setting) {
                guard FileManager.default.createFile(atPath: setting, contents: nil, attributes: [.posixPermissions: 0o640]) else {
                    throw ConfigurationError(key: "CIRRUS_GATEWAY_ACCESS_LOG", reason: "cannot create \(setting)")
                }
            }
            guard let handle = FileHandle(forWritingAtPath: setting) else {
                throw ConfigurationError(key: "CIRRUS_GATEWAY_ACCESS_LOG", reason: "cannot write to \(setting)")
            }
            handle.seekToEndOfFile()
            target = .file(handle)
        }
    }

    var enabled: Bool { if case .off = target { false } else { true } }

    func write(_ entry: Entry) {
        guard enabled else { return }
        var line = entry.line
        let full: ByteBuffer? = pending.withLock { pending in
            pending.writeBuffer(&line)
            guard pending.readableBytes >= flushThreshold else { return nil }
            defer { pending = ByteBuffer() }
            return pending
        }
        if let full { output(full) }
    }

    /// Writes out what is pending.
    func flush() {
        let lines: ByteBuffer = pending.withLock { pending in
            defer { pending = ByteBuffer() }
            return pending
        }
        if lines.readableBytes > 0 { output(lines) }
    }

    private func output(_ lines: ByteBuffer) {
        let data = Data(lines.readableBytesView)
        switch target {
        case .stdout: LogOutput.write(data)
        case .file(let handle): handle.write(data)
        case .off: break
        }
    }

    /// The flush loop, until shutdown (the gateway's HTTP server stops first: its last
    /// lines are in the final flush).
    func run() async throws {
        guard enabled else {
            // Nothing to flush; a service that returned early would stop the whole gateway.
            try await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.flushInterval)
                self.flush()
            }
        }
        flush()
    }
}

/// Headers that make browsers treat API answers as data, never as a page to render or frame,
/// on every answer: errors are turned into their problem responses here (as the kit's
/// `ErrorMiddleware` would, further out), so the router's own 404s, a refused path and an
/// unexpected 500 carry the headers too.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let strictTransport: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await ErrorMiddleware<Context>().handle(request, context: context, next: next)
        apply(to: &response.headers)
        return response
    }

    func apply(to headers: inout HTTPFields) {
        headers[.xContentTypeOptions] = "nosniff"
        if headers[.xFrameOptions] == nil { headers[.xFrameOptions] = "DENY" }
        if headers[.contentSecurityPolicy] == nil { headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'; sandbox" }
        headers[.referrerPolicy] = "no-referrer"
        headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
        if strictTransport { headers[.strictTransportSecurity] = "max-age=31536000" }
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// Cross-origin requests from the configured origins only (`CIRRUS_GATEWAY_CORS_ORIGINS`;
/// none by default, so browsers keep the same-origin rule). Preflights are answered here.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let origins: Set<String>

    static let allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE"
    static let allowedHeaders =
        "Authorization, Content-Type, X-Content-SHA256, Range, If-None-Match, If-Range, X-Request-Id, "
        + "Tus-Resumable, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Offset, Upload-Checksum"
    static let exposedHeaders =
        "ETag, Content-Disposition, Content-Range, Accept-Ranges, Location, Retry-After, X-Request-Id, "
        + "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, "
        + "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, "
        + "Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Expires, Cirrus-File-Id"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !origins.isEmpty, let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = origins.contains(origin) || origins.contains("*")
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else { return Response(status: .forbidden) }
            var headers = HTTPFields()
            allow(origin, in: &headers)
            headers[.accessControlAllowMethods] = Self.allowedMethods
            headers[.accessControlAllowHeaders] = Self.allowedHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        guard allowed else { return try await next(request, context) }
        do {
            var response = try await next(request, context)
            allow(origin, in: &response.headers)
            return response
        } catch var error as ProblemError {
            allow(origin, in: &error.headers)
            throw error
        }
    }

    func allow(_ origin: String, in headers: inout HTTPFields) {
        if origins.contains(origin) {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowCredentials] = "true"
        } else {
            headers[.accessControlAllowOrigin] = "*"  // "*": any origin, without cookies
        }
        headers[.vary] = "Origin"
        headers[.accessControlExposeHeaders] = Self.exposedHeaders
    }
}

/// Request rates: per user (their tier's rate, carried in the access token) on everything
/// they call, per client address on the account routes (guessing passwords, mass sign-ups)
/// and on anonymous requests (expiring links, invalid tokens). 429 with `Retry-After`; every
/// limited answer carries `RateLimit-*` headers.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let limiter: RateLimiter
    let settings: GatewaySettings
    let verifier: TokenVerifier

    static let accountRoutes: Set<String> = ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/bootstrap-admin"]
    static let unlimited: Set<String> = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/v1/auth/jwks"]

    /// The route a request resolved to (the router resolves before any middleware runs), or,
    /// for a path no route has, the path itself (already canonical: `CanonicalPathRouter`).
    /// Limits are keyed on this, never on the path as sent.
    static func route(of request: Request, context: Context) -> String {
        context.endpointPath ?? request.uri.path
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if !settings.trustedProxies.isEmpty, let peer = context.remoteAddress?.ipAddress, settings.trustedProxies.contains(peer),
            let forwarded = request.headers[.xForwardedFor]
        {
            let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if let client = hops.last(where: { !settings.trustedProxies.contains($0) }) ?? hops.first {
                context.forwardedClient = String(client.prefix(64))
            }
        }
        let path = Self.route(of: request, context: context)
        if Self.unlimited.contains(path) { return try await next(request, context) }
        // WebDAV with credentials: the endpoint limits the caller once auth has named them
        // (a Basic header names a user only once checked).
        if path == "/dav" || path.hasPrefix("/dav/"), request.headers[.authorization]?.prefix(6).lowercased() == "basic " {
            return try await next(request, context)
        }
        let key: String
        let limit: Int
        if Self.accountRoutes.contains(path) {
            (key, limit) = ("account:" + context.clientAddress, settings.authRequestsPerMinute)
        } else if TokenVerifier.token(from: request) != nil, let identity = try? await verifier.authenticate(request) {
            context.edge.userID = identity.userID.uuidString.lowercased()
            (key, limit) = ("user:" + identity.userID.uuidString, identity.requestsPerMinute ?? settings.defaultUserRequestsPerMinute)
        } else {
            (key, limit) = ("anonymous:" + context.clientAddress, settings.anonymousRequestsPerMinute)
        }
        let decision = limiter.take(key, perMinute: limit)
        var headers = HTTPFields()
        headers[.rateLimitLimit] = String(decision.limit)
        headers[.rateLimitRemaining] = String(decision.remaining)
        headers[.rateLimitReset] = String(decision.reset)
        headers[.rateLimitPolicy] = "\(decision.limit);w=60"
        guard decision.allowed else {
            headers[.retryAfter] = String(decision.retryAfter)
            throw ProblemError(
                .tooManyRequests, type: "https://cirrus.dev/problems/rate-limited", title: "Too many requests",
                detail: "Slow down: at most \(decision.limit) requests per minute; retry in \(decision.retryAfter) s.", headers: headers)
        }
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: headers)
            return response
        } catch var error as ProblemError {
            error.headers.append(contentsOf: headers)
            throw error
        }
    }
}
