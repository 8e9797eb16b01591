import CirrusContracts
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Request {
    /// The whole body, at most `limit` bytes; a larger one is a 413 problem.
    public func collectBody(limit: Int) async throws -> ByteBuffer {
        var request = self
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ProblemError(.contentTooLarge, detail: "The request body is larger than \(limit) bytes.")
        } catch let error as ProblemError {
            throw error
        } catch {
            throw ClientBody<RequestBody>.problem  // ended before its Content-Length, bad chunking
        }
    }

    /// Decode a JSON body of at most `limit` bytes. A body that is not JSON is a 400; a field
    /// of the wrong type is a 422 naming the field (its JSON path).
    public func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, limit: Int = 64 * 1024) async throws -> T {
        let buffer = try await collectBody(limit: limit)
        if let contentType = headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
            throw ProblemError(.unsupportedMediaType, detail: "Send the body as application/json.")
        }
        do {
            return try ContractCoding.decoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw Self.problem(for: error)
        } catch let error as ProblemError {
            throw error
        } catch {
            throw ProblemError(.badRequest, detail: "The request body is not valid JSON.")
        }
    }

    static func problem(for error: DecodingError) -> ProblemError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = path(context.codingPath)
            return field.isEmpty
                ? ProblemError(.badRequest, detail: "The request body must be a JSON object.")
                : .validation(field: field, "has the wrong type")
        case .keyNotFound(let key, let context):
            return .validation(field: path(context.codingPath + [key]), "is required")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return field.isEmpty
                ? ProblemError(.badRequest, detail: "The request body is not valid JSON.")
                : .validation(field: field, "is not valid")
        @unknown default:
            return ProblemError(.badRequest, detail: "The request body is not valid JSON.")
        }
    }
}

extension Response {
    /// A JSON response in the contracts' encoding (snake_case keys as each type spells them).
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = try ContractCoding.encoder().encode(value)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// JSON already written (by a `JSONWriter`).
    public static func json(buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }
}

/// A path parameter that must be a UUID; anything else is a 404 (the resource cannot exist).
extension Parameters {
    public func uuid(_ name: String, resource: String = "resource") throws -> UUID {
        guard let raw = self.get(name), let id = UUID(uuidString: raw) else { throw ProblemError.notFound(resource) }
        return id
    }
}

extension Request {
    /// The W3C trace context the caller sent and the request's id, for events this request
    /// causes (set by `RequestIDMiddleware`; outside it, the headers alone).
    public var traceContext: TraceContext {
        let scope = TraceScope.current
        if scope.requestID != nil { return scope }
        return TraceContext(traceparent: headers[.traceparent], tracestate: headers[HTTPField.Name("tracestate")!], requestID: headers[.requestID])
    }

    /// The internal grant in `X-Cirrus-Grant`, verified for `purpose`; 403 otherwise (the
    /// detail never says which check failed).
    public func grant(_ purpose: InternalGrant.Purpose, signer: InternalGrantSigner) throws -> InternalGrant {
        guard let token = headers[HTTPField.Name(InternalGrant.header)!] else {
            throw ProblemError(.forbidden, detail: "This internal route needs a grant.")
        }
        do {
            return try signer.verify(token, purpose: purpose)
        } catch {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
    }
}
