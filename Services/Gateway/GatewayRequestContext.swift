import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's basic one plus the peer address, which
/// the gateway passes on (auth throttles failed logins per client address).
struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, or "unknown".
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
