import AsyncHTTPClient
import CirrusServiceKit
import Foundation
import Logging

/// The services the gateway calls, one `InternalClient` each. Answers of up to 16 MiB are
/// collected (the JSON routes); file bytes stream and are not bounded here.
struct Peers: Sendable {
    var auth: InternalClient
    var metadata: InternalClient
    var blob: InternalClient
    var thumbnail: InternalClient

    init(http: HTTPClient, urls: PeerURLs, logger: Logger) {
        func peer(_ name: String, _ url: String, unavailable: String? = nil) -> InternalClient {
            InternalClient(http: http, service: name, baseURL: url, replyLimit: 16 << 20, unavailableDetail: unavailable, logger: logger)
        }
        auth = peer("auth", urls.auth)
        metadata = peer("metadata", urls.metadata)
        blob = peer("blob", urls.blob, unavailable: "The storage service is unavailable.")
        thumbnail = peer("thumbnail", urls.thumbnail)
    }
}
