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
    /// Metadata for the routes whose answer may take hours (`ProxiedRoutes.slow`): a client
    /// whose read timeout is that long (AsyncHTTPClient applies its client's read timeout to
    /// every request, as the longest silence while waiting for the answer).
    var patientMetadata: InternalClient

    /// `patient`: the client for `patientMetadata` (by default `http`).
    init(http: HTTPClient, patient: HTTPClient? = nil, urls: PeerURLs, logger: Logger) {
        func peer(_ name: String, _ url: String, unavailable: String? = nil, http: HTTPClient = http) -> InternalClient {
            InternalClient(http: http, service: name, baseURL: url, replyLimit: 16 << 20, unavailableDetail: unavailable, logger: logger)
        }
        auth = peer("auth", urls.auth)
        metadata = peer("metadata", urls.metadata)
        blob = peer("blob", urls.blob, unavailable: "The storage service is unavailable.")
        thumbnail = peer("thumbnail", urls.thumbnail)
        patientMetadata = peer("metadata", urls.metadata, http: patient ?? http)
        patientMetadata.timeout = ProxiedRoutes.slowTimeout
    }
}
