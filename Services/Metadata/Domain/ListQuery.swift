import CirrusContracts
import CirrusServiceKit
import Crypto
import Foundation
import Hummingbird
import PostgresNIO

/// Filters, order and page of a listing (a folder's children or a search over all files),
/// parsed from the query string; every bad parameter is a 422 naming it.
struct ListQuery: Sendable, Equatable {
    enum SortKey: String, Sendable {
        case name, size
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    var text: String?
    var kind: Item.Kind?
    var contentType: String?
    var minSize: Int64?
    var maxSize: Int64?
    var createdAfter: Date?
    var createdBefore: Date?
    var sort: SortKey = .name
    var descending = false
    var limit = 100
    var cursor: Cursor?

    static let sorts = ["name", "-name", "size", "-size", "created_at", "-created_at", "updated_at", "-updated_at"]

    init() {}

    init(parameters: [String: String], scope: String) throws {
        var errors: [FieldError] = []
        func value(_ name: String) -> String? { parameters[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let q = value("q") {
            if q.utf8.count > 255 {
                errors.append(FieldError(field: "q", message: "must be at most 255 bytes"))
            } else if q.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                errors.append(FieldError(field: "q", message: "must not contain control characters"))
            } else {
                text = q
            }
        }
        if let raw = value("kind") {
            if let parsed = Item.Kind(rawValue: raw) {
                kind = parsed
            } else {
                errors.append(FieldError(field: "kind", message: "must be folder or file"))
            }
        }
        if let raw = value("content_type") {
            let valid =
                raw.count <= 255 && raw.split(separator: "/", omittingEmptySubsequences: false).count == 2
                && raw.allSatisfy { $0.isLetter || $0.isNumber || "/+-.*_".contains($0) }
            if valid {
                contentType = raw.lowercased()
            } else {
                errors.append(FieldError(field: "content_type", message: "must be a media type like image/png or image/*"))
            }
        }
        for (name, target) in [("min_size", \ListQuery.minSize), ("max_size", \ListQuery.maxSize)] {
            if let raw = value(name) {
                if let number = Int64(raw), number >= 0 {
                    self[keyPath: target] = number
                } else {
                    errors.append(FieldError(field: name, message: "must be a whole number of bytes, 0 or more"))
                }
            }
        }
        for (name, target) in [("created_after", \ListQuery.createdAfter), ("created_before", \ListQuery.createdBefore)] {
            if let raw = value(name) {
                if let date = Self.parseDate(raw) {
                    self[keyPath: target] = date
                } else {
                    errors.append(FieldError(field: name, message: "must be an RFC 3339 date-time, e.g. 2026-11-22T18:30:00Z"))
                }
            }
        }
        if let raw = value("sort") {
            if Self.sorts.contains(raw) {
                descending = raw.hasPrefix("-")
                sort = SortKey(rawValue: String(raw.drop(while: { $0 == "-" })))!
            } else {
                errors.append(FieldError(field: "sort", message: "must be one of " + Self.sorts.joined(separator: ", ")))
            }
        }
        if let raw = value("limit") {
            if let number = Int(raw), (1...1000).contains(number) {
                limit = number
            } else {
                errors.append(FieldError(field: "limit", message: "must be between 1 and 1000"))
            }
        }
        if let minSize, let maxSize, minSize > maxSize { errors.append(FieldError(field: "min_size", message: "must not be greater than max_size")) }
        if let raw = value("cursor") {
            if let parsed = Cursor(token: raw), parsed.fingerprint == fingerprint(scope: scope), Self.isValidKey(parsed.key, for: sort) {
                cursor = parsed
            } else {
                errors.append(FieldError(field: "cursor", message: "is not a cursor of this listing (its filters and sort must stay the same)"))
            }
        }
        if !errors.isEmpty { throw ProblemError.validation(errors) }
    }

    /// A cursor's key must look like what PostgreSQL printed for the sort column: a cursor is
    /// client-held, so a doctored one is a 422, never a failed cast in the database.
    static func isValidKey(_ key: String, for sort: SortKey) -> Bool {
        switch sort {
        case .name: key.utf8.count <= 1024 && !key.unicodeScalars.contains { $0.value == 0 }
        case .size: Int64(key).map { $0 >= 0 } ?? false
        case .createdAt, .updatedAt: isTimestampKey(key)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffff`, as the listings print timestamps.
    static func isTimestampKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 26 else { return false }
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 4, 7: if byte != UInt8(ascii: "-") { return false }
            case 10: if byte != UInt8(ascii: "T") { return false }
            case 13, 16: if byte != UInt8(ascii: ":") { return false }
            case 19: if byte != UInt8(ascii: ".") { return false }
            default: if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return false }
            }
        }
        return RFC3339.milliseconds(parsing: key + "Z") != nil  // a real date (month and day in range)
    }

    static func parseDate(_ raw: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: raw) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: raw)
    }

    /// Ties a cursor to the listing it came from: the same scope, filters and sort.
    func fingerprint(scope: String) -> String {
        let parts = [
            scope, text ?? "", kind?.rawValue ?? "", contentType ?? "", minSize.map(String.init) ?? "", maxSize.map(String.init) ?? "",
            createdAfter.map { String($0.timeIntervalSince1970) } ?? "", createdBefore.map { String($0.timeIntervalSince1970) } ?? "",
            sort.rawValue, descending ? "desc" : "asc",
        ]
        return SHA256.hash(data: Data(parts.joined(separator: "\u{1}").utf8)).prefix(8).lowercaseHex
    }

    /// The position after the last item of a page: its sort key (as PostgreSQL printed it, so
    /// no precision is lost) and id, opaque to clients.
    /// `limit` (1-1000, 100) and `cursor` of a newest-first listing keyed by a timestamp (the
    /// trash, shared-with-me): a 422 naming each bad one.
    static func newestFirstPage(_ parameters: [String: String], fingerprint: String) throws -> (limit: Int, cursor: Cursor?) {
        var errors: [FieldError] = []
        var limit = 100
        if let raw = parameters["limit"] {
            if let value = Int(raw), (1...1000).contains(value) {
                limit = value
            } else {
                errors.append(FieldError(field: "limit", message: "must be between 1 and 1000"))
            }
        }
        var cursor: Cursor?
        if let raw = parameters["cursor"], !raw.isEmpty {
            if let parsed = Cursor(token: raw), parsed.fingerprint == fingerprint, isTimestampKey(parsed.key) {
                cursor = parsed
            } else {
                errors.append(FieldError(field: "cursor", message: "is not a cursor of this listing"))
            }
        }
        if !errors.isEmpty { throw ProblemError.validation(errors) }
        return (limit, cursor)
    }

    struct Cursor: Sendable, Equatable, Codable {
        var key: String
        var id: UUID
        var fingerprint: String

        enum CodingKeys: String, CodingKey {
            case key = "k"
            case id = "i"
            case fingerprint = "f"
        }

        init(key: String, id: UUID, fingerprint: String) {
            self.key = key
            self.id = id
            self.fingerprint = fingerprint
        }

        init?(token: String) {
            guard token.utf8.count <= 2048, let data = Base64URL.decode(token), let cursor = try? JSONDecoder().decode(Cursor.self, from: data) else {
                return nil
            }
            self = cursor
        }

        var token: String { Base64URL.encode(try! JSONEncoder().encode(self)) }
    }
}

extension Request {
    /// The query string as a dictionary (the last value of a repeated name wins).
    var queryParameters: [String: String] {
        var result: [String: String] = [:]
        for (name, value) in uri.queryParameters { result[String(name)] = String(value) }
        return result
    }
}
