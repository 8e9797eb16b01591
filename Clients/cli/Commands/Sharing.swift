import ArgumentParser
import Foundation
import NIOHTTP1

/// A share's role: a viewer reads, an editor also writes inside the shared item.
enum ShareRole: String, ExpressibleByArgument, CaseIterable, Sendable {
    case viewer
    case editor
}

/// `cirrus share PATH --with USER [--role viewer|editor]`.
struct ShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share a file or folder with another user.",
        discussion: """
            A share covers the item and everything below it, items added later included. A \
            viewer may read and download; an editor may also upload, create folders, rename, \
            move and trash inside it (not the shared item itself), on your quota. Sharing again \
            with the same user sets the new role. The other user finds it with `cirrus shared` \
            and reaches it as shared:/NAME/… or by id; `cirrus unshare` takes it back at once.
            """
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The remote file or folder.") var remote: String?
    @Option(help: "The item's id instead of a path.") var id: String?
    @Option(name: .customLong("with"), help: "The user to share with: a username or e-mail address.") var user: String
    @Option(help: "viewer (read only) or editor.") var role: ShareRole = .viewer

    func run() async throws {
        try await APIClient.session { api in
            let (item, label) = try await Resolver(api: api).item(path: remote, id: id)
            let share = try await api.fetch(Share.self, .POST, "\(item.route)/shares", json: ["user": user, "role": role.rawValue])
            if options.json { return Output.json(share.raw) }
            Output.line("Shared \(label) with \(share.value.recipient.username) as \(share.value.role)")
        }
    }
}

/// `cirrus unshare PATH --with USER` or `cirrus unshare PATH --all`.
struct UnshareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unshare",
        abstract: "Stop sharing a file or folder with a user, or with everyone.",
        discussion: "The user loses access at once. Exit code 3 when the item is not shared with that user."
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The remote file or folder.") var remote: String?
    @Option(help: "The item's id instead of a path.") var id: String?
    @Option(name: .customLong("with"), help: "The user's username (any case).") var user: String?
    @Flag(help: "Remove every share of the item.") var all = false

    func validate() throws {
        guard (user == nil) != !all else { throw ValidationError("Give --with USER or --all (one of them).") }
    }

    func run() async throws {
        struct Shares: Decodable, Sendable { let items: [Share] }
        try await APIClient.session { api in
            let (item, label) = try await Resolver(api: api).item(path: remote, id: id)
            let listed = try await api.fetch(Shares.self, .GET, "\(item.route)/shares")
            let raw = try JSONItems.split(pages: [listed.raw])
            let chosen = listed.value.items.indices.filter { index in
                all || listed.value.items[index].recipient.username.lowercased() == user?.lowercased()
            }
            if chosen.isEmpty, !all {
                throw CLIError.notFound("\(label) is not shared with \(user ?? "that user").")
            }
            var removed: [Data] = []
            for index in chosen {
                let share = listed.value.items[index]
                _ = try await api.call(.DELETE, "/v1/shares/\(APIClient.segment(share.id))")
                removed.append(raw[index])
                if !options.json { Output.line("Unshared \(label) with \(share.recipient.username)") }
            }
            if options.json { return Output.jsonItems(removed) }
            if chosen.isEmpty { Output.line("\(label) is not shared with anyone.") }
        }
    }
}

/// `cirrus shared`: what other users share with the caller.
struct SharedWithMe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shared",
        abstract: "List the files and folders other users share with you (every page).",
        discussion: """
            Newest first. Reach one as shared:/NAME/… (ls, get, get --zip, put, mkdir, mv, cp, \
            rm, as its role allows) or by --id ID. `cirrus ls shared:` lists the same.
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await APIClient.session { api in
            try await Self.show(resolver: Resolver(api: api), json: options.json)
        }
    }

    /// Prints the shares with the caller: a table, or `{"items": [Share…]}`.
    static func show(resolver: Resolver, json: Bool) async throws {
        let listing = try await resolver.sharedWithMe()
        if json { return Output.jsonItems(try JSONItems.split(pages: listing.pages)) }
        Output.table(
            [["NAME", "KIND", "OWNER", "ROLE", "ID"]]
                + listing.items.map { share in
                    [share.item.name + (share.item.isFolder ? "/" : ""), share.item.kind, share.owner.username, share.role, share.item.id]
                })
    }
}
