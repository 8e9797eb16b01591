import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import Gateway

// MARK: - Fake peers (also used by UpstreamProxyTests)

/// One request a fake peer received, as it arrived.
struct ReceivedRequest: Sendable {
    var method: HTTPRequest.Method
    /// The path as sent (still percent-encoded), without the query.
    var path: String
    var query: String?
    var headers: HTTPFields
    var body: ByteBuffer

    func matches(_ method: HTTPRequest.Method, _ path: String) -> Bool { self.method == method && self.path == path }

    /// Every value of the header `name`, in order; empty when it was not sent.
    func values(_ name: String) -> [String] { HTTPField.Name(name).map { headers[values: $0] } ?? [] }

    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }

    var bytes: [UInt8] { Array(body.readableBytesView) }

    /// The body as a contract type, decoded as the services decode it.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ContractCoding.decoder().decode(T.self, from: Data(body.readableBytesView))
    }
}

/// A stand-in for one of the gateway's peers: a Hummingbird server on a loopback port of its
/// own that records every request it receives (whole body included) and answers with `answer`.
/// Errors `answer` throws are rendered by the services' own `ErrorMiddleware`, so a thrown
/// `ProblemError` reaches the gateway exactly as a real service's refusal would.
struct FakePeer: Sendable {
    typealias Answer = @Sendable (ReceivedRequest) async throws -> Response

    let url: String
    let received: Recorder<ReceivedRequest>

    static let logger: Logger = {
        var logger = Logger(label: "gateway-fake-peers")
        logger.logLevel = .critical
        return logger
    }()

    /// The HTTP client the gateway under test calls its peers with, configured as the gateway's
    /// (`GatewayApp`): no retried connection attempts, so a refused connection fails at once.
    static let http = HTTPClientService(connectTimeout: .seconds(2), readTimeout: .seconds(30)).client

    /// A fake that is not expected to be called: answers 404 (and records the call).
    static let unexpected: Answer = { request in
        throw ProblemError(.notFound, detail: "This fake does not serve \(request.method.rawValue) \(request.path).")
    }

    /// A peer that cannot be reached: a loopback port nothing listens on (connections are refused).
    static func unreachable() throws -> FakePeer {
        FakePeer(url: "http://127.0.0.1:\(try freePort())", received: Recorder())
    }

    struct DidNotStart: Error {}

    /// Records the request, then answers it; no route is needed (router middleware also runs
    /// for requests no route matches).
    struct Recording<Context: RequestContext>: RouterMiddleware {
        let received: Recorder<ReceivedRequest>
        let answer: Answer

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var request = request
            let body = try await request.collectBody(upTo: 64 << 20)
            let seen = ReceivedRequest(
                method: request.method, path: request.uri.path, query: request.uri.query, headers: request.headers, body: body)
            received.append(seen)
            return try await answer(seen)
        }
    }

    /// Runs a fake answering with `answer` for the duration of `body`; with `answer` nil, the
    /// peer is `unreachable()` instead.
    static func serve<Value: Sendable>(_ answer: Answer?, _ body: (FakePeer) async throws -> Value) async throws -> Value {
        guard let answer else { return try await body(try unreachable()) }
        let received = Recorder<ReceivedRequest>()
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: Recording(received: received, answer: answer))
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { announce.finish() }  // a server that fails to start ends the wait below
                try await app.runService(gracefulShutdownSignals: [])
            }
            defer { group.cancelAll() }
            var listening = ports.makeAsyncIterator()
            guard let port = await listening.next(), port > 0 else { throw DidNotStart() }
            return try await body(FakePeer(url: "http://127.0.0.1:\(port)", received: received))
        }
    }
}

extension UUID {
    fileprivate var lower: String { uuidString.lowercased() }
}

// MARK: - File transfer

