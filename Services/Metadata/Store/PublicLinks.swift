import CirrusContracts
import CirrusServiceKit
import Crypto
import Foundation
import HTTPTypes
import HummingbirdBcrypt
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// A public link as its owner sees it.
struct PublicLinkResource: Encodable, Sendable {
    struct Target: Encodable, Sendable {
        var id: UUID
        var kind: Item.Kind
        var name: String
    }

    var id: UUID
    var item: Target
    var token: String
    var path: String
    var hasPassword: Bool
    var expiresAt: Date?
    var downloads: Int64
    var createdAt: Date

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(item, forKey: .item)
        try c.encode(token, forKey: .token)
        try c.encode(path, forKey: .path)
        try c.encode(hasPassword, forKey: .hasPassword)
        try c.encode(expiresAt, forKey: .expiresAt)  // null: no expiry
        try c.encode(downloads, forKey: .downloads)
        try c.encode(createdAt, forKey: .createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, item, token, path
        case hasPassword = "has_password"
        case expiresAt = "expires_at"
        case downloads
        case createdAt = "created_at"
    }
}

/// Public links to files and folders (docs/sharing.md): anyone holding the token reads the
/// item and what is below it, while the link exists, has not expired and its owner is active;
/// a password (bcrypt) may guard it, its wrong guesses throttled per link.
struct PublicLinks: Sendable {
    let drive: Drive
    let signer: LinkSigner
    var client: PostgresClient { drive.client }
    var logger: Logger { drive.logger }
    /// Passwords already verified for a link (a browsing visitor sends the password with every
    /// request; bcrypt each time would cost tens of milliseconds of CPU per thumbnail).
    let verified = VerifiedPasswords()

    static let maxPerUser = 1000
    static let maxFailures = 10
    static let failureWindowSeconds = 900
    static let bcryptCost: UInt8 = 10

    struct Input: Decodable {
        var itemID: String?
        var password: String?
        var expiresIn: Int?
        enum CodingKeys: String, CodingKey {
            case itemID = "item_id"
            case password
            case expiresIn = "expires_in"
        }
    }

    /// A link as stored, with its item.
    struct Link: Sendable {
        var id: UUID
        var ownerID: UUID
        var passwordHash: String?
        var expiresAt: Date?
        var downloads: Int64
        var createdAt: Date
        var failures: Int
        var failuresSince: Date?
        var item: Item
    }

    static let selectLinks = """
        SELECT l.id, l.owner_id, l.password_hash, l.expires_at, l.downloads, l.created_at, l.failed_attempts, l.failures_since, \(Item.columns.split(separator: ",").map { "i." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
        FROM public_links l JOIN items i ON i.id = l.item_id
        """

    static func link(_ row: PostgresRow) throws -> Link {
        let r = row.makeRandomAccess()
        return Link(
            id: try r[0].decode(UUID.self), ownerID: try r[1].decode(UUID.self), passwordHash: try r[2].decode(String?.self),
            expiresAt: try r[3].decode(Date?.self), downloads: try r[4].decode(Int64.self), createdAt: try r[5].decode(Date.self),
            failures: try r[6].decode(Int.self), failuresSince: try r[7].decode(Date?.self), item: try Item(row: row, from: 8))
    }

    func resource(_ link: Link) -> PublicLinkResource {
        let token = signer.publicToken(for: link.id)
        return PublicLinkResource(
            id: link.id, item: .init(id: link.item.id, kind: link.item.kind, name: link.item.name), token: token, path: "/v1/public/" + token,
            hasPassword: link.passwordHash != nil, expiresAt: link.expiresAt, downloads: link.downloads, createdAt: link.createdAt)
    }

    // MARK: - The owner's

