import CirrusContracts
import Foundation
import Testing

/// The wire format of every event is frozen in `Fixtures/`: a change to a field name, a
/// type or the date format fails here, and must come with a new schema version.
/// Fixture files hold exactly the encoder's bytes, with no trailing newline.
@Suite("Event wire format")
struct GoldenFixtureTests {
    static func fixture(_ name: String) throws -> Data {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: folder.appendingPathComponent(name))
    }

    @Test func everyEventTypeHasASample() throws {
        let names = try Samples.all().map(\.name)
        #expect(names.count == Topic.allCases.count)
        #expect(Set(names) == Set(Samples.fixtureNames))
    }

    @Test(arguments: Samples.fixtureNames)
    func encodingMatchesTheFixtureByteForByte(name: String) throws {
        let encoded = try #require(try Samples.all().first { $0.name == name }).bytes
        let expected = try Self.fixture(name)
        #expect(String(decoding: encoded, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(encoded == expected)
    }

    @Test func decodingEachFixtureGivesBackTheSample() throws {
        let decoder = ContractCoding.decoder()
        #expect(try decoder.decode(EventEnvelope<FileUploaded>.self, from: Self.fixture("file.uploaded.v1.json")) == Samples.fileUploaded)
        #expect(
            try decoder.decode(EventEnvelope<ThumbnailRequested>.self, from: Self.fixture("thumbnail.requested.v1.json"))
                == Samples.thumbnailRequested)
        #expect(
            try decoder.decode(EventEnvelope<ThumbnailGenerated>.self, from: Self.fixture("thumbnail.generated.v1.json"))
                == Samples.thumbnailGenerated)
        #expect(try decoder.decode(EventEnvelope<ThumbnailFailed>.self, from: Self.fixture("thumbnail.failed.v1.json")) == Samples.thumbnailFailed)
        #expect(try decoder.decode(EventEnvelope<FileDeleted>.self, from: Self.fixture("file.deleted.v1.json")) == Samples.fileDeleted)
        #expect(try decoder.decode(EventEnvelope<UserRegistered>.self, from: Self.fixture("user.registered.v1.json")) == Samples.userRegistered)
        #expect(try decoder.decode(EventEnvelope<UserTierChanged>.self, from: Self.fixture("user.tier_changed.v1.json")) == Samples.userTierChanged)
        #expect(try decoder.decode(EventEnvelope<UserDeleted>.self, from: Self.fixture("user.deleted.v1.json")) == Samples.userDeleted)
        #expect(
            try decoder.decode(EventEnvelope<UserStatusChanged>.self, from: Self.fixture("user.status_changed.v1.json")) == Samples.userStatusChanged)
        #expect(try decoder.decode(EventEnvelope<TierUpdated>.self, from: Self.fixture("tier.updated.v1.json")) == Samples.tierUpdated)
        #expect(try decoder.decode(EventEnvelope<ShareCreated>.self, from: Self.fixture("share.created.v1.json")) == Samples.shareCreated)
        #expect(try decoder.decode(EventEnvelope<ShareUpdated>.self, from: Self.fixture("share.updated.v1.json")) == Samples.shareUpdated)
        #expect(try decoder.decode(EventEnvelope<ShareRevoked>.self, from: Self.fixture("share.revoked.v1.json")) == Samples.shareRevoked)
    }

    @Test(arguments: Samples.fixtureNames)
    func theHeaderDecodesFromAnyEvent(name: String) throws {
        let header = try ContractCoding.decoder().decode(EventHeader.self, from: Self.fixture(name))
        #expect(header.eventID == Samples.eventID)
        #expect(name == "\(header.type).v\(header.schemaVersion).json")
        #expect(header.occurredAt == Samples.date)
        #expect(header.trace == Samples.trace)
        #expect(["auth", "metadata", "blob", "thumbnail"].contains(header.producer))
    }

    @Test func theEnvelopesHeaderIsTheDecodedHeader() throws {
        let header = try ContractCoding.decoder().decode(EventHeader.self, from: Self.fixture("file.uploaded.v1.json"))
        #expect(Samples.fileUploaded.header == header)
    }

    @Test func envelopesTakeTypeAndVersionFromThePayload() {
        #expect(Samples.thumbnailFailed.type == "thumbnail.failed")
        #expect(Samples.thumbnailFailed.schemaVersion == 1)
        #expect(Samples.userTierChanged.type == Topic.userTierChanged.rawValue)
    }
}