/// The gateway's upload and download orchestration (`FileTransfer`) against fake metadata, blob
/// and thumbnail services that answer with the contract types, as the real ones do. Each case
/// checks what every fake received and what the client got.
@Suite("Gateway file transfer", .timeLimit(.minutes(1)))
struct FileTransferTests {
    /// The gateway with its three peers, for one test.
    struct Stack: Sendable {
        let client: any TestClientProtocol
        let metadata: FakePeer
        let blob: FakePeer
        let thumbnail: FakePeer
        /// A valid access token (the verifier trusts its key).
        let token: String

        func send(
            _ method: HTTPRequest.Method, _ uri: String, headers extra: [(String, String)] = [], authorized: Bool = true,
            body: ByteBuffer? = nil
        ) async throws -> TestResponse {
            var headers = HTTPFields()
            if authorized { headers[.authorization] = "Bearer \(token)" }
            for (name, value) in extra { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
            return try await client.executeRequest(uri: uri, method: method, headers: headers, body: body)
        }
    }

    /// The gateway's router as `GatewayApp` builds it for these routes (request ids, problems,
    /// `FileTransfer` behind authentication), its peers the fakes answering with `metadata`,
    /// `blob` and `thumbnail` (nil: unreachable). Auth is never called here: its URL refuses.
    static func withGateway(
        metadata: FakePeer.Answer?, blob: FakePeer.Answer?, thumbnail: FakePeer.Answer?,
        _ body: @Sendable (Stack) async throws -> Void
    ) async throws {
        let tokens = TestTokens()
        let token = try await tokens.token(for: Identity(userID: UUID(), role: .user, tierID: UUID()))
        try await FakePeer.serve(metadata) { metadataPeer in
            try await FakePeer.serve(blob) { blobPeer in
                try await FakePeer.serve(thumbnail) { thumbnailPeer in
                    let urls = try PeerURLs(
                        reader: ConfigReader(environment: [
                            "CIRRUS_AUTH_URL": try FakePeer.unreachable().url,
                            "CIRRUS_METADATA_URL": metadataPeer.url,
                            "CIRRUS_BLOB_URL": blobPeer.url,
                            "CIRRUS_THUMBNAIL_URL": thumbnailPeer.url,
                        ]))
                    let peers = Peers(http: FakePeer.http, urls: urls, logger: FakePeer.logger)
                    let router = Router(context: GatewayRequestContext.self)
                    router.add(middleware: RequestIDMiddleware())
                    router.add(middleware: ErrorMiddleware())
                    FileTransfer(peers: peers, verifier: tokens.verifier(logger: FakePeer.logger)).register(on: router)
                    try await Application(router: router, logger: FakePeer.logger).test(.router) { client in
                        try await body(Stack(client: client, metadata: metadataPeer, blob: blobPeer, thumbnail: thumbnailPeer, token: token))
                    }
                }
            }
        }
    }

    // MARK: Helpers

