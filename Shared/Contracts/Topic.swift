/// Every Kafka topic Cirrus uses. The event type equals the topic name.
public enum Topic: String, CaseIterable, Codable, Sendable {
    case fileUploaded = "file.uploaded"
    case thumbnailRequested = "thumbnail.requested"
    case thumbnailGenerated = "thumbnail.generated"
    case thumbnailFailed = "thumbnail.failed"
    case fileDeleted = "file.deleted"
    case userRegistered = "user.registered"
    case userTierChanged = "user.tier_changed"
    case userDeleted = "user.deleted"
    case userStatusChanged = "user.status_changed"
    case tierUpdated = "tier.updated"
    case shareCreated = "share.created"
    case shareUpdated = "share.updated"
    case shareRevoked = "share.revoked"

    /// Where a consumer parks a message it could not process: `<topic>.dlq`.
    public static func deadLetter(_ topic: String) -> String { "\(topic).dlq" }

    /// This topic's dead-letter topic, `<topic>.dlq`.
    public var deadLetterTopic: String { Self.deadLetter(rawValue) }
}
