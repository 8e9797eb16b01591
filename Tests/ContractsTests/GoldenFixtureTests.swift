import CirrusContracts
import Foundation
import Testing

/// The wire format of every event is frozen in `Fixtures/`: a change to a field name, a
/// type or the date format fails here, and must come with a new schema version.
@Suite("Event wire format")
struct GoldenFixtureTests {
    static func fixture(_ name: String) throws -> Data {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: folder.appendingPathComponent(name))
    }

    @Test func everyEventTypeHasAFixture() throws {
        let names = try Samples.all().map(\.name)
        #expect(Set(names) == Set(Topic.allCases.map { "\($0.rawValue).v1.json" }))
    }

    @Test(arguments: try Samples.all().map(\.name))
    func encodingMatchesTheFixtureByteForByte(name: String) throws {
        let encoded = try #require(try Samples.all().first { $0.name == name }).bytes
        let expected = try Self.fixture(name)
        #expect(String(decoding: encoded, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func decodingEachFixtureGivesBackTheSample() throws {
        let decoder = ContractCoding.decoder()
        #expect(try decoder.decode(EventEnvelope<FileUploaded>.self, from: Self.fixture("file.uploaded.v1.json")) == Samples.fileUploaded)
        #expect(try decoder.decode(EventEnvelope<ThumbnailRequested>.self, from: Self.fixture("thumbnail.requested.v1.json")) == Samples.thumbnailRequested)
        #expect(try decoder.decode(EventEnvelope<ThumbnailGenerated>.self, from: Self.fixture("thumbnail.generated.v1.json")) == Samples.thumbnailGenerated)
        #expect(try decoder.decode(EventEnvelope<ThumbnailFailed>.self, from: Self.fixture("thumbnail.failed.v1.json")) == Samples.thumbnailFailed)
        #expect(try decoder.decode(EventEnvelope<FileDeleted>.self, from: Self.fixture("file.deleted.v1.json")) == Samples.fileDeleted)
        #expect(try decoder.decode(EventEnvelope<UserRegistered>.self, from: Self.fixture("user.registered.v1.json")) == Samples.userRegistered)
        #expect(try decoder.decode(EventEnvelope<UserTierChanged>.self, from: Self.fixture("user.tier_changed.v1.json")) == Samples.userTierChanged)
        #expect(try decoder.decode(EventEnvelope<UserDeleted>.self, from: Self.fixture("user.deleted.v1.json")) == Samples.userDeleted)
        #expect(try decoder.decode(EventEnvelope<TierUpdated>.self, from: Self.fixture("tier.updated.v1.json")) == Samples.tierUpdated)
    }

    @Test(arguments: try Samples.all().map(\.name))
    func theHeaderDecodesFromAnyEvent(name: String) throws {
        let header = try ContractCoding.decoder().decode(EventHeader.self, from: Self.fixture(name))
        #expect(header.eventID == Samples.eventID)
        #expect(name.hasPrefix(header.type + ".v\(header.schemaVersion)"))
        #expect(header.occurredAt == Samples.date)
        #expect(header.trace == Samples.trace)
    }
}

@Suite("Event decoding rules")
struct EventDecodingTests {
    func json(_ data: Data) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func data(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object)
    }

    @Test func aPayloadOfAnotherTypeIsRefused() throws {
        let fixture = try GoldenFixtureTests.fixture("user.deleted.v1.json")
        #expect(throws: ContractError.typeMismatch(expected: "file.deleted", found: "user.deleted")) {
            try ContractCoding.decoder().decode(EventEnvelope<FileDeleted>.self, from: fixture)
        }
    }

    @Test func aNewerSchemaVersionIsRefused() throws {
        var object = try json(GoldenFixtureTests.fixture("user.deleted.v1.json"))
        object["schema_version"] = 2
        #expect(throws: ContractError.unsupportedSchemaVersion(type: "user.deleted", version: 2)) {
            try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: try data(object))
        }
    }

    @Test func unknownFieldsAreIgnoredForForwardCompatibility() throws {
        var object = try json(GoldenFixtureTests.fixture("file.uploaded.v1.json"))
        object["added_later"] = "x"
        var payload = try #require(object["payload"] as? [String: Any])
        payload["also_new"] = ["nested": true]
        object["payload"] = payload
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<FileUploaded>.self, from: try data(object))
        #expect(decoded == Samples.fileUploaded)
    }

    @Test func aMissingTraceIsAnEmptyTrace() throws {
        var object = try json(GoldenFixtureTests.fixture("user.deleted.v1.json"))
        object.removeValue(forKey: "trace")
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: try data(object))
        #expect(decoded.trace == TraceContext())
    }

    @Test func aMissingRequiredFieldIsAnError() throws {
        var object = try json(GoldenFixtureTests.fixture("file.uploaded.v1.json"))
        var payload = try #require(object["payload"] as? [String: Any])
        payload.removeValue(forKey: "sha256")
        object["payload"] = payload
        #expect(throws: DecodingError.self) {
            try ContractCoding.decoder().decode(EventEnvelope<FileUploaded>.self, from: try data(object))
        }
    }

    @Test(arguments: ["2026-11-22T18:30:00Z", "2026-11-22T18:30:00.5Z", "2026-11-22T18:30:00.123Z"])
    func datesWithOrWithoutFractionsDecode(text: String) throws {
        let date = try #require(ContractCoding.parseDate(text))
        #expect(ContractCoding.parseDate(ContractCoding.formatDate(date)) == date)
    }

    @Test func datesRoundTripAtMillisecondPrecision() throws {
        for ms in [0, 1, 999, 1_795_372_200_123, 1_795_372_200_999] as [Int64] {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(ContractCoding.parseDate(ContractCoding.formatDate(date)) == date)
        }
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: 0.0004)) == "1970-01-01T00:00:00.000Z")
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: 1.9996)) == "1970-01-01T00:00:02.000Z")
    }

    @Test func partitionKeysAreTheEntityIDs() {
        #expect(Samples.fileUploaded.payload.partitionKey == Samples.fileID.uuidString.lowercased())
        #expect(Samples.userRegistered.payload.partitionKey == Samples.ownerID.uuidString.lowercased())
        #expect(Samples.tierUpdated.payload.partitionKey == Samples.tierID.uuidString.lowercased())
    }

    @Test func deadLetterTopicsAreSuffixed() {
        #expect(Topic.deadLetter("file.uploaded") == "file.uploaded.dlq")
    }

    @Test func problemsOmitAbsentFieldsAndRoundTrip() throws {
        let bare = Problem(type: "https://cirrus.dev/problems/not-found", title: "Not Found", status: 404)
        let text = String(decoding: try ContractCoding.encoder().encode(bare), as: UTF8.self)
        #expect(text == #"{"status":404,"title":"Not Found","type":"https://cirrus.dev/problems/not-found"}"#)
        let full = Problem(type: "t", title: "Validation failed", status: 422, detail: "d", instance: "/v1/folders", errors: [FieldError(field: "name", message: "must not be empty")])
        #expect(try ContractCoding.decoder().decode(Problem.self, from: ContractCoding.encoder().encode(full)) == full)
    }
}
