import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Registration, login, token refresh, logout, `/v1/me` and the JWKS.
struct AccountController: Sendable {
    let store: AuthStore
    let keys: SigningKeys
    let passwords: Passwords
    let throttle: LoginThrottle
    let verifier: TokenVerifier
    let settings: AuthSettings
    var logger: Logger { store.logger }

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/v1/auth/register") { request, context in try await register(request, context) }
        router.post("/v1/auth/login") { request, context in try await login(request, context) }
        router.post("/v1/auth/refresh") { request, context in try await refresh(request, context) }
        router.post("/v1/auth/logout") { request, context in try await logout(request, context) }
        router.get("/v1/auth/jwks") { _, _ in try Response.json(try await keys.jwks(), headers: [.cacheControl: "public, max-age=60"]) }
        router.authenticated(by: verifier).get("/v1/me") { _, context in try await me(try context.caller) }
        // Metadata asks who a username or e-mail names when a user shares with them (the
        // caller's token goes along: only signed-in users look others up). 404 for no active user.
        router.authenticated(by: verifier).get("/internal/users/lookup") { request, context in
            let identity = try context.caller
            guard let name = request.uri.queryParameters["user"].map(String.init), !name.isEmpty, name.utf8.count <= 254,
                let found = try await store.credentials(login: name)?.0, !found.disabled,
                let caller = try await store.user(id: identity.userID)
            else { throw ProblemError.notFound("user") }
            return try Response.json(
                UserLookup(user: UserName(id: found.id, username: found.username), caller: UserName(id: caller.id, username: caller.username)),
                headers: [.cacheControl: "no-store"])
        }
    }

    // MARK: - Register

    struct RegisterInput: Decodable {
        var username: String?
        var email: String?
        var password: String?
    }

    static let usernameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-")

    static func validate(_ input: RegisterInput) throws -> (username: String, email: String, password: String) {
        var errors: [FieldError] = []
        let username = input.username ?? ""
        if input.username == nil {
            errors.append(FieldError(field: "username", message: "is required"))
        } else if !(3...32).contains(username.count) || !username.allSatisfy(usernameCharacters.contains) {
            errors.append(FieldError(field: "username", message: "must be 3 to 32 of a-z, 0-9, '_', '.', '-'"))
        }
        let email = (input.email ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        if input.email == nil {
            errors.append(FieldError(field: "email", message: "is required"))
        } else if !isEmail(email) {
            errors.append(FieldError(field: "email", message: "must be a valid e-mail address"))
        }
        if let password = input.password {
            errors += Passwords.problems(with: password).map { FieldError(field: "password", message: $0) }
        } else {
            errors.append(FieldError(field: "password", message: "is required"))
        }
        guard errors.isEmpty, let password = input.password else { throw ProblemError.validation(errors) }
        return (username, email, password)
    }

    static func isEmail(_ text: String) -> Bool {
        guard text.utf8.count <= 254, !text.contains(where: { $0.isWhitespace || $0.isNewline }),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }

    func register(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let input = try Self.validate(try await request.decodeJSON(RegisterInput.self, context: context))
        let address = Self.clientAddress(request)
        if let seconds = try await throttle.lockedFor([LoginThrottle.registrationKey(address)]) {
            throw ProblemError(
                .tooManyRequests, type: "https://cirrus.dev/problems/rate-limited", title: "Too many requests",
                detail: "Too many registrations from this address. Try again later.", headers: [.retryAfter: "\(seconds)"])
        }
        try await throttle.recordRegistration(address: address)
        let user = try await createUser(username: input.username, email: input.email, password: input.password, role: .user)
        return try Response.json(user, status: .created)
    }

    /// Insert a user on the default tier and announce it; 409 naming the taken field.
    func createUser(username: String, email: String, password: String, role: Role, requireNoAdmin: Bool = false) async throws -> UserResponse {
        let hash = try await passwords.hash(password)
        let id = UUID()
        do {
            return try await store.client.transaction(logger: logger) { connection in
                if requireNoAdmin {
                    try await AdvisoryLock.administrators.lock(on: connection, logger: logger)
                    if try await store.adminExists(on: connection) { throw ProblemError.conflict("An administrator already exists.") }
                }
                let tier = try await store.defaultTier(on: connection)
                try await store.insertUser(id: id, username: username, email: email, passwordHash: hash, role: role, tierID: tier.id, on: connection)
                try await store.emit(UserRegistered(userID: id, username: username, role: role.rawValue, tier: tier.permissions), on: connection)
                guard let user = try await store.user(id: id, on: connection) else { throw ProblemError.notFound("user") }
                return UserResponse(user: user, tier: tier.permissions)
            }
        } catch let error as PSQLError where error.sqlState == "23505" {
            let field = error.constraint?.contains("email") == true ? "email" : "username"
            throw ProblemError(.conflict, detail: "That \(field) is already taken.", errors: [FieldError(field: field, message: "is already taken")])
        }
    }

    // MARK: - Login

    struct LoginInput: Decodable {
        var login: String?
        var username: String?
        var email: String?
        var password: String?
    }

    func login(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let input = try await request.decodeJSON(LoginInput.self, context: context)
        guard let login = (input.login ?? input.username ?? input.email)?.trimmingCharacters(in: .whitespaces), !login.isEmpty,
            login.utf8.count <= 254
        else {
            throw ProblemError.validation(field: "login", "a username or e-mail address is required")
        }
        guard !login.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ProblemError.validation(field: "login", "must not contain control characters")
        }
        guard let password = input.password, !password.isEmpty else { throw ProblemError.validation(field: "password", "is required") }
        // No account's password holds a NUL (registration refuses it; bcrypt would cut there).
        guard !password.utf8.contains(0) else { throw ProblemError(.unauthorized, detail: "The login or password is wrong.") }
        let address = Self.clientAddress(request)
        let found = try await store.credentials(login: login)
        // One account whether it is named by username or e-mail: its id (or, for no account, the login).
        let account = found.map { $0.0.id.uuidString.lowercased() } ?? "login:" + login.lowercased()
        if let seconds = try await throttle.lockedFor(LoginThrottle.loginKeys(account: account, address: address)) {
            throw ProblemError(.tooManyRequests, detail: "Too many failed logins. Try again later.", headers: [.retryAfter: "\(seconds)"])
        }
        let valid = try await passwords.verify(password, against: found?.1)
        guard valid, let user = found?.0, !user.disabled else {
            try await throttle.recordFailure(account: account, address: address)
            throw ProblemError(.unauthorized, detail: "The login or password is wrong.")
        }
        try await throttle.recordSuccess(account: account, address: address)
        let tokens = try await issueTokens(for: user, family: UUID())
        return try tokenResponse(tokens)
    }

    /// The caller's address as the gateway reports it (auth is not exposed directly).
    static func clientAddress(_ request: Request) -> String {
        let raw = request.headers[HTTPField.Name("X-Cirrus-Client-Address")!] ?? "unknown"
        return String(raw.prefix(64))
    }

    func issueTokens(for user: User, family: UUID, on connection: PostgresConnection? = nil) async throws -> TokenResponse {
        var identity = user.identity
        identity.requestsPerMinute = try await store.tier(id: user.tierID, on: connection)?.permissions.requestsPerMinute
        let claims = AccessClaims(identity: identity, issuedAt: Date(), lifetime: settings.accessTokenTTL)
        let access = try await keys.sign(claims)
        let refresh = RefreshTokens.generate()
        let hash = RefreshTokens.hash(refresh)
        try await store.insertRefreshToken(
            userID: user.id, family: family, hash: hash, lifetimeSeconds: Int(settings.refreshTokenTTL.components.seconds),
            on: connection)
        return TokenResponse(accessToken: access, refreshToken: refresh, expiresIn: Int(settings.accessTokenTTL.components.seconds))
    }

    /// Over HTTPS (`CIRRUS_AUTH_COOKIE_SECURE`) the cookie is `__Host-` prefixed: browsers then
    /// accept it only with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot
    /// plant or overwrite it.
    var cookieName: String { settings.secureCookie ? TokenVerifier.secureCookieName : TokenVerifier.cookieName }

    func tokenResponse(_ tokens: TokenResponse) throws -> Response {
        var cookie = "\(cookieName)=\(tokens.accessToken); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(tokens.expiresIn)"
        if settings.secureCookie { cookie += "; Secure" }
        return try Response.json(tokens, headers: [.setCookie: cookie, .cacheControl: "no-store"])
    }

    // MARK: - Refresh and logout

    struct RefreshInput: Decodable {
        var refreshToken: String?
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }

    enum RefreshOutcome: Sendable {
        case issued(TokenResponse)
        case refused(String)
    }

    func refresh(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let input = try await request.decodeJSON(RefreshInput.self, context: context)
        guard let token = input.refreshToken, !token.isEmpty, token.utf8.count <= 256 else {
            throw ProblemError.validation(field: "refresh_token", "is required")
        }
        let hash = RefreshTokens.hash(token)
        // Reuse detection must commit its revocation, so the transaction returns an outcome
        // instead of throwing.
        let outcome: RefreshOutcome = try await store.client.transaction(logger: logger) { connection in
            guard let token = try await store.lockRefreshToken(hash: hash, on: connection) else { return .refused("unknown") }
            if token.revoked { return .refused("revoked") }
            if token.used {
                // A spent token came back: someone holds a copy. End the whole session family.
                try await store.revokeFamily(token.familyID, on: connection)
                logger.warning("refresh token reuse; family revoked", metadata: ["user_id": "\(token.userID)", "family": "\(token.familyID)"])
                return .refused("reused")
            }
            if token.expired { return .refused("expired") }
            guard let user = try await store.user(id: token.userID, on: connection), !user.disabled else {
                try await store.revokeFamily(token.familyID, on: connection)
                return .refused("disabled")
            }
            try await store.markRefreshTokenUsed(token.id, on: connection)
            return .issued(try await issueTokens(for: user, family: token.familyID, on: connection))
        }
        switch outcome {
        case .issued(let tokens): return try tokenResponse(tokens)
        case .refused: throw ProblemError(.unauthorized, detail: "The refresh token is invalid, expired or revoked.")
        }
    }

    func logout(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        // A browser holding only the cookie may send no body at all.
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let input = body.readableBytes == 0 ? RefreshInput(refreshToken: nil) : try await request.decodeJSON(RefreshInput.self, context: context)
        if let token = input.refreshToken, !token.isEmpty {
            try await store.revokeFamily(ofTokenHash: RefreshTokens.hash(token))
        }
        var cookie = "\(cookieName)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        if settings.secureCookie { cookie += "; Secure" }
        return Response(status: .noContent, headers: [.setCookie: cookie])
    }

    // MARK: - Me

    func me(_ identity: Identity) async throws -> Response {
        guard let user = try await store.user(id: identity.userID), !user.disabled,
            let tier = try await store.tier(id: user.tierID)
        else {
            throw TokenVerifier.unauthorized("The account no longer exists or is disabled.")
        }
        return try Response.json(UserResponse(user: user, tier: tier.permissions))
    }
}
