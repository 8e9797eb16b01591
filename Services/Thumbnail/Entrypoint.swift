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
        let settings: ThumbnailSettings
        let signer: InternalGrantSigner
        let blobURL: String
        let scratch: String
        var reconciliation = RenditionReconciler.Configuration()
        let metadataURL: String, authURL: String
        do {
            let reader = ConfigReader()
            configuration = try ServiceConfiguration(service: "thumbnail", usesDatabase: true)
            store = try StoreConfiguration.makeStore(reader: reader, defaultPath: ".local/data/thumbnail")
            settings = try ThumbnailSettings(reader: reader)
            signer = try InternalGrantSigner(reader: reader)
            blobURL = try reader.url("CIRRUS_BLOB_URL", default: "http://127.0.0.1:8083")
            scratch = reader.string("CIRRUS_THUMBNAIL_SCRATCH_PATH", default: NSTemporaryDirectory() + "cirrus-thumbnail")
            reconciliation.interval = try reader.seconds("CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS", default: reconciliation.interval, range: 0...604_800)
            reconciliation.grace = try reader.seconds("CIRRUS_THUMBNAIL_RECONCILE_GRACE_SECONDS", default: reconciliation.grace, range: 1...2_592_000)
            metadataURL = try reader.url("CIRRUS_METADATA_URL", default: "http://127.0.0.1:8082")
            authURL = try reader.url("CIRRUS_AUTH_URL", default: "http://127.0.0.1:8081")
        } catch {
            FileHandle.standardError.write(Data("cirrus-thumbnail: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.thumbnail")
        do {
            try Vips.initialize(maxCacheMemory: settings.vipsCacheBytes)
            logger.info("libvips ready", metadata: ["version": "\(Vips.version)", "concurrency": "\(settings.concurrency)"])
            let runtime = try ServiceRuntime(configuration: configuration, migrations: ThumbnailMigrations.all, logger: logger)
            runtime.readiness.add(ReadinessCheck("store") { try await store.checkHealth() })
            guard let postgres = runtime.postgres else { preconditionFailure("thumbnail has a database") }
            let http = HTTPClientService()
            runtime.addService(http)
            let app = ThumbnailApp(client: postgres, store: store, settings: settings, signer: signer, blobURL: blobURL, http: http.client,
                                   scratch: scratch, logger: logger)
            runtime.addConsumer(handlers: app.handlers)
            runtime.addService(GatedService(gate: runtime.startup, service: Evictor(app: app)))
            if reconciliation.interval > .zero {
                let reconciler = RenditionReconciler(index: app.index, store: store,
                                                     metadata: KnownIDs(http: http.client, metadataURL: metadataURL, kind: .files),
                                                     configuration: reconciliation, logger: logger)
                runtime.addService(GatedService(gate: runtime.startup, service: reconciler.service))
            }
            let router = runtime.makeRouter()
            app.register(on: router)
            if let deadLetters = runtime.deadLetters {
                router.addDeadLetterRoutes(deadLetters, verifier: .remote(jwksURL: authURL + "/v1/auth/jwks", client: http.client, logger: logger))
            }
            try await runtime.run(router: router)
        } catch {
            logger.critical("thumbnail stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
