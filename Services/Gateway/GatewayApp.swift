import AsyncHTTPClient
import CirrusServiceKit
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds and runs the gateway: the public edge. It owns no database and no events.
enum GatewayApp {
    static func run(configuration: ServiceConfiguration, upstreams: Upstreams, settings: GatewaySettings, linkSigner: LinkSigner,
                    logger: Logger) async throws {
        let runtime = try ServiceRuntime(configuration: configuration, usesKafka: false, logger: logger)
        let httpService = HTTPClientService(connectTimeout: .seconds(2), readTimeout: .seconds(30))
        runtime.addService(httpService)
        let http = httpService.client
        let verifier = TokenVerifier.remote(jwksURL: upstreams.auth + "/v1/auth/jwks", client: http, logger: logger)
        let sink = try AccessLogSink(setting: settings.accessLog)
        // The edge, outermost first, in front of every route (the operational ones included):
        // the access log sees every answer, including refusals; every answer gets the
        // security headers.
        let router = runtime.makeRouter(context: GatewayRequestContext.self, publicEdge: true) { router in
            router.add(middleware: AccessLogMiddleware(sink: sink))
            router.add(middleware: SecurityHeadersMiddleware(strictTransport: settings.publicURL.hasPrefix("https://")))
            router.add(middleware: CORSMiddleware(origins: settings.corsOrigins))
            router.add(middleware: PathGuardMiddleware())
            router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(), settings: settings, verifier: verifier))
            router.add(middleware: CookieCSRFMiddleware(publicURL: settings.publicURL, corsOrigins: settings.corsOrigins))
        }
        StatusController(client: http, upstreams: upstreams, readiness: runtime.readiness).register(on: router)
        DocsController().register(on: router)
        let auth = UpstreamProxy(client: http, baseURL: upstreams.auth, service: "auth")
        let metadata = UpstreamProxy(client: http, baseURL: upstreams.metadata, service: "metadata")
        router.addAuthRoutes(auth)
        router.addDriveRoutes(metadata)
        DeadLetterEndpoints(services: [metadata, UpstreamProxy(client: http, baseURL: upstreams.blob, service: "blob"),
                                       UpstreamProxy(client: http, baseURL: upstreams.thumbnail, service: "thumbnail")]).register(on: router)
        let me = MeEndpoint(auth: auth, metadata: metadata)
        router.get("/v1/me") { request, context in try await me.handle(request, context: context) }
        let transfer = FileTransfer(client: http, upstreams: upstreams, verifier: verifier)
        transfer.register(on: router)
        LinkEndpoints(metadata: metadata, transfer: transfer, signer: linkSigner, publicURL: settings.publicURL).register(on: router)
        // Paths are made canonical before the router resolves them (see CanonicalPath).
        try await runtime.run(router: CanonicalPathRouter(router: router))
    }
}
