import CirrusServiceKit
import Foundation
import Logging

/// Process-level setup only: configuration, logging, then the service.
@main
struct Entrypoint {
    static func main() async {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(service: "metadata", usesDatabase: true)
        } catch {
            FileHandle.standardError.write(Data("cirrus-metadata: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.metadata")
        do {
            let runtime = try ServiceRuntime(configuration: configuration, migrations: MetadataMigrations.all, logger: logger)
            try await runtime.run(router: runtime.makeRouter())
        } catch {
            logger.critical("metadata stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
