import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/v1/me/app-passwords` (create, list, revoke) and the check of a WebDAV request's HTTP
/// Basic credentials (`POST /internal/app-passwords/check`, called by the gateway for every
/// WebDAV request).
struct AppPasswordController: Sendable {
    let store: AuthStore
    let appPasswords: AppPasswords
    let keys: SigningKeys
    let passwords: Passwords
    let throttle: LoginThrottle
    let verifier: TokenVerifier
    let settings: AuthSettings
    var logger: Logger { store.logger }

    /// A WebDAV request's token: used for that request's calls only and never leaves the
    /// gateway, so it lives as long as the longest request (a 6-hour transfer completes with it;
    /// the next request checks the credentials again).
    static let sessionLifetime: Duration = .seconds(7 * 3600)

    struct CreateInput: Decodable {
        var name: String?
        var readOnly: Bool?
        enum CodingKeys: String, CodingKey {
            case name
            case readOnly = "read_only"
        }
    }

    struct AppPasswordResource: Encodable {
        var id: UUID
        var name: String
        var readOnly: Bool
        var createdAt: Date
        var lastUsedAt: Date?
        /// Only in the answer that creates it.
        var password: String?

        init(_ record: AppPasswords.Record, password: String? = nil) {
            id = record.id
            name = record.name
            readOnly = record.readOnly
            createdAt = record.createdAt
            lastUsedAt = record.lastUsedAt
            self.password = password
        }

        enum CodingKeys: String, CodingKey {
            case id, name
            case readOnly = "read_only"
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
            case password
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(readOnly, forKey: .readOnly)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(lastUsedAt, forKey: .lastUsedAt)  // null until first used
            try container.encodeIfPresent(password, forKey: .password)
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let signedIn = router.authenticated(by: verifier)
        signedIn.post("/v1/me/app-passwords") { request, context in
            let identity = try context.caller
            let input = try await request.decodeJSON(CreateInput.self, context: context)
            let name = try Self.validName(input.name)
            let (record, password) = try await appPasswords.create(userID: identity.userID, name: name, readOnly: input.readOnly ?? false)
            logger.info("app password created", metadata: ["user_id": "\(identity.userID)", "app_password_id": "\(record.id)"])
            return try Response.json(AppPasswordResource(record, password: password), status: .created, headers: [.cacheControl: "no-store"])
        }
        signedIn.get("/v1/me/app-passwords") { _, context in
            let identity = try context.caller
            return try Response.json(["items": try await appPasswords.list(userID: identity.userID).map { AppPasswordResource($0) }])
        }
        signedIn.delete("/v1/me/app-passwords/:id") { _, context in
            let identity = try context.caller
            let id = try context.parameters.uuid("id", resource: "app password")
            guard try await appPasswords.delete(id: id, userID: identity.userID) else { throw ProblemError.notFound("app password") }
            logger.info("app password revoked", metadata: ["user_id": "\(identity.userID)", "app_password_id": "\(id)"])
            return Response(status: .noContent)
        }
        router.post("/internal/app-passwords/check") { request, context in
            let input = try await request.decodeJSON(BasicCredentials.self, context: context)
            return try Response.json(try await check(input, address: AccountController.clientAddress(request)), headers: [.cacheControl: "no-store"])
        }
    }

    static func validName(_ raw: String?) throws -> String {
        guard let raw else { throw ProblemError.validation(field: "name", "is required (say which client or device it is for)") }
        let name = raw.trimmingCharacters(in: .whitespaces)
        if name.isEmpty { throw ProblemError.validation(field: "name", "must not be empty") }
        if name.count > 100 { throw ProblemError.validation(field: "name", "must be at most 100 characters") }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ProblemError.validation(field: "name", "must not contain control characters")
        }
        return name
    }

    static let wrongCredentials = ProblemError(.unauthorized, detail: "The username or app password is wrong.")

    /// Good credentials give a short-lived token with the app password's rights. Failures count
    /// like failed logins (the same per-account and per-address throttle): a client that
    /// guesses is locked out as a login form's guesser would be.
    func check(_ input: BasicCredentials, address: String) async throws -> DAVSession {
        let login = input.username.trimmingCharacters(in: .whitespaces)
        guard !login.isEmpty, login.utf8.count <= 254, !login.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
            !input.password.isEmpty, input.password.utf8.count <= 1024, !input.password.utf8.contains(0)
        else { throw Self.wrongCredentials }
        // One round trip for the user, their tier's rate and the app password.
        let found = try await appPasswords.candidate(login: login, password: input.password)
        let account = found.map { $0.user.id.uuidString.lowercased() } ?? "login:" + login.lowercased()
        var readOnly = false
        let user: User
        if let found, let app = found.appPassword, !found.user.disabled {
            // An app password (125 random bits: not guessable) is accepted whatever the throttle
            // says, so a guesser elsewhere cannot lock the owner's clients out.
            user = found.user
            readOnly = app.readOnly
            if app.stale { try await appPasswords.touch(app.id) }
        } else {
            if let seconds = try await throttle.lockedFor(LoginThrottle.loginKeys(account: account, address: address)) {
                throw ProblemError(.tooManyRequests, detail: "Too many failed sign-ins. Try again later.", headers: [.retryAfter: "\(seconds)"])
            }
            var valid = false
            if settings.davAccountPassword, !AppPasswords.looksLikeAppPassword(input.password) {
                // The account's own password, only when the operator allows it (off by default).
                valid = try await passwords.verify(input.password, against: found?.passwordHash)
            }
            guard valid, let candidate = found?.user, !candidate.disabled else {
                try await throttle.recordFailure(account: account, address: address)
                throw Self.wrongCredentials
            }
            try await throttle.recordSuccess(account: account, address: address)
            user = candidate
        }
        var identity = user.identity
        identity.readOnly = readOnly
        identity.requestsPerMinute = found?.requestsPerMinute
        let token = try await keys.sign(AccessClaims(identity: identity, issuedAt: Date(), lifetime: Self.sessionLifetime))
        return DAVSession(accessToken: token, userID: user.id, readOnly: readOnly, requestsPerMinute: identity.requestsPerMinute)
    }
}
