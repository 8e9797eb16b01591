import AsyncHTTPClient
import CirrusServiceKit
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds and runs the gateway: the public edge. It owns no database and no events.
enum GatewayApp {
    /// Everything the gateway reads from the environment.
    struct Setup: Sendable {
        var settings: GatewaySettings
        var peers: PeerURLs
        var links: LinkSigner

        init(reader: ConfigReader, configuration: ServiceConfiguration) throws {
            peers = try PeerURLs(reader: reader)
            settings = try GatewaySettings(reader: reader, configuration: configuration)
            links = try LinkSigner(reader: reader)
        }
    }

    static func run(configuration: ServiceConfiguration, setup: Setup, logger: Logger) async throws {
        let settings = setup.settings
        let runtime = try ServiceRuntime(configuration: configuration, usesKafka: false, logger: logger)
        let httpService = HTTPClientService(connectTimeout: .seconds(2), readTimeout: .seconds(30))
        runtime.addService(httpService)
        let http = httpService.client
        // A second pool for the few calls that may wait hours for an answer (`ProxiedRoutes.slow`).
        let patientService = HTTPClientService(connectTimeout: .seconds(2), readTimeout: ProxiedRoutes.slowTimeout)
        runtime.addService(patientService)
        let peers = Peers(http: http, patient: patientService.client, urls: setup.peers, logger: logger)
        let verifier = TokenVerifier.remote(auth: peers.auth, logger: logger)
        let sink = try AccessLogSink(setting: settings.accessLog)
        let limiter = RateLimiter()
        runtime.addService(sink)  // the flush loop and the last flush at shutdown (with the log off, it only waits)
        // The edge, outermost first, in front of every route (the operational ones included):
        // the access log sees every answer, including refusals; every answer gets the
        // security headers.
        let router = runtime.makeRouter(context: GatewayRequestContext.self, publicEdge: true) { router in
            router.add(middleware: AccessLogMiddleware(sink: sink))
            router.add(middleware: SecurityHeadersMiddleware(strictTransport: settings.publicURL.hasPrefix("https://")))
            router.add(middleware: CORSMiddleware(origins: settings.corsOrigins))
            router.add(middleware: PathGuardMiddleware())
            router.add(middleware: RateLimitMiddleware(limiter: limiter, settings: settings, verifier: verifier))
            router.add(middleware: CookieCSRFMiddleware(publicURL: settings.publicURL, corsOrigins: settings.corsOrigins))
        }
        try addRoutes(
            to: router, peers: peers, verifier: verifier, readiness: runtime.readiness, links: setup.links, publicURL: settings.publicURL,
            limiter: limiter, defaultRequestsPerMinute: settings.defaultUserRequestsPerMinute,
            anonymousRequestsPerMinute: settings.anonymousRequestsPerMinute)
        // Paths are made canonical before the router resolves them (see CanonicalPath).
        try await runtime.run(router: CanonicalPathRouter(router: router))
    }

    /// The public routes (besides the operational ones the runtime adds): the tests build the
    /// same router to check it against the OpenAPI document.
    static func addRoutes(
        to router: Router<GatewayRequestContext>, peers: Peers, verifier: TokenVerifier, readiness: Readiness, links: LinkSigner,
        publicURL: String, limiter: RateLimiter = RateLimiter(), defaultRequestsPerMinute: Int = 600,
        anonymousRequestsPerMinute: Int = 600
    ) throws {
        StatusController(peers: peers, readiness: readiness).register(on: router)
        try DocsController().register(on: router)
        let auth = UpstreamProxy(peer: peers.auth)
        let metadata = UpstreamProxy(peer: peers.metadata)
        router.addProxiedRoutes(peers: peers)
        DeadLetterEndpoints(services: [metadata, UpstreamProxy(peer: peers.blob), UpstreamProxy(peer: peers.thumbnail)]).register(on: router)
        let me = MeEndpoint(auth: auth, metadata: peers.metadata)
        router.get("/v1/me") { request, context in try await me.handle(request, context: context) }
        let transfer = FileTransfer(peers: peers, verifier: verifier)
        transfer.register(on: router)
        ResumableUploadEndpoints(peers: peers, verifier: verifier).register(on: router)
        LinkEndpoints(metadata: metadata, peers: peers, transfer: transfer, signer: links, publicURL: publicURL).register(on: router)
        SharingEndpoints(peers: peers, transfer: transfer, verifier: verifier, publicURL: publicURL).register(on: router)
        WebDAVEndpoint(
            peers: peers, transfer: transfer, limiter: limiter, defaultRequestsPerMinute: defaultRequestsPerMinute,
            failuresPerMinute: anonymousRequestsPerMinute
        ).register(on: router)
    }
}
