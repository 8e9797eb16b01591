import CirrusContracts
import CirrusServiceKit
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// Auth's parts, built once per process (and per test).
struct AuthApp: Sendable {
    let store: AuthStore
    let keys: SigningKeys
    let verifier: TokenVerifier
    let accounts: AccountController
    let admin: AdminController
    let appPasswords: AppPasswordController

    init(client: PostgresClient, settings: AuthSettings, logger: Logger) {
        store = AuthStore(client: client, logger: logger)
        keys = SigningKeys(client: client, accessTokenTTL: settings.accessTokenTTL, logger: logger)
        // Auth verifies its own tokens the way every service does: against the JWKS.
        let keys = self.keys
        verifier = TokenVerifier(logger: logger) {
            String(decoding: try ContractCoding.encoder().encode(try await keys.jwks(reload: true)), as: UTF8.self)
        }
        let passwords = Passwords(cost: settings.bcryptCost)
        let throttle = LoginThrottle(client: client, settings: settings, logger: logger)
        accounts = AccountController(
            store: store, keys: keys, passwords: passwords, throttle: throttle, verifier: verifier, settings: settings
        )
        appPasswords = AppPasswordController(
            store: store, appPasswords: AppPasswords(client: client, logger: logger), keys: keys, passwords: passwords,
            throttle: throttle, verifier: verifier, settings: settings)
        admin = AdminController(store: store, keys: keys, verifier: verifier, settings: settings, accounts: accounts)
    }

    func addRoutes(to router: Router<ServiceRequestContext>) {
        accounts.register(on: router)
        admin.register(on: router)
        appPasswords.register(on: router)
        // The tier catalogue for the other services (internal port only; nothing secret in it).
        router.get("/internal/tiers") { [store] _, _ in
            try Response.json(TierCatalogue(items: try await store.tiers().map(\.permissions)), headers: [.cacheControl: "no-store"])
        }
    }

    /// Start-up: make sure a signing key exists and the verifier knows it.
    func prepare() async throws {
        try await keys.ensureKey()
        try await verifier.refresh()
    }
}

extension AuthApp {
    /// Builds auth and runs it until shutdown.
    static func run(configuration: ServiceConfiguration, settings: AuthSettings, logger: Logger) async throws {
        let runtime = try ServiceRuntime(configuration: configuration, migrations: AuthMigrations.all, logger: logger)
        guard let postgres = runtime.postgres else { preconditionFailure("auth has a database") }
        let app = AuthApp(client: postgres, settings: settings, logger: logger)
        runtime.onStartup { try await app.prepare() }
        let router = runtime.makeRouter()
        app.addRoutes(to: router)
        try await runtime.run(router: router)
    }
}
