import CirrusServiceKit
import Foundation
import Logging

/// Process-level setup only: configuration, logging, then the service.
@main
struct Entrypoint {
    static func main() async {
        let configuration: ServiceConfiguration
        let settings: AuthSettings
        do {
            configuration = try ServiceConfiguration(service: "auth", usesDatabase: true)
            settings = try AuthSettings(reader: ConfigReader())
        } catch {
            FileHandle.standardError.write(Data("cirrus-auth: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.auth")
        do {
            let runtime = try ServiceRuntime(configuration: configuration, migrations: AuthMigrations.all, logger: logger)
            guard let postgres = runtime.postgres else { preconditionFailure("auth has a database") }
            let app = AuthApp(client: postgres, settings: settings, logger: logger)
            runtime.onStartup { try await app.prepare() }
            let router = runtime.makeRouter()
            app.addRoutes(to: router)
            try await runtime.run(router: router)
        } catch {
            logger.critical("auth stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
