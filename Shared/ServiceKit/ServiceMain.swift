import Foundation
import Logging

/// What every service's `main` does: read the configuration (a bad setting stops the process
/// with status 2 and one line naming it, before anything starts), set up logging, run the
/// service, and stop with status 1 if it ends on an error.
public enum ServiceMain {
    /// - Parameters:
    ///   - service: the service's name (`auth`), in logs and the process's messages.
    ///   - settings: the service's own settings, read from the environment.
    ///   - app: builds and runs the service until shutdown.
    public static func run<Settings: Sendable>(
        _ service: String, usesDatabase: Bool,
        settings read: @Sendable (ConfigReader, ServiceConfiguration) throws -> Settings,
        app: @Sendable (ServiceConfiguration, Settings, Logger) async throws -> Void
    ) async -> Never {
        let configuration: ServiceConfiguration
        let settings: Settings
        do {
            configuration = try ServiceConfiguration(service: service, usesDatabase: usesDatabase)
            settings = try read(ConfigReader(), configuration)
        } catch {
            FileHandle.standardError.write(Data("cirrus-\(service): \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.\(service)")
        do {
            try await app(configuration, settings, logger)
            exit(0)
        } catch {
            logger.critical("\(service) stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}

/// Where the services listen (`CIRRUS_<SERVICE>_URL`, each defaulting to the port `infra/run`
/// gives it on 127.0.0.1), for the `InternalClient`s a service makes. A service that uses
/// `PeerURLs` reads all four keys, so a malformed one stops it at start even if it calls
/// another service only.
public struct PeerURLs: Sendable {
    public var auth: String
    public var metadata: String
    public var blob: String
    public var thumbnail: String

    public init(reader: ConfigReader) throws {
        auth = try reader.url("CIRRUS_AUTH_URL", default: "http://127.0.0.1:8081")
        metadata = try reader.url("CIRRUS_METADATA_URL", default: "http://127.0.0.1:8082")
        blob = try reader.url("CIRRUS_BLOB_URL", default: "http://127.0.0.1:8083")
        thumbnail = try reader.url("CIRRUS_THUMBNAIL_URL", default: "http://127.0.0.1:8084")
    }
}
