import ArgumentParser
import Foundation
import NIOHTTP1

// Administration (role admin): tiers and users.

/// A byte count with an optional unit: 1048576, 500MiB, 10GiB, 2GB, 1T.
struct ByteSize: ExpressibleByArgument {
    let bytes: Int64

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let factors: [String: Double] = [
            "": 1, "b": 1,
            "k": 0x1p10, "kib": 0x1p10, "kb": 1e3,
            "m": 0x1p20, "mib": 0x1p20, "mb": 1e6,
            "g": 0x1p30, "gib": 0x1p30, "gb": 1e9,
            "t": 0x1p40, "tib": 0x1p40, "tb": 1e12,
        ]
        guard let number = Double(digits), let factor = factors[unit] else { return nil }
        bytes = Int64(number * factor)
    }
}

/// A comma-separated list of integers: 200,400.
struct IntList: ExpressibleByArgument {
    let values: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.contains(where: { $0 == nil }) else { return nil }
        values = parts.compactMap { $0 }
    }
}

/// A tier's settings, each optional (an update sends only what is given).
struct TierSettings: ParsableArguments {
    @Option(help: "Thumbnail heights, comma-separated (e.g. 200,400).") var thumbnailSizes: IntList?
    @Flag(inversion: .prefixedNo, help: "Allow links to originals.") var originalLinks: Bool?
    @Flag(inversion: .prefixedNo, help: "Allow expiring links.") var expiringLinks: Bool?
    @Option(help: "Shortest expiring-link lifetime, seconds.") var linkMinSeconds: Int?
    @Option(help: "Longest expiring-link lifetime, seconds.") var linkMaxSeconds: Int?
    @Option(help: "Storage quota: bytes or with a unit (500MiB, 10GiB, 1TB).") var quota: ByteSize?
    @Option(help: "Largest single upload: bytes or with a unit.") var maxUpload: ByteSize?
    @Option(help: "Requests per minute per user.") var rpm: Int?

    var fields: [String: Any] {
        var fields: [String: Any] = [:]
        if let thumbnailSizes { fields["thumbnail_sizes"] = thumbnailSizes.values }
        if let originalLinks { fields["original_links"] = originalLinks }
        if let expiringLinks { fields["expiring_links"] = expiringLinks }
        if let linkMinSeconds { fields["link_min_seconds"] = linkMinSeconds }
        if let linkMaxSeconds { fields["link_max_seconds"] = linkMaxSeconds }
        if let quota { fields["quota_bytes"] = quota.bytes }
        if let maxUpload { fields["max_upload_bytes"] = maxUpload.bytes }
        if let rpm { fields["requests_per_minute"] = rpm }
        return fields
    }
}

/// Admin look-ups by name or id.
enum Directory {
    static func tiers(_ api: APIClient) async throws -> (items: [Tier], pages: [Data]) {
        try await api.pages(Tier.self, "/v1/admin/tiers")
    }

    /// A tier by id or name.
    static func tier(_ key: String, api: APIClient) async throws -> Tier {
        let tiers = try await tiers(api).items
        guard let tier = tiers.first(where: { $0.id.lowercased() == key.lowercased() }) ?? tiers.first(where: { $0.name == key })
        else { throw CLIError.notFound("No tier \(key).") }
        return tier
    }

    /// A user's id from an id, a username or an e-mail address (the API has no look-up by
    /// name, so the user list is searched).
    static func userID(_ key: String, api: APIClient) async throws -> String {
        if UUID(uuidString: key) != nil { return key }
        var cursor: String?
        repeat {
            let page = try await api.fetch(Page<Account>.self, .GET, "/v1/admin/users", query: cursor.map { [("cursor", $0)] } ?? []).value
            if let user = page.items.first(where: { $0.username == key || $0.email == key.lowercased() }) { return user.id }
            cursor = page.nextCursor
        } while cursor != nil
        throw CLIError.notFound("No user \(key).")
    }
}

struct Tiers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage tiers (admins only).",
        subcommands: [ListTiers.self, CreateTier.self, UpdateTier.self, DeleteTier.self]
    )
}

struct ListTiers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the tiers.")
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let tiers = try await APIClient.session { api in try await Directory.tiers(api) }
        if options.json { return Output.jsonItems(try JSONItems.split(pages: tiers.pages)) }
        Output.table(
            [["NAME", "THUMBNAILS", "ORIGINALS", "EXPIRING LINKS", "QUOTA", "MAX UPLOAD", "RPM", "ID"]]
                + tiers.items.map { tier in
                    let links =
                        tier.expiringLinks
                        ? "\(tier.linkMinSeconds.map(String.init) ?? "?")–\(tier.linkMaxSeconds.map(String.init) ?? "?") s" : "no"
                    return [
                        tier.name + (tier.isDefault == true ? " (default)" : ""),
                        tier.thumbnailSizes.map(String.init).joined(separator: ","), Output.yesNo(tier.originalLinks), links,
                        Output.bytes(tier.quotaBytes), Output.bytes(tier.maxUploadBytes), String(tier.requestsPerMinute), tier.id,
                    ]
                })
    }
}

