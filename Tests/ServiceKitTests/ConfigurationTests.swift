import CirrusContracts
import CirrusServiceKit
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsAreSafe() throws {
        let configuration = try ServiceConfiguration(service: "gateway", usesDatabase: false, reader: ConfigReader(environment: [:]))
        #expect(configuration.httpHost == "127.0.0.1")
        #expect(configuration.httpPort == 8080)
        #expect(configuration.database == nil)
        #expect(configuration.topicPartitions == 3)
        #expect(configuration.shutdownTimeout == .seconds(20))
    }

    @Test func eachServiceHasItsDefaultPort() throws {
        let env = ["CIRRUS_DATABASE_URL": "postgres://u@h/db"]
        for (service, port) in ServiceConfiguration.defaultPorts {
            let configuration = try ServiceConfiguration(service: service, usesDatabase: service != "gateway", reader: ConfigReader(environment: env))
            #expect(configuration.httpPort == port)
        }
    }

    @Test func databaseURLIsParsedAndItsPasswordNeverPrinted() throws {
        let env = ["CIRRUS_DATABASE_URL": "postgres://cirrus:s%40cr%3At@db.example:6543/metadata", "CIRRUS_DATABASE_MAX_CONNECTIONS": "7"]
        let configuration = try ServiceConfiguration(service: "metadata", usesDatabase: true, reader: ConfigReader(environment: env))
        let database = try #require(configuration.database)
        #expect(database.username == "cirrus")
        #expect(database.password == "s@cr:t")
        #expect(database.host == "db.example")
        #expect(database.port == 6543)
        #expect(database.database == "metadata")
        #expect(database.maxConnections == 7)
        #expect(!configuration.description.contains("s@cr:t"))
        #expect(!configuration.description.contains("s%40cr"))
        #expect(configuration.description.contains("db.example"))
    }

    /// A service's pool stays open and arms no timers: the pool arms an idle and a keep-alive
    /// timer on every release of a connection above its minimum, and each cancelled one held
    /// memory until its deadline (docs/performance.md, "Metadata's memory"). Other clients of
    /// `DatabaseConfiguration` (the tests' own) keep the library's on-demand pool.
    @Test func aServiceKeepsItsWholePoolOpenWithoutTimers() throws {
        let env = ["CIRRUS_DATABASE_URL": "postgres://u@h/db", "CIRRUS_DATABASE_MAX_CONNECTIONS": "7"]
        let service = try #require(try ServiceConfiguration(service: "metadata", usesDatabase: true, reader: ConfigReader(environment: env)).database)
        #expect(service.minConnections == 7)
        #expect(service.postgresConfiguration.options.minimumConnections == 7)
        #expect(service.postgresConfiguration.options.maximumConnections == 7)
        #expect(service.postgresConfiguration.options.keepAliveBehavior == nil)

        let plain = try DatabaseConfiguration(url: "postgres://u@h/db", maxConnections: 4)
        #expect(plain.postgresConfiguration.options.minimumConnections == 0)
        #expect(plain.postgresConfiguration.options.maximumConnections == 4)
    }

    @Test func aServiceWithADatabaseRequiresItsURL() {
        #expect {
            try ServiceConfiguration(service: "auth", usesDatabase: true, reader: ConfigReader(environment: [:]))
        } throws: { ($0 as? ConfigurationError)?.key == "CIRRUS_DATABASE_URL" }
    }

    @Test(arguments: [
        ("CIRRUS_HTTP_PORT", "eighty"), ("CIRRUS_HTTP_PORT", "70000"), ("CIRRUS_LOG_LEVEL", "loud"),
        ("CIRRUS_LOG_FORMAT", "xml"), ("CIRRUS_KAFKA_TOPIC_PARTITIONS", "0"), ("CIRRUS_DATABASE_URL", "mysql://u@h/db"),
        ("CIRRUS_DATABASE_URL", "postgres://h/db"), ("CIRRUS_OUTBOX_POLL_INTERVAL_MS", "-5"),
    ])
    func badValuesAreRefusedNamingTheKey(key: String, value: String) {
        var env = ["CIRRUS_DATABASE_URL": "postgres://u@h/db"]
        env[key] = value
        #expect {
            try ServiceConfiguration(service: "auth", usesDatabase: true, reader: ConfigReader(environment: env))
        } throws: { ($0 as? ConfigurationError)?.key == key }
    }

    @Test func errorsNameTheKeyButNotTheValue() {
        let error = ConfigurationError(key: "CIRRUS_DATABASE_URL", reason: "must look like postgres://…")
        #expect(error.description.contains("CIRRUS_DATABASE_URL"))
    }
}

@Suite("Secrets")
struct SecretTests {
    static let strong = "9c1f4e7a2b8d0635f1e2a4c7b9d3e5f08a6c2e4b1d7f9a3c"

    @Test func placeholdersFromEnvExampleAreRefusedByName() throws {
        for placeholder in ["change-me-internal-secret-at-least-32-chars", "CHANGE-ME-bootstrap-secret", "changeme0123456789abcdefghijklmnop"] {
            let reader = ConfigReader(environment: ["CIRRUS_INTERNAL_SECRET": placeholder])
            do {
                _ = try InternalGrantSigner.secrets(reader: reader)
                Issue.record("accepted \(placeholder)")
            } catch let error as ConfigurationError {
                #expect(error.key == "CIRRUS_INTERNAL_SECRET")
                #expect(!error.description.contains(placeholder), "the value never appears in the error")
            }
        }
    }

