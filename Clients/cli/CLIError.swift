import Foundation

/// The process's exit codes, documented in `cirrus --help`.
enum ExitStatus: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 2
    case notFound = 3
    case auth = 4
    case conflict = 5
    case unavailable = 6

    /// The exit code an HTTP error status maps to.
    init(httpStatus: Int) {
        switch httpStatus {
        case 401, 403: self = .auth
        case 404: self = .notFound
        case 409: self = .conflict
        case 500...599: self = .unavailable
        default: self = .failure
        }
    }
}

/// A field named by a validation problem.
struct FieldError: Decodable, Sendable {
    let field: String
    let message: String
}

/// An `application/problem+json` answer (RFC 9457).
struct Problem: Decodable, Sendable {
    let title: String?
    let status: Int?
    let detail: String?
    let errors: [FieldError]?
}

/// Every error the commands report: a message for people, and the exit code.
struct CLIError: Error, Sendable {
    var message: String
    var status: ExitStatus
    var fieldErrors: [FieldError] = []
    /// The HTTP status when the error is the server's answer.
    var httpStatus: Int?

    init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }

    /// The error for a non-2xx answer: the problem's `detail` (or title) and its field errors.
    init(httpStatus: Int, body: Data) {
        let problem = try? JSONDecoder().decode(Problem.self, from: body)
        let text = problem?.detail ?? problem?.title ?? HTTPStatusText.reason(httpStatus)
        self.init(text, status: ExitStatus(httpStatus: httpStatus))
        self.fieldErrors = problem?.errors ?? []
        self.httpStatus = httpStatus
    }

    static func usage(_ message: String) -> CLIError { CLIError(message, status: .usage) }
    static func notFound(_ message: String) -> CLIError { CLIError(message, status: .notFound) }
    static func conflict(_ message: String) -> CLIError { CLIError(message, status: .conflict) }
    static let notLoggedIn = CLIError("Not logged in: run `cirrus login` first.", status: .auth)

    /// Prints the error on standard error.
    func report() {
        Output.error("cirrus: \(message)")
        for error in fieldErrors { Output.error("  \(error.field): \(error.message)") }
    }
}

/// Reason phrases for answers that carry no problem body.
enum HTTPStatusText {
    static func reason(_ status: Int) -> String {
        switch status {
        case 401: "Not authenticated (HTTP 401)."
        case 403: "Not allowed (HTTP 403)."
        case 404: "Not found (HTTP 404)."
        case 409: "Conflict (HTTP 409)."
        case 429: "Too many requests (HTTP 429)."
        case 500...599: "The server failed to answer (HTTP \(status))."
        default: "The server answered HTTP \(status)."
        }
    }
}
