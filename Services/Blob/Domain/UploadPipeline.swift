import CirrusContracts
import CirrusStorage
import Crypto
import Foundation
import NIOCore

/// What an upload produced: all its bytes received, written and checked (committed by the caller).
struct UploadedContent: Sendable, Equatable {
    var size: Int64
    var sha256: String
    var contentType: String
}

enum UploadError: Error, Equatable {
    /// The body is larger than the reservation allows; reading stopped at the limit.
    case tooLarge(limit: Int64)
    /// The client's `X-Content-SHA256` does not match the bytes received.
    case checksumMismatch(expected: String, actual: String)
}

/// Streams a request body into an object store while hashing (SHA-256) and counting it, and
/// keeps the first bytes for content sniffing. Memory stays at two chunks plus the store's own
/// buffer whatever the file size. The object becomes visible only after the size limit and the
/// expected checksum held; on any failure it is aborted and nothing is left behind.
enum UploadPipeline {
    static let writeSize = 256 * 1024

    /// Receive, then commit the object (its bytes durable under its key).
    static func run<Body: AsyncSequence>(
        body: Body,
        into writer: any ObjectWriter,
        limit: Int64,
        expectedSHA256: String?
    ) async throws -> UploadedContent where Body.Element == ByteBuffer {
        let content = try await receive(body: body, into: writer, limit: limit, expectedSHA256: expectedSHA256)
        do {
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        return content
    }

    /// Every byte of `body` written to `writer`, checked against the limit and the expected
    /// checksum, but not committed: the caller commits (or aborts) the writer. On any failure
    /// here the writer is aborted.
    ///
    /// One write is in flight while the next bytes arrive and are hashed: a write is a
    /// thread-pool hop, and waiting for each one before reading on made a 1 MiB upload wait
    /// for its four writes in turn (docs/performance.md, "Small uploads").
    static func receive<Body: AsyncSequence>(
        body: Body,
        into writer: any ObjectWriter,
        limit: Int64,
        expectedSHA256: String?
    ) async throws -> UploadedContent where Body.Element == ByteBuffer {
        let writeSize = Self.writeSize
        var hasher = SHA256()
        var size: Int64 = 0
        var prefix: [UInt8] = []
        // Chunks arrive at the socket's pace (often tens of KiB); writes go out in larger
        // pieces so each store call (a thread-pool hop, a syscall, an S3 part buffer) carries more.
        var pending = ByteBuffer()
        var writing: Task<Void, any Error>?
        do {
            for try await chunk in body {
                size += Int64(chunk.readableBytes)
                // Stop reading as soon as the limit is passed: the rest is never consumed.
                if size > limit { throw UploadError.tooLarge(limit: limit) }
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                if prefix.count < ContentSniffer.prefixLength {
                    prefix += chunk.readableBytesView.prefix(ContentSniffer.prefixLength - prefix.count)
                }
                var chunk = chunk
                pending.writeBuffer(&chunk)
                if pending.readableBytes >= writeSize {
                    // Writes stay in order: the previous one finishes before the next starts.
                    try await writing?.value
                    let piece = pending
                    writing = Task { try await writer.write(piece) }
                    pending = ByteBuffer()
                    pending.reserveCapacity(writeSize + 65_536)
                }
            }
            try await writing?.value
            writing = nil
            if pending.readableBytes > 0 { try await writer.write(pending) }
            let sha256 = hasher.finalize().lowercaseHex
            if let expected = expectedSHA256?.lowercased(), expected != sha256 {
                throw UploadError.checksumMismatch(expected: expected, actual: sha256)
            }
            return UploadedContent(size: size, sha256: sha256, contentType: ContentSniffer.sniff(prefix))
        } catch {
            // A write still running must end before the writer closes its file.
            _ = try? await writing?.value
            await writer.abort()
            throw error
        }
    }
}
