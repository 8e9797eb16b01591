import Foundation
import Logging
import PostgresNIO

/// The configuration every Cirrus service shares, read from `CIRRUS_*` environment variables.
/// Service-specific keys are read by the service itself with the same `ConfigReader`.
public struct ServiceConfiguration: Sendable, CustomStringConvertible {
    /// The service's name: `gateway`, `auth`, `metadata`, `blob` or `thumbnail`.
    public var service: String
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var kafkaBrokers: String
    public var topicPartitions: Int32
    public var topicReplicationFactor: Int32
    /// Absent for the gateway, which owns no database.
    public var database: DatabaseConfiguration?
    public var shutdownTimeout: Duration
    public var outboxPollInterval: Duration
    /// `CIRRUS_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>`.
    /// Unset, the internal services serve it openly on their (internal) port and the gateway
    /// does not serve it at all (its port is the public one).
    public var metricsToken: String?
    /// `CIRRUS_TRACING`: `off` (the default: no spans are made) or `otlp` (spans exported over
    /// OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`; see `CirrusTracing`).
    public var tracing: TracingMode

    public enum LogFormat: String, Sendable { case json, text }
    public enum TracingMode: String, Sendable { case off, otlp }

    /// The port each service listens on unless `CIRRUS_HTTP_PORT` says otherwise.
    public static let defaultPorts = ["gateway": 8080, "auth": 8081, "metadata": 8082, "blob": 8083, "thumbnail": 8084]

    public init(service: String, usesDatabase: Bool, reader: ConfigReader = ConfigReader()) throws {
        try reader.checkFiles()
        self.service = service
        httpHost = reader.string("CIRRUS_HTTP_HOST", default: "127.0.0.1")
        httpPort = try reader.int("CIRRUS_HTTP_PORT", default: Self.defaultPorts[service] ?? 8080, range: 0...65535)
        let level = reader.string("CIRRUS_LOG_LEVEL", default: "info")
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ConfigurationError(key: "CIRRUS_LOG_LEVEL", reason: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        logLevel = parsedLevel
        guard let format = LogFormat(rawValue: reader.string("CIRRUS_LOG_FORMAT", default: "json")) else {
            throw ConfigurationError(key: "CIRRUS_LOG_FORMAT", reason: "must be json or text")
        }
        logFormat = format
        kafkaBrokers = reader.string("CIRRUS_KAFKA_BROKERS", default: "127.0.0.1:9092")
        topicPartitions = Int32(try reader.int("CIRRUS_KAFKA_TOPIC_PARTITIONS", default: 3, range: 1...1000))
        topicReplicationFactor = Int32(try reader.int("CIRRUS_KAFKA_REPLICATION_FACTOR", default: 1, range: 1...10))
        shutdownTimeout = try reader.seconds("CIRRUS_SHUTDOWN_TIMEOUT_SECONDS", default: .seconds(20), range: 1...600)
        outboxPollInterval = try reader.milliseconds("CIRRUS_OUTBOX_POLL_INTERVAL_MS", default: .milliseconds(1000), range: 5...60_000)
        metricsToken = try reader.secret("CIRRUS_METRICS_TOKEN", minLength: 16)
        guard let tracingMode = TracingMode(rawValue: reader.string("CIRRUS_TRACING", default: "off")) else {
            throw ConfigurationError(key: "CIRRUS_TRACING", reason: "must be off or otlp")
        }
        tracing = tracingMode
        if usesDatabase {
            let url = try reader.requiredString("CIRRUS_DATABASE_URL")
            var pool = try DatabaseConfiguration(url: url, maxConnections: reader.int("CIRRUS_DATABASE_MAX_CONNECTIONS", default: 10, range: 1...500))
            // A service keeps its whole pool open (see `DatabaseConfiguration.postgresConfiguration`).
            pool.minConnections = pool.maxConnections
            database = pool
            if let password = database?.password, let problem = SecretPolicy.placeholderProblem(password) {
                throw ConfigurationError(key: "CIRRUS_DATABASE_URL", reason: "its password \(problem)")
            }
        } else {
            database = nil
        }
    }

    /// Safe to log: the database password is never included.
    public var description: String {
        var parts = [
            "service=\(service)", "http=\(httpHost):\(httpPort)", "log=\(logLevel)/\(logFormat.rawValue)",
            "kafka=\(kafkaBrokers)", "partitions=\(topicPartitions)", "tracing=\(tracing.rawValue)",
        ]
        if let database { parts.append("database=\(database)") }
        return parts.joined(separator: " ")
    }
}

/// Where a service's PostgreSQL database is, parsed from a `postgres://` URL.
public struct DatabaseConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var maxConnections: Int
    /// Connections the pool keeps open even when idle: all of them for a service (set by
    /// `ServiceConfiguration`), none for the other clients (tests' own). See `postgresConfiguration`.
    public var minConnections = 0

    /// `postgres://user[:password]@host[:port]/database`
    public init(url: String, maxConnections: Int = 10) throws {
        let key = "CIRRUS_DATABASE_URL"
        guard let components = URLComponentsLite(url), ["postgres", "postgresql"].contains(components.scheme) else {
            throw ConfigurationError(key: key, reason: "must look like postgres://user:password@host:port/database")
        }
        guard let user = components.user, !user.isEmpty, let host = components.host, !host.isEmpty,
            let database = components.path, !database.isEmpty
        else {
            throw ConfigurationError(key: key, reason: "needs a user, a host and a database name")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        self.database = database
        self.maxConnections = maxConnections
    }

    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    public var postgresConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.maximumConnections = maxConnections
        // Timers cost memory per query here: the pool arms an idle timer (for connections above
        // the minimum) and a keep-alive timer each time a connection goes back to it, and cancels
        // them when it is taken again; a cancelled `Task.sleep` keeps its task and its dispatch
        // timer until the deadline would have passed (60 s, 30 s). At thousands of queries a
        // second that was most of metadata's resident memory (heaptrack: `Task._sleep` and
        // `dispatch_after_f` the largest peak consumers; docs/performance.md). So a service keeps
        // its whole pool open (no idle timers), and idle connections are not pinged: one that
        // dies is dropped from the pool when its socket closes (a restarted PostgreSQL), else
        // found on its next use (a connection cut silently in between, which loopback and a
        // compose network do not do).
        configuration.options.minimumConnections = min(minConnections, maxConnections)
        configuration.options.keepAliveBehavior = nil
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

/// Just enough URL parsing for connection strings, with percent-decoding of user and password.
struct URLComponentsLite {
    var scheme: String
    var user: String?
    var password: String?
    var host: String?
    var port: Int?
    var path: String?

    init?(_ string: String) {
        guard let schemeEnd = string.range(of: "://") else { return nil }
        scheme = String(string[..<schemeEnd.lowerBound]).lowercased()
        var rest = Substring(string[schemeEnd.upperBound...])
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = String(rest[rest.index(after: slash)...])
        }
        var hostPart = authority
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon]).removingPercentEncoding
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                user = String(credentials).removingPercentEncoding
            }
        }
        if let colon = hostPart.lastIndex(of: ":") {
            guard let parsed = Int(hostPart[hostPart.index(after: colon)...]) else { return nil }
            port = parsed
            host = String(hostPart[..<colon])
        } else {
            host = String(hostPart)
        }
    }
}
