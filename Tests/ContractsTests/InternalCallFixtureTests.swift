import CirrusContracts
import Foundation
import Testing

/// The bodies of the internal routes (Shared/Contracts/InternalCalls.swift) are frozen like the
/// events: `Fixtures/internal/` holds each sample's exact bytes. A renamed field, a changed type
/// or date format fails here — and would break a caller deployed beside an older service.
@Suite("Internal call wire format")
struct InternalCallFixtureTests {
    static let fileID = UUID(uuidString: "f11e0000-0000-4000-8000-000000000001")!
    static let folderID = UUID(uuidString: "f01d0000-0000-4000-8000-000000000002")!
    static let uploadID = UUID(uuidString: "00000000-0000-4000-8000-0000000000bb")!
    static let blobID = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    static let grant = "v1.0a1b2c3d.eyJwIjoicmVhZCJ9.c2lnbmF0dXJl"
    static let receipt = "v1.0a1b2c3d.eyJwIjoicmVjZWlwdCJ9.c2lnbmF0dXJl"
    static let date = Date(timeIntervalSince1970: 1_795_372_200.123)  // 2026-11-22T18:30:00.123Z

    /// Each sample, by its fixture's name, encoded and (to check decoding) decoded back.
    static let samples: [(name: String, encode: @Sendable () throws -> Data, roundTrips: @Sendable (Data) throws -> Bool)] = [
        sample("upload-reservation-request.new.json", UploadReservationRequest(folderID: folderID, name: "Sommer 2026.jpg", size: 1_048_576)),
        sample("upload-reservation-request.version.json", UploadReservationRequest(fileID: fileID)),
        sample(
            "upload-reservation.json", UploadReservation(uploadID: uploadID, fileID: fileID, maxBytes: 10_737_418_240, grant: grant, expiresAt: date)),
        sample(
            "stored-upload.json",
            StoredUpload(
                uploadID: uploadID, fileID: fileID, blobID: blobID, sha256: String(blobID.dropFirst(7)), size: 1_048_576,
                contentType: "image/jpeg", receipt: receipt)),
        sample("upload-completion.json", UploadCompletion(receipt: receipt)),
        sample(
            "content-grant.json",
            ContentGrant(
                fileID: fileID, name: "Sommer 2026.jpg", blobID: blobID, size: 1_048_576, contentType: "image/jpeg",
                sha256: String(blobID.dropFirst(7)), grant: grant)),
        sample("thumbnail-grant.json", ThumbnailGrant(fileID: fileID, grant: grant)),
        sample("thumbnail-grant.link.json", ThumbnailGrant(fileID: fileID, grant: grant, name: "Sommer 2026.jpg")),
        sample("storage-usage.json", StorageUsage(usedBytes: 1_048_576, reservedBytes: 2048, quotaBytes: 1_099_511_627_776)),
        sample("known-ids-query.json", KnownIDsQuery(ids: [fileID, uploadID])),
        sample("known-ids-reply.json", KnownIDsReply(known: [fileID], checked: 2)),
        sample("upload-limits.json", UploadLimits(maxBytes: 10_737_418_240)),
        sample(
            "upload-reservation-request.resumable.json",
            UploadReservationRequest(folderID: folderID, name: "Sommer 2026.mov", size: 314_572_800, resumable: true)),
        sample(
            "resumable-upload-creation.json",
            ResumableUploadCreation(length: 314_572_800, metadata: tusMetadata, sha256: nil, expiresAt: date)),
        sample(
            "resumable-upload-state.json",
            ResumableUploadState(uploadID: uploadID, offset: 8_388_608, length: nil, metadata: tusMetadata, expiresAt: date)),
        sample(
            "resumable-upload-state.stored.json",
            ResumableUploadState(
                uploadID: uploadID, offset: 1_048_576, length: 1_048_576, metadata: nil, expiresAt: date,
                stored: StoredUpload(
                    uploadID: uploadID, fileID: fileID, blobID: blobID, sha256: String(blobID.dropFirst(7)), size: 1_048_576,
                    contentType: "image/jpeg", receipt: receipt))),
        sample("basic-credentials.json", BasicCredentials(username: "ada", password: "abcde-fghij-kmnpq-rstuv-wxyz2")),
        sample("dav-session.json", DAVSession(accessToken: "eyJhbGciOiJFZERTQSJ9.e30.c2ln", userID: userID, readOnly: true, requestsPerMinute: 600)),
        sample("path-lookup.json", PathLookup(item: folderEntry, parent: rootEntry, children: [fileEntry], nextAfter: "Sommer 2026.jpg")),
        sample("path-lookup.missing.json", PathLookup(item: nil, parent: folderEntry)),
        sample("folder-copy-request.json", FolderCopyRequest(parentID: folderID, name: "Fotos (Kopie)", recursive: true)),
        sample(
            "property-update.json",
            PropertyUpdate(operations: [
                .init(namespace: "http://example.com/ns", name: "colour", value: "<n1:rgb xmlns:n1=\"urn:x\">red</n1:rgb>"),
                .init(namespace: "", name: "note", value: nil),
            ])),
        sample(
            "lock-request.json",
            LockRequest(path: "/Fotos/Sommer 2026.jpg", depthInfinity: false, exclusive: true, owner: "ada", timeoutSeconds: 3600)),
        sample("lock-refresh.json", LockRefresh(token: lockToken, path: "/Fotos", timeoutSeconds: 600)),
        sample("lock-list.json", LockList(locks: [lock])),
        sample(
            "user-lookup.json",
            UserLookup(user: UserName(id: userID, username: "grace"), caller: UserName(id: fileID, username: "ada"))),
        sample(
            "archive-listing.json",
            ArchiveListing(
                name: "Fotos",
                entries: [
                    .init(fileID: nil, path: "Sommer 2026/", size: 0, modifiedAt: date),
                    .init(fileID: fileID, path: "Sommer 2026/Strand.jpg", size: 1_048_576, modifiedAt: date),
                ], grant: grant)),
        sample("content-copy.json", ContentCopy(source: grant)),
    ]
    static let userID = UUID(uuidString: "0a5e0000-0000-4000-8000-000000000003")!
    static let lockToken = "opaquelocktoken:7d3f0000-0000-4000-8000-000000000004"
    static let lock = DAVLock(
        token: lockToken, path: "/Fotos", depthInfinity: true, exclusive: false, owner: "<n1:href xmlns:n1=\"DAV:\">ada</n1:href>",
        timeoutSeconds: 3600, expiresAt: date)
    static let rootEntry = PathEntry(id: userID, kind: "folder", name: "", size: 0, contentType: nil, sha256: nil, createdAt: date, updatedAt: date)
    static let folderEntry = PathEntry(
        id: folderID, kind: "folder", name: "Fotos", size: 0, contentType: nil, sha256: nil, createdAt: date, updatedAt: date)
    static let fileEntry = PathEntry(
        id: fileID, kind: "file", name: "Sommer 2026.jpg", size: 1_048_576, contentType: "image/jpeg", sha256: String(blobID.dropFirst(7)),
        createdAt: date, updatedAt: date, properties: [DeadProperty(namespace: "http://example.com/ns", name: "colour", value: "red")])
    static let tusMetadata = "folder_id ZjAxZDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAy,name U29tbWVyIDIwMjYubW92"

