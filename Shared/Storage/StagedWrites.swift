import Foundation
import NIOCore

/// What a resumable write has made durable so far. The caller persists it (with its own
/// bookkeeping, in one transaction) after each `StagedAppender.checkpoint()`, and hands it
/// back to continue, complete or discard the write — in this process or after a restart.
public struct StagedWrite: Codable, Sendable, Equatable {
    /// One part of an S3 multipart upload, uploaded and acknowledged.
    public struct Part: Codable, Sendable, Equatable {
        public var number: Int
        public var etag: String
        public var size: Int64
    }

    /// The object the write becomes on completion.
    public var key: String
    /// The staging's own name (file names under the staging directory).
    public var id: String
    /// Bytes durable so far.
    public var size: Int64
    /// S3: the multipart upload, created with the first part.
    public var multipartUploadID: String?
    /// S3: the parts uploaded so far, in order.
    public var parts: [Part]
    /// S3: the bytes after the last part, held in a local file until they make a part.
    public var buffered: Int64

    public init(key: String, id: String) {
        self.key = key
        self.id = id
        self.size = 0
        self.multipartUploadID = nil
        self.parts = []
        self.buffered = 0
    }

    enum CodingKeys: String, CodingKey {
        case key, id, size, parts, buffered
        case multipartUploadID = "multipart_upload_id"
    }
}

/// Stores that can take a write across many requests: bytes are appended in sessions, each
/// ended by a checkpoint that makes them durable, and the object appears only on completion.
///
/// - Local directory: one staging file, appended to and fsynced at each checkpoint; completion
///   renames it into place (constant time).
/// - S3: a multipart upload. Full parts go up as they fill; at a checkpoint the remainder is
///   uploaded as a part when it reaches S3's 5 MiB minimum, otherwise kept in a local file
///   (never in memory). Completion uploads that remainder as the last part and sends
///   `CompleteMultipartUpload`: no byte is read back or copied, whatever the size.
///
/// Bytes written after the last checkpoint are not part of the staged write: a session that
/// ends without a checkpoint (a failed checksum, a crash) leaves the staging as it was at the
/// last one, and the next session starts there.
public protocol StagedObjectStore: ObjectStore {
    /// A new, empty staged write that will become `key`.
    func beginStaged(key: String, id: String) async throws -> StagedWrite
    /// A session appending after `staged.size`.
    func appendStaged(_ staged: StagedWrite) async throws -> any StagedAppender
    /// The object appears under `staged.key` with the checkpointed bytes.
    func completeStaged(_ staged: StagedWrite) async throws
    /// Everything staged is removed (idempotent).
    func discardStaged(_ staged: StagedWrite) async
}

/// One session of appends to a staged write.
public protocol StagedAppender: Sendable {
    func write(_ buffer: ByteBuffer) async throws
    /// Makes every byte written so far durable and returns the state to persist.
    func checkpoint() async throws -> StagedWrite
    /// Ends the session; the staging stays as at the last checkpoint that was persisted.
    /// `persisted` is the state the caller kept (after a checkpoint, what it returned), so
    /// leftovers of earlier states can go.
    func close(persisted: StagedWrite?) async
}
