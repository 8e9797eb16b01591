import Foundation

/// The role a share gives its recipient (docs/sharing.md): `viewer` reads, `editor` also writes.
public enum ShareRole: String, Codable, Sendable, CaseIterable {
    case viewer
    case editor
}

/// Metadata: an owner shared a file or folder with another user. Key: the shared item's id.
public struct ShareCreated: EventPayload {
    public static var topic: Topic { .shareCreated }
    public var shareID: UUID
    public var itemID: UUID
    /// `file` or `folder`.
    public var itemKind: String
    public var ownerID: UUID
    public var recipientID: UUID
    public var role: ShareRole

    public init(shareID: UUID, itemID: UUID, itemKind: String, ownerID: UUID, recipientID: UUID, role: ShareRole) {
        self.shareID = shareID
        self.itemID = itemID
        self.itemKind = itemKind
        self.ownerID = ownerID
        self.recipientID = recipientID
        self.role = role
    }

    public var partitionKey: String { itemID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case shareID = "share_id"
        case itemID = "item_id"
        case itemKind = "item_kind"
        case ownerID = "owner_id"
        case recipientID = "recipient_id"
        case role
    }
}

/// Metadata: the owner changed a share's role. Key: the shared item's id.
public struct ShareUpdated: EventPayload {
    public static var topic: Topic { .shareUpdated }
    public var shareID: UUID
    public var itemID: UUID
    public var ownerID: UUID
    public var recipientID: UUID
    public var role: ShareRole
    public var previousRole: ShareRole

    public init(shareID: UUID, itemID: UUID, ownerID: UUID, recipientID: UUID, role: ShareRole, previousRole: ShareRole) {
        self.shareID = shareID
        self.itemID = itemID
        self.ownerID = ownerID
        self.recipientID = recipientID
        self.role = role
        self.previousRole = previousRole
    }

    public var partitionKey: String { itemID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case shareID = "share_id"
        case itemID = "item_id"
        case ownerID = "owner_id"
        case recipientID = "recipient_id"
        case role
        case previousRole = "previous_role"
    }
}

/// Metadata: a share ended. Key: the shared item's id.
public struct ShareRevoked: EventPayload {
    /// Why the share ended.
    public enum Reason: String, Codable, Sendable {
        /// The owner revoked it.
        case revoked
        /// The recipient left it.
        case left
        /// The shared item was deleted for good.
        case itemDeleted = "item_deleted"
        /// The owner or the recipient was deleted.
        case userDeleted = "user_deleted"
    }

    public static var topic: Topic { .shareRevoked }
    public var shareID: UUID
    public var itemID: UUID
    public var ownerID: UUID
    public var recipientID: UUID
    public var reason: Reason

    public init(shareID: UUID, itemID: UUID, ownerID: UUID, recipientID: UUID, reason: Reason) {
        self.shareID = shareID
        self.itemID = itemID
        self.ownerID = ownerID
        self.recipientID = recipientID
        self.reason = reason
    }

    public var partitionKey: String { itemID.uuidString.lowercased() }

    enum CodingKeys: String, CodingKey {
        case shareID = "share_id"
        case itemID = "item_id"
        case ownerID = "owner_id"
        case recipientID = "recipient_id"
        case reason
    }
}
