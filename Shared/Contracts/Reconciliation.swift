import Foundation

/// Anti-entropy between services: a service that keeps state derived from metadata's (blob's
/// content references, thumbnail's renditions) asks metadata which of its ids metadata still
/// has, and cleans up what metadata no longer knows — what a lost `file.deleted` left.
/// Body of `POST /internal/known/references` and `POST /internal/known/files` on metadata.
public struct KnownIDsQuery: Codable, Sendable, Equatable {
    /// At most `limit` ids.
    public var ids: [UUID]
    public static let limit = 1000

    public init(ids: [UUID]) {
        self.ids = ids
    }
}

/// Metadata's answer: which of the asked ids it has. `checked` repeats how many were asked,
/// so a caller never mistakes a short or empty answer for "none known".
public struct KnownIDsReply: Codable, Sendable, Equatable {
    public var known: [UUID]
    public var checked: Int

    public init(known: [UUID], checked: Int) {
        self.known = known
        self.checked = checked
    }
}
