import CirrusServiceKit
import Foundation
import Logging

/// Process-level setup only: configuration, logging, then the service.
@main
struct Entrypoint {
    static func main() async {
        let configuration: ServiceConfiguration
        let settings: MetadataSettings
        let signer: InternalGrantSigner
        let linkSigner: LinkSigner
        let authURL: String, blobURL: String
        do {
            let reader = ConfigReader()
            configuration = try ServiceConfiguration(service: "metadata", usesDatabase: true)
            settings = try MetadataSettings(reader: reader)
            signer = try InternalGrantSigner(reader: reader)
            linkSigner = try LinkSigner(reader: reader)
            authURL = try reader.url("CIRRUS_AUTH_URL", default: "http://127.0.0.1:8081")
            blobURL = try reader.url("CIRRUS_BLOB_URL", default: "http://127.0.0.1:8083")
        } catch {
            FileHandle.standardError.write(Data("cirrus-metadata: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.metadata")
        do {
            let runtime = try ServiceRuntime(configuration: configuration, migrations: MetadataMigrations.all, logger: logger)
            guard let postgres = runtime.postgres else { preconditionFailure("metadata has a database") }
            let http = HTTPClientService()
            runtime.addService(http)
            let verifier = TokenVerifier.remote(jwksURL: authURL + "/v1/auth/jwks", client: http.client, logger: logger)
            let app = MetadataApp(client: postgres, settings: settings, verifier: verifier, signer: signer, linkSigner: linkSigner, blobURL: blobURL,
                                  http: http.client, logger: logger)
            runtime.addConsumer(handlers: app.events.handlers)
            runtime.addService(GatedService(gate: runtime.startup, service: Reconciler(uploads: app.uploads, logger: logger)))
            if settings.contentAudit.interval > .zero {
                let audit = ContentAudit(known: Known(client: postgres, logger: logger),
                                         blob: KnownIDs(http: http.client, url: blobURL + "/internal/known/references"),
                                         configuration: settings.contentAudit, logger: logger)
                runtime.addService(GatedService(gate: runtime.startup, service: audit.service))
            }
            let tiers = TierSnapshot(accounts: app.drive.accounts, http: http.client, authURL: authURL, logger: logger)
            runtime.addService(GatedService(gate: runtime.startup, service: tiers))
            runtime.readiness.add(tiers.readinessCheck)
            let router = runtime.makeRouter()
            app.addRoutes(to: router)
            if let deadLetters = runtime.deadLetters { router.addDeadLetterRoutes(deadLetters, verifier: verifier) }
            try await runtime.run(router: router)
        } catch {
            logger.critical("metadata stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
