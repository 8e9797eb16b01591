import CirrusContracts
import CirrusServiceKit
import Foundation

/// A user as stored (without the password hash).
struct User: Sendable, Equatable {
    var id: UUID
    var username: String
    var email: String
    var role: Role
    var tierID: UUID
    var disabled: Bool
    var createdAt: Date

    static let columns = "id, username, email, role, tier_id, disabled, created_at"
    typealias Row = (UUID, String, String, String, UUID, Bool, Date)

    init(row: Row) {
        let (id, username, email, roleName, tierID, disabled, createdAt) = row
        self.id = id
        self.username = username
        self.email = email
        role = Role(rawValue: roleName) ?? .user
        self.tierID = tierID
        self.disabled = disabled
        self.createdAt = createdAt
    }

    var identity: Identity { Identity(userID: id, role: role, tierID: tierID) }
}

/// What `/v1/me` and the admin user routes return.
struct UserResponse: Encodable, Sendable {
    var id: UUID
    var username: String
    var email: String
    var role: Role
    var disabled: Bool
    var createdAt: Date
    var tier: TierPermissions
    var quota: Quota

    struct Quota: Encodable, Sendable {
        var totalBytes: Int64
        var maxUploadBytes: Int64
        enum CodingKeys: String, CodingKey {
            case totalBytes = "total_bytes"
            case maxUploadBytes = "max_upload_bytes"
        }
    }

    init(user: User, tier: TierPermissions) {
        id = user.id
        username = user.username
        email = user.email
        role = user.role
        disabled = user.disabled
        createdAt = user.createdAt
        self.tier = tier
        quota = Quota(totalBytes: tier.quotaBytes, maxUploadBytes: tier.maxUploadBytes)
    }

    enum CodingKeys: String, CodingKey {
        case id, username, email, role, disabled
        case createdAt = "created_at"
        case tier, quota
    }
}

/// The tokens a login or refresh hands out.
struct TokenResponse: Encodable, Sendable {
    var accessToken: String
    var refreshToken: String
    var expiresIn: Int
    var tokenType = "Bearer"

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case expiresIn = "expires_in"
        case tokenType = "token_type"
    }
}