    /// Binary content holding CR, LF and dashes (what a multipart parser must not trip on).
    static func content(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 9)) }
    }

    static func problem(_ response: TestResponse) throws -> Problem {
        try ContractCoding.decoder().decode(Problem.self, from: Data(response.body.readableBytesView))
    }

    /// A file resource as metadata answers a completed upload (its shape is metadata's: the
    /// gateway passes it on as it is).
    static func fileJSON(_ id: UUID, name: String, size: Int) -> ByteBuffer {
        ByteBuffer(string: #"{"id":"\#(id.lower)","kind":"file","name":"\#(name)","size":\#(size),"status":"ready"}"#)
    }

    static func jsonAnswer(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    static func reservation(file: UUID = UUID()) -> UploadReservation {
        let upload = UUID()
        return UploadReservation(
            uploadID: upload, fileID: file, maxBytes: 5_000_000, grant: "upload-grant-\(upload.lower)",
            expiresAt: Date(timeIntervalSince1970: 1_900_000_000))
    }

    static func stored(_ reservation: UploadReservation, _ bytes: [UInt8]) -> StoredUpload {
        let sha = SHA256Hex.of(bytes)
        return StoredUpload(
            uploadID: reservation.uploadID, fileID: reservation.fileID, blobID: "sha256:" + sha, sha256: sha, size: Int64(bytes.count),
            contentType: "application/octet-stream", receipt: "receipt-\(reservation.uploadID.lower)")
    }

    /// Metadata during an upload: reserves (201 with `reservation`), completes (200 with `file`),
    /// cancels (204).
    static func uploadingMetadata(_ reservation: UploadReservation, file: ByteBuffer) -> FakePeer.Answer {
        let id = reservation.uploadID.lower
        return { request in
            if request.matches(.post, "/internal/uploads") { return try Response.json(reservation, status: .created) }
            if request.matches(.post, "/internal/uploads/\(id)/complete") { return FileTransferTests.jsonAnswer(file) }
            if request.matches(.delete, "/internal/uploads/\(id)") { return Response(status: .noContent) }
            throw ProblemError.notFound()
        }
    }

    /// Blob storing an upload: 201 with `stored` (its receipt among it).
    static func storingBlob(_ stored: StoredUpload) -> FakePeer.Answer {
        let path = "/internal/uploads/\(stored.uploadID.lower)"
        return { request in
            guard request.matches(.put, path) else { throw ProblemError.notFound() }
            return try Response.json(stored, status: .created)
        }
    }

    static func calls(_ peer: FakePeer) -> [String] {
        peer.received.all.map { "\($0.method.rawValue) \($0.path)" }
    }

    // MARK: - Uploads

    @Test func aRawBodyIsReservedStreamedToBlobAndCompleted() async throws {
        let folder = UUID()
        let bytes = Self.content(70_000)  // several of the test client's 32 KiB chunks
        let reservation = Self.reservation()
        let stored = Self.stored(reservation, bytes)
        let file = Self.fileJSON(reservation.fileID, name: "notes 2024.txt", size: bytes.count)
        let uploadID = reservation.uploadID.lower
        try await Self.withGateway(
            metadata: Self.uploadingMetadata(reservation, file: file), blob: Self.storingBlob(stored), thumbnail: FakePeer.unexpected
        ) { stack in
            let response = try await stack.send(
                .post, "/v1/files?folder_id=\(folder.lower)&name=notes%202024.txt",
                headers: [
                    ("Content-Type", "application/octet-stream"), ("X-Request-Id", "req-raw-upload"), ("X-Content-SHA256", stored.sha256),
                ],
                body: ByteBuffer(bytes: bytes))
            #expect(response.status == .created)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.body == file, "metadata's file, as it is")

            let metadata = stack.metadata.received.all
            try #require(metadata.count == 2, "reserve and complete, nothing else: \(Self.calls(stack.metadata))")
            let reserve = metadata[0]
            #expect(reserve.matches(.post, "/internal/uploads"))
            #expect(reserve.values("Authorization") == ["Bearer \(stack.token)"])
            #expect(reserve.values("Content-Type") == ["application/json"])
            #expect(reserve.values("X-Request-Id") == ["req-raw-upload"])
            #expect(
                try reserve.decode(UploadReservationRequest.self)
                    == UploadReservationRequest(folderID: folder, name: "notes 2024.txt", size: Int64(bytes.count)))

            let blob = stack.blob.received.all
            try #require(blob.count == 1)
            let put = blob[0]
            #expect(put.matches(.put, "/internal/uploads/\(uploadID)"))
            #expect(put.values(InternalGrant.header) == [reservation.grant])
            #expect(put.values("Authorization").isEmpty, "blob trusts the grant, not the user's token")
            #expect(put.values("X-Content-SHA256") == [stored.sha256])
            #expect(put.values("Content-Length") == ["\(bytes.count)"])
            #expect(put.values("X-Request-Id") == ["req-raw-upload"])
            #expect(put.bytes == bytes)

            let complete = metadata[1]
            #expect(complete.matches(.post, "/internal/uploads/\(uploadID)/complete"))
            #expect(complete.values("Authorization") == ["Bearer \(stack.token)"])
            #expect(try complete.decode(UploadCompletion.self) == UploadCompletion(receipt: stored.receipt))
            #expect(stack.thumbnail.received.count == 0)
        }
    }

    @Test func aMultipartFormEndsTheSameWay() async throws {
        let folder = UUID()
        let bytes = Self.content(40_000)
        let reservation = Self.reservation()
        let stored = Self.stored(reservation, bytes)
        let file = Self.fileJSON(reservation.fileID, name: "holiday photo.jpg", size: bytes.count)
        let boundary = "cirrus-test-boundary-5d1f"
        var form = ByteBuffer()
        for (name, value) in [("folder_id", folder.lower), ("name", "holiday photo.jpg"), ("sha256", stored.sha256)] {
            form.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        form.writeString(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"IMG_0001.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n")
        form.writeBytes(bytes)
        form.writeString("\r\n--\(boundary)--\r\n")
        let body = form
        let uploadID = reservation.uploadID.lower
        try await Self.withGateway(
            metadata: Self.uploadingMetadata(reservation, file: file), blob: Self.storingBlob(stored), thumbnail: FakePeer.unexpected
        ) { stack in
            let response = try await stack.send(
                .post, "/v1/files", headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
            #expect(response.status == .created)
            #expect(response.body == file)

            let metadata = stack.metadata.received.all
            try #require(metadata.count == 2, "\(Self.calls(stack.metadata))")
            // The form's name wins over the file part's filename; a multipart body declares no size.
            #expect(try metadata[0].decode(UploadReservationRequest.self) == UploadReservationRequest(folderID: folder, name: "holiday photo.jpg"))
            #expect(metadata[0].values("Authorization") == ["Bearer \(stack.token)"])

            let put = try #require(stack.blob.received.all.first)
            #expect(stack.blob.received.count == 1)
            #expect(put.matches(.put, "/internal/uploads/\(uploadID)"))
            #expect(put.values(InternalGrant.header) == [reservation.grant])
            #expect(put.bytes == bytes, "the file part exactly: no boundary, no part headers")
            #expect(put.values("X-Content-SHA256") == [stored.sha256], "the form's checksum travels as blob's header")
            #expect(put.values("Content-Length").isEmpty, "streamed as it is read, not buffered to learn its length")

            #expect(metadata[1].matches(.post, "/internal/uploads/\(uploadID)/complete"))
            #expect(try metadata[1].decode(UploadCompletion.self) == UploadCompletion(receipt: stored.receipt))
        }
    }

    @Test func aNewVersionIsReservedForTheFileAndAnswers200() async throws {
        let fileID = UUID()
        let bytes = Self.content(1_000)
        let reservation = Self.reservation(file: fileID)
        let stored = Self.stored(reservation, bytes)
        let file = Self.fileJSON(fileID, name: "draft.txt", size: bytes.count)
        try await Self.withGateway(
            metadata: Self.uploadingMetadata(reservation, file: file), blob: Self.storingBlob(stored), thumbnail: FakePeer.unexpected
        ) { stack in
            let response = try await stack.send(.put, "/v1/files/\(fileID.lower)/content", body: ByteBuffer(bytes: bytes))
            #expect(response.status == .ok)
            #expect(response.body == file)
            let reserve = try #require(stack.metadata.received.all.first)
            #expect(try reserve.decode(UploadReservationRequest.self) == UploadReservationRequest(size: Int64(bytes.count), fileID: fileID))
            #expect(stack.blob.received.all.first?.bytes == bytes)
            #expect(Self.calls(stack.metadata).last == "POST /internal/uploads/\(reservation.uploadID.lower)/complete")
        }
    }

    @Test func aReservationMetadataRefusesIsPassedOnAndBlobIsNeverCalled() async throws {
        let refusal = ProblemError(.contentTooLarge, detail: "The file is larger than the 1000 bytes your tier allows in one upload.")
        try await Self.withGateway(
            metadata: { request in
                guard request.matches(.post, "/internal/uploads") else { throw ProblemError.notFound() }
                throw refusal
            },
            blob: FakePeer.unexpected, thumbnail: FakePeer.unexpected
        ) { stack in
            let response = try await stack.send(
                .post, "/v1/files?folder_id=\(UUID().lower)&name=big.iso", body: ByteBuffer(bytes: Self.content(5_000)))
            #expect(response.status == .contentTooLarge)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(try Self.problem(response) == refusal.problem)
            #expect(Self.calls(stack.metadata) == ["POST /internal/uploads"], "nothing was reserved: nothing to cancel")
            #expect(stack.blob.received.count == 0)
        }
    }

    /// Blob's own refusal (after it read the body) is passed on as blob gave it, and the
    /// reservation is cancelled. (Only an unreachable blob gets the gateway's own 503, below.)
    @Test(arguments: [
        ProblemError(.internalServerError, detail: "An internal error occurred."),
        ProblemError.unavailable("The storage is unavailable; retry shortly."),
    ])
    func aTransferBlobRefusesCancelsTheReservation(_ refusal: ProblemError) async throws {
        let reservation = Self.reservation()
        let bytes = Self.content(10_000)
        try await Self.withGateway(
            metadata: Self.uploadingMetadata(reservation, file: ByteBuffer(string: "{}")),
            blob: { _ in throw refusal },
            thumbnail: FakePeer.unexpected
        ) { stack in
            let response = try await stack.send(.post, "/v1/files?folder_id=\(UUID().lower)&name=a.bin", body: ByteBuffer(bytes: bytes))
            #expect(response.status == refusal.status)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(response.headers[.retryAfter] == refusal.headers[.retryAfter])
            #expect(try Self.problem(response) == refusal.problem)
            #expect(Self.calls(stack.metadata) == ["POST /internal/uploads", "DELETE /internal/uploads/\(reservation.uploadID.lower)"])
            #expect(stack.metadata.received.all.last?.values("Authorization") == ["Bearer \(stack.token)"])
            #expect(stack.blob.received.all.first?.bytes == bytes)
        }
    }

    @Test func anUnreachableBlobCancelsTheReservationAndSaysNothingWasKept() async throws {
        let reservation = Self.reservation()
        try await Self.withGateway(
            metadata: Self.uploadingMetadata(reservation, file: ByteBuffer(string: "{}")), blob: nil, thumbnail: FakePeer.unexpected
        ) { stack in
            let response = try await stack.send(
                .post, "/v1/files?folder_id=\(UUID().lower)&name=a.bin", body: ByteBuffer(bytes: Self.content(10_000)))
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(response.headers[.retryAfter] == "5")
            let problem = try Self.problem(response)
            #expect(problem.detail == "The storage service is unavailable; nothing was kept.")
            #expect(Self.calls(stack.metadata) == ["POST /internal/uploads", "DELETE /internal/uploads/\(reservation.uploadID.lower)"])
            #expect(stack.metadata.received.all.last?.values("Authorization") == ["Bearer \(stack.token)"])
        }
    }

    struct Route: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var testDescription: String { "\(method.rawValue) \(uri)" }
    }

    static let someID = "5f0c7a52-3c1e-4f7e-9a51-0c9d3c1b2a10"
    static let protectedRoutes: [Route] = [
        Route(method: .post, uri: "/v1/files?folder_id=\(someID)&name=a.txt"),
        Route(method: .put, uri: "/v1/files/\(someID)/content"),
        Route(method: .get, uri: "/v1/files/\(someID)/content"),
        Route(method: .head, uri: "/v1/files/\(someID)/content"),
        Route(method: .get, uri: "/v1/files/\(someID)/thumbnails/200"),
    ]

    @Test(arguments: FileTransferTests.protectedRoutes)
    func withoutAValidTokenNoPeerIsCalled(_ route: Route) async throws {
        try await Self.withGateway(metadata: FakePeer.unexpected, blob: FakePeer.unexpected, thumbnail: FakePeer.unexpected) { stack in
            let credentials: [String?] = [nil, "Bearer not.a.token", "Basic dXNlcjpwYXNz"]
            for credential in credentials {
                let response = try await stack.send(
                    route.method, route.uri, headers: credential.map { [("Authorization", $0)] } ?? [], authorized: false,
                    body: route.method == .post || route.method == .put ? ByteBuffer(string: "some bytes") : nil)
                #expect(response.status == .unauthorized, "\(credential ?? "no credential")")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            #expect(stack.metadata.received.count == 0)
            #expect(stack.blob.received.count == 0)
            #expect(stack.thumbnail.received.count == 0)
        }
    }

    // MARK: - Downloads

    struct NamedDownload: Sendable, CustomTestStringConvertible {
        var name: String
        var disposition: String
        var testDescription: String { name }
    }

    static let downloads: [NamedDownload] = [
        NamedDownload(name: "report.pdf", disposition: #"attachment; filename="report.pdf"; filename*=UTF-8''report.pdf"#),
        // RFC 6266/8187: an ASCII fallback, and the exact UTF-8 name percent-encoded.
        NamedDownload(
            name: "R\u{E9}sum\u{E9} \u{2713}.pdf",
            disposition: #"attachment; filename="R_sum_ _.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%9C%93.pdf"#),
    ]

    @Test(arguments: FileTransferTests.downloads)
    func aDownloadStreamsFromBlobWithTheRangeAndTheFilesName(_ download: NamedDownload) async throws {
        let fileID = UUID()
        let content = Self.content(10)
        let sha = SHA256Hex.of(content)
        let grant = ContentGrant(
            fileID: fileID, name: download.name, blobID: "sha256:" + sha, size: 10, contentType: "application/pdf", sha256: sha,
            grant: "read-grant-\(fileID.lower)")
        let etag = "\"\(sha)\""
        try await Self.withGateway(
            metadata: { request in
                guard request.matches(.get, "/internal/files/\(fileID.lower)/content") else { throw ProblemError.notFound() }
                return try Response.json(grant)
            },
            blob: { request in
                guard request.matches(.get, "/internal/blobs/\(grant.blobID)") else { throw ProblemError.notFound() }
                if request.header("If-None-Match") == etag { return Response(status: .notModified, headers: [.eTag: etag]) }
                guard request.header("Range") == "bytes=2-5" else { throw ProblemError(.badRequest, detail: "This fake serves bytes=2-5 only.") }
                return Response(
                    status: .partialContent,
                    headers: [
                        .contentType: "application/pdf", .contentRange: "bytes 2-5/10", .eTag: etag, .acceptRanges: "bytes",
                        .cacheControl: "private, max-age=0, must-revalidate",
                    ],
                    body: .init(byteBuffer: ByteBuffer(bytes: content[2...5])))
            },
            thumbnail: FakePeer.unexpected
        ) { stack in
            let partial = try await stack.send(
                .get, "/v1/files/\(fileID.lower)/content", headers: [("Range", "bytes=2-5"), ("If-Range", etag)])
            #expect(partial.status == .partialContent)
            #expect(partial.headers[.contentRange] == "bytes 2-5/10")
            #expect(partial.headers[.contentLength] == "4")
            #expect(partial.headers[.contentType] == "application/pdf")
            #expect(partial.headers[.eTag] == etag)
            #expect(partial.headers[.acceptRanges] == "bytes")
            #expect(partial.headers[.contentDisposition] == download.disposition)
            #expect(partial.headers[.xContentTypeOptions] == "nosniff")
            #expect(Array(partial.body.readableBytesView) == Array(content[2...5]))

            let notModified = try await stack.send(.get, "/v1/files/\(fileID.lower)/content", headers: [("If-None-Match", etag)])
            #expect(notModified.status == .notModified)
            #expect(notModified.headers[.eTag] == etag)
            #expect(notModified.body.readableBytes == 0)

            #expect(Self.calls(stack.metadata) == Array(repeating: "GET /internal/files/\(fileID.lower)/content", count: 2))
            #expect(stack.metadata.received.all.allSatisfy { $0.values("Authorization") == ["Bearer \(stack.token)"] })
            let reads = stack.blob.received.all
            try #require(reads.count == 2)
            for read in reads {
                #expect(read.matches(.get, "/internal/blobs/\(grant.blobID)"))
                #expect(read.values(InternalGrant.header) == [grant.grant])
                #expect(read.values("Authorization").isEmpty)
            }
            #expect(reads[0].values("Range") == ["bytes=2-5"])
            #expect(reads[0].values("If-Range") == [etag])
            #expect(reads[0].values("If-None-Match").isEmpty)
            #expect(reads[1].values("If-None-Match") == [etag])
            #expect(reads[1].values("Range").isEmpty)
        }
    }

    @Test func aFileMetadataDoesNotKnowIs404AndBlobIsNeverCalled() async throws {
        let missing = ProblemError.notFound("file")
        try await Self.withGateway(
            metadata: { _ in throw missing }, blob: FakePeer.unexpected, thumbnail: FakePeer.unexpected
        ) { stack in
            let id = UUID().lower
            let response = try await stack.send(.get, "/v1/files/\(id)/content")
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType] == Problem.mediaType)
            #expect(try Self.problem(response) == missing.problem)
            #expect(Self.calls(stack.metadata) == ["GET /internal/files/\(id)/content"])
            #expect(stack.blob.received.count == 0)
        }
    }

    @Test func aThumbnailIsServedWithTheGrantAndRevalidatedWithItsETag() async throws {
        let fileID = UUID()
        let image = Self.content(2_000)
        let etag = "\"rendition-200\""
        try await Self.withGateway(
            metadata: { request in
                guard request.matches(.get, "/internal/files/\(fileID.lower)/thumbnails/200") else { throw ProblemError.notFound() }
                return try Response.json(ThumbnailGrant(fileID: fileID, grant: "thumbnail-grant-1"))
            },
            blob: FakePeer.unexpected,
            thumbnail: { request in
                guard request.matches(.get, "/internal/thumbnails/\(fileID.lower)/200") else { throw ProblemError.notFound() }
                let headers: HTTPFields = [.eTag: etag, .cacheControl: "private, max-age=86400"]
                if request.header("If-None-Match") == etag { return Response(status: .notModified, headers: headers) }
                var full = headers
                full[.contentType] = "image/webp"
                return Response(status: .ok, headers: full, body: .init(byteBuffer: ByteBuffer(bytes: image)))
            }
        ) { stack in
            let first = try await stack.send(.get, "/v1/files/\(fileID.lower)/thumbnails/200")
            #expect(first.status == .ok)
            #expect(first.headers[.contentType] == "image/webp")
            #expect(first.headers[.eTag] == etag)
            #expect(first.headers[.cacheControl] == "private, max-age=86400")
            #expect(Array(first.body.readableBytesView) == image)

            let again = try await stack.send(.get, "/v1/files/\(fileID.lower)/thumbnails/200", headers: [("If-None-Match", etag)])
            #expect(again.status == .notModified)
            #expect(again.headers[.eTag] == etag)
            #expect(again.body.readableBytes == 0)

            #expect(Self.calls(stack.metadata) == Array(repeating: "GET /internal/files/\(fileID.lower)/thumbnails/200", count: 2))
            #expect(stack.metadata.received.all.allSatisfy { $0.values("Authorization") == ["Bearer \(stack.token)"] })
            let served = stack.thumbnail.received.all
            try #require(served.count == 2)
            #expect(served.allSatisfy { $0.values(InternalGrant.header) == ["thumbnail-grant-1"] && $0.values("Authorization").isEmpty })
            #expect(served[0].values("If-None-Match").isEmpty)
            #expect(served[1].values("If-None-Match") == [etag])
            #expect(stack.blob.received.count == 0)
        }
    }
}
