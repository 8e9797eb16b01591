/// The error body of every Cirrus HTTP API (RFC 9457, `application/problem+json`).
/// Absent optional members are omitted from the JSON, never written as `null`.
public struct Problem: Codable, Sendable, Equatable {
    /// The `Content-Type` of every error response.
    public static let mediaType = "application/problem+json"

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var instance: String?
    /// For validation failures: each offending field with what is wrong.
    public var errors: [FieldError]?

    public init(type: String, title: String, status: Int, detail: String? = nil, instance: String? = nil, errors: [FieldError]? = nil) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.instance = instance
        self.errors = errors
    }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, instance, errors }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(detail, forKey: .detail)
        try container.encodeIfPresent(instance, forKey: .instance)
        try container.encodeIfPresent(errors, forKey: .errors)
    }
}

/// One invalid field of a request: its name (JSON path or parameter) and what is wrong.
public struct FieldError: Codable, Sendable, Equatable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case field, message }
}
