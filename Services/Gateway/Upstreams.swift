import CirrusServiceKit
import Foundation

/// Internal base URLs of the services behind the gateway.
struct Upstreams: Sendable {
    var auth: String
    var metadata: String
    var blob: String
    var thumbnail: String

    init(reader: ConfigReader) throws {
        auth = try Self.url(reader, "CIRRUS_AUTH_URL", default: "http://127.0.0.1:8081")
        metadata = try Self.url(reader, "CIRRUS_METADATA_URL", default: "http://127.0.0.1:8082")
        blob = try Self.url(reader, "CIRRUS_BLOB_URL", default: "http://127.0.0.1:8083")
        thumbnail = try Self.url(reader, "CIRRUS_THUMBNAIL_URL", default: "http://127.0.0.1:8084")
    }

    var all: [(name: String, baseURL: String)] {
        [("auth", auth), ("metadata", metadata), ("blob", blob), ("thumbnail", thumbnail)]
    }

    private static func url(_ reader: ConfigReader, _ key: String, default value: String) throws -> String {
        let raw = reader.string(key, default: value)
        guard let url = URL(string: raw), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ConfigurationError(key: key, reason: "must be an http(s) URL")
        }
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }
}