    @Test func weakKeysAreRefusedAndRandomOnesAccepted() throws {
        for weak in [
            String(repeating: "a", count: 40), "abcdefghijklmnopqrstuvwxyzabcdefghij", "0123456789012345678901234567890123",
            "secretsecretsecretsecretsecretsecret", "short-0123456789",
        ] {
            #expect(SecretPolicy.weaknessProblem(weak, minLength: 32) != nil, "\(weak)")
        }
        #expect(SecretPolicy.weaknessProblem(Self.strong, minLength: 32) == nil)
        #expect(SecretPolicy.weaknessProblem("stack-test-internal-secret-0123456789abcdef", minLength: 32) == nil)
        // Every secret infra/run makes (16 random bytes as hex) passes.
        for _ in 0..<200 {
            let hex = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            #expect(SecretPolicy.weaknessProblem(hex, minLength: 16) == nil, "\(hex)")
        }
        // Passwords of other systems (database, S3) are only checked for placeholders.
        #expect(SecretPolicy.placeholderProblem("test") == nil)
        #expect(SecretPolicy.placeholderProblem("change-me-s3-secret") != nil)
        let url = "postgres://cirrus:change-me-cirrus-db@postgres:5432/metadata"
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: "metadata", usesDatabase: true, reader: ConfigReader(environment: ["CIRRUS_DATABASE_URL": url]))
        }
    }

    @Test func everyKeyMayComeFromAFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cirrus-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("internal-secret")
        try Data((Self.strong + "\n").utf8).write(to: file)
        let fromFile = ConfigReader(environment: ["CIRRUS_INTERNAL_SECRET_FILE": file.path])
        #expect(try InternalGrantSigner.secrets(reader: fromFile) == [Self.strong], "one trailing newline dropped")
        // Both set: refused; an unreadable file: refused; neither names the value.
        let both = ConfigReader(environment: ["CIRRUS_INTERNAL_SECRET_FILE": file.path, "CIRRUS_INTERNAL_SECRET": Self.strong])
        #expect(throws: ConfigurationError.self) { try InternalGrantSigner.secrets(reader: both) }
        let missing = ConfigReader(environment: ["CIRRUS_INTERNAL_SECRET_FILE": folder.appendingPathComponent("nope").path])
        #expect(throws: ConfigurationError.self) { try InternalGrantSigner.secrets(reader: missing) }
        // Any key, not only secrets: a service refuses to start on a broken _FILE.
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(
                service: "gateway", usesDatabase: false,
                reader: ConfigReader(environment: ["CIRRUS_LOG_LEVEL_FILE": folder.appendingPathComponent("nope").path]))
        }
        let levelFile = folder.appendingPathComponent("level")
        try Data("debug\n".utf8).write(to: levelFile)
        let configured = try ServiceConfiguration(
            service: "gateway", usesDatabase: false,
            reader: ConfigReader(environment: ["CIRRUS_LOG_LEVEL_FILE": levelFile.path]))
        #expect("\(configured.logLevel)" == "debug")
        // A placeholder in a file is as bad as one in the environment.
        try Data("change-me-internal-secret-at-least-32-chars".utf8).write(to: file)
        #expect(throws: ConfigurationError.self) {
            try InternalGrantSigner.secrets(reader: ConfigReader(environment: ["CIRRUS_INTERNAL_SECRET_FILE": file.path]))
        }
    }

    @Test func metricsAreHiddenOnThePublicPortUnlessATokenIsSet() {
        #expect(MetricsExposure.forService(token: nil, publicPort: true) == .hidden)
        #expect(MetricsExposure.forService(token: nil, publicPort: false) == .open)
        let exposure = MetricsExposure.forService(token: "metrics-token-0123456789", publicPort: true)
        #expect(exposure == .token("metrics-token-0123456789"))
    }
}

@Suite("Worker heartbeats")
struct HeartbeatTests {
    /// Bounds far from the test's own timing (a busy CI machine can take a while between two
    /// lines): one hour to stay alive, zero to be silent at once.
    @Test func aSilentLoopTurnsReadinessRedWithItsName() async throws {
        let heartbeats = Heartbeats()
        let gate = StartupGate()
        gate.open()
        let readiness = Readiness(service: "test", startup: gate, checks: [heartbeats.readinessCheck], logger: .init(label: "test"))
        heartbeats.beat("collector", bound: .seconds(3600))
        #expect(await readiness.report().ready)
        heartbeats.beat("relay", bound: .zero)
        try await Task.sleep(for: .milliseconds(10))
        #expect(heartbeats.silent() == ["relay"])
        let report = await readiness.report()
        #expect(!report.ready)
        #expect(report.checks["workers"]?.detail == "silent: relay")
        heartbeats.beat("relay", bound: .seconds(3600))  // it came back, with its usual bound
        #expect(await readiness.report().ready)
    }
}
