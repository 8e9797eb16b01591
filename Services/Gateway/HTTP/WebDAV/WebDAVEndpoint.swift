import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// WebDAV (RFC 4918) under `/dav/`: the caller's drive by path, for file managers, rclone,
/// davfs2 and office suites (docs/webdav.md). HTTP Basic with an app password; auth checks it
/// on every request and hands back a token for that request's calls. Everything maps onto the
/// drive's own routes — metadata resolves paths and owns folders, files, properties and locks;
/// blob holds the bytes — so there is no second storage path and the gateway keeps nothing.
struct WebDAVEndpoint: Sendable {
    let peers: Peers
    let transfer: FileTransfer
    let limiter: RateLimiter
    let defaultRequestsPerMinute: Int
    /// Failed sign-ins per client address and minute before the endpoint stops asking auth (the
    /// anonymous rate): a guesser's requests are refused here, not sent on.
    let failuresPerMinute: Int

    static let methods: [HTTPRequest.Method] = [
        .options, .get, .head, .put, .delete, HTTPRequest.Method("PROPFIND")!, HTTPRequest.Method("PROPPATCH")!,
        HTTPRequest.Method("MKCOL")!, HTTPRequest.Method("COPY")!, HTTPRequest.Method("MOVE")!, HTTPRequest.Method("LOCK")!,
        HTTPRequest.Method("UNLOCK")!,
    ]
    static let allow = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK"
    static let realm = "Basic realm=\"Cirrus WebDAV\", charset=\"UTF-8\""

    func register(on router: Router<GatewayRequestContext>) {
        for method in Self.methods {
            router.on("/dav", method: method) { request, context in try await handle(request, context) }
            router.on("/dav/**", method: method) { request, context in try await handle(request, context) }
        }
    }

    /// Who is asking, for this one request.
    struct Session: Sendable {
        var token: String
        var readOnly: Bool
    }

    func handle(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let rawPath = Substring(request.uri.path)
        let path: DAVPath
        do {
            path = try DAVPath(raw: rawPath)
        } catch DAVPath.Failure.invalid(let why) {
            throw ProblemError(.badRequest, type: "https://cirrus.dev/problems/invalid-path", title: "Invalid request path", detail: why)
        }
        // OPTIONS answers without credentials: clients probe before they sign in, and it tells nothing.
        if request.method == .options { return options() }
        // Refusals with a DAV:error body, and peers' refusals, are answers as they are (the edge's
        // error handling would make them generic problems).
        do {
            return try await dispatch(path, request, context)
        } catch let error as DAVError {
            return error.response()
        } catch let relay as RelayedReply {
            return FileTransfer.relay(relay.reply)
        }
    }

    func dispatch(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let session = try await authenticate(request, context)
        switch request.method.rawValue {
        case "GET": return try await get(path, request, context, session, head: false)
        case "HEAD": return try await get(path, request, context, session, head: true)
        case "PROPFIND": return try await propfind(path, request, context, session)
        case "PUT": return try await put(path, request, context, session)
        case "MKCOL": return try await mkcol(path, request, session)
        case "DELETE": return try await delete(path, request, context, session)
        case "COPY", "MOVE": return try await copyOrMove(path, request, context, session, move: request.method.rawValue == "MOVE")
        case "PROPPATCH": return try await proppatch(path, request, context, session)
        case "LOCK": return try await lock(path, request, context, session)
        case "UNLOCK": return try await unlock(path, request, session)
        default:
            throw ProblemError(
                HTTPResponse.Status(code: 501, reasonPhrase: "Not Implemented"), detail: "\(request.method.rawValue) is not supported.")
        }
    }

    func options() -> Response {
        Response(
            status: .ok,
            headers: [
                HTTPField.Name("DAV")!: "1, 2", .allow: Self.allow, HTTPField.Name("MS-Author-Via")!: "DAV", .contentLength: "0",
            ])
    }

    // MARK: - Credentials

