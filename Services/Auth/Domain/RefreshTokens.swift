import CirrusServiceKit
import Crypto
import Foundation
import NIOCore

/// Opaque refresh tokens: 256 random bits, handed out once, stored only as their SHA-256.
enum RefreshTokens {
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64URL.encode(bytes)
    }

    /// As a `ByteBuffer`, which PostgresNIO binds as `bytea`.
    static func hash(_ token: String) -> ByteBuffer {
        ByteBuffer(bytes: SHA256.hash(data: Data(token.utf8)))
    }
}