    func create(_ identity: Identity, input: Input) async throws -> PublicLinkResource {
        var errors: [FieldError] = []
        var itemID: UUID?
        if let raw = input.itemID {
            itemID = UUID(uuidString: raw)
            if itemID == nil { errors.append(FieldError(field: "item_id", message: "must be a file or folder id (UUID)")) }
        } else {
            errors.append(FieldError(field: "item_id", message: "is required: the file or folder to link to"))
        }
        if let password = input.password {
            if password.utf8.count < 8 || password.utf8.count > 72 {
                errors.append(FieldError(field: "password", message: "must be 8 to 72 bytes"))
            } else if password.utf8.contains(0) {
                errors.append(FieldError(field: "password", message: "must not contain NUL characters"))
            }
        }
        if !errors.isEmpty { throw ProblemError.validation(errors) }
        let account = try await drive.accounts.account(for: identity)
        let item: Item
        do {
            item = try await drive.accessible(itemID!, caller: identity.userID, needed: .owner).item
        } catch let error as ProblemError where error.status == .notFound {
            throw ProblemError.validation(field: "item_id", "does not name a file or folder of yours")
        }
        if item.id == account.rootID { throw ProblemError(.conflict, detail: "Your root folder cannot be linked publicly; link a folder in it.") }
        let tier = account.tier
        guard tier.originalLinks else { throw LinksController.notInTier("Your tier does not include public links (links to original files).") }
        var expiresAt: Date?
        if let seconds = input.expiresIn {
            guard tier.expiringLinks else { throw LinksController.notInTier("Your tier does not include links that expire.") }
            let bounds = LinksController.bounds(of: tier)
            guard bounds.contains(seconds) else {
                throw ProblemError.validation(field: "expires_in", "must be between \(bounds.lowerBound) and \(bounds.upperBound) seconds")
            }
            expiresAt = Date().addingTimeInterval(TimeInterval(seconds))
        }
        let hash: String?
        if let password = input.password {
            hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: Self.bcryptCost) }
        } else {
            hash = nil
        }
        let id = UUID()
        try await client.transaction(logger: logger) { connection in
            _ = try await drive.accounts.find(identity.userID, lock: true, on: connection)  // serialises the cap
            for try await count in try await connection.query(
                "SELECT count(*) FROM public_links WHERE owner_id = \(identity.userID)", logger: logger
            ).decode(Int.self) where count >= Self.maxPerUser {
                throw ProblemError.conflict("You have \(Self.maxPerUser) public links, the most there may be; revoke some first.")
            }
            try await connection.query(
                """
                INSERT INTO public_links (id, item_id, owner_id, password_hash, expires_at)
                VALUES (\(id), \(item.id), \(identity.userID), \(hash), \(expiresAt))
                """, logger: logger)
        }
        return try await owned(id, owner: identity.userID)
    }

    private func owned(_ id: UUID, owner: UUID) async throws -> PublicLinkResource {
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: Self.selectLinks + " WHERE l.id = $1 AND l.owner_id = $2", binds: try bindings(id, owner)), logger: logger)
        for try await row in rows { return resource(try Self.link(row)) }
        throw ProblemError.notFound("public link")
    }

    func list(_ identity: Identity) async throws -> [PublicLinkResource] {
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: Self.selectLinks + " WHERE l.owner_id = $1 ORDER BY l.created_at DESC, l.id DESC", binds: try bindings(identity.userID)),
            logger: logger)
        var result: [PublicLinkResource] = []
        for try await row in rows { result.append(resource(try Self.link(row))) }
        return result
    }

    func delete(_ identity: Identity, id: UUID) async throws {
        var deleted = false
        for try await _ in try await client.query(
            "DELETE FROM public_links WHERE id = \(id) AND owner_id = \(identity.userID) RETURNING 1", logger: logger)
        {
            deleted = true
        }
        guard deleted else { throw ProblemError.notFound("public link") }
    }

    // MARK: - Anyone's with the token

    static let notFound = ProblemError(
        .notFound, type: "https://cirrus.dev/problems/public-link-not-found", title: "No such link",
        detail: "This link does not exist or was revoked.")

    static func passwordProblem(_ status: HTTPResponse.Status, _ detail: String) -> ProblemError {
        ProblemError(status, type: "https://cirrus.dev/problems/link-password", title: "Password required", detail: detail)
    }

    /// The link `token` names, checked: it exists, its item is live, its owner active, it has
    /// not expired (410), and the password is right when it has one (401 none, 403 wrong,
    /// 429 after too many wrong ones).
    func open(_ token: String, password: String?) async throws -> Link {
        guard let id = signer.publicLinkID(from: token) else { throw Self.notFound }
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: Self.selectLinks + """
                     JOIN users u ON u.id = l.owner_id
                    WHERE l.id = $1 AND i.state = 'ready' AND i.trashed_at IS NULL AND NOT u.disabled
                    """, binds: try bindings(id)), logger: logger)
        var found: Link?
        for try await row in rows { found = try Self.link(row) }
        guard let link = found else { throw Self.notFound }
        if let expiresAt = link.expiresAt, expiresAt <= Date() {
            throw ProblemError(
                .gone, type: "https://cirrus.dev/problems/link-expired", title: "Link expired",
                detail: "This link expired at \(RFC3339.string(milliseconds: Int64(expiresAt.timeIntervalSince1970 * 1000))).")
        }
        guard let hash = link.passwordHash else { return link }
        // A locked link refuses everyone until its window ends (a password verified before too).
        if let wait = Self.lockedFor(link) { throw Self.throttled(wait) }
        guard let password, !password.isEmpty else {
            throw Self.passwordProblem(.unauthorized, "This link has a password: send it as X-Link-Password (or the form field password).")
        }
        if verified.contains(link: link.id, password: password) { return link }
        // Every guess takes an attempt before bcrypt runs, in one statement that refuses once
        // the window's attempts are used up: parallel guesses cannot all pass a check made
        // before any of them is counted. A right password gives its attempt back.
        guard try await reserveAttempt(link.id) else {
            // Used up since the row was read above: the wait is from the row as it is now.
            var now = link
            for try await (failures, since) in try await client.query(
                "SELECT failed_attempts, failures_since FROM public_links WHERE id = \(link.id)", logger: logger
            ).decode((Int, Date?).self) { (now.failures, now.failuresSince) = (failures, since) }
            throw Self.throttled(Self.lockedFor(now) ?? 1)
        }
        let matches =
            password.utf8.count <= 72
            ? try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) } : false
        guard matches else { throw Self.passwordProblem(.forbidden, "The password is wrong.") }
        try await client.query(
            "UPDATE public_links SET failed_attempts = GREATEST(failed_attempts - 1, 0) WHERE id = \(link.id)", logger: logger)
        verified.add(link: link.id, password: password)
        return link
    }

    /// Seconds until the link's window of wrong guesses ends, when its attempts are used up.
    static func lockedFor(_ link: Link, now: Date = Date()) -> Int? {
        guard link.failures >= maxFailures, let since = link.failuresSince else { return nil }
        let elapsed = Int(now.timeIntervalSince(since))
        guard elapsed < failureWindowSeconds else { return nil }
        return max(1, failureWindowSeconds - elapsed)
    }

    static func throttled(_ wait: Int) -> ProblemError {
        ProblemError(
            .tooManyRequests, type: "https://cirrus.dev/problems/rate-limited", title: "Too many requests",
            detail: "Too many wrong passwords for this link. Try again later.", headers: [.retryAfter: "\(wait)"])
    }

    /// Count one attempt at the link's password (a new window when the last one is over);
    /// false, counting nothing, when this window's attempts are used up.
    func reserveAttempt(_ id: UUID) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE public_links SET
              failed_attempts = CASE WHEN failures_since IS NULL OR failures_since < now() - make_interval(secs => \(Self.failureWindowSeconds))
                                     THEN 1 ELSE failed_attempts + 1 END,
              failures_since = CASE WHEN failures_since IS NULL OR failures_since < now() - make_interval(secs => \(Self.failureWindowSeconds))
                                    THEN now() ELSE failures_since END
            WHERE id = \(id) AND (failures_since IS NULL OR failures_since < now() - make_interval(secs => \(Self.failureWindowSeconds))
                                   OR failed_attempts < \(Self.maxFailures))
            RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Item `id` if it is the link's item or below it (404 otherwise).
    func item(_ id: UUID?, in link: Link, kind: Item.Kind? = nil) async throws -> Item {
        guard let id, id != link.item.id else {
            if let kind, link.item.kind != kind { throw ProblemError.notFound(kind.rawValue) }
            return link.item
        }
        let rows = try await client.query(
            """
            WITH RECURSIVE up(id, parent_id) AS (
                SELECT id, parent_id FROM items WHERE id = \(id) AND owner_id = \(link.ownerID) AND state = 'ready' AND trashed_at IS NULL
                UNION ALL SELECT i.id, i.parent_id FROM items i JOIN up ON i.id = up.parent_id
            ) SELECT 1 FROM up WHERE id = \(link.item.id) LIMIT 1
            """, logger: logger)
        var inside = false
        for try await _ in rows { inside = true }
        guard inside else { throw ProblemError.notFound(kind?.rawValue ?? "item") }
        return try await drive.item(id, owner: link.ownerID, kind: kind)
    }

    func countDownload(_ link: Link) async throws {
        try await client.query("UPDATE public_links SET downloads = downloads + 1 WHERE id = \(link.id)", logger: logger)
    }
}

/// Link passwords verified lately (SHA-256 of link id and password → when), bounded and
/// short-lived: a revoked link is still refused (the row is read on every request).
final class VerifiedPasswords: Sendable {
    private let entries = Mutex<[Data: Date]>([:])
    static let lifetime: TimeInterval = 300
    static let capacity = 10_000

    private func key(_ link: UUID, _ password: String) -> Data {
        Data(SHA256.hash(data: Data(link.uuidString.utf8) + Data([0]) + Data(password.utf8)))
    }

    func contains(link: UUID, password: String) -> Bool {
        let key = key(link, password)
        return entries.withLock { entries in
            guard let at = entries[key] else { return false }
            return Date().timeIntervalSince(at) < Self.lifetime
        }
    }

    func add(link: UUID, password: String) {
        let key = key(link, password)
        entries.withLock { entries in
            if entries.count >= Self.capacity {
                let now = Date()
                entries = entries.filter { now.timeIntervalSince($0.value) < Self.lifetime }
                if entries.count >= Self.capacity { entries.removeAll() }
            }
            entries[key] = Date()
        }
    }
}
