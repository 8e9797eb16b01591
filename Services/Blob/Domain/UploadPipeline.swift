import CirrusContracts
import CirrusStorage
import Crypto
import Foundation
import NIOCore

/// What an upload produced, once its bytes are durable.
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
/// keeps the first bytes for content sniffing. Memory stays at one chunk plus the store's own
/// buffer whatever the file size. The object becomes visible only after the size limit and the
/// expected checksum held; on any failure it is aborted and nothing is left behind.
enum UploadPipeline {
    static let writeSize = 256 * 1024

    static func run<Body: AsyncSequence>(
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
                    try await writer.write(pending)
                    pending = ByteBuffer()
                    pending.reserveCapacity(writeSize + 65_536)
                }
            }
            if pending.readableBytes > 0 { try await writer.write(pending) }
            let sha256 = hasher.finalize().lowercaseHex
            if let expected = expectedSHA256?.lowercased(), expected != sha256 {
                throw UploadError.checksumMismatch(expected: expected, actual: sha256)
            }
            try await writer.commit()
            return UploadedContent(size: size, sha256: sha256, contentType: ContentSniffer.sniff(prefix))
        } catch {
            await writer.abort()
            throw error
        }
    }
}
