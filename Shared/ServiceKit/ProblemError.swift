import CirrusContracts
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error a client may see, rendered as `application/problem+json` (RFC 9457).
/// Every service throws these; anything else becomes a bare 500 (see `ErrorMiddleware`).
public struct ProblemError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var problem: Problem
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, type: String? = nil, title: String? = nil, detail: String? = nil, errors: [FieldError]? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.problem = Problem(
            type: type ?? "https://cirrus.dev/problems/\(Self.slug(status.reasonPhrase))",
            title: title ?? status.reasonPhrase,
            status: status.code,
            detail: detail,
            instance: nil,
            errors: errors
        )
        self.headers = headers
    }

    /// 422 naming each offending field.
    public static func validation(_ errors: [FieldError], detail: String = "The request has invalid fields.") -> ProblemError {
        ProblemError(
            .unprocessableContent, type: "https://cirrus.dev/problems/validation", title: "Validation failed", detail: detail, errors: errors)
    }

    public static func validation(field: String, _ message: String) -> ProblemError {
        validation([FieldError(field: field, message: message)])
    }

    public static func notFound(_ what: String = "resource") -> ProblemError {
        ProblemError(.notFound, detail: "The \(what) does not exist.")
    }

    public static func conflict(_ detail: String) -> ProblemError {
        ProblemError(.conflict, detail: detail)
    }

    public static func unavailable(_ detail: String, retryAfter seconds: Int = 5) -> ProblemError {
        ProblemError(.serviceUnavailable, detail: detail, headers: [.retryAfter: "\(seconds)"])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var problem = self.problem
        // Internal routes' answers travel on through the gateway: their paths (and the blob ids
        // in them) are no business of the client.
        problem.instance = request.uri.path.hasPrefix("/internal/") ? nil : request.uri.path
        let body = try ContractCoding.encoder().encode(problem)
        var headers = self.headers
        headers[.contentType] = Problem.mediaType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func slug(_ phrase: String) -> String {
        phrase.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.reduce(into: "") { $0.append($1) }
    }
}

extension ProblemError: CustomStringConvertible {
    public var description: String { "\(status.code) \(problem.title): \(problem.detail ?? "")" }
}