    /// `Authorization: Basic`, checked by auth (app passwords; throttled like logins), then the
    /// caller's own request rate, as for the JSON API.
    func authenticate(_ request: Request, _ context: GatewayRequestContext) async throws -> Session {
        guard let header = request.headers[.authorization], let (username, password) = Self.basicCredentials(header) else {
            throw Self.challenge("Sign in with your username and an app password (HTTP Basic).")
        }
        let failures = "dav-failures:" + context.clientAddress
        guard limiter.wouldAllow(failures, perMinute: failuresPerMinute) else {
            throw ProblemError(
                .tooManyRequests, type: "https://cirrus.dev/problems/rate-limited", title: "Too many requests",
                detail: "Too many failed sign-ins from this address; retry in a minute.", headers: [.retryAfter: "60"])
        }
        var headers = HTTPHeaders()
        headers.add(name: "X-Cirrus-Client-Address", value: context.clientAddress)
        let reply = try await peers.auth.send(
            .POST, "/internal/app-passwords/check", json: BasicCredentials(username: username, password: password), headers: headers)
        guard let session = try reply.decode(DAVSession.self) else {
            // Refused or already throttled by auth: both count against the address here.
            if reply.status == 401 || reply.status == 429 { _ = limiter.take(failures, perMinute: failuresPerMinute) }
            if reply.status == 401 { throw Self.challenge("The username or app password is wrong.") }
            throw RelayedReply(reply: reply)
        }
        context.edge.userID = session.userID.uuidString.lowercased()
        let decision = limiter.take("user:" + session.userID.uuidString, perMinute: session.requestsPerMinute ?? defaultRequestsPerMinute)
        guard decision.allowed else {
            throw ProblemError(
                .tooManyRequests, type: "https://cirrus.dev/problems/rate-limited", title: "Too many requests",
                detail: "Slow down: at most \(decision.limit) requests per minute; retry in \(decision.retryAfter) s.",
                headers: [.retryAfter: String(decision.retryAfter)])
        }
        return Session(token: session.accessToken, readOnly: session.readOnly)
    }

    static func challenge(_ detail: String) -> ProblemError {
        ProblemError(.unauthorized, detail: detail, headers: [.wwwAuthenticate: realm])
    }

    /// The user name and password of `Basic <base64>`, or nil.
    static func basicCredentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let data = Data(base64Encoded: String(parts[1].trimmingCharacters(in: .whitespaces))),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func refuseWrites(_ session: Session) throws {
        if session.readOnly { throw TokenVerifier.readOnlyRefusal }
    }

    // MARK: - Metadata calls

    /// What `path` names for the caller (and with `children`, a page of a folder's children).
    func lookup(_ path: DAVPath, _ session: Session, children: Bool = false, after: String? = nil) async throws -> PathLookup {
        var query = "path=" + Self.queryEncode(path.plain)
        if children { query += "&children=true" }
        if let after { query += "&after=" + Self.queryEncode(after) }
        let reply = try await peers.metadata.send(.GET, "/internal/paths?" + query, as: .bearer(session.token))
        guard let lookup = try reply.decode(PathLookup.self) else { throw RelayedReply(reply: reply) }
        return lookup
    }

    static func queryEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    func call(
        _ method: HTTPMethod, _ path: String, _ session: Session, json: (some Encodable & Sendable)? = nil as String?
    ) async throws
        -> InternalReply
    {
        if let json { return try await peers.metadata.send(method, path, as: .bearer(session.token), json: json) }
        return try await peers.metadata.send(method, path, as: .bearer(session.token))
    }

    /// A name in a folder: the body of a new folder, a move, a file copy (`name`, `parent_id`).
    struct Placement: Encodable, Sendable {
        var name: String
        var parentID: UUID
        enum CodingKeys: String, CodingKey {
            case name
            case parentID = "parent_id"
        }
    }

    static func itemPath(_ entry: PathEntry) -> String {
        (entry.isFolder ? "/v1/folders/" : "/v1/files/") + entry.id.uuidString.lowercased()
    }

    static func notFound() -> ProblemError { ProblemError.notFound("file or folder") }

    // MARK: - GET, HEAD

