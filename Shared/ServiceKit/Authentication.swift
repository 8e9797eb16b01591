import Hummingbird
import NIOCore

/// A request context that can carry the caller's verified identity.
public protocol IdentityRequestContext: RequestContext {
    /// Set by `AuthenticationMiddleware` on the routes behind it; nil elsewhere.
    var identity: Identity? { get set }
}

extension IdentityRequestContext {
    /// The verified caller. Routes behind `AuthenticationMiddleware` always have one; anywhere
    /// else this is the 401 an unauthenticated request gets.
    public var caller: Identity {
        get throws {
            guard let identity else { throw TokenVerifier.unauthorized("Authentication is required.") }
            return identity
        }
    }
}

/// The request context of the services: Hummingbird's basic one plus the caller's identity.
public struct ServiceRequestContext: IdentityRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
    }
}

/// Authentication, once: verifies the access token (header or cookie; `TokenVerifier`) of
/// every request to the routes behind it and puts the caller's identity in the context, or
/// answers 401. Routes read `context.caller`.
///
///     let signedIn = router.group().add(middleware: AuthenticationMiddleware(verifier: verifier))
///     signedIn.get("/v1/files/:id") { request, context in ... try context.caller ... }
public struct AuthenticationMiddleware<Context: IdentityRequestContext>: RouterMiddleware {
    public let verifier: TokenVerifier

    public init(verifier: TokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.identity = try await verifier.authenticate(request)
        return try await next(request, context)
    }
}

extension RouterMethods where Context: IdentityRequestContext {
    /// The routes added to the returned group are behind `AuthenticationMiddleware`.
    public func authenticated(by verifier: TokenVerifier) -> RouterGroup<Context> {
        group().add(middleware: AuthenticationMiddleware(verifier: verifier))
    }
}
