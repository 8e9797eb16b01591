import CirrusServiceKit
import CirrusStorage
import Foundation
import Logging

/// Builds and runs blob: the bytes of every file, its index of contents and references, the
/// garbage collector and the reconciler against metadata.
enum BlobApp {
    /// Everything blob reads from the environment.
    struct Setup: Sendable {
        var store: any StagedObjectStore
        var grants: InternalGrantSigner
        var peers: PeerURLs
        var collection = GarbageCollector.Configuration()
        var reconciliation: ReferenceReconciler.Configuration
        var resumableExpiryInterval: Duration = .seconds(60)

        init(reader: ConfigReader) throws {
            let store = try StoreConfiguration.makeStore(reader: reader, defaultPath: ".local/data/blob", stagingPath: ".local/data/blob-staging")
            guard let staged = store as? any StagedObjectStore else {
                throw ConfigurationError(key: "CIRRUS_STORAGE_BACKEND", reason: "this store cannot keep resumable uploads")
            }
            self.store = staged
            resumableExpiryInterval = try reader.seconds(
                "CIRRUS_BLOB_RESUMABLE_EXPIRY_INTERVAL_SECONDS", default: resumableExpiryInterval, range: 1...86_400)
            collection.interval = try reader.seconds("CIRRUS_BLOB_GC_INTERVAL_SECONDS", default: collection.interval, range: 1...86_400)
            grants = try InternalGrantSigner(reader: reader)
            collection.grace = try reader.seconds("CIRRUS_BLOB_GC_GRACE_SECONDS", default: collection.grace, range: 0...2_592_000)
            reconciliation = try ReferenceReconciler.Configuration(reader: reader, prefix: "CIRRUS_BLOB_RECONCILE")
            peers = try PeerURLs(reader: reader)
        }
    }

    static func run(configuration: ServiceConfiguration, setup: Setup, logger: Logger) async throws {
        let runtime = try ServiceRuntime(configuration: configuration, migrations: BlobMigrations.all, logger: logger)
        let store = setup.store
        runtime.readiness.add(ReadinessCheck("store") { try await store.checkHealth() })
        guard let postgres = runtime.postgres else { preconditionFailure("blob has a database") }
        let index = BlobIndex(client: postgres, logger: logger)
        runtime.addConsumer(handlers: FileDeletedHandler.handlers(index: index))
        runtime.addService(
            GatedService(
                gate: runtime.startup,
                service: GarbageCollector(
                    index: index, store: store, configuration: setup.collection,
                    logger: logger)))
        let http = HTTPClientService()
        runtime.addService(http)
        let metadata = InternalClient(http: http.client, service: "metadata", baseURL: setup.peers.metadata, logger: logger)
        let auth = InternalClient(http: http.client, service: "auth", baseURL: setup.peers.auth, logger: logger)
        runtime.addSampler("stored bytes", every: .seconds(60)) { try await index.sampleStoredBytes() }
        if setup.reconciliation.interval > .zero {
            let reconciler = ReferenceReconciler(
                index: index, metadata: KnownIDs(metadata: metadata, kind: .references),
                configuration: setup.reconciliation, logger: logger)
            runtime.addService(GatedService(gate: runtime.startup, service: reconciler.service))
        }
        let router = runtime.makeRouter()
        let uploads = BlobController(store: store, index: index, signer: setup.grants)
        uploads.register(on: router)
        let resumable = ResumableUploads(client: postgres, logger: logger)
        ResumableController(store: store, uploads: resumable, signer: setup.grants, uploadsController: uploads)
            .register(on: router)
        runtime.addService(
            GatedService(
                gate: runtime.startup,
                service: ResumableExpiry(uploads: resumable, store: store, interval: setup.resumableExpiryInterval, logger: logger)))
        if let deadLetters = runtime.deadLetters {
            router.addDeadLetterRoutes(deadLetters, verifier: .remote(auth: auth, logger: logger))
        }
        try await runtime.run(router: router)
    }
}
