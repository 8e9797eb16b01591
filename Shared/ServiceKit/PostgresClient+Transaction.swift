import Logging
import Metrics
import PostgresNIO
import Tracing

extension PostgresClient {
    /// `withTransaction`, but an error thrown by `body` comes out as itself (PostgresNIO
    /// wraps it in `PostgresTransactionError`), so a `ProblemError` thrown inside a
    /// transaction still reaches the client as its 4xx.
    /// The time until `body` starts (a pooled connection, then BEGIN) goes to
    /// `cirrus_db_pool_wait_seconds`.
    /// With tracing on, a transaction of traced work (a request, an event) is a span named
    /// after the function that opened it; background passes make none.
    public func transaction<Result: Sendable>(
        logger: Logger, function: String = #function,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await CirrusTracing.span(
            "transaction \(function.prefix { $0 != "(" })", kind: .client, onlyInTrace: true,
            attributes: {
                $0["db.system"] = "postgresql"
                $0["code.function"] = function
            }
        ) {
            try await transactionUntraced(logger: logger, body)
        }
    }

    private func transactionUntraced<Result: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let started = ContinuousClock.now
        do {
            return try await withTransaction(logger: logger) { connection in
                let waited = ContinuousClock.now - started
                DatabaseMetrics.poolWait.recordNanoseconds(waited.components.seconds * 1_000_000_000 + waited.components.attoseconds / 1_000_000_000)
                return try await body(connection)
            }
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

/// The database side of a service's metrics.
public enum DatabaseMetrics {
    static let poolWait = Timer(label: "cirrus_db_pool_wait_seconds", preferredDisplayUnit: .seconds)
    static let inUse = Gauge(label: "cirrus_db_pool_in_use")
    static let open = Gauge(label: "cirrus_db_pool_open")

    /// `cirrus_db_pool_in_use` / `cirrus_db_pool_open`, as PostgreSQL sees the connections to this
    /// service's database (replicas of one service share the figure: they share the database).
    public static func sample(_ client: PostgresClient, logger: Logger) async throws {
        let rows = try await client.query(
            """
            SELECT count(*) FILTER (WHERE state IS DISTINCT FROM 'idle')::BIGINT, count(*)::BIGINT FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            """, logger: logger)
        for try await (busy, all) in rows.decode((Int, Int).self) {
            inUse.record(busy)
            open.record(all + 1)  // this connection too
        }
    }
}
