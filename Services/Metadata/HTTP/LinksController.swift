import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO

/// Expiring links and the image gallery: what a caller's tier lets them hand out.
///
/// `POST /v1/files/{id}/links` issues a signed link (metadata owns the file and knows the
/// owner's tier); the gateway verifies a link's signature and expiry on its own, then calls
/// `GET /internal/links/{token}`, which re-verifies it and turns it into a read grant for blob
/// or thumbnail while the file still exists. A link stays valid until it expires, also if the
/// owner's tier changes later; putting the file in the trash, replacing its content, or the
/// owner being disabled or deleted ends it at once (404).
struct LinksController: Sendable {
    let drive: Drive
    let listing: Listing
    let verifier: TokenVerifier
    let grants: InternalGrantSigner
    let links: LinkSigner

    /// The default bounds of `expires_in` when a tier allows expiring links without its own.
    static let defaultBounds = 300...30000

    struct LinkInput: Decodable {
        var variant: String?
        var size: Int?
        var expiresIn: Int?
        enum CodingKeys: String, CodingKey {
            case variant, size
            case expiresIn = "expires_in"
        }
    }

    struct LinkResource: Encodable {
        var token: String
        var path: String
        var fileID: UUID
        var variant: LinkToken.Variant
        var size: Int?
        var expiresAt: Date
        enum CodingKeys: String, CodingKey {
            case token, path
            case fileID = "file_id"
            case variant, size
            case expiresAt = "expires_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(token, forKey: .token)
            try container.encode(path, forKey: .path)
            try container.encode(fileID, forKey: .fileID)
            try container.encode(variant, forKey: .variant)
            try container.encode(size, forKey: .size)  // null for the original
            try container.encode(expiresAt, forKey: .expiresAt)
        }
    }

    /// An image with the links its owner's tier allows.
    struct ImageResource: Encodable {
        struct Links: Encodable {
            var thumbnails: [String: String]
            var original: String?
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(thumbnails, forKey: .thumbnails)
                try container.encode(original, forKey: .original)
            }
            enum CodingKeys: String, CodingKey { case thumbnails, original }
        }

        var item: ItemResource
        var links: Links

