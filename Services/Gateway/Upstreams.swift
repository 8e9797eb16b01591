import CirrusServiceKit
import Foundation

/// Internal base URLs of the services behind the gateway.
struct Upstreams: Sendable {
    var auth: String
    var metadata: String
    var blob: String
    var thumbnail: String

    init(reader: ConfigReader) throws {
        auth = try reader.url("CIRRUS_AUTH_URL", default: "http://127.0.0.1:8081")
        metadata = try reader.url("CIRRUS_METADATA_URL", default: "http://127.0.0.1:8082")
        blob = try reader.url("CIRRUS_BLOB_URL", default: "http://127.0.0.1:8083")
        thumbnail = try reader.url("CIRRUS_THUMBNAIL_URL", default: "http://127.0.0.1:8084")
    }

    var all: [(name: String, baseURL: String)] {
        [("auth", auth), ("metadata", metadata), ("blob", blob), ("thumbnail", thumbnail)]
    }
}