    static func sample<T: Codable & Equatable & Sendable>(
        _ name: String, _ value: T
    ) -> (name: String, encode: @Sendable () throws -> Data, roundTrips: @Sendable (Data) throws -> Bool) {
        (name, { try ContractCoding.encoder().encode(value) }, { try ContractCoding.decoder().decode(T.self, from: $0) == value })
    }

    static func fixture(_ name: String) throws -> Data {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: folder.appendingPathComponent("internal").appendingPathComponent(name))
    }

    @Test(arguments: samples.map(\.name))
    func encodingMatchesTheFixtureByteForByte(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        let encoded = try sample.encode()
        let expected = try Self.fixture(name)
        #expect(String(decoding: encoded, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test(arguments: samples.map(\.name))
    func decodingTheFixtureGivesBackTheSample(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        #expect(try sample.roundTrips(Self.fixture(name)))
    }

    @Test func everyFixtureHasASample() throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("internal")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(Set(files) == Set(Self.samples.map(\.name)))
    }

    /// A reservation request for a new file names no file; one for a new version names no folder.
    @Test func absentMembersAreOmittedNotNull() throws {
        let json = String(decoding: try ContractCoding.encoder().encode(UploadReservationRequest(fileID: Self.fileID)), as: UTF8.self)
        #expect(!json.contains("null") && !json.contains("folder_id") && !json.contains("size"))
    }
}
