import CirrusContracts
import Crypto
import Foundation

/// A short-lived permission one service hands another for one piece of data, signed with
/// HMAC-SHA256 under the deployment's internal secret (`CIRRUS_INTERNAL_SECRET`).
///
/// Metadata grants an upload of at most `maxBytes` for one reserved file and a read of one
/// owner's content; blob answers an upload with a receipt grant metadata trusts for the size
/// and checksum. The service that owns the bytes (blob) checks the owner in the grant against
/// its own index, so a request that reaches blob without passing metadata gains nothing.
/// Format: `v1.<key id>.<payload, base64url JSON>.<signature, base64url>`.
public struct InternalGrant: Codable, Sendable, Equatable {
    public enum Purpose: String, Codable, Sendable {
        /// Write the bytes of reservation `uploadID` (file `fileID`) of at most `maxBytes`.
        case upload
        /// Read content `blobID` of `ownerID`.
        case read
        /// Add reference `uploadID` of file `fileID` to content `blobID` of `ownerID` (a copy).
        case reference
        /// Blob's statement of what an upload stored (`blobID`, `sha256`, `size`, `contentType`).
        case receipt
        /// Metadata's own, for the gateway streaming a folder's ZIP: user `ownerID` (the
        /// reader, here) may be granted the reads of the files of folder `fileID`'s archive;
        /// each read checks the reader's access to the file again.
        case archive
    }

    public var purpose: Purpose
    public var ownerID: UUID
    public var fileID: UUID?
    public var uploadID: UUID?
    public var blobID: String?
    public var maxBytes: Int64?
    public var sha256: String?
    public var size: Int64?
    public var contentType: String?
    /// Seconds since 1970.
    public var expiresAt: Int64

    public init(
        purpose: Purpose, ownerID: UUID, fileID: UUID? = nil, uploadID: UUID? = nil, blobID: String? = nil,
        maxBytes: Int64? = nil, sha256: String? = nil, size: Int64? = nil, contentType: String? = nil,
        lifetime: Duration = .seconds(3600), now: Date = Date()
    ) {
        self.purpose = purpose
        self.ownerID = ownerID
        self.fileID = fileID
        self.uploadID = uploadID
        self.blobID = blobID
        self.maxBytes = maxBytes
        self.sha256 = sha256
        self.size = size
        self.contentType = contentType
        self.expiresAt = Int64(now.timeIntervalSince1970) + lifetime.components.seconds
    }

    enum CodingKeys: String, CodingKey {
        case purpose = "p"
        case ownerID = "o"
        case fileID = "f"
        case uploadID = "u"
        case blobID = "b"
        case maxBytes = "m"
        case sha256 = "h"
        case size = "s"
        case
            contentType = "c"
        case expiresAt = "e"
    }

    /// The header that carries a grant between services.
    public static let header = "X-Cirrus-Grant"
}

/// Signs and verifies internal grants. The first secret signs; every secret verifies, so a new
/// secret can be rolled out before the old one is retired (`CIRRUS_INTERNAL_SECRET_PREVIOUS`).
public struct InternalGrantSigner: Sendable {
    private let keys: [(id: String, key: SymmetricKey)]

    public enum Failure: Error, Equatable {
        case malformed
        case unknownKey
        case badSignature
        case expired
        case wrongPurpose
    }

    public init(secrets: [String]) {
        precondition(!secrets.isEmpty, "an internal grant signer needs a secret")
        keys = secrets.map { secret in
            let key = SymmetricKey(data: Data(secret.utf8))
            let id = SHA256.hash(data: Data(secret.utf8)).prefix(4).lowercaseHex
            return (id, key)
        }
    }

    /// `CIRRUS_INTERNAL_SECRET` (at least 32 characters) and optionally `CIRRUS_INTERNAL_SECRET_PREVIOUS`.
    public init(reader: ConfigReader) throws {
        self.init(secrets: try Self.secrets(reader: reader))
    }

    /// The deployment's internal secrets, current first: `CIRRUS_INTERNAL_SECRET` (at least 32
    /// characters, not a placeholder, not easy to guess: `SecretPolicy`) and, during a rotation, `CIRRUS_INTERNAL_SECRET_PREVIOUS`. Grants and
    /// expiring links (`LinkSigner`) both derive their keys from these.
    public static func secrets(reader: ConfigReader) throws -> [String] {
        let secret = try reader.requiredSecret("CIRRUS_INTERNAL_SECRET", minLength: 32)
        var secrets = [secret]
        if let previous = try reader.secret("CIRRUS_INTERNAL_SECRET_PREVIOUS", minLength: 32) { secrets.append(previous) }
        return secrets
    }

    public func sign(_ grant: InternalGrant) -> String {
        let payload = Base64URL.encode(try! JSONEncoder().encode(grant))
        let signed = "v1.\(keys[0].id).\(payload)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: keys[0].key)
        return signed + "." + Base64URL.encode(Data(mac))
    }

    public func verify(_ token: String, purpose: InternalGrant.Purpose, now: Date = Date()) throws(Failure) -> InternalGrant {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let signature = Base64URL.decode(parts[3]) else { throw .malformed }
        guard let key = keys.first(where: { $0.id == parts[1] })?.key else { throw .unknownKey }
        let signed = parts[0...2].joined(separator: ".")
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(signed.utf8), using: key) else { throw .badSignature }
        guard let payload = Base64URL.decode(parts[2]), let grant = try? JSONDecoder().decode(InternalGrant.self, from: payload) else {
            throw .malformed
        }
        guard grant.expiresAt > Int64(now.timeIntervalSince1970) else { throw .expired }
        guard grant.purpose == purpose else { throw .wrongPurpose }
        return grant
    }
}
