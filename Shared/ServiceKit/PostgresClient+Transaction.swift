import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, but an error thrown by `body` comes out as itself (PostgresNIO
    /// wraps it in `PostgresTransactionError`), so a `ProblemError` thrown inside a
    /// transaction still reaches the client as its 4xx.
    public func transaction<Result: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            throw error
        }
    }
}

extension PSQLError {
    /// The SQLSTATE and constraint of a server error, to map unique violations to 409.
    public var constraint: String? { serverInfo?[.constraintName] }
    public var sqlState: String? { serverInfo?[.sqlState] }
    /// `23505`: a unique constraint refused the row.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// The database is down, restarting or out of connections (not a bad statement): the
    /// connection broke, or SQLSTATE class 08 (connection exception), 57 (operator
    /// intervention: admin shutdown, cannot connect now) or 53 (insufficient resources).
    /// Whether `error` (a PSQLError, or a transaction error holding one) means the database is unavailable.
    public static func databaseUnavailable(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.isUnavailable }
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError].contains { $0.map(databaseUnavailable) ?? false }
        }
        return false
    }

    public var isUnavailable: Bool {
        switch code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed: return true
        case .server: return ["08", "57", "53"].contains(sqlState.map { String($0.prefix(2)) } ?? "")
        default: return false
        }
    }
}
