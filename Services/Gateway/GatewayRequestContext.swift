import CirrusServiceKit
import Hummingbird
import NIOCore
import Synchronization

/// The gateway's request context: Hummingbird's basic one plus the peer address, which
/// the gateway passes on (auth throttles failed logins per client address), and what the
/// edge learnt about the caller (for the access log).
struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext, IdentityRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// Set by the edge when a trusted proxy names the client (`X-Forwarded-For`); kept in the
    /// shared `edge` state so the access log, further out, records it too.
    var forwardedClient: String? {
        get { edge.forwardedClient }
        nonmutating set { edge.forwardedClient = newValue }
    }
    /// Shared by every middleware of one request (contexts are copied inward, this is not).
    let edge = EdgeState()
    /// The verified caller, on the routes behind `AuthenticationMiddleware`.
    var identity: Identity?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, or "unknown".
    var clientAddress: String { forwardedClient ?? remoteAddress?.ipAddress ?? "unknown" }
}

/// What the edge middlewares learn about one request: the verified caller and the client a
/// trusted proxy names, if any.
final class EdgeState: Sendable {
    private let user = Mutex<String?>(nil)
    private let forwarded = Mutex<String?>(nil)

    var forwardedClient: String? {
        get { forwarded.withLock { $0 } }
        set { forwarded.withLock { $0 = newValue } }
    }

    var userID: String? {
        get { user.withLock { $0 } }
        set { user.withLock { $0 = newValue } }
    }
}