    func get(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session, head: Bool) async throws -> Response {
        let found = try await lookup(path, session)
        guard let item = found.item else { throw Self.notFound() }
        if item.isFolder {
            // A browser pointed at a folder gets a plain list of links, streamed page by page.
            let top = "<!DOCTYPE html><meta charset=\"utf-8\"><title>\(DAVXML.escape(item.name.isEmpty ? "/" : item.name))</title><ul>"
            let headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
            if head { return Response(status: .ok, headers: headers) }
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: top))
                var after: String?
                repeat {
                    let page = try await lookup(path, session, children: true, after: after)
                    var html = ""
                    for child in page.children ?? [] {
                        let href = path.appending(child.name).href(folder: child.isFolder)
                        html += "<li><a href=\"\(DAVXML.escape(href))\">\(DAVXML.escape(child.name))\(child.isFolder ? "/" : "")</a></li>"
                    }
                    try await writer.write(ByteBuffer(string: html))
                    after = page.nextAfter
                } while after != nil
                try await writer.write(ByteBuffer(string: "</ul>"))
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
        let authorised = try await call(.GET, "/internal/files/\(item.id.uuidString.lowercased())/content", session)
        guard let content = try authorised.decode(ContentGrant.self) else { throw RelayedReply(reply: authorised) }
        var response = try await transfer.streamFromBlob(
            blobID: content.blobID, grant: content.grant, name: content.name, request: request, context: context, head: head)
        response.headers[.lastModified] = DAVDates.rfc1123(item.updatedAt)
        return response
    }

    // MARK: - PUT

    func put(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session) async throws -> Response {
        try Self.refuseWrites(session)
        if path.isRoot { throw ProblemError(.methodNotAllowed, detail: "The root is a folder.", headers: [.allow: Self.allow]) }
        // No partial PUT: a Content-Range would otherwise make a fragment the whole file (RFC 9110 14.5).
        if request.headers[.contentRange] != nil {
            throw ProblemError(.badRequest, detail: "PUT with Content-Range is not supported: send the whole file (or use /v1/uploads).")
        }
        let found = try await lookup(path, session)
        if let item = found.item, item.isFolder {
            throw ProblemError(.methodNotAllowed, detail: "A folder has no content to replace.", headers: [.allow: Self.allow])
        }
        try Self.checkPreconditions(request, etag: found.item.flatMap(Self.etag))
        try await authorize(
            request, session, path, entry: found.item, writes: found.item == nil ? [(path, false), (path.parent, false)] : [(path, false)])
        if let existing = found.item {
            return try await store(request, context, session, replacing: existing.id, folder: nil, name: nil)
        }
        guard let parent = found.parent else {
            throw ProblemError(.conflict, detail: "The folder to hold this file does not exist (create it with MKCOL first).")
        }
        return try await store(request, context, session, replacing: nil, folder: parent.id, name: path.name)
    }

    func store(
        _ request: Request, _ context: GatewayRequestContext, _ session: Session, replacing: UUID?, folder: UUID?, name: String?
    ) async throws -> Response {
        let body = ClientBody(request.body)
        let reply = try await transfer.transfer(
            token: session.token, context: context, replacing: replacing, folderID: folder?.uuidString, name: name,
            declaredSize: request.headers[.contentLength].flatMap(Int64.init), checksum: nil, body: body, clientBody: body,
            beforeCompleting: nil)
        guard reply.status == 200 || reply.status == 201 else { throw RelayedReply(reply: reply) }
        var headers: HTTPFields = [.contentLength: "0"]
        if let stored = try? JSONDecoder().decode(StoredSummary.self, from: Data(reply.body.readableBytesView)), let sha256 = stored.sha256 {
            headers[.eTag] = "\"\(sha256)\""
        }
        return Response(status: replacing == nil ? .created : .noContent, headers: headers)
    }

    /// The two fields of metadata's file answer a PUT's reply uses.
    struct StoredSummary: Decodable {
        var sha256: String?
    }

    static func etag(_ entry: PathEntry) -> String? { entry.sha256.map { "\"\($0)\"" } }

    /// `If-Match` and `If-None-Match` of a write (RFC 9110 13.1.1–2): 412 when they do not hold.
    static func checkPreconditions(_ request: Request, etag: String?) throws {
        if let ifMatch = request.headers[.ifMatch] {
            let tags = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let holds = etag != nil && (tags.contains("*") || tags.contains(etag!))
            if !holds { throw ProblemError(.preconditionFailed, detail: "If-Match does not hold: the file changed or does not exist.") }
        }
        if let ifNoneMatch = request.headers[.ifNoneMatch] {
            let tags = ifNoneMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let etag, tags.contains("*") || tags.contains(etag) {
                throw ProblemError(.preconditionFailed, detail: "If-None-Match does not hold: the file exists.")
            }
        }
    }

    // MARK: - MKCOL

    func mkcol(_ path: DAVPath, _ request: Request, _ session: Session) async throws -> Response {
        try Self.refuseWrites(session)
        // RFC 4918 9.3: a body MKCOL does not understand is 415.
        if request.headers[.contentLength].flatMap(Int.init).map({ $0 > 0 }) ?? (request.headers[.transferEncoding] != nil) {
            throw ProblemError(.unsupportedMediaType, detail: "MKCOL takes no body.")
        }
        let found = try await lookup(path, session)
        if found.item != nil {
            throw ProblemError(.methodNotAllowed, detail: "Something with that name already exists.", headers: [.allow: Self.allow])
        }
        guard let parent = found.parent else { throw ProblemError(.conflict, detail: "The folder to hold it does not exist.") }
        try await authorize(request, session, path, entry: nil, writes: [(path, false), (path.parent, false)])
        let reply = try await call(.POST, "/v1/folders", session, json: Placement(name: path.name, parentID: parent.id))
        guard reply.status == 201 else { throw RelayedReply(reply: reply) }
        return Response(status: .created, headers: [.contentLength: "0"])
    }

    // MARK: - DELETE

    func delete(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session) async throws -> Response {
        try Self.refuseWrites(session)
        if path.isRoot { throw ProblemError(.forbidden, detail: "The root folder cannot be deleted.") }
        guard let item = try await lookup(path, session).item else { throw Self.notFound() }
        try Self.checkPreconditions(request, etag: Self.etag(item))
        try await authorize(request, session, path, entry: item, writes: [(path, true), (path.parent, false)])
        let reply = try await call(.DELETE, Self.itemPath(item), session)
        guard reply.status == 204 else { throw RelayedReply(reply: reply) }
        await forgetLocks(path, session, logger: context.logger)
        return Response(status: .noContent)
    }

    // MARK: - COPY, MOVE

    func copyOrMove(
        _ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session, move: Bool
    ) async throws
        -> Response
    {
        try Self.refuseWrites(session)
        guard let header = request.headers[HTTPField.Name("Destination")!] else {
            throw ProblemError(.badRequest, detail: "A Destination header is required.")
        }
        let destination: DAVPath
        do {
            destination = try DAVPath(destination: header)
        } catch DAVPath.Failure.outside {
            throw ProblemError(.badGateway, detail: "The Destination is not on this server's WebDAV tree.")
        } catch DAVPath.Failure.invalid(let why) {
            throw ProblemError(.badRequest, detail: "The Destination is invalid: \(why)")
        }
        if path.isRoot || destination.isRoot { throw ProblemError(.forbidden, detail: "The root folder cannot be copied, moved or replaced.") }
        if destination == path { throw ProblemError(.forbidden, detail: "The source and the destination are the same.") }
        let overwrite = (request.headers[HTTPField.Name("Overwrite")!] ?? "T").uppercased() != "F"
        let depth = request.headers[HTTPField.Name("Depth")!]?.lowercased() ?? "infinity"
        guard let source = try await lookup(path, session).item else { throw Self.notFound() }
        if source.isFolder {
            if move, depth != "infinity" { throw ProblemError(.badRequest, detail: "A folder moves with Depth: infinity.") }
            if !move, depth != "infinity", depth != "0" { throw ProblemError(.badRequest, detail: "A folder copies with Depth: 0 or infinity.") }
            if destination.isWithin(path) { throw ProblemError(.forbidden, detail: "A folder cannot be copied or moved into itself.") }
        }
        let target = try await lookup(destination, session)
        var writes: [(DAVPath, Bool)] = [(destination, true), (destination.parent, false)]
        if move { writes += [(path, true), (path.parent, false)] }
        try await authorize(request, session, path, entry: source, writes: writes)
        var replaced = false
        if let existing = target.item {
            guard overwrite else { throw ProblemError(.preconditionFailed, detail: "The destination exists and Overwrite is F.") }
            if path.isWithin(destination) { throw ProblemError(.forbidden, detail: "The destination holds the source.") }
            let reply = try await call(.DELETE, Self.itemPath(existing), session)
            guard reply.status == 204 else { throw RelayedReply(reply: reply) }
            replaced = true
        }
        var parent = target.parent
        if parent == nil, replaced { parent = try await lookup(destination.parent, session).item }
        guard let parent else {
            throw ProblemError(.conflict, detail: "The destination's folder does not exist.")
        }
        let placement = Placement(name: destination.name, parentID: parent.id)
        let reply: InternalReply
        if move {
            reply = try await call(.PATCH, Self.itemPath(source), session, json: placement)
        } else if source.isFolder {
            reply = try await call(
                .POST, "/internal/folders/\(source.id.uuidString.lowercased())/copy", session,
                json: FolderCopyRequest(parentID: parent.id, name: destination.name, recursive: depth != "0"))
        } else {
            reply = try await call(.POST, Self.itemPath(source) + "/copy", session, json: placement)
        }
        guard reply.status == 200 || reply.status == 201 else { throw RelayedReply(reply: reply) }
        if move { await forgetLocks(path, session, logger: context.logger) }
        return Response(status: replaced ? .noContent : .created, headers: [.contentLength: "0"])
    }

    // MARK: - PROPFIND

    func propfind(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session) async throws -> Response {
        let depth = request.headers[HTTPField.Name("Depth")!]?.lowercased() ?? "infinity"
        guard depth == "0" || depth == "1" else {
            if depth == "infinity" {
                return Self.xmlResponse(
                    status: .forbidden,
                    "<D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>")
            }
            throw ProblemError(.badRequest, detail: "Depth must be 0 or 1.")
        }
        let query = try await Self.propfindQuery(request, context)
        // Depth 1: the first page of children comes with the lookup itself.
        let found = try await lookup(path, session, children: depth == "1")
        guard let item = found.item else { throw Self.notFound() }
        let quota: StorageUsage? = query.wantsQuota ? try await call(.GET, "/internal/usage", session).decode(StorageUsage.self) : nil
        let locks = query.wantsLocks ? try await self.locks(at: path, session) : []
        let status = HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status")
        @Sendable func responses(_ children: [PathEntry]) -> String {
            var xml = ""
            for child in children {
                let childPath = path.appending(child.name)
                xml += DAVProperties.response(
                    href: childPath.href(folder: child.isFolder), entry: child, query: query, quota: quota,
                    locks: locks.filter { Self.covers($0, childPath) })
            }
            return xml
        }
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">"
        xml += DAVProperties.response(
            href: path.href(folder: item.isFolder), entry: item, query: query, quota: quota, locks: locks.filter { Self.covers($0, path) })
        xml += responses(found.children ?? [])
        guard let firstAfter = found.nextAfter else {
            return Self.xmlResponse(status: status, xml + "</D:multistatus>")
        }
        // A large folder: the rest streams page by page, so the gateway holds one page at a time
        // whatever the folder's size. (A failure now can only cut the answer short.)
        let first = ByteBuffer(string: xml)
        let body = ResponseBody { writer in
            try await writer.write(first)
            var after = firstAfter
            while true {
                let page = try await lookup(path, session, children: true, after: after)
                try await writer.write(ByteBuffer(string: responses(page.children ?? [])))
                guard let next = page.nextAfter else { break }
                after = next
            }
            try await writer.write(ByteBuffer(string: "</D:multistatus>"))
            try await writer.finish(nil)
        }
        return Response(status: status, headers: [.contentType: "application/xml; charset=utf-8"], body: body)
    }

    static func xmlResponse(status: HTTPResponse.Status, _ xml: String) -> Response {
        let body = ByteBuffer(string: xml)
        return Response(
            status: status, headers: [.contentType: "application/xml; charset=utf-8", .contentLength: String(body.readableBytes)],
            body: .init(byteBuffer: body))
    }

    /// The request's body, bounded, or empty.
    static func xmlBody(_ request: Request, _ context: GatewayRequestContext) async throws -> DAVElement? {
        var request = request
        let bytes: ByteBuffer
        do {
            bytes = try await request.collectBody(upTo: DAVXML.maxBodyBytes)
        } catch {
            throw ProblemError(.contentTooLarge, detail: "The XML body may be at most \(DAVXML.maxBodyBytes / 1024) KiB.")
        }
        if bytes.readableBytes == 0 { return nil }
        do {
            return try DAVXML.parse(bytes)
        } catch DAVXML.Failure.malformed(let why) {
            throw ProblemError(.badRequest, detail: "The XML body is not accepted: \(why).")
        }
    }

    static func propfindQuery(_ request: Request, _ context: GatewayRequestContext) async throws -> DAVProperties.Query {
        guard let root = try await xmlBody(request, context) else { return .allprop }
        guard root.is(DAVXML.dav, "propfind") else { throw ProblemError(.badRequest, detail: "The body must be a DAV:propfind element.") }
        if root.child(DAVXML.dav, "propname") != nil { return .propname }
        if root.child(DAVXML.dav, "allprop") != nil { return .allprop }
        if let prop = root.child(DAVXML.dav, "prop") { return .named(prop.children.map { DAVProperties.Name($0.namespace, $0.name) }) }
        throw ProblemError(.badRequest, detail: "The propfind element must hold prop, allprop or propname.")
    }

    // MARK: - PROPPATCH

    /// Dead properties, set and removed in document order, all or nothing (RFC 4918 9.2). Live
    /// properties are protected: a PROPPATCH touching one changes nothing (403 for it, 424 for
    /// the rest).
    func proppatch(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session) async throws -> Response {
        try Self.refuseWrites(session)
        guard let root = try await Self.xmlBody(request, context) else { throw ProblemError(.badRequest, detail: "PROPPATCH needs a body.") }
        guard root.is(DAVXML.dav, "propertyupdate") else { throw ProblemError(.badRequest, detail: "The body must be a DAV:propertyupdate element.") }
        guard let item = try await lookup(path, session).item else { throw Self.notFound() }
        try await authorize(request, session, path, entry: item, writes: [(path, false)])
        var operations: [PropertyUpdate.Operation] = []
        var names: [DAVProperties.Name] = []
        for action in root.children where action.is(DAVXML.dav, "set") || action.is(DAVXML.dav, "remove") {
            for prop in action.children where prop.is(DAVXML.dav, "prop") {
                for property in prop.children {
                    let name = DAVProperties.Name(property.namespace, property.name)
                    names.append(name)
                    operations.append(
                        PropertyUpdate.Operation(
                            namespace: property.namespace, name: property.name, value: action.name == "set" ? property.innerXML() : nil))
                }
            }
        }
        let protected = names.filter(DAVProperties.isProtected)
        var statuses: [(DAVProperties.Name, Int)]
        if protected.isEmpty {
            let reply = try await call(
                .PATCH, "/internal/items/\(item.id.uuidString.lowercased())/properties", session, json: PropertyUpdate(operations: operations))
            guard reply.status == 204 else { throw RelayedReply(reply: reply) }
            statuses = names.map { ($0, 200) }
        } else {
            statuses = names.map { ($0, DAVProperties.isProtected($0) ? 403 : 424) }
        }
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\"><D:response>"
        xml += "<D:href>\(DAVXML.escape(path.href(folder: item.isFolder)))</D:href>"
        var seen = Set<DAVProperties.Name>()
        for (name, status) in statuses where seen.insert(name).inserted {
            xml += "<D:propstat><D:prop>\(DAVXML.open(name.namespace, name.name, empty: true))</D:prop>\(DAVXML.status(status))</D:propstat>"
        }
        xml += "</D:response></D:multistatus>"
        return Self.xmlResponse(status: HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status"), xml)
    }

    // MARK: - Locks

    /// The locks on `path`, on folders above it with depth infinity, and below it.
    func locks(at path: DAVPath, _ session: Session) async throws -> [DAVLock] {
        let reply = try await call(.GET, "/internal/locks?path=" + Self.queryEncode(path.plain), session)
        guard let list = try reply.decode(LockList.self) else { throw RelayedReply(reply: reply) }
        return list.locks
    }

    /// After a DELETE or MOVE: the source's locks end. Done after the change itself, so a
    /// failure here is logged, not answered (the locks then end at their timeout).
    func forgetLocks(_ path: DAVPath, _ session: Session, logger: Logger) async {
        let reply = try? await call(.DELETE, "/internal/locks?subtree=true&path=" + Self.queryEncode(path.plain), session)
        if reply?.status != 204 { logger.warning("locks of a deleted or moved path not released", metadata: ["status": "\(reply?.status ?? 0)"]) }
    }

    static func covers(_ lock: DAVLock, _ path: DAVPath) -> Bool {
        let root = lock.path.split(separator: "/").map(String.init)
        if root == path.segments { return true }
        return lock.depthInfinity && path.segments.count > root.count && Array(path.segments.prefix(root.count)) == root
    }

    static func isBelow(_ lock: DAVLock, _ path: DAVPath) -> Bool {
        let root = lock.path.split(separator: "/").map(String.init)
        return root.count > path.segments.count && Array(root.prefix(path.segments.count)) == path.segments
    }

    /// The `If` header must hold (412), and every lock bearing on what the request changes must
    /// have its token in it (423): `writes` are the paths changed, with `subtree` when what is
    /// below changes too (DELETE, MOVE); a folder's own lock guards its list of members.
    func authorize(_ request: Request, _ session: Session, _ path: DAVPath, entry: PathEntry?, writes: [(DAVPath, Bool)]) async throws {
        var submitted = Set<String>()
        if let raw = request.headers[HTTPField.Name("If")!] {
            let header: IfHeader
            do {
                header = try IfHeader.parse(raw)
            } catch {
                throw ProblemError(.badRequest, detail: "The If header is malformed (RFC 4918 10.4).")
            }
            submitted = header.tokens
            let holds = try await header.holds { resource in
                var target = path
                var item = entry
                if let resource {
                    guard let tagged = try? DAVPath(destination: resource) else { return IfHeader.State(tokens: [], etag: nil) }
                    target = tagged
                    item = try await lookup(tagged, session).item
                }
                let locks = try await self.locks(at: target, session).filter { Self.covers($0, target) }
                return IfHeader.State(tokens: Set(locks.map(\.token)), etag: item.flatMap(Self.etag))
            }
            if !holds { throw ProblemError(.preconditionFailed, detail: "The If header's conditions do not hold.") }
        }
        guard let first = writes.first?.0 else { return }
        // One call: the locks around the deepest folder all the changed paths share.
        var common = first.segments
        for (target, _) in writes.dropFirst() {
            common = Array(zip(common, target.segments).prefix { $0.0 == $0.1 }.map(\.0))
        }
        let locks = try await self.locks(at: DAVPath(segments: common), session)
        // One token per locked resource suffices (shared locks: any of them; RFC 4918 7.5): the
        // locks covering a target form one group, each locked resource below it another.
        for (target, subtree) in writes {
            var groups: [String: [DAVLock]] = [:]
            for lock in locks {
                if Self.covers(lock, target) {
                    groups["", default: []].append(lock)
                } else if subtree, Self.isBelow(lock, target) {
                    groups[lock.path, default: []].append(lock)
                }
            }
            for group in groups.values.sorted(by: { $0[0].path < $1[0].path }) where !group.contains(where: { submitted.contains($0.token) }) {
                let root = DAVPath(segments: group[0].path.split(separator: "/").map(String.init))
                throw DAVError(
                    status: 423, xml: "<D:lock-token-submitted><D:href>\(DAVXML.escape(root.href(folder: false)))</D:href></D:lock-token-submitted>")
            }
        }
    }

    /// LOCK: a new lock (a body with `lockinfo`), or a refresh (no body; the lock's token in `If`).
    /// A new lock on an unmapped path creates an empty file there (RFC 4918 7.3).
    func lock(_ path: DAVPath, _ request: Request, _ context: GatewayRequestContext, _ session: Session) async throws -> Response {
        try Self.refuseWrites(session)
        let timeout = DAVTimeout.seconds(request.headers[HTTPField.Name("Timeout")!])
        let found = try await lookup(path, session)
        guard let info = try await Self.xmlBody(request, context) else {
            guard let raw = request.headers[HTTPField.Name("If")!], let header = try? IfHeader.parse(raw),
                let token = header.tokens.first(where: { $0 != "DAV:no-lock" })
            else {
                throw ProblemError(.badRequest, detail: "A LOCK without a body refreshes a lock: name it in the If header.")
            }
            let reply = try await call(
                .POST, "/internal/locks/refresh", session, json: LockRefresh(token: token, path: path.plain, timeoutSeconds: timeout))
            guard let lock = try reply.decode(DAVLock.self) else { throw RelayedReply(reply: reply) }
            return Self.lockAnswer(lock, status: .ok)
        }
        guard info.is(DAVXML.dav, "lockinfo"), let scope = info.child(DAVXML.dav, "lockscope"),
            let type = info.child(DAVXML.dav, "locktype"), type.child(DAVXML.dav, "write") != nil
        else {
            throw ProblemError(.badRequest, detail: "The body must be a DAV:lockinfo with a lockscope and the write locktype.")
        }
        let exclusive = scope.child(DAVXML.dav, "exclusive") != nil
        guard exclusive || scope.child(DAVXML.dav, "shared") != nil else {
            throw ProblemError(.badRequest, detail: "The lockscope must be exclusive or shared.")
        }
        let depth = request.headers[HTTPField.Name("Depth")!]?.lowercased() ?? "infinity"
        guard depth == "0" || depth == "infinity" else { throw ProblemError(.badRequest, detail: "A lock has Depth 0 or infinity.") }
        if found.item == nil, found.parent == nil { throw ProblemError(.conflict, detail: "The folder to hold it does not exist.") }
        // A lock on an unmapped path adds a member to its folder: that folder's locks apply.
        try await authorize(request, session, path, entry: found.item, writes: found.item == nil ? [(path.parent, false)] : [])
        let owner = info.child(DAVXML.dav, "owner")?.innerXML() ?? ""
        let reply = try await call(
            .POST, "/internal/locks", session,
            json: LockRequest(path: path.plain, depthInfinity: depth == "infinity", exclusive: exclusive, owner: owner, timeoutSeconds: timeout))
        guard let lock = try reply.decode(DAVLock.self, status: 201) else {
            if reply.status == 423 {
                throw DAVError(
                    status: 423, xml: "<D:no-conflicting-lock><D:href>\(DAVXML.escape(path.href(folder: false)))</D:href></D:no-conflicting-lock>")
            }
            throw RelayedReply(reply: reply)
        }
        guard found.item == nil, let parent = found.parent else { return Self.lockAnswer(lock, status: .ok) }
        // An unmapped path: an empty file, created under the new lock.
        let body = ClientBody(RequestBody(buffer: ByteBuffer()))
        let stored = try await transfer.transfer(
            token: session.token, context: context, replacing: nil, folderID: parent.id.uuidString, name: path.name, declaredSize: 0, checksum: nil,
            body: body, clientBody: body, beforeCompleting: nil)
        guard stored.status == 201 else {
            _ = try? await call(.DELETE, "/internal/locks?token=\(Self.queryEncode(lock.token))&path=" + Self.queryEncode(path.plain), session)
            throw RelayedReply(reply: stored)
        }
        return Self.lockAnswer(lock, status: .created)
    }

    static func lockAnswer(_ lock: DAVLock, status: HTTPResponse.Status) -> Response {
        var response = xmlResponse(
            status: status,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>\(DAVProperties.activeLock(lock))</D:lockdiscovery></D:prop>"
        )
        response.headers[HTTPField.Name("Lock-Token")!] = "<\(lock.token)>"
        return response
    }

    func unlock(_ path: DAVPath, _ request: Request, _ session: Session) async throws -> Response {
        try Self.refuseWrites(session)
        guard let raw = request.headers[HTTPField.Name("Lock-Token")!]?.trimmingCharacters(in: .whitespaces), raw.hasPrefix("<"), raw.hasSuffix(">")
        else {
            throw ProblemError(.badRequest, detail: "UNLOCK needs a Lock-Token header (<token>).")
        }
        let token = String(raw.dropFirst().dropLast())
        let reply = try await call(.DELETE, "/internal/locks?token=\(Self.queryEncode(token))&path=" + Self.queryEncode(path.plain), session)
        guard reply.status == 204 else { throw RelayedReply(reply: reply) }
        return Response(status: .noContent)
    }
}

/// A WebDAV refusal with its `DAV:error` body (RFC 4918 16: preconditions); `handle` answers
/// with it as it is.
struct DAVError: Error {
    let code: Int
    let xml: String
    init(status: Int, xml: String) {
        code = status
        self.xml = xml
    }
    func response() -> Response {
        WebDAVEndpoint.xmlResponse(
            status: HTTPResponse.Status(code: code), "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\">\(xml)</D:error>")
    }
}

/// A peer's refusal, passed on to the WebDAV client as it is (its status and problem body) by
/// `handle`.
struct RelayedReply: Error {
    let reply: InternalReply
}
