import CirrusContracts
import Foundation

/// Fixed sample events; `Fixtures/<type>.v<version>.json` hold their exact wire bytes.
enum Samples {
    static let date = Date(timeIntervalSince1970: 1_795_372_200.123)  // 2026-11-22T18:30:00.123Z
    static let eventID = UUID(uuidString: "0b1e8e4c-5d4a-4b8e-9a57-1c2d3e4f5a6b")!
    static let fileID = UUID(uuidString: "f11e0000-0000-4000-8000-000000000001")!
    static let ownerID = UUID(uuidString: "00000000-0000-4000-8000-0000000000aa")!
    static let uploadID = UUID(uuidString: "00000000-0000-4000-8000-0000000000bb")!
    static let tierID = UUID(uuidString: "7e700000-0000-4000-8000-000000000003")!
    static let blobID = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    static let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: nil)

    static let tier = TierPermissions(
        id: tierID, name: "enterprise", thumbnailSizes: [200, 400], originalLinks: true, expiringLinks: true,
        linkMinSeconds: 300, linkMaxSeconds: 30000, quotaBytes: 1_099_511_627_776, maxUploadBytes: 10_737_418_240, requestsPerMinute: 1200
    )

    static func envelope<P: EventPayload>(_ payload: P, producer: String) -> EventEnvelope<P> {
        EventEnvelope(eventID: eventID, occurredAt: date, producer: producer, trace: trace, payload: payload)
    }

    static let fileUploaded = envelope(
        FileUploaded(
            fileID: fileID, ownerID: ownerID, uploadID: uploadID, blobID: blobID, sha256: String(blobID.dropFirst(7)), size: 1_048_576,
            contentType: "image/jpeg"), producer: "blob")
    static let thumbnailRequested = envelope(
        ThumbnailRequested(fileID: fileID, ownerID: ownerID, blobID: blobID, contentType: "image/jpeg", sizes: [200, 400], reason: .upload),
        producer: "metadata")
    static let thumbnailGenerated = envelope(
        ThumbnailGenerated(
            fileID: fileID, ownerID: ownerID, blobID: blobID,
            thumbnails: [
                .init(size: 200, width: 300, height: 200, bytes: 12_345, format: "jpeg"),
                .init(size: 400, width: 600, height: 400, bytes: 45_678, format: "jpeg"),
            ]), producer: "thumbnail")
    static let thumbnailFailed = envelope(
        ThumbnailFailed(fileID: fileID, ownerID: ownerID, blobID: blobID, reason: .tooLarge, detail: "image exceeds 100000000 pixels"),
        producer: "thumbnail")
    static let fileDeleted = envelope(FileDeleted(fileID: fileID, ownerID: ownerID, blobIDs: [blobID]), producer: "metadata")
    static let userRegistered = envelope(UserRegistered(userID: ownerID, username: "ada", role: "user", tier: tier), producer: "auth")
    static let userTierChanged = envelope(UserTierChanged(userID: ownerID, previousTierID: nil, tier: tier), producer: "auth")
    static let userDeleted = envelope(UserDeleted(userID: ownerID), producer: "auth")
    static let userStatusChanged = envelope(UserStatusChanged(userID: ownerID, disabled: true), producer: "auth")
    static let tierUpdated = envelope(TierUpdated(tier: tier, deleted: false), producer: "auth")
    static let shareID = UUID(uuidString: "5a4e0000-0000-4000-8000-000000000005")!
    static let recipientID = UUID(uuidString: "00000000-0000-4000-8000-0000000000cc")!
    static let shareCreated = envelope(
        ShareCreated(shareID: shareID, itemID: fileID, itemKind: "folder", ownerID: ownerID, recipientID: recipientID, role: .editor),
        producer: "metadata")
    static let shareUpdated = envelope(
        ShareUpdated(shareID: shareID, itemID: fileID, ownerID: ownerID, recipientID: recipientID, role: .viewer, previousRole: .editor),
        producer: "metadata")
    static let shareRevoked = envelope(
        ShareRevoked(shareID: shareID, itemID: fileID, ownerID: ownerID, recipientID: recipientID, reason: .itemDeleted), producer: "metadata")

    /// One fixture file name per topic, `<type>.v1.json`.
    static let fixtureNames = Topic.allCases.map { "\($0.rawValue).v1.json" }

    /// (fixture file name, encoded sample) for every event type.
    static func all() throws -> [(name: String, bytes: Data)] {
        let encoder = ContractCoding.encoder()
        func entry<P: EventPayload>(_ envelope: EventEnvelope<P>) throws -> (String, Data) {
            ("\(P.eventType).v\(P.schemaVersion).json", try encoder.encode(envelope))
        }
        return [
            try entry(fileUploaded), try entry(thumbnailRequested), try entry(thumbnailGenerated), try entry(thumbnailFailed),
            try entry(fileDeleted), try entry(userRegistered), try entry(userTierChanged), try entry(userDeleted), try entry(userStatusChanged),
            try entry(tierUpdated), try entry(shareCreated), try entry(shareUpdated), try entry(shareRevoked),
        ]
    }
}
