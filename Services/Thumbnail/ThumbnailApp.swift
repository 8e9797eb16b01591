import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import CirrusVips
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Thumbnail's parts, wired once (the entrypoint and the tests build the same app): the events
/// it consumes (Events/), the bytes it serves (HTTP/), what it evicts (Workers/).
struct ThumbnailApp: Sendable {
    let coordinator: RenderCoordinator
    let index: ThumbnailIndex
    let store: any ObjectStore
    let signer: InternalGrantSigner
    let settings: ThumbnailSettings
    var client: PostgresClient { index.client }
    var logger: Logger { index.logger }

    init(
        client: PostgresClient, store: any ObjectStore, settings: ThumbnailSettings, signer: InternalGrantSigner, blob: InternalClient,
        scratch: String, logger: Logger
    ) {
        index = ThumbnailIndex(client: client, logger: logger)
        self.store = store
        self.signer = signer
        self.settings = settings
        coordinator = RenderCoordinator(
            settings: settings, store: store, index: index, blob: blob, signer: signer, scratch: scratch,
            logger: logger)
    }
}

extension ThumbnailApp {
    /// Everything thumbnail reads from the environment.
    struct Setup: Sendable {
        var settings: ThumbnailSettings
        var store: any ObjectStore
        var grants: InternalGrantSigner
        var peers: PeerURLs
        var scratch: String
        var reconciliation: RenditionReconciler.Configuration

        init(reader: ConfigReader) throws {
            store = try StoreConfiguration.makeStore(reader: reader, defaultPath: ".local/data/thumbnail")
            settings = try ThumbnailSettings(reader: reader)
            grants = try InternalGrantSigner(reader: reader)
            peers = try PeerURLs(reader: reader)
            scratch = reader.string("CIRRUS_THUMBNAIL_SCRATCH_PATH", default: NSTemporaryDirectory() + "cirrus-thumbnail")
            reconciliation = try RenditionReconciler.Configuration(reader: reader, prefix: "CIRRUS_THUMBNAIL_RECONCILE")
        }
    }

    /// Builds thumbnail with its consumer and workers and runs it until shutdown.
    static func run(configuration: ServiceConfiguration, setup: Setup, logger: Logger) async throws {
        try Vips.initialize(maxCacheMemory: setup.settings.vipsCacheBytes)
        logger.info("libvips ready", metadata: ["version": "\(Vips.version)", "concurrency": "\(setup.settings.concurrency)"])
        let runtime = try ServiceRuntime(configuration: configuration, migrations: ThumbnailMigrations.all, logger: logger)
        let store = setup.store
        runtime.readiness.add(ReadinessCheck("store") { try await store.checkHealth() })
        guard let postgres = runtime.postgres else { preconditionFailure("thumbnail has a database") }
        let http = HTTPClientService()
        runtime.addService(http)
        let blob = InternalClient(http: http.client, service: "blob", baseURL: setup.peers.blob, logger: logger)
        let metadata = InternalClient(http: http.client, service: "metadata", baseURL: setup.peers.metadata, logger: logger)
        let auth = InternalClient(http: http.client, service: "auth", baseURL: setup.peers.auth, logger: logger)
        let app = ThumbnailApp(
            client: postgres, store: store, settings: setup.settings, signer: setup.grants, blob: blob, scratch: setup.scratch,
            logger: logger)
        runtime.addConsumer(handlers: app.handlers)
        runtime.addService(GatedService(gate: runtime.startup, service: Evictor(app: app)))
        if setup.reconciliation.interval > .zero {
            let reconciler = RenditionReconciler(
                index: app.index, store: store, metadata: KnownIDs(metadata: metadata, kind: .files),
                configuration: setup.reconciliation, logger: logger)
            runtime.addService(GatedService(gate: runtime.startup, service: reconciler.service))
        }
        let router = runtime.makeRouter()
        app.register(on: router)
        if let deadLetters = runtime.deadLetters {
            router.addDeadLetterRoutes(deadLetters, verifier: .remote(auth: auth, logger: logger))
        }
        try await runtime.run(router: router)
    }
}
