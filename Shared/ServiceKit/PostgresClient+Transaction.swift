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
}
