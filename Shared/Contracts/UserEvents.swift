import Foundation

/// Auth: a user registered (metadata creates their root folder). Key: user id.
public struct UserRegistered: EventPayload {
    public static var topic: Topic { .userRegistered }
    public var userID: UUID
    public var username: String
    /// `user` or `admin`.
    public var role: String
    public var tier: TierPermissions

    public init(userID: UUID, username: String, role: String, tier: TierPermissions) {
        self.userID = userID
        self.username = username
        self.role = role
        self.tier = tier
    }

    public var partitionKey: String { userID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case username, role, tier
    }
}

/// Auth: a user moved to another tier. Key: user id.
public struct UserTierChanged: EventPayload {
    public static var topic: Topic { .userTierChanged }
    public var userID: UUID
    public var previousTierID: UUID?
    public var tier: TierPermissions

    public init(userID: UUID, previousTierID: UUID?, tier: TierPermissions) {
        self.userID = userID
        self.previousTierID = previousTierID
        self.tier = tier
    }

    public var partitionKey: String { userID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case previousTierID = "previous_tier_id"
        case tier
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(userID, forKey: .userID)
        try container.encode(previousTierID, forKey: .previousTierID)
        try container.encode(tier, forKey: .tier)
    }
}

/// Auth: a user was deleted. Key: user id.
public struct UserDeleted: EventPayload {
    public static var topic: Topic { .userDeleted }
    public var userID: UUID

    public init(userID: UUID) { self.userID = userID }

    public var partitionKey: String { userID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey { case userID = "user_id" }
}

/// Auth: an admin disabled a user, or enabled them again. Key: user id. Metadata stops (and
/// restarts) the user's links on it.
public struct UserStatusChanged: EventPayload {
    public static var topic: Topic { .userStatusChanged }
    public var userID: UUID
    public var disabled: Bool

    public init(userID: UUID, disabled: Bool) {
        self.userID = userID
        self.disabled = disabled
    }

    public var partitionKey: String { userID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case disabled
    }
}

/// Auth: a tier's permissions changed, or it was deleted. Key: tier id.
public struct TierUpdated: EventPayload {
    public static var topic: Topic { .tierUpdated }
    public var tier: TierPermissions
    public var deleted: Bool

    public init(tier: TierPermissions, deleted: Bool) {
        self.tier = tier
        self.deleted = deleted
    }

    public var partitionKey: String { tier.id.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey { case tier, deleted }
}
