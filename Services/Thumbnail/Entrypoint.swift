import CirrusServiceKit
import CirrusStorage
import CirrusVips
import Foundation
import Logging

/// Process-level setup only: configuration, logging, then the service.
@main
struct Entrypoint {
    static func main() async {
        let configuration: ServiceConfiguration
        let store: any ObjectStore
        do {
            configuration = try ServiceConfiguration(service: "thumbnail", usesDatabase: true)
            store = try StoreConfiguration.makeStore(reader: ConfigReader(), defaultPath: ".local/data/thumbnail")
        } catch {
            FileHandle.standardError.write(Data("cirrus-thumbnail: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.thumbnail")
        do {
            try Vips.initialize()
            logger.info("libvips ready", metadata: ["version": "\(Vips.version)"])
            let runtime = try ServiceRuntime(configuration: configuration, migrations: ThumbnailMigrations.all, logger: logger)
            runtime.readiness.add(ReadinessCheck("store") { try await store.checkHealth() })
            try await runtime.run(router: runtime.makeRouter())
        } catch {
            logger.critical("thumbnail stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
