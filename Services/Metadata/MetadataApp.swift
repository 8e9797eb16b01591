import CirrusServiceKit
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// Metadata's parts, wired once (the entrypoint and the tests build the same app).
struct MetadataApp: Sendable {
    let drive: Drive
    let listing: Listing
    let uploads: Uploads
    let events: MetadataEvents
    let controller: DriveController
    let links: LinksController
    let known: KnownController
    let shares: SharesController
    let publicLinks: PublicLinksController

    init(
        client: PostgresClient, settings: MetadataSettings, verifier: TokenVerifier, signer: InternalGrantSigner, linkSigner: LinkSigner,
        blob: InternalClient, patientBlob: InternalClient? = nil, directory: UserDirectory, logger: Logger
    ) {
        let accounts = Accounts(client: client, logger: logger)
        drive = Drive(client: client, accounts: accounts, settings: settings, logger: logger)
        listing = Listing(client: client, logger: logger)
        uploads = Uploads(drive: drive, thumbnails: ThumbnailRequests(client: client, logger: logger), signer: signer)
        events = MetadataEvents(uploads: uploads)
        controller = DriveController(
            drive: drive, listing: listing, uploads: uploads, blob: BlobClient(peer: blob, patient: patientBlob, signer: signer, logger: logger),
            verifier: verifier, signer: signer)
        links = LinksController(drive: drive, listing: listing, verifier: verifier, grants: signer, links: linkSigner)
        known = KnownController(known: Known(client: client, logger: logger))
        shares = SharesController(shares: Shares(drive: drive, directory: directory), verifier: verifier)
        publicLinks = PublicLinksController(
            links: PublicLinks(drive: drive, signer: linkSigner), listing: listing, verifier: verifier, grants: signer)
    }

    func addRoutes(to router: Router<ServiceRequestContext>) {
        controller.register(on: router)
        links.register(on: router)
        known.register(on: router)
        shares.register(on: router)
        publicLinks.register(on: router)
    }
}

extension MetadataApp {
    /// Everything metadata reads from the environment.
    struct Setup: Sendable {
        var settings: MetadataSettings
        var grants: InternalGrantSigner
        var links: LinkSigner
        var peers: PeerURLs

        init(reader: ConfigReader) throws {
            settings = try MetadataSettings(reader: reader)
            grants = try InternalGrantSigner(reader: reader)
            links = try LinkSigner(reader: reader)
            peers = try PeerURLs(reader: reader)
        }
    }

    /// Builds metadata with its workers and runs it until shutdown.
    static func run(configuration: ServiceConfiguration, setup: Setup, logger: Logger) async throws {
        let runtime = try ServiceRuntime(configuration: configuration, migrations: MetadataMigrations.all, logger: logger)
        guard let postgres = runtime.postgres else { preconditionFailure("metadata has a database") }
        let http = HTTPClientService()
        runtime.addService(http)
        let auth = InternalClient(http: http.client, service: "auth", baseURL: setup.peers.auth, logger: logger)
        let blob = InternalClient(http: http.client, service: "blob", baseURL: setup.peers.blob, logger: logger)
        // Copies of bytes across drives wait for blob's answer as long as the copy takes.
        let patientHTTP = HTTPClientService(readTimeout: BlobClient.copyTimeout)
        runtime.addService(patientHTTP)
        let patientBlob = InternalClient(http: patientHTTP.client, service: "blob", baseURL: setup.peers.blob, logger: logger)
        let verifier = TokenVerifier.remote(auth: auth, logger: logger)
        let app = MetadataApp(
            client: postgres, settings: setup.settings, verifier: verifier, signer: setup.grants, linkSigner: setup.links, blob: blob,
            patientBlob: patientBlob, directory: .remote(auth), logger: logger)
        runtime.addConsumer(handlers: app.events.handlers)
        runtime.addService(GatedService(gate: runtime.startup, service: Reconciler(uploads: app.uploads, logger: logger)))
        if setup.settings.contentAudit.interval > .zero {
            let audit = ContentAudit(
                known: Known(client: postgres, logger: logger), blob: KnownIDs(peer: blob, path: "/internal/known/references"),
                configuration: setup.settings.contentAudit, logger: logger)
            runtime.addService(GatedService(gate: runtime.startup, service: audit.service))
        }
        let tiers = TierSnapshot(accounts: app.drive.accounts, auth: auth, logger: logger)
        runtime.addService(GatedService(gate: runtime.startup, service: tiers))
        runtime.readiness.add(tiers.readinessCheck)
        let router = runtime.makeRouter()
        app.addRoutes(to: router)
        if let deadLetters = runtime.deadLetters { router.addDeadLetterRoutes(deadLetters, verifier: verifier) }
        try await runtime.run(router: router)
    }
}
