import AsyncHTTPClient
import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Objects in an S3-compatible bucket. Requests are signed with SigV4; bodies larger than
/// one part go up as a multipart upload (parts of `partSize`, each hashed and signed), aborted
/// on failure so no half-written object is left; reads stream with an optional `Range`.
public struct S3ObjectStore: ObjectStore {
    public struct Configuration: Sendable {
        /// e.g. `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`
        public var endpoint: String
        public var region: String
        public var bucket: String
        public var accessKeyID: String
        public var secretAccessKey: String
        /// `endpoint/bucket/key` when true, `bucket.endpoint/key` when false.
        public var pathStyle: Bool
        /// Multipart part size (S3's minimum for all but the last part is 5 MiB).
        public var partSize: Int = 8 << 20
        /// A local directory for the remainders of staged (resumable) writes; nil: none.
        public var stagingPath: String?

        public init(endpoint: String, region: String, bucket: String, accessKeyID: String, secretAccessKey: String, pathStyle: Bool) {
            self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
            self.region = region
            self.bucket = bucket
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.pathStyle = pathStyle
        }
    }

    public let configuration: Configuration
    let client: HTTPClient
    let signer: SigV4

    /// A process-wide client for stores: connection attempts are retried (as AHC recommends)
    /// but only for 3 s, so an unreachable store is reported quickly as unavailable. AHC also
    /// bounds the wait for a pooled connection by that timeout, so the pool must not be the
    /// limit: its default of 8 connections per host made the 9th concurrent transfer fail as
    /// "unavailable" after 3 s while 8 long uploads were running.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(3), read: .seconds(120)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(configuration: Configuration, client: HTTPClient = S3ObjectStore.sharedClient) {
        self.configuration = configuration
        self.client = client
        self.signer = SigV4(accessKeyID: configuration.accessKeyID, secretAccessKey: configuration.secretAccessKey, region: configuration.region)
    }

    // MARK: - Requests

    /// URL, canonical path and host for a key (nil key = the bucket itself).
    func location(_ key: String?) -> (url: String, path: String, host: String) {
        let endpoint = URLComponents(string: configuration.endpoint)
        let scheme = endpoint?.scheme ?? "http"
        var host = endpoint?.host ?? "localhost"
        if let port = endpoint?.port { host += ":\(port)" }
        let encodedKey = key.map { "/" + SigV4.encode($0, keepSlash: true) } ?? "/"
        if configuration.pathStyle {
            let path = "/\(SigV4.encode(configuration.bucket))" + (key == nil ? "" : encodedKey)
            return ("\(scheme)://\(host)\(path)", path, host)
        }
        let virtualHost = "\(configuration.bucket).\(host)"
        return ("\(scheme)://\(virtualHost)\(encodedKey)", encodedKey, virtualHost)
    }

    func send(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers extra: [(String, String)] = [], body: ByteBuffer? = nil,
        timeout: TimeAmount = .seconds(60)
    ) async throws -> HTTPClientResponse {
        let (url, path, host) = location(key)
        let payloadHash = body.map { SigV4.hex(SHA256.hash(data: Data($0.readableBytesView))) } ?? SigV4.emptyPayloadHash
        let signed = signer.sign(
            method: method.rawValue, path: path, query: query, headers: [("host", host)] + extra, payloadHash: payloadHash, date: Date())
        let queryString = query.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: queryString.isEmpty ? url : "\(url)?\(queryString)")
        request.method = method
        for (name, value) in extra + signed { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw StorageError.unavailable("S3 request failed: \(error)")
        }
    }

    /// Turn an unexpected answer into a storage error (reading the error body, bounded).
    func failure(_ response: HTTPClientResponse, _ what: String) async -> StorageError {
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        switch response.status.code {
        case 404: return .notFound
        case 416: return .unsatisfiableRange
        default:
            let code = S3XML.value("Code", in: body) ?? "HTTP \(response.status.code)"
            return .unavailable("\(what): \(code)")
        }
    }

    // MARK: - ObjectStore

    public func makeWriter(key: String) async throws -> any ObjectWriter {
        try ObjectKeys.validate(key)
        return S3ObjectWriter(store: self, key: key)
    }

    public func read(key: String, range: ByteRange?) async throws -> ObjectRead {
        try ObjectKeys.validate(key)
        var headers: [(String, String)] = []
        if let range { headers.append(("range", "bytes=\(range.first)-\(range.last)")) }
        let response = try await send(.GET, key: key, headers: headers, timeout: .hours(6))
        switch response.status.code {
        case 200:
            let size = Int64(response.headers.first(name: "content-length") ?? "") ?? 0
            return ObjectRead(size: size, range: nil, body: Self.body(of: response))
        case 206:
            // Content-Range: bytes first-last/size
            guard let contentRange = response.headers.first(name: "content-range"),
                let parsed = Self.parseContentRange(contentRange)
            else { throw StorageError.unavailable("S3 answered 206 without Content-Range") }
            return ObjectRead(size: parsed.size, range: parsed.range, body: Self.body(of: response))
        default:
            throw await failure(response, "GET")
        }
    }

    static func body(of response: HTTPClientResponse) -> ObjectBody {
        let body = response.body
        return ObjectBody {
            let iterator = IteratorBox(body.makeAsyncIterator())
            return { try await iterator.next() }
        }
    }

    /// AHC's body iterator in a box: an `ObjectBody` iterator is consumed by one task at a
    /// time, which is the only way it is used.
    final class IteratorBox: @unchecked Sendable {
        private var iterator: HTTPClientResponse.Body.AsyncIterator
        init(_ iterator: HTTPClientResponse.Body.AsyncIterator) { self.iterator = iterator }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }

    static func parseContentRange(_ value: String) -> (range: ByteRange, size: Int64)? {
        let parts = value.replacingOccurrences(of: "bytes ", with: "").split(separator: "/")
        guard parts.count == 2, let size = Int64(parts[1]) else { return nil }
        let bounds = parts[0].split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]) else { return nil }
        return (ByteRange(first: first, last: last), size)
    }

    public func head(key: String) async throws -> ObjectInfo? {
        try ObjectKeys.validate(key)
        let response = try await send(.HEAD, key: key)
        switch response.status.code {
        case 200:
            let size = Int64(response.headers.first(name: "content-length") ?? "") ?? 0
            let modified = response.headers.first(name: "last-modified").flatMap(Self.httpDate)?.timeIntervalSince1970 ?? 0
            return ObjectInfo(key: key, size: size, lastModified: modified)
        case 404: return nil
        default: throw StorageError.unavailable("HEAD: HTTP \(response.status.code)")
        }
    }

    public func delete(key: String) async throws {
        try ObjectKeys.validate(key)
        let response = try await send(.DELETE, key: key)
        guard [200, 204, 404].contains(response.status.code) else { throw await failure(response, "DELETE") }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        var found: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, key: nil, query: query)
            guard response.status.code == 200 else { throw await failure(response, "LIST") }
            let xml = String(buffer: try await response.body.collect(upTo: 32 << 20))
            for entry in S3XML.blocks("Contents", in: xml) {
                guard let key = S3XML.value("Key", in: entry) else { continue }
                let size = Int64(S3XML.value("Size", in: entry) ?? "") ?? 0
                let modified = S3XML.value("LastModified", in: entry).flatMap {
                    ISO8601DateFormatter.withFractions.date(from: $0) ?? ISO8601DateFormatter().date(from: $0)
                }
                found.append(ObjectInfo(key: key, size: size, lastModified: modified?.timeIntervalSince1970 ?? 0))
            }
            token = S3XML.value("IsTruncated", in: xml) == "true" ? S3XML.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return found
    }

    /// A multipart upload started on the bucket and neither completed nor aborted (its parts
    /// are stored, and billed, until it is aborted).
    public struct MultipartUpload: Sendable, Hashable {
        public var key: String
        public var uploadID: String
    }

    /// The multipart uploads in progress under `prefix` (ListMultipartUploads), e.g. to check
    /// that failed or aborted writes left none behind.
    public func multipartUploadsInProgress(prefix: String = "") async throws -> [MultipartUpload] {
        var found: [MultipartUpload] = []
        var marker: (key: String, uploadID: String)?
        repeat {
            var query = [("uploads", "")]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let marker { query += [("key-marker", marker.key), ("upload-id-marker", marker.uploadID)] }
            let response = try await send(.GET, key: nil, query: query)
            guard response.status.code == 200 else { throw await failure(response, "ListMultipartUploads") }
            let xml = String(buffer: try await response.body.collect(upTo: 32 << 20))
            for entry in S3XML.blocks("Upload", in: xml) {
                guard let key = S3XML.value("Key", in: entry), let uploadID = S3XML.value("UploadId", in: entry) else { continue }
                found.append(MultipartUpload(key: key, uploadID: uploadID))
            }
            marker = nil
            if S3XML.value("IsTruncated", in: xml) == "true",
                let key = S3XML.value("NextKeyMarker", in: xml), let uploadID = S3XML.value("NextUploadIdMarker", in: xml)
            {
                marker = (key, uploadID)
            }
        } while marker != nil
        return found
    }

    public func checkHealth() async throws {
        let response = try await send(.HEAD, key: nil, timeout: .seconds(3))
        guard response.status.code == 200 else { throw StorageError.unavailable("bucket HEAD: HTTP \(response.status.code)") }
    }

    /// Create the bucket if it does not exist (local runs and tests; operators create theirs).
    public func createBucketIfNeeded() async throws {
        if (try? await checkHealth()) != nil { return }
        let response = try await send(.PUT, key: nil)
        guard [200, 409].contains(response.status.code) else { throw await failure(response, "create bucket") }
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}

