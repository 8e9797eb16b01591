import CirrusServiceKit
import Foundation

/// The gateway's own configuration (`CIRRUS_GATEWAY_*`, `CIRRUS_PUBLIC_URL`).
struct GatewaySettings: Sendable {
    /// The address clients reach the API at; expiring link URLs start with it.
    var publicURL: String
    /// Requests per minute for a user whose token does not carry their tier's rate.
    var defaultUserRequestsPerMinute = 600
    /// Requests per minute per client address on register, login and refresh.
    var authRequestsPerMinute = 30
    /// Requests per minute per client address for expiring links (no account to charge).
    var anonymousRequestsPerMinute = 600
    /// Origins allowed to call the API from a browser; empty: CORS off.
    var corsOrigins: Set<String> = []
    /// Where access log lines go: `stdout` (default), `off`, or a file path (appended).
    var accessLog = "stdout"
    /// The client address is the TCP peer unless it is one of these proxies, which
    /// then name the client in `X-Forwarded-For` (its last hop that is not a proxy).
    var trustedProxies: Set<String> = []

    init(publicURL: String) {
        self.publicURL = publicURL
    }

    init(reader: ConfigReader, configuration: ServiceConfiguration) throws {
        let host = configuration.httpHost == "0.0.0.0" ? "127.0.0.1" : configuration.httpHost
        publicURL = try reader.url("CIRRUS_PUBLIC_URL", default: "http://\(host):\(configuration.httpPort)")
        defaultUserRequestsPerMinute = try reader.int("CIRRUS_GATEWAY_DEFAULT_RPM", default: defaultUserRequestsPerMinute, range: 1...1_000_000)
        authRequestsPerMinute = try reader.int("CIRRUS_GATEWAY_AUTH_RPM", default: authRequestsPerMinute, range: 1...1_000_000)
        anonymousRequestsPerMinute = try reader.int("CIRRUS_GATEWAY_ANONYMOUS_RPM", default: anonymousRequestsPerMinute, range: 1...1_000_000)
        let origins = reader.string("CIRRUS_GATEWAY_CORS_ORIGINS", default: "")
        corsOrigins = Set(origins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        for origin in corsOrigins where origin != "*" {
            guard let url = URL(string: origin), url.scheme == "http" || url.scheme == "https", url.host != nil, url.path.isEmpty else {
                throw ConfigurationError(key: "CIRRUS_GATEWAY_CORS_ORIGINS", reason: "\(origin) is not an origin like https://app.example.com")
            }
        }
        accessLog = reader.string("CIRRUS_GATEWAY_ACCESS_LOG", default: accessLog)
        let proxies = reader.string("CIRRUS_GATEWAY_TRUSTED_PROXIES", default: "")
        trustedProxies = Set(proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}
