import CirrusContracts
import Foundation
import Testing

/// How envelopes are read: what is refused, what is tolerated.
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
        let bytes = try data(object)
        #expect(throws: ContractError.unsupportedSchemaVersion(type: "user.deleted", version: 2)) {
            try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: bytes)
        }
    }

    @Test func theHeaderOfAnUnknownTypeOrVersionStillDecodes() throws {
        var object = try json(GoldenFixtureTests.fixture("user.deleted.v1.json"))
        object["type"] = "something.new"
        object["schema_version"] = 7
        object["payload"] = "not even an object"
        let header = try ContractCoding.decoder().decode(EventHeader.self, from: try data(object))
        #expect(header.type == "something.new")
        #expect(header.schemaVersion == 7)
        #expect(header.eventID == Samples.eventID)
    }

    @Test func unknownFieldsAreIgnoredForForwardCompatibility() throws {
        var object = try json(GoldenFixtureTests.fixture("file.uploaded.v1.json"))
        object["added_later"] = "x"
        var payload = try #require(object["payload"] as? [String: Any])
        payload["also_new"] = ["nested": true]
        object["payload"] = payload
        var trace = try #require(object["trace"] as? [String: Any])
        trace["baggage"] = "k=v"
        object["trace"] = trace
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<FileUploaded>.self, from: try data(object))
        #expect(decoded == Samples.fileUploaded)
    }

    @Test func unknownFieldsInsideTheEmbeddedTierAreIgnored() throws {
        var object = try json(GoldenFixtureTests.fixture("tier.updated.v1.json"))
        var payload = try #require(object["payload"] as? [String: Any])
        var tier = try #require(payload["tier"] as? [String: Any])
        tier["storage_class"] = "cold"
        payload["tier"] = tier
        object["payload"] = payload
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<TierUpdated>.self, from: try data(object))
        #expect(decoded == Samples.tierUpdated)
    }

    @Test func aMissingTraceIsAnEmptyTrace() throws {
        var object = try json(GoldenFixtureTests.fixture("user.deleted.v1.json"))
        object.removeValue(forKey: "trace")
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: try data(object))
        #expect(decoded.trace == TraceContext())
    }

    @Test func anEmptyTraceEncodesAsAnEmptyObject() throws {
        #expect(String(decoding: try ContractCoding.encoder().encode(TraceContext()), as: UTF8.self) == "{}")
        var envelope = Samples.userDeleted
        envelope.trace = TraceContext()
        let text = String(decoding: try ContractCoding.encoder().encode(envelope), as: UTF8.self)
        #expect(text.contains(#""trace":{}"#))
        #expect(try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: Data(text.utf8)) == envelope)
    }

    @Test func theRequestIDTravelsInTheTraceAndOlderEventsDoWithoutIt() throws {
        var envelope = Samples.userDeleted
        envelope.trace = TraceContext(traceparent: Samples.trace.traceparent, requestID: "req-42")
        let text = String(decoding: try ContractCoding.encoder().encode(envelope), as: UTF8.self)
        #expect(text.contains(#""request_id":"req-42""#))
        #expect(try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: Data(text.utf8)) == envelope)
        // An event written before request ids travelled decodes with none.
        let old = try ContractCoding.decoder().decode(EventEnvelope<UserDeleted>.self, from: GoldenFixtureTests.fixture("user.deleted.v1.json"))
        #expect(old.trace.requestID == nil)
    }

    @Test func aMissingRequiredFieldIsAnError() throws {
        var object = try json(GoldenFixtureTests.fixture("file.uploaded.v1.json"))
        var payload = try #require(object["payload"] as? [String: Any])
        payload.removeValue(forKey: "sha256")
        object["payload"] = payload
        let bytes = try data(object)
        #expect(throws: DecodingError.self) {
            try ContractCoding.decoder().decode(EventEnvelope<FileUploaded>.self, from: bytes)
        }
    }

    @Test func anUnknownEnumValueIsAnError() throws {
        // Adding a case to `reason` is therefore a breaking change (see docs/events.md).
        var object = try json(GoldenFixtureTests.fixture("thumbnail.failed.v1.json"))
        var payload = try #require(object["payload"] as? [String: Any])
        payload["reason"] = "cosmic_rays"
        object["payload"] = payload
        let bytes = try data(object)
        #expect(throws: DecodingError.self) {
            try ContractCoding.decoder().decode(EventEnvelope<ThumbnailFailed>.self, from: bytes)
        }
    }

    @Test func anAbsentPreviousTierIsAnExplicitNull() throws {
        let text = String(decoding: try ContractCoding.encoder().encode(Samples.userTierChanged.payload), as: UTF8.self)
        #expect(text.contains(#""previous_tier_id":null"#))
        var object = try json(GoldenFixtureTests.fixture("user.tier_changed.v1.json"))
        var payload = try #require(object["payload"] as? [String: Any])
        payload.removeValue(forKey: "previous_tier_id")
        object["payload"] = payload
        let decoded = try ContractCoding.decoder().decode(EventEnvelope<UserTierChanged>.self, from: try data(object))
        #expect(decoded.payload.previousTierID == nil)
    }

    @Test func partitionKeysAreTheLowercaseEntityIDs() {
        let file = Samples.fileID.uuidString.lowercased()
        let user = Samples.ownerID.uuidString.lowercased()
        #expect(Samples.fileUploaded.payload.partitionKey == file)
        #expect(Samples.thumbnailRequested.payload.partitionKey == file)
        #expect(Samples.thumbnailGenerated.payload.partitionKey == file)
        #expect(Samples.thumbnailFailed.payload.partitionKey == file)
        #expect(Samples.fileDeleted.payload.partitionKey == file)
        #expect(Samples.userRegistered.payload.partitionKey == user)
        #expect(Samples.userTierChanged.payload.partitionKey == user)
        #expect(Samples.userDeleted.payload.partitionKey == user)
        #expect(Samples.tierUpdated.payload.partitionKey == Samples.tierID.uuidString.lowercased())
    }
}
