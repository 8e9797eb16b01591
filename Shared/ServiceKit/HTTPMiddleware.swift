import CirrusContracts
import CirrusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import Tracing

extension HTTPField.Name {
    public static let requestID = HTTPField.Name("X-Request-Id")!
    public static let traceparent = HTTPField.Name("traceparent")!
}

/// Takes the caller's `X-Request-Id` (or makes one), puts it in every log line of the
/// request as `request_id`, and returns it in the response. The id and the caller's trace
/// context are the request's `TraceScope.current`: events it causes carry them, and calls it
/// makes to other services forward them.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let incoming = request.headers[.requestID].flatMap { Self.isAcceptable($0) ? $0 : nil }
        let id = incoming ?? UUID().uuidString.lowercased()
        var context = context
        context.logger[metadataKey: "request_id"] = "\(id)"
        let traceparent = request.headers[.traceparent].flatMap { Self.isAcceptable($0) ? $0 : nil }
        let tracestate = request.headers[HTTPField.Name("tracestate")!].flatMap { Self.isAcceptable($0, limit: 512) ? $0 : nil }
        if let traceparent {
            context.logger[metadataKey: "traceparent"] = "\(traceparent)"
        }
        let trace = TraceContext(traceparent: traceparent, tracestate: tracestate, requestID: id)
        return try await TraceScope.$current.withValue(trace) {
            do {
                var response = try await next(request, context)
                response.headers[.requestID] = id
                return response
            } catch var error as ProblemError {
                error.headers[.requestID] = id
                throw error
            }
        }
    }

    /// Reasonable ids only: a client cannot inject log lines or huge values.
    static func isAcceptable(_ value: String, limit: Int = 128) -> Bool {
        (1...limit).contains(value.utf8.count) && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

/// Renders every error as problem+json. Errors that are not meant for clients are logged
/// once, in full, and answered with a bare 500 that leaks nothing.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ProblemError {
            return try error.response(from: request, context: context)
        } catch let error as StorageError {
            // A store's trouble, in HTTP terms: retry later (503), no space (507), range (416).
            if case .unavailable(let why) = error {
                context.logger.warning("object store unavailable", metadata: ["error": "\(why)"])
            }
            return try error.problem.response(from: request, context: context)
        } catch let error where PSQLError.databaseUnavailable(error) {
            // The database restarting, refusing connections or out of them: retry later, like
            // any dependency that is down (nothing was written: the transaction did not commit).
            context.logger.warning(
                "database unavailable", metadata: ["error": "\(String(reflecting: error))", "path": "\(LogSafePath.label(request.uri.path))"])
            return try ProblemError.unavailable("The service's database is unavailable; try again shortly.").response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            // Hummingbird's own errors (404 for unknown routes, 400 for bad bodies, 413…).
            let problem = ProblemError(error.status, detail: Self.publicDetail(for: error))
            return try problem.response(from: request, context: context)
        } catch {
            context.logger.error(
                "unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(LogSafePath.label(request.uri.path))"])
            return try ProblemError(.internalServerError, detail: "An internal error occurred.").response(from: request, context: context)
        }
    }

    static func publicDetail(for error: any HTTPResponseError) -> String? {
        if let httpError = error as? HTTPError { return httpError.body }
        return nil
    }
}

/// With tracing on, a server span per request: a child of the caller's `traceparent`, or the
/// root of a new trace when the caller sent none (the gateway thus starts every client's
/// trace). Named `METHOD /route/{param}`; the path is recorded as `LogSafePath` labels it
/// (no link tokens or names); the request id as `cirrus.request_id`. The span ends when the
/// response body has been written. Operational routes (`/metrics`, probes) make none.
/// Installed by `ServiceRuntime.makeRouter` only when tracing is on, inside
/// `RequestIDMiddleware`.
public struct ServerSpanMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if operationalPaths.contains(request.uri.path) { return try await next(request, context) }
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let span = startSpan("\(request.method.rawValue)", context: parent, ofKind: .server)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.path"] = LogSafePath.label(request.uri.path)
            attributes["cirrus.request_id"] = TraceScope.current.requestID
            attributes["http.request.body.size"] = request.headers[.contentLength].flatMap { Int($0) }
        }
        let ender = SpanEnder(span)
        do {
            var response = try await ServiceContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            if let route = context.endpointPath { span.operationName = "\(request.method.rawValue) \(route)" }
            span.updateAttributes { attributes in
                attributes["http.route"] = context.endpointPath
                attributes["http.response.status_code"] = Int(response.status.code)
            }
            if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { ender.end() }
                try await body.write(writer)
            }
            return response
        } catch {
            if let route = context.endpointPath { span.operationName = "\(request.method.rawValue) \(route)" }
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            span.updateAttributes { attributes in
                attributes["http.route"] = context.endpointPath
                attributes["http.response.status_code"] = status
            }
            if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
            span.recordError(error)
            ender.end()
            throw error
        }
    }
}

/// Ends a span once, when the response body is written, or when dropped if it never is.
final class SpanEnder: Sendable {
    private let span: NIOLockedValueBox<(any Span)?>

    init(_ span: any Span) { self.span = NIOLockedValueBox(span) }

    func end() { span.withLockedValue { $0.take() }?.end() }

    deinit { end() }
}

struct HTTPFieldsExtractor: Extractor {
    func extract(key name: String, from fields: HTTPFields) -> String? {
        HTTPField.Name(name).flatMap { fields[$0] }
    }
}
