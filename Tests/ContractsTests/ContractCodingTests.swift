import CirrusContracts
import Foundation
import Testing

/// Dates on the wire, topic names.
@Suite("Contract coding")
struct ContractCodingTests {
    @Test(arguments: ["2026-11-22T18:30:00Z", "2026-11-22T18:30:00.5Z", "2026-11-22T18:30:00.123Z", "2026-11-22t18:30:00.123z"])
    func datesWithOrWithoutFractionsDecode(text: String) throws {
        let date = try #require(ContractCoding.parseDate(text))
        #expect(ContractCoding.parseDate(ContractCoding.formatDate(date)) == date)
    }

    @Test func datesAreWrittenInUTCWithMilliseconds() throws {
        #expect(ContractCoding.formatDate(Samples.date) == "2026-11-22T18:30:00.123Z")
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: 1_795_372_200)) == "2026-11-22T18:30:00.000Z")
        #expect(ContractCoding.parseDate("2026-11-22T19:30:00.123+01:00") == Samples.date)
        #expect(ContractCoding.parseDate("yesterday") == nil)
    }

    @Test func datesRoundTripAtMillisecondPrecision() throws {
        for ms in [0, 1, 999, 1_795_372_200_123, 1_795_372_200_999] as [Int64] {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(ContractCoding.parseDate(ContractCoding.formatDate(date)) == date)
        }
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: 0.0004)) == "1970-01-01T00:00:00.000Z")
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: 1.9996)) == "1970-01-01T00:00:02.000Z")
    }

    @Test func anEnvelopeWithSubMillisecondTimeRoundTrips() throws {
        let envelope = EventEnvelope(
            eventID: Samples.eventID, occurredAt: Date(timeIntervalSince1970: 1_795_372_200.123456), producer: "auth",
            payload: UserDeleted(userID: Samples.ownerID))
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: ContractCoding.encoder().encode(envelope))
        #expect(decoded == envelope)
        #expect(decoded.occurredAt == Samples.date)
    }

    @Test func aDateThatIsNotRFC3339IsAnError() throws {
        #expect(throws: DecodingError.self) {
            try ContractCoding.decoder().decode([Date].self, from: Data(#"["22/11/2026"]"#.utf8))
        }
    }

    @Test func slashesAreNotEscaped() throws {
        #expect(String(decoding: try ContractCoding.encoder().encode(["a/b"]), as: UTF8.self) == #"["a/b"]"#)
    }

    @Test func topicsAreTheEventTypes() {
        #expect(
            Topic.allCases.map(\.rawValue) == [
                "file.uploaded", "thumbnail.requested", "thumbnail.generated", "thumbnail.failed", "file.deleted",
                "user.registered", "user.tier_changed", "user.deleted", "user.status_changed", "tier.updated", "share.created",
                "share.updated", "share.revoked",
            ])
        #expect(FileUploaded.eventType == "file.uploaded")
        #expect(ThumbnailRequested.topic == .thumbnailRequested)
        #expect(TierUpdated.eventType == Topic.tierUpdated.rawValue)
    }

    @Test func deadLetterTopicsAreSuffixed() {
        #expect(Topic.deadLetter("file.uploaded") == "file.uploaded.dlq")
        #expect(Topic.userTierChanged.deadLetterTopic == "user.tier_changed.dlq")
    }
}
