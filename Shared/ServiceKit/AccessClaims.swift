import Foundation
import JWTKit

/// A caller's role.
public enum Role: String, Codable, Sendable, CaseIterable {
    case user
    case admin
}

/// Who is calling, as proven by a verified access token.
public struct Identity: Sendable, Equatable {
    public var userID: UUID
    public var role: Role
    public var tierID: UUID
    /// The tier's request rate when the token was issued (the gateway's per-user limit);
    /// nil in tokens that do not carry it.
    public var requestsPerMinute: Int?
    /// True for a token issued for a read-only app password (WebDAV): every service it reaches
    /// refuses anything but GET and HEAD with it (`TokenVerifier.authenticate`).
    public var readOnly: Bool

    public init(userID: UUID, role: Role, tierID: UUID, requestsPerMinute: Int? = nil, readOnly: Bool = false) {
        self.userID = userID
        self.role = role
        self.tierID = tierID
        self.requestsPerMinute = requestsPerMinute
        self.readOnly = readOnly
    }
}

/// The claims of a Cirrus access token (a JWT signed by auth with EdDSA).
public struct AccessClaims: JWTPayload, Equatable {
    public static let issuer = "cirrus-auth"
    public static let audience = "cirrus"
    public static let readScope = "read"

    public var subject: SubjectClaim
    public var role: Role
    public var tier: String
    /// Requests per minute the caller's tier allows (optional).
    public var rpm: Int?
    /// `read` in tokens that may only read (a read-only app password's); absent otherwise.
    public var scope: String?
    public var issuer: IssuerClaim
    public var audience: AudienceClaim
    public var issuedAt: IssuedAtClaim
    public var notBefore: NotBeforeClaim
    public var expiration: ExpirationClaim
    public var id: IDClaim

    enum CodingKeys: String, CodingKey {
        case subject = "sub"
        case role, tier, rpm, scope
        case issuer = "iss"
        case audience = "aud"
        case issuedAt = "iat"
        case notBefore = "nbf"
        case expiration = "exp"
        case id = "jti"
    }

    public init(identity: Identity, issuedAt: Date, lifetime: Duration) {
        subject = SubjectClaim(value: identity.userID.uuidString.lowercased())
        role = identity.role
        tier = identity.tierID.uuidString.lowercased()
        rpm = identity.requestsPerMinute
        scope = identity.readOnly ? Self.readScope : nil
        issuer = IssuerClaim(value: Self.issuer)
        audience = AudienceClaim(value: [Self.audience])
        self.issuedAt = IssuedAtClaim(value: issuedAt)
        notBefore = NotBeforeClaim(value: issuedAt)
        expiration = ExpirationClaim(value: issuedAt.addingTimeInterval(TimeInterval(lifetime.components.seconds)))
        id = IDClaim(value: UUID().uuidString.lowercased())
    }

    /// Signature is checked by jwt-kit before this runs; here: time window, issuer, audience.
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
        try notBefore.verifyNotBefore()
        guard issuer.value == Self.issuer else { throw JWTError.claimVerificationFailure(failedClaim: issuer, reason: "wrong issuer") }
        try audience.verifyIntendedAudience(includes: Self.audience)
    }

    public var identity: Identity? {
        guard let userID = UUID(uuidString: subject.value), let tierID = UUID(uuidString: tier) else { return nil }
        return Identity(
            userID: userID, role: role, tierID: tierID, requestsPerMinute: rpm.flatMap { $0 > 0 ? $0 : nil },
            readOnly: scope != nil)
    }
}
