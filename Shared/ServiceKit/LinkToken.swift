import CirrusContracts
import Crypto
import Foundation
import HTTPTypes

/// What an expiring link lets anyone holding it read: one variant of one version of one
/// file, until a time. Metadata issues links (it owns the file and the caller's tier); the
/// gateway checks the signature and the expiry of every link request without touching a
/// database, then asks metadata whether that version is still the file's current one and its
/// owner still active. The payload is readable by whoever holds the link, so it names only
/// the file (no owner, no content address).
public struct LinkToken: Codable, Sendable, Equatable {
    public enum Variant: String, Codable, Sendable {
        case original
        case thumbnail
    }

    public var fileID: UUID
    /// The file's content version the link was made for: replacing the content ends the link.
    public var version: Int
    public var variant: Variant
    /// The thumbnail height; nil for the original.
    public var size: Int?
    /// Seconds since 1970.
    public var expiresAt: Int64
    /// Who made the link when it was not the file's owner (a recipient of a share): the link
    /// lasts only while the file is still shared with them. Absent in an owner's link.
    public var createdBy: UUID?

    public init(fileID: UUID, version: Int, variant: Variant, size: Int?, expiresAt: Int64, createdBy: UUID? = nil) {
        self.fileID = fileID
        self.version = version
        self.variant = variant
        self.size = size
        self.expiresAt = expiresAt
        self.createdBy = createdBy
    }

    enum CodingKeys: String, CodingKey {
        case fileID = "f"
        case version = "n"
        case variant = "v"
        case size = "s"
        case expiresAt = "e"
        case createdBy = "b"
    }
}

/// Signs and verifies link tokens with HMAC-SHA256. The link keys are derived (HKDF-SHA256,
/// info "cirrus-links") from the deployment's internal secret, so links and internal grants
/// never share a key, and rotate with it: the previous secret keeps verifying the links it
/// signed until `CIRRUS_INTERNAL_SECRET_PREVIOUS` is removed.
/// Format (URL-safe): `<key id>.<payload, base64url JSON>.<signature, base64url>`.
public struct LinkSigner: Sendable {
    fileprivate let keys: [(id: String, key: SymmetricKey)]

    public enum Failure: Error, Equatable {
        /// Not a link, or not signed by any key this deployment has: treat as tampered.
        case invalid
        /// Signed by us, but past its expiry.
        case expired(LinkToken)
    }

    public init(secrets: [String]) {
        precondition(!secrets.isEmpty, "a link signer needs a secret")
        keys = secrets.map { secret in
            let key = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)), info: Data("cirrus-links".utf8), outputByteCount: 32)
            let id = key.withUnsafeBytes { SHA256.hash(data: Data($0)) }.prefix(3).lowercaseHex
            return (id, key)
        }
    }

    /// The same secrets as `InternalGrantSigner(reader:)`.
    public init(reader: ConfigReader) throws {
        self.init(secrets: try InternalGrantSigner.secrets(reader: reader))
    }

    public func sign(_ link: LinkToken) -> String {
        let payload = Base64URL.encode(try! JSONEncoder().encode(link))
        let signed = "\(keys[0].id).\(payload)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: keys[0].key)
        return signed + "." + Base64URL.encode(Data(mac))
    }

    /// The link, if the signature is ours and it has not expired. The signature is checked
    /// first, so an expired answer (410) is only ever given for a genuine link.
    public func verify(_ token: String, now: Date = Date()) throws(Failure) -> LinkToken {
        guard token.utf8.count <= 1024 else { throw .invalid }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = Base64URL.decode(parts[2]),
            let key = keys.first(where: { $0.id == parts[0] })?.key
        else { throw .invalid }
        let signed = parts[0] + "." + parts[1]
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(signed.utf8), using: key) else { throw .invalid }
        guard let payload = Base64URL.decode(parts[1]), let link = try? JSONDecoder().decode(LinkToken.self, from: payload) else { throw .invalid }
        guard link.expiresAt > Int64(now.timeIntervalSince1970) else { throw .expired(link) }
        return link
    }
}

extension LinkSigner {
    /// A public link's token (docs/sharing.md): the link's id and a MAC of it, so the
    /// database keeps no token (the owner's listing computes it again) and a forged token
    /// costs an HMAC. Format (URL-safe): `<key id>.<base64url(id ‖ first 16 bytes of the MAC)>`.
    public func publicToken(for id: UUID) -> String {
        let bytes = withUnsafeBytes(of: id.uuid) { Data($0) }
        return keys[0].id + "." + Base64URL.encode(bytes + Self.publicMAC(bytes, key: keys[0].key))
    }

    /// The link id a public token names, if one of this deployment's keys made it.
    public func publicLinkID(from token: String) -> UUID? {
        guard token.utf8.count <= 64 else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let key = keys.first(where: { $0.id == parts[0] })?.key, let raw = Base64URL.decode(parts[1]), raw.count == 32
        else { return nil }
        let id = Data(raw.prefix(16))
        let mac = Data(raw.suffix(16))
        let expected = Self.publicMAC(id, key: key)
        // Constant time: every byte compared.
        guard zip(mac, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return id.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    private static func publicMAC(_ id: Data, key: SymmetricKey) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data("cirrus-public-link:".utf8) + id, using: key)).prefix(16)
    }

    /// `verify`, with its failure as the problem to answer (403 or 410).
    public func check(_ token: String, now: Date = Date()) throws(ProblemError) -> LinkToken {
        do {
            return try verify(token, now: now)
        } catch {
            throw ProblemError.link(error)
        }
    }
}

extension ProblemError {
    /// The answer to a link that fails `LinkSigner.verify`: 403 if it is not ours, 410 if it expired.
    public static func link(_ failure: LinkSigner.Failure) -> ProblemError {
        switch failure {
        case .invalid:
            ProblemError(
                .forbidden, type: "https://cirrus.dev/problems/link-invalid", title: "Invalid link",
                detail: "This link is not valid: it was altered or was never issued here.")
        case .expired(let link):
            ProblemError(
                .gone, type: "https://cirrus.dev/problems/link-expired", title: "Link expired",
                detail: "This link expired at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(link.expiresAt)))).")
        }
    }
}
