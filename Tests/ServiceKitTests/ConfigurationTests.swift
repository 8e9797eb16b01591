import CirrusServiceKit
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
