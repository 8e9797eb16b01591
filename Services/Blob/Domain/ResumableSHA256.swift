import CLibCrypto
import CirrusContracts

/// SHA-256 whose running state can be saved and restored: a resumable upload's hash of
/// everything acknowledged so far, persisted with its offset (112 bytes of OpenSSL's
/// `SHA256_CTX`, behind a version byte), so the whole file's SHA-256 is known at the end
/// without reading the bytes back — which S3 cannot do before a multipart upload completes.
struct ResumableSHA256: Sendable, Equatable {
    private var context = SHA256_CTX()

    static let version: UInt8 = 1
    static let stateSize = MemoryLayout<SHA256_CTX>.size

    init() { cirrus_sha256_init(&context) }

    /// A saved state; nil when it is not one (another version or size).
    init?(state: [UInt8]) {
        guard state.count == 1 + Self.stateSize, state[0] == Self.version else { return nil }
        withUnsafeMutableBytes(of: &context) { target in
            state.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[1...])) }
        }
        // The counter of bytes in the partial block must fit the block.
        guard context.num < 64, context.md_len == 32 else { return nil }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        cirrus_sha256_update(&context, base, bytes.count)
    }

    /// The state to persist.
    var state: [UInt8] {
        var copy = context
        return [Self.version] + withUnsafeBytes(of: &copy) { Array($0) }
    }

    /// The digest of everything so far, in lowercase hex (the state is left as it was).
    func hexDigest() -> String {
        var copy = context
        var digest = [UInt8](repeating: 0, count: 32)
        cirrus_sha256_final(&digest, &copy)
        return digest.lowercaseHex
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.state == rhs.state }
}
