import CirrusTestSupport
import Foundation
import NIOCore
import Testing

@testable import CirrusStorage

/// S3 writes that are aborted or fail half-way leave no multipart upload in progress on the
/// bucket (its parts would stay stored, and billed, until someone aborts it): checked with
/// ListMultipartUploads against the S3 test server, faults injected by a proxy in between.
@Suite("S3 multipart uploads", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(5)), .serialized)
struct S3MultipartTests {
    /// The test stores' part size (`TestStoreBackend.s3`).
    static let part = 5 << 20

    enum Step: String, Sendable, CaseIterable, CustomStringConvertible {
        /// The second part, sent by `write` once a part's worth is buffered.
        case partDuringWrite = "part-during-write"
        /// The last (second) part, sent by `commit`.
        case lastPartAtCommit = "last-part-at-commit"
        /// CompleteMultipartUpload.
        case completion
        var description: String { rawValue }
    }

    func makeStore() async throws -> S3ObjectStore {
        try #require(try await TestStoreBackend.s3.makeStore() as? S3ObjectStore)
    }

    /// The same bucket, reached through `proxy`.
    func store(_ store: S3ObjectStore, through proxy: FaultyS3Proxy) -> S3ObjectStore {
        var configuration = store.configuration
        configuration.endpoint = "http://127.0.0.1:\(proxy.port)"
        return S3ObjectStore(configuration: configuration)
    }

    @Test func anAbortedMultipartWriteLeavesNoUploadInProgress() async throws {
        let store = try await makeStore()
        let writer = try await store.makeWriter(key: "objects/aborted-1")
        try await writer.write(ByteBuffer(bytes: ObjectStoreTests.randomBytes(Self.part + 1)))  // the first part is up
        #expect(try await store.multipartUploadsInProgress().map(\.key) == ["objects/aborted-1"])
        await writer.abort()
        #expect(try await store.multipartUploadsInProgress().isEmpty)
        #expect(try await store.head(key: "objects/aborted-1") == nil)
    }

    @Test(arguments: Step.allCases, FaultyS3Proxy.Fault.allCases)
    func aWriteWhoseRequestFailsHalfWayLeavesNoUploadInProgress(step: Step, fault: FaultyS3Proxy.Fault) async throws {
        let direct = try await makeStore()
        let proxy = try FaultyS3Proxy(upstream: TestEnvironment.s3Endpoint) { line in
            switch step {
            case .partDuringWrite, .lastPartAtCommit: line.hasPrefix("PUT ") && line.contains("?partNumber=2&") ? fault : nil
            case .completion: line.hasPrefix("POST ") && line.contains("uploadId=") ? fault : nil
            }
        }
        defer { proxy.stop() }
        let store = store(direct, through: proxy)
        let key = "objects/\(step)-\(fault.rawValue.lowercased())"
        let writer = try await store.makeWriter(key: key)
        try await writer.write(ByteBuffer(bytes: ObjectStoreTests.randomBytes(Self.part + 1)))  // part 1 goes up
        #expect(try await direct.multipartUploadsInProgress().map(\.key) == [key])
        switch step {
        case .partDuringWrite:
            await #expect(throws: StorageError.self) { try await writer.write(ByteBuffer(bytes: ObjectStoreTests.randomBytes(Self.part))) }
        case .lastPartAtCommit, .completion:
            await #expect(throws: StorageError.self) { try await writer.commit() }
        }
        #expect(proxy.faulted.count == 1, "\(proxy.faulted)")
        #expect(try await direct.multipartUploadsInProgress().isEmpty, "the failed write aborted its upload")
        // A completion whose answer was lost did complete on S3: the object exists although
        // the write failed (blob's sweep collects objects no row names). Otherwise nothing.
        if !(step == .completion && fault == .lostResponse) {
            #expect(try await direct.head(key: key) == nil)
        }
        await #expect(throws: StorageError.writerClosed) { try await writer.commit() }
    }
}
