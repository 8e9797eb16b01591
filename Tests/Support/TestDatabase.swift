import CirrusServiceKit
import CirrusTestSupport
import Foundation
import Logging
import PostgresNIO

/// A fresh database on the test PostgreSQL for one test, dropped afterwards.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "db-tests")
        logger.logLevel = .warning
        return logger
    }()

    public static func admin() throws -> DatabaseConfiguration {
        try DatabaseConfiguration(url: TestEnvironment.postgresURL)
    }

    public static func withDatabase<T: Sendable>(_ body: @Sendable (PostgresClient, DatabaseConfiguration) async throws -> T) async throws -> T {
        let adminConfiguration = try admin()
        let name = TestEnvironment.uniqueName("kit")
        // The admin connection only creates and drops the database: one connection is enough,
        // and the tests run in parallel against one server.
        var adminPool = adminConfiguration
        adminPool.maxConnections = 1
        let adminClient = PostgresClient(configuration: adminPool.postgresConfiguration, backgroundLogger: logger)
        var configuration = adminConfiguration
        configuration.database = name
        let client = PostgresClient(configuration: configuration.postgresConfiguration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await adminClient.run() }
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await adminClient.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            let result: Result<T, any Error>
            do { result = .success(try await body(client, configuration)) } catch { result = .failure(error) }
            _ = try? await adminClient.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
            return try result.get()
        }
    }
}