/// Buffers one part at a time; the first full part starts a multipart upload. An object that
/// fits in one part is a single PUT at commit.
final class S3ObjectWriter: ObjectWriter {
    private struct State {
        var buffer = ByteBuffer()
        var uploadID: String?
        var parts: [(number: Int, etag: String)] = []
        var closed = false
    }

    private let store: S3ObjectStore
    private let key: String
    private let state = NIOLockedValueBox(State())

    init(store: S3ObjectStore, key: String) {
        self.store = store
        self.key = key
    }

    func write(_ buffer: ByteBuffer) async throws {
        var incoming = buffer
        let full: ByteBuffer? = try state.withLockedValue { state in
            guard !state.closed else { throw StorageError.writerClosed }
            state.buffer.writeBuffer(&incoming)
            guard state.buffer.readableBytes >= store.configuration.partSize else { return nil }
            let part = state.buffer.readSlice(length: store.configuration.partSize)
            state.buffer.discardReadBytes()
            return part
        }
        if let full {
            do { try await upload(part: full) } catch {
                await abort()
                throw error
            }
        }
    }

    private func upload(part: ByteBuffer) async throws {
        var uploadID = state.withLockedValue { $0.uploadID }
        if uploadID == nil {
            let response = try await store.send(.POST, key: key, query: [("uploads", "")])
            guard response.status.code == 200 else { throw await store.failure(response, "CreateMultipartUpload") }
            let xml = String(buffer: try await response.body.collect(upTo: 1 << 20))
            guard let id = S3XML.value("UploadId", in: xml) else { throw StorageError.unavailable("no UploadId") }
            uploadID = id
            state.withLockedValue { $0.uploadID = id }
        }
        let number = state.withLockedValue { $0.parts.count + 1 }
        let response = try await store.send(
            .PUT, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID!)], body: part, timeout: .minutes(10))
        guard response.status.code == 200, let etag = response.headers.first(name: "etag") else { throw await store.failure(response, "UploadPart") }
        state.withLockedValue { $0.parts.append((number, etag)) }
    }

    func commit() async throws {
        let (rest, uploadID) = try state.withLockedValue { state -> (ByteBuffer, String?) in
            guard !state.closed else { throw StorageError.writerClosed }
            return (state.buffer, state.uploadID)
        }
        do {
            if uploadID == nil {
                let response = try await store.send(.PUT, key: key, body: rest, timeout: .minutes(10))
                guard response.status.code == 200 else { throw await store.failure(response, "PutObject") }
            } else {
                if rest.readableBytes > 0 || state.withLockedValue({ $0.parts.isEmpty }) { try await upload(part: rest) }
                let (parts, id) = state.withLockedValue { ($0.parts, $0.uploadID!) }
                let xml =
                    "<CompleteMultipartUpload>" + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\($0.etag)</ETag></Part>" }.joined()
                    + "</CompleteMultipartUpload>"
                let response = try await store.send(.POST, key: key, query: [("uploadId", id)], body: ByteBuffer(string: xml), timeout: .minutes(10))
                let answer = String(buffer: try await response.body.collect(upTo: 1 << 20))
                // S3 can answer 200 with an error inside the body.
                guard response.status.code == 200, !answer.contains("<Error>") else {
                    throw StorageError.unavailable("CompleteMultipartUpload failed")
                }
            }
            state.withLockedValue {
                $0.closed = true
                $0.buffer = ByteBuffer()
            }
        } catch {
            await abort()
            throw error
        }
    }

    func abort() async {
        let uploadID: String? = state.withLockedValue { state in
            defer {
                state.closed = true
                state.buffer = ByteBuffer()
                state.uploadID = nil
            }
            return state.closed ? nil : state.uploadID
        }
        if let uploadID {
            _ = try? await store.send(.DELETE, key: key, query: [("uploadId", uploadID)])
        }
    }
}

/// Just enough XML for S3's answers: the text of the first `<name>` element, and blocks.
enum S3XML {
    static func value(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else {
            return nil
        }
        return String(xml[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func blocks(_ name: String, in xml: String) -> [String] {
        var result: [String] = []
        var cursor = xml.startIndex
        while let start = xml.range(of: "<\(name)>", range: cursor..<xml.endIndex),
            let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex)
        {
            result.append(String(xml[start.upperBound..<end.lowerBound]))
            cursor = end.upperBound
        }
        return result
    }
}
