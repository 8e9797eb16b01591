import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Items and pages of items, the answers of the hottest routes, written with `JSONWriter`
/// instead of `JSONEncoder`: the same bytes (`ItemJSONTests` compares them with the encoder's
/// for every shape an item takes), a fraction of the work.
extension ItemResource {
    func write(to json: inout JSONWriter) {
        // Keys in sorted order, as the encoder's `.sortedKeys` writes them.
        json.beginObject()
        json.member("content_type", contentType)
        json.member("created_at", createdAt)
        json.member("id", id)
        json.member("kind", kind.rawValue)
        json.member("name", name)
        if let parentID { json.member("parent_id", parentID) }
        json.member("sha256", sha256)
        if let size { json.member("size", size) }
        json.member("state", state)
        if let thumbnails {
            json.key("thumbnails")
            json.beginObject()
            if let failure = thumbnails.failure {
                json.key("failure")
                json.beginObject()
                json.member("detail", failure.detail)
                json.member("reason", failure.reason)
                json.endObject()
            }
            json.member("sizes", thumbnails.sizes)
            json.member("status", thumbnails.status)
            json.endObject()
        }
        if let trashedAt { json.member("trashed_at", trashedAt) }
        json.member("updated_at", updatedAt)
        if let version { json.member("version", Int64(version)) }
        json.endObject()
    }

    /// The item's JSON, as `Response.json(self)` would write it.
    var json: ByteBuffer {
        var writer = JSONWriter(capacity: 512)
        write(to: &writer)
        return writer.buffer
    }
}

extension ItemPage {
    var json: ByteBuffer {
        var writer = JSONWriter(capacity: 128 + items.count * 480)
        writer.beginObject()
        writer.member("items", items) { writer, item in item.write(to: &writer) }
        writer.member("next_cursor", nextCursor)
        writer.endObject()
        return writer.buffer
    }
}

extension Response {
    /// An item as JSON: chosen over the generic `json(_:)` for this type, so every route that
    /// answers with an item takes the writer.
    static func json(_ item: ItemResource, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        json(buffer: item.json, status: status, headers: headers)
    }

    /// A page of items as JSON (listings, search, trash).
    static func json(_ page: ItemPage, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        json(buffer: page.json, status: status, headers: headers)
    }
}
