import ArgumentParser
import Foundation
import NIOHTTP1

/// `cirrus link`: public links (to a file or folder, optionally with a password and an expiry;
/// `--list`, `--revoke ID`), and with `--expires-in` the tier's expiring links to a file or
/// one of its thumbnails.
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Create a public link to a file or folder and print its URL; list or revoke your links.",
        discussion: """
            A public link lets anyone with the URL see and download the item without an \
            account: a folder with everything below it, also as a ZIP. It needs a tier with \
            links to originals. --password sets a password the visitor must give (header \
            X-Link-Password, or the form field password); --password-stdin (or --password -) \
            reads it from the first line of standard input, which keeps it out of the process \
            list. --expires ends the link after that many seconds (the tier must allow \
            expiring links, within its bounds); without it the link lasts until revoked.

            `cirrus link --list` shows your public links (with their downloads), \
            `cirrus link --revoke ID` ends one.

            With --expires-in SECONDS instead, an expiring download link to a file (or with \
            --thumbnail HEIGHT to one of its thumbnails) is made: it cannot be listed or revoked.
            """
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The remote file or folder.") var remote: String?
    @Option(help: "The item's id instead of a path.") var id: String?
    @Option(help: "A password for the public link (8 to 72 bytes; - reads it from standard input).") var password: String?
    @Flag(help: "Read the public link's password from the first line of standard input.") var passwordStdin = false
    @Option(help: "The public link ends after this many seconds (default: never).") var expires: Int?
    @Flag(help: "List your public links.") var list = false
    @Option(help: "Revoke the public link with this id (see --list).") var revoke: String?
    @Option(help: "An expiring link to a file instead: its lifetime in seconds (within the tier's bounds).") var expiresIn: Int?
    @Option(help: "With --expires-in: link to the thumbnail of this height instead of the original.") var thumbnail: Int?

    private var namesItem: Bool { remote != nil || id != nil }
    private var publicOptions: Bool { password != nil || passwordStdin || expires != nil }

    func validate() throws {
        if list || revoke != nil {
            guard !(list && revoke != nil), !namesItem, !publicOptions, expiresIn == nil, thumbnail == nil else {
                throw ValidationError("--list and --revoke ID take no other arguments.")
            }
            return
        }
        guard namesItem else { throw ValidationError("Name the file or folder to link to (or give --list or --revoke ID).") }
        if expiresIn != nil {
            guard !publicOptions else {
                throw ValidationError("--expires-in makes an expiring link, which takes no --password or --expires (those are for public links).")
            }
        } else if thumbnail != nil {
            throw ValidationError("--thumbnail needs --expires-in.")
        }
        if passwordStdin, password != nil { throw ValidationError("Give --password or --password-stdin, not both.") }
    }

    func run() async throws {
        if list { return try await listLinks() }
        if let revoke { return try await revokeLink(revoke) }
        if let expiresIn { return try await expiringLink(expiresIn) }
        try await publicLink()
    }

    /// `POST /v1/public-links`.
    private func publicLink() async throws {
        let secret: String?
        if passwordStdin || password == "-" {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CLIError.usage("No password on standard input.")
            }
            secret = line
        } else {
            secret = password
        }
        try await APIClient.session { api in
            let (item, _) = try await Resolver(api: api).item(path: remote, id: id)
            var body: [String: Any] = ["item_id": item.id]
            if let secret { body["password"] = secret }
            if let expires { body["expires_in"] = expires }
            let link = try await api.fetch(PublicLink.self, .POST, "/v1/public-links", json: body)
            if options.json { return Output.json(link.raw) }
            Output.line(Self.url(of: link.value, server: api.config.server))
        }
    }

    /// `GET /v1/public-links`: the caller's links, newest first.
    private func listLinks() async throws {
        struct Links: Decodable, Sendable { let items: [PublicLink] }
        let (listed, server) = try await APIClient.session { api in
            let fetched = try await api.fetch(Links.self, .GET, "/v1/public-links")
            return (fetched, api.config.server)
        }
        if options.json { return Output.json(listed.raw) }
        Output.table(
            [["ID", "URL", "PASSWORD", "EXPIRES", "DOWNLOADS", "NAME"]]
                + listed.value.items.map { link in
                    [
                        link.id, Self.url(of: link, server: server), Output.yesNo(link.hasPassword),
                        link.expiresAt.map { Output.date($0) } ?? "never", String(link.downloads),
                        link.item.name + (link.item.kind == "folder" ? "/" : ""),
                    ]
                })
    }

    /// `DELETE /v1/public-links/{id}`.
    private func revokeLink(_ linkID: String) async throws {
        try await APIClient.session { api in
            _ = try await api.call(.DELETE, "/v1/public-links/\(APIClient.segment(linkID))")
        }
        if options.json { return Output.json(Data(#"{"revoked":true}"#.utf8)) }
        Output.line("revoked \(linkID)")
    }

    /// `POST /v1/files/{id}/links`: an expiring link to a file's original or thumbnail.
    private func expiringLink(_ seconds: Int) async throws {
        try await APIClient.session { api in
            let (file, label) = try await Resolver(api: api).item(path: remote, id: id)
            guard !file.isFolder else { throw CLIError("\(label) is a folder; expiring links are to files (a public link can be to a folder).") }
            var body: [String: Any] = ["variant": thumbnail == nil ? "original" : "thumbnail", "expires_in": seconds]
            if let thumbnail { body["size"] = thumbnail }
            let link = try await api.fetch(Link.self, .POST, "/v1/files/\(file.id)/links", json: body)
            if options.json { return Output.json(link.raw) }
            Output.line(link.value.url)
        }
    }

    /// The link's URL from the gateway, else the server's URL and the link's path.
    static func url(of link: PublicLink, server: String) -> String {
        link.url ?? server + link.path
    }
}
