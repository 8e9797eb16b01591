import AsyncHTTPClient
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

    init(client: PostgresClient, settings: MetadataSettings, verifier: TokenVerifier, signer: InternalGrantSigner, linkSigner: LinkSigner,
         blobURL: String, http: HTTPClient = .shared, logger: Logger) {
        let accounts = Accounts(client: client, logger: logger)
        drive = Drive(client: client, accounts: accounts, settings: settings, logger: logger)
        listing = Listing(client: client, logger: logger)
        uploads = Uploads(drive: drive, thumbnails: ThumbnailRequests(client: client, logger: logger), signer: signer)
        events = MetadataEvents(uploads: uploads)
        let blob = BlobClient(baseURL: blobURL, signer: signer, http: http, logger: logger)
        controller = DriveController(drive: drive, listing: listing, uploads: uploads, blob: blob, verifier: verifier, signer: signer)
        links = LinksController(drive: drive, listing: listing, verifier: verifier, grants: signer, links: linkSigner)
        known = KnownController(known: Known(client: client, logger: logger))
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        controller.register(on: router)
        links.register(on: router)
        known.register(on: router)
    }
}