        func encode(to encoder: any Encoder) throws {
            try item.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(links, forKey: .links)
        }
        enum CodingKeys: String, CodingKey { case links }
    }

    struct ExpiringLinkPolicy: Encodable {
        var allowed: Bool
        var minSeconds: Int?
        var maxSeconds: Int?
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(allowed, forKey: .allowed)
            try container.encode(minSeconds, forKey: .minSeconds)
            try container.encode(maxSeconds, forKey: .maxSeconds)
        }
        enum CodingKeys: String, CodingKey {
            case allowed
            case minSeconds = "min_seconds"
            case maxSeconds = "max_seconds"
        }
    }

    struct ImagePage: Encodable {
        var items: [ImageResource]
        var nextCursor: String?
        var expiringLinks: ExpiringLinkPolicy
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
            try container.encode(nextCursor, forKey: .nextCursor)
            try container.encode(expiringLinks, forKey: .expiringLinks)
        }
        enum CodingKeys: String, CodingKey {
            case items
            case nextCursor = "next_cursor"
            case expiringLinks = "expiring_links"
        }
    }

    func register(on router: Router<ServiceRequestContext>) {
        let signedIn = router.authenticated(by: verifier)
        signedIn.post("/v1/files/:id/links") { request, context in
            let identity = try context.caller
            let id = try context.parameters.uuid("id", resource: "file")
            let input = try await request.decodeJSON(LinkInput.self, context: context)
            let link = try await issue(identity, fileID: id, input: input)
            let token = links.sign(link)
            let resource = LinkResource(
                token: token, path: "/v1/links/" + token, fileID: id, variant: link.variant, size: link.size,
                expiresAt: Date(timeIntervalSince1970: TimeInterval(link.expiresAt)))
            return try Response.json(resource, status: .created, headers: [.cacheControl: "no-store"])
        }
        signedIn.get("/v1/images") { request, context in
            let identity = try context.caller
            let query = try ListQuery(parameters: request.queryParameters, scope: Listing.Scope.images.name)
            let account = try await drive.accounts.account(for: identity)
            let page = try await listing.list(owner: identity.userID, scope: .images, query: query)
            let tier = account.tier
            let items = page.items.map { item in
                let base = "/v1/files/\(item.id.uuidString)"  // as the item's `id` is written
                let thumbnails = Dictionary(uniqueKeysWithValues: tier.thumbnailSizes.sorted().map { (String($0), "\(base)/thumbnails/\($0)") })
                return ImageResource(item: item, links: .init(thumbnails: thumbnails, original: tier.originalLinks ? base + "/content" : nil))
            }
            let bounds = Self.bounds(of: tier)
            let policy = ExpiringLinkPolicy(
                allowed: tier.expiringLinks, minSeconds: tier.expiringLinks ? bounds.lowerBound : nil,
                maxSeconds: tier.expiringLinks ? bounds.upperBound : nil)
            return try Response.json(ImagePage(items: items, nextCursor: page.nextCursor, expiringLinks: policy))
        }
        router.get("/internal/links/:token") { request, context in
            let raw = context.parameters.get("token") ?? ""
            return try await resolve(try links.check(raw))
        }
    }

    static func bounds(of tier: TierRecord) -> ClosedRange<Int> {
        let low = tier.linkMinSeconds ?? defaultBounds.lowerBound
        let high = max(low, tier.linkMaxSeconds ?? defaultBounds.upperBound)
        return low...high
    }

    /// Checks the request against the file and the caller's tier; the link to sign.
    func issue(_ identity: Identity, fileID: UUID, input: LinkInput, now: Date = Date()) async throws -> LinkToken {
        guard let rawVariant = input.variant else { throw ProblemError.validation(field: "variant", "is required: original or thumbnail") }
        guard let variant = LinkToken.Variant(rawValue: rawVariant) else {
            throw ProblemError.validation(field: "variant", "must be original or thumbnail")
        }
        // A recipient of a share may make links too, as the owner's tier allows them.
        let (file, access) = try await drive.accessible(fileID, caller: identity.userID, kind: .file)
        guard file.state == "ready", file.blobID != nil else { throw ProblemError.notFound("file") }
        let tier = try await drive.accounts.tier(of: access.ownerID, identity: identity)
        let whose = access.isOwner ? "Your" : "The owner's"
        guard tier.expiringLinks else { throw Self.notInTier("\(whose) tier does not include expiring links.") }
        if variant == .original, !tier.originalLinks { throw Self.notInTier("\(whose) tier does not include links to original files.") }
        var errors: [FieldError] = []
        let bounds = Self.bounds(of: tier)
        if let seconds = input.expiresIn {
            if !bounds.contains(seconds) {
                errors.append(FieldError(field: "expires_in", message: "must be between \(bounds.lowerBound) and \(bounds.upperBound) seconds"))
            }
        } else {
            errors.append(FieldError(field: "expires_in", message: "is required: seconds between \(bounds.lowerBound) and \(bounds.upperBound)"))
        }
        switch variant {
        case .original:
            if input.size != nil { errors.append(FieldError(field: "size", message: "applies to thumbnail links only")) }
        case .thumbnail:
            let allowed = tier.thumbnailSizes.sorted().map(String.init).joined(separator: ", ")
            if !file.isImage {
                errors.append(FieldError(field: "variant", message: "this file has no thumbnails (it is not an image)"))
            } else if let size = input.size {
                if !tier.thumbnailSizes.contains(size) {
                    errors.append(FieldError(field: "size", message: "must be a height your tier includes: \(allowed)"))
                }
            } else {
                errors.append(FieldError(field: "size", message: "is required for thumbnail links: one of \(allowed)"))
            }
        }
        if !errors.isEmpty { throw ProblemError.validation(errors) }
        return LinkToken(
            fileID: file.id, version: file.version, variant: variant, size: variant == .thumbnail ? input.size : nil,
            expiresAt: Int64(now.timeIntervalSince1970) + Int64(input.expiresIn ?? 0), createdBy: access.isOwner ? nil : identity.userID)
    }

    /// A verified link → what the gateway needs to stream it, while the file exists with the
    /// content version the link was made for, and its owner is active.
    func resolve(_ link: LinkToken) async throws -> Response {
        let owner = try await drive.linkOwner(of: link.fileID)
        // A recipient's link ends with their share (at once, like their own access), and while
        // they are disabled.
        if let maker = link.createdBy, maker != owner {
            guard try await drive.isActive(maker),
                try await drive.sharedAccess(to: link.fileID, caller: maker) != nil
            else {
                throw ProblemError.notFound("file")
            }
        }
        switch link.variant {
        case .original:
            let content = try await drive.content(of: link.fileID, version: nil, owner: owner)
            guard content.item.state == "ready", content.item.version == link.version else { throw ProblemError.notFound("file") }
            let grant = grants.sign(InternalGrant(purpose: .read, ownerID: owner, blobID: content.blobID, lifetime: .seconds(300)))
            return try Response.json(
                ContentGrant(
                    fileID: content.item.id, name: content.item.name, blobID: content.blobID, size: content.size,
                    contentType: content.contentType, sha256: content.sha256, grant: grant))
        case .thumbnail:
            let file = try await drive.item(link.fileID, owner: owner, kind: .file)
            guard let size = link.size, file.version == link.version, file.isImage, let blobID = file.blobID, let contentType = file.contentType
            else {
                throw ProblemError.notFound("file")
            }
            let grant = grants.sign(
                InternalGrant(
                    purpose: .read, ownerID: owner, fileID: file.id, blobID: blobID, size: Int64(size),
                    contentType: contentType, lifetime: .seconds(300)))
            return try Response.json(ThumbnailGrant(fileID: file.id, grant: grant, name: file.name))
        }
    }

    static func notInTier(_ detail: String) -> ProblemError {
        ProblemError(.forbidden, type: "https://cirrus.dev/problems/tier", title: "Not in your tier", detail: detail)
    }
}
