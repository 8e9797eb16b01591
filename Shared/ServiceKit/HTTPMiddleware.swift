import CirrusStorage
import CirrusContracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

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
            context.logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))", "path": "\(LogSafePath.label(request.uri.path))"])
            return try ProblemError.unavailable("The service's database is unavailable; try again shortly.").response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            // Hummingbird's own errors (404 for unknown routes, 400 for bad bodies, 413…).
            let problem = ProblemError(error.status, detail: Self.publicDetail(for: error))
            return try problem.response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(LogSafePath.label(request.uri.path))"])
            return try ProblemError(.internalServerError, detail: "An internal error occurred.").response(from: request, context: context)
        }
    }

    static func publicDetail(for error: any HTTPResponseError) -> String? {
        if let httpError = error as? HTTPError { return httpError.body }
        return nil
    }
}