struct CreateTier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a tier.",
        discussion: "Needs --thumbnail-sizes, --quota, --max-upload and --rpm; link bounds when --expiring-links."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The tier's name.") var name: String
    @OptionGroup var settings: TierSettings

    func validate() throws {
        let missing = [
            ("--thumbnail-sizes", settings.thumbnailSizes == nil), ("--quota", settings.quota == nil),
            ("--max-upload", settings.maxUpload == nil), ("--rpm", settings.rpm == nil),
        ]
        .filter(\.1).map(\.0)
        if !missing.isEmpty { throw ValidationError("Missing \(missing.joined(separator: ", ")).") }
    }

    func run() async throws {
        var body = settings.fields
        body["name"] = name
        body["original_links"] = settings.originalLinks ?? false
        body["expiring_links"] = settings.expiringLinks ?? false
        let tier = try await APIClient.session { api in try await api.fetch(Tier.self, .POST, "/v1/admin/tiers", json: body) }
        if options.json { return Output.json(tier.raw) }
        Output.line("created tier \(tier.value.name) (id \(tier.value.id))")
    }
}

struct UpdateTier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change a tier (its users and their images follow)."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The tier's name or id.") var tier: String
    @Option(help: "A new name.") var name: String?
    @OptionGroup var settings: TierSettings

    func run() async throws {
        var body = settings.fields
        if let name { body["name"] = name }
        guard !body.isEmpty else { throw CLIError.usage("Nothing to change.") }
        let updated = try await APIClient.session { api in
            let current = try await Directory.tier(tier, api: api)
            return try await api.fetch(Tier.self, .PATCH, "/v1/admin/tiers/\(current.id)", json: body)
        }
        if options.json { return Output.json(updated.raw) }
        Output.line("updated tier \(updated.value.name)")
    }
}

struct DeleteTier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a tier nobody is on.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The tier's name or id.") var tier: String

    func run() async throws {
        let deleted = try await APIClient.session { api in
            let current = try await Directory.tier(tier, api: api)
            let raw = try await api.call(.GET, "/v1/admin/tiers/\(current.id)")
            _ = try await api.call(.DELETE, "/v1/admin/tiers/\(current.id)")
            return (current, raw)
        }
        if options.json { return Output.json(deleted.1) }
        Output.line("deleted tier \(deleted.0.name)")
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users (admins only).",
        subcommands: [ListUsers.self, SetTier.self, SetRole.self, Disable.self, Enable.self]
    )
}

struct ListUsers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users (every page).")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Only users on this tier (name or id).") var tier: String?
    @Option(help: "Only users with this role (user or admin).") var role: String?

    func run() async throws {
        let users = try await APIClient.session { api in
            var query: [(String, String)] = []
            if let tier { query.append(("tier_id", try await Directory.tier(tier, api: api).id)) }
            if let role { query.append(("role", role)) }
            return try await api.pages(Account.self, "/v1/admin/users", query: query)
        }
        if options.json { return Output.jsonItems(try JSONItems.split(pages: users.pages)) }
        Output.table(
            [["USERNAME", "EMAIL", "ROLE", "TIER", "DISABLED", "ID"]]
                + users.items.map {
                    [$0.username, $0.email, $0.role, $0.tier.name, Output.yesNo($0.disabled), $0.id]
                })
    }
}

/// PATCH /v1/admin/users/{id} for a user named by id, username or e-mail.
private func patchUser(_ key: String, json: Bool, describe: (Account) -> String, _ changes: (APIClient) async throws -> [String: Any]) async throws {
    let user = try await APIClient.session { api in
        let id = try await Directory.userID(key, api: api)
        return try await api.fetch(Account.self, .PATCH, "/v1/admin/users/\(APIClient.segment(id))", json: try await changes(api))
    }
    if json { return Output.json(user.raw) }
    Output.line(describe(user.value))
}

struct SetTier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-tier",
        abstract: "Move a user to a tier (it applies with the user's next token, at most 15 minutes)."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "Username, e-mail or id.") var user: String
    @Argument(help: "Tier name or id.") var tier: String

    func run() async throws {
        try await patchUser(user, json: options.json, describe: { "\($0.username) is on tier \($0.tier.name)" }) { api in
            ["tier_id": try await Directory.tier(tier, api: api).id]
        }
    }
}

struct SetRole: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Make a user an admin or a user.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "Username, e-mail or id.") var user: String
    @Argument(help: "user or admin.") var role: String

    func run() async throws {
        try await patchUser(user, json: options.json, describe: { "\($0.username) is now \($0.role)" }) { _ in ["role": role] }
    }
}

struct Disable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Disable a user (their sessions end).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "Username, e-mail or id.") var user: String

    func run() async throws {
        try await patchUser(user, json: options.json, describe: { "\($0.username) is disabled" }) { _ in ["disabled": true] }
    }
}

struct Enable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enable a disabled user again.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "Username, e-mail or id.") var user: String

    func run() async throws {
        try await patchUser(user, json: options.json, describe: { "\($0.username) is enabled" }) { _ in ["disabled": false] }
    }
}
