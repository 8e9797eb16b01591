import Foundation

/// Auth's `GET /internal/tiers`: every tier it has, for a service that needs the catalogue
/// before the events that carry it arrive (metadata, at start).
public struct TierCatalogue: Codable, Sendable, Equatable {
    public var items: [TierPermissions]

    public init(items: [TierPermissions]) {
        self.items = items
    }
}
