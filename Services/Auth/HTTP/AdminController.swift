import CirrusContracts
import CirrusServiceKit
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Tier and user administration (role admin), the bootstrap of the first admin, and
/// signing-key rotation.
struct AdminController: Sendable {
    let store: AuthStore
    let keys: SigningKeys
    let verifier: TokenVerifier
    let settings: AuthSettings
    let accounts: AccountController
    var logger: Logger { store.logger }

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/v1/auth/bootstrap-admin") { request, context in try await bootstrap(request, context) }
        // The rest is for administrators: the token is verified once, before the handler.
        let router = router.authenticated(by: verifier)
        router.get("/v1/admin/tiers") { request, context in
            _ = try await requireAdmin(context)
            return try Response.json(Page(items: try await store.tiers().map(TierResponse.init), nextCursor: nil))
        }
        router.post("/v1/admin/tiers") { request, context in try await createTier(request, context) }
        router.get("/v1/admin/tiers/:id") { request, context in
            _ = try await requireAdmin(context)
            guard let tier = try await store.tier(id: try context.parameters.uuid("id", resource: "tier")) else {
                throw ProblemError.notFound("tier")
            }
            return try Response.json(TierResponse(tier))
        }
        router.patch("/v1/admin/tiers/:id") { request, context in try await updateTier(request, context) }
        router.delete("/v1/admin/tiers/:id") { request, context in try await deleteTier(request, context) }
        router.get("/v1/admin/users") { request, context in try await listUsers(request, context) }
        router.patch("/v1/admin/users/:id") { request, context in try await updateUser(request, context) }
        router.delete("/v1/admin/users/:id") { request, context in try await deleteUser(request, context) }
        router.post("/v1/admin/signing-keys/rotate") { request, context in
            _ = try await requireAdmin(context)
            return try Response.json(["kid": try await keys.rotate()], status: .created)
        }
    }

    /// The token says admin *and* the database still does (a demoted admin's token is not enough).
    func requireAdmin(_ context: ServiceRequestContext) async throws -> User {
        let identity = try context.caller
        guard let user = try await store.user(id: identity.userID), !user.disabled else {
            throw TokenVerifier.unauthorized("The account no longer exists or is disabled.")
        }
        guard user.role == .admin else { throw ProblemError(.forbidden, detail: "This needs the admin role.") }
        return user
    }

    struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
        var items: [Item]
        var nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case items
            case nextCursor = "next_cursor"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(items, forKey: .items)
            try c.encode(nextCursor, forKey: .nextCursor)
        }
    }

    // MARK: - Bootstrap

    func bootstrap(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        guard let secret = settings.bootstrapSecret else { throw ProblemError.notFound() }
        let given = request.headers[HTTPField.Name("X-Bootstrap-Secret")!] ?? ""
        let address = AccountController.clientAddress(request)
        if let seconds = try await accounts.throttle.lockedFor([LoginThrottle.bootstrapKey(address)]) {
            throw ProblemError(.tooManyRequests, detail: "Too many wrong bootstrap secrets. Try again later.", headers: [.retryAfter: "\(seconds)"])
        }
        // Compare digests: constant time whatever the lengths.
        let matches = Array(SHA256.hash(data: Data(given.utf8))) == Array(SHA256.hash(data: Data(secret.utf8)))
        guard matches, !given.isEmpty else {
            try await accounts.throttle.recordBootstrapFailure(address: address)
            throw ProblemError(.forbidden, detail: "The bootstrap secret is missing or wrong.")
        }
        let input = try AccountController.validate(try await request.decodeJSON(AccountController.RegisterInput.self, context: context))
        let user = try await accounts.createUser(
            username: input.username, email: input.email, password: input.password, role: .admin, requireNoAdmin: true)
        logger.notice("first admin created", metadata: ["user_id": "\(user.id)"])
        return try Response.json(user, status: .created)
    }

    // MARK: - Tiers

    func createTier(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        let input = try await request.decodeJSON(TierInput.self, context: context)
        let tier = try input.apply(to: nil, id: UUID())
        try await saveTier(tier, insert: true)
        return try Response.json(TierResponse(Tier(permissions: tier, isDefault: false)), status: .created)
    }

    func updateTier(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        let id = try context.parameters.uuid("id", resource: "tier")
        let input = try await request.decodeJSON(TierInput.self, context: context)
        guard let existing = try await store.tier(id: id) else { throw ProblemError.notFound("tier") }
        let tier = try input.apply(to: existing.permissions, id: id)
        try await saveTier(tier, insert: false)
        return try Response.json(TierResponse(Tier(permissions: tier, isDefault: existing.isDefault)))
    }

    private func saveTier(_ tier: TierPermissions, insert: Bool) async throws {
        do {
            try await store.client.transaction(logger: logger) { connection in
                if insert {
                    try await store.insertTier(tier, on: connection)
                } else {
                    try await store.updateTier(tier, on: connection)
                }
                try await store.emit(TierUpdated(tier: tier, deleted: false), on: connection)
            }
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw ProblemError(.conflict, detail: "A tier with that name exists.", errors: [FieldError(field: "name", message: "is already taken")])
        }
    }

    func deleteTier(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        let id = try context.parameters.uuid("id", resource: "tier")
        try await store.client.transaction(logger: logger) { connection in
            guard let tier = try await store.tier(id: id, on: connection) else { throw ProblemError.notFound("tier") }
            if tier.isDefault { throw ProblemError.conflict("The default tier cannot be deleted.") }
            let users = try await store.usersOnTier(id, on: connection)
            if users > 0 { throw ProblemError.conflict("\(users) user(s) are on this tier; move them first.") }
            try await store.deleteTier(id: id, on: connection)
            try await store.emit(TierUpdated(tier: tier.permissions, deleted: true), on: connection)
        }
        return Response(status: .noContent)
    }

    // MARK: - Users

    func listUsers(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        let query = request.uri.queryParameters
        var errors: [FieldError] = []
        let tierID: UUID? = query["tier_id"].flatMap { raw in
            let id = UUID(uuidString: String(raw))
            if id == nil { errors.append(FieldError(field: "tier_id", message: "must be a UUID")) }
            return id
        }
        let role: String? = query["role"].flatMap { raw in
            guard let role = Role(rawValue: String(raw)) else {
                errors.append(FieldError(field: "role", message: "must be user or admin"))
                return nil
            }
            return role.rawValue
        }
        let limit = query["limit"].map { Int(String($0)) ?? -1 } ?? 100
        if !(1...1000).contains(limit) { errors.append(FieldError(field: "limit", message: "must be from 1 to 1000")) }
        // The cursor is the last username of the previous page, base64url-encoded.
        let after: String? = query["cursor"].flatMap { raw in
            guard let decoded = Base64URL.decode(raw).flatMap({ String(data: $0, encoding: .utf8) }) else {
                errors.append(FieldError(field: "cursor", message: "is not a cursor this API issued"))
                return nil
            }
            return decoded
        }
        guard errors.isEmpty else { throw ProblemError.validation(errors) }
        var users = try await store.users(tierID: tierID, role: role, after: after, limit: limit)
        let more = users.count > limit
        users = Array(users.prefix(limit))
        var tiers: [UUID: TierPermissions] = [:]
        for tier in try await store.tiers() { tiers[tier.id] = tier.permissions }
        let items = users.compactMap { user in tiers[user.tierID].map { UserResponse(user: user, tier: $0) } }
        let cursor = more ? users.last.map { Base64URL.encode(Data($0.username.utf8)) } : nil
        return try Response.json(Page(items: items, nextCursor: cursor))
    }

    struct UserPatch: Decodable {
        var tierID: UUID?
        var role: Role?
        var disabled: Bool?
        enum CodingKeys: String, CodingKey {
            case tierID = "tier_id"
            case role, disabled
        }
    }

    func updateUser(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        let id = try context.parameters.uuid("id", resource: "user")
        let patch = try await request.decodeJSON(UserPatch.self, context: context)
        let response: UserResponse = try await store.client.transaction(logger: logger) { connection in
            try await AdvisoryLock.administrators.lock(on: connection, logger: logger)
            guard var user = try await store.user(id: id, on: connection) else { throw ProblemError.notFound("user") }
            let previousTier = user.tierID
            let wasDisabled = user.disabled
            if let tierID = patch.tierID {
                guard try await store.tier(id: tierID, on: connection) != nil else {
                    throw ProblemError.validation(field: "tier_id", "no such tier")
                }
                user.tierID = tierID
            }
            if let role = patch.role { user.role = role }
            if let disabled = patch.disabled { user.disabled = disabled }
            if user.role != .admin || user.disabled {
                try await ensureNotLastAdmin(id, on: connection)
            }
            try await store.update(user, on: connection)
            if user.disabled { try await store.revokeTokens(ofUser: id, on: connection) }
            guard let tier = try await store.tier(id: user.tierID, on: connection) else { throw ProblemError.notFound("tier") }
            if user.tierID != previousTier {
                try await store.emit(UserTierChanged(userID: id, previousTierID: previousTier, tier: tier.permissions), on: connection)
            }
            if user.disabled != wasDisabled {
                try await store.emit(UserStatusChanged(userID: id, disabled: user.disabled), on: connection)
            }
            return UserResponse(user: user, tier: tier.permissions)
        }
        return try Response.json(response)
    }

    /// 409 when user `id` is an active admin and no other active admin exists. Callers hold
    /// the admin advisory lock, so two requests cannot each remove "the other" last admin.
    private func ensureNotLastAdmin(_ id: UUID, on connection: PostgresConnection) async throws {
        if try await store.isLastActiveAdmin(id, on: connection) { throw ProblemError.conflict("This is the last active admin.") }
    }

    func deleteUser(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        let id = try context.parameters.uuid("id", resource: "user")
        try await store.client.transaction(logger: logger) { connection in
            try await AdvisoryLock.administrators.lock(on: connection, logger: logger)
            guard try await store.user(id: id, on: connection) != nil else { throw ProblemError.notFound("user") }
            try await ensureNotLastAdmin(id, on: connection)
            try await store.deleteUser(id: id, on: connection)
            try await store.emit(UserDeleted(userID: id), on: connection)
        }
        return Response(status: .noContent)
    }
}
