import CirrusContracts
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
        var collection = GarbageCollector.Configuration()
        let signer: InternalGrantSigner
        var reconciliation = ReferenceReconciler.Configuration()
        let metadataURL: String, authURL: String
        do {
            let reader = ConfigReader()
            configuration = try ServiceConfiguration(service: "blob", usesDatabase: true)
            store = try StoreConfiguration.makeStore(reader: reader, defaultPath: ".local/data/blob")
            collection.interval = try reader.seconds("CIRRUS_BLOB_GC_INTERVAL_SECONDS", default: collection.interval, range: 1...86_400)
            signer = try InternalGrantSigner(reader: reader)
            collection.grace = try reader.seconds("CIRRUS_BLOB_GC_GRACE_SECONDS", default: collection.grace, range: 0...2_592_000)
            reconciliation.interval = try reader.seconds("CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS", default: reconciliation.interval, range: 0...604_800)
            reconciliation.grace = try reader.seconds("CIRRUS_BLOB_RECONCILE_GRACE_SECONDS", default: reconciliation.grace, range: 1...2_592_000)
            metadataURL = try reader.url("CIRRUS_METADATA_URL", default: "http://127.0.0.1:8082")
            authURL = try reader.url("CIRRUS_AUTH_URL", default: "http://127.0.0.1:8081")
        } catch {
            FileHandle.standardError.write(Data("cirrus-blob: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.blob")
        do {
            let runtime = try ServiceRuntime(configuration: configuration, migrations: BlobMigrations.all, logger: logger)
            runtime.readiness.add(ReadinessCheck("store") { try await store.checkHealth() })
            guard let postgres = runtime.postgres else { preconditionFailure("blob has a database") }
            let index = BlobIndex(client: postgres, logger: logger)
            let fileDeleted = FileDeletedHandler(index: index)
            var handlers = EventHandlers()
            handlers.on(FileDeleted.self) { try await fileDeleted.handle($0) }
            runtime.addConsumer(handlers: handlers)
            runtime.addService(GatedService(gate: runtime.startup, service: GarbageCollector(index: index, store: store, configuration: collection, logger: logger)))
            let http = HTTPClientService()
            runtime.addService(http)
            runtime.addSampler("stored bytes", every: .seconds(60)) { try await index.sampleStoredBytes() }
            if reconciliation.interval > .zero {
                let reconciler = ReferenceReconciler(index: index, metadata: KnownIDs(http: http.client, metadataURL: metadataURL, kind: .references),
                                                     configuration: reconciliation, logger: logger)
                runtime.addService(GatedService(gate: runtime.startup, service: reconciler.service))
            }
            let router = runtime.makeRouter()
            BlobController(store: store, index: index, signer: signer).register(on: router)
            if let deadLetters = runtime.deadLetters {
                router.addDeadLetterRoutes(deadLetters, verifier: .remote(jwksURL: authURL + "/v1/auth/jwks", client: http.client, logger: logger))
            }
            try await runtime.run(router: router)
        } catch {
            logger.critical("blob stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
