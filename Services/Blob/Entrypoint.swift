import CirrusServiceKit
import CirrusStorage
import Foundation
import Logging

/// Process-level setup only: configuration, logging, then the service.
@main
struct Entrypoint {
    static func main() async {
        let configuration: ServiceConfiguration
        let store: any ObjectStore
        do {
            configuration = try ServiceConfiguration(service: "blob", usesDatabase: true)
            store = try StoreConfiguration.makeStore(reader: ConfigReader(), defaultPath: ".local/data/blob")
        } catch {
            FileHandle.standardError.write(Data("cirrus-blob: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.blob")
        do {
            let runtime = try ServiceRuntime(configuration: configuration, migrations: BlobMigrations.all, logger: logger)
            runtime.readiness.add(ReadinessCheck("store") { try await store.checkHealth() })
            try await runtime.run(router: runtime.makeRouter())
        } catch {
            logger.critical("blob stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
