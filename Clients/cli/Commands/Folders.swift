import ArgumentParser
import Foundation
import NIOHTTP1

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List a folder (every page), or show one file.",
        discussion: "`cirrus ls shared:` lists what other users share with you, like `cirrus shared`."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "A remote folder or file (default: /).")
    var path: String?

    @Option(help: "The folder or file's id instead of a path.")
    var id: String?

    @Flag(name: [.short, .long], help: "Show ids and content types too.")
    var long = false

    func run() async throws {
        try await APIClient.session { api in
            let resolver = Resolver(api: api)
            if id == nil, let path, RemotePath(path).isShared, RemotePath(path).isRoot {
                // `ls shared:`: what others share with you, as `cirrus shared` shows it.
                return try await SharedWithMe.show(resolver: resolver, json: options.json)
            }
            let item =
                id == nil
                ? try await resolver.resolve(RemotePath(path ?? "/"))
                : try await resolver.item(path: path, id: id).item
            guard item.isFolder else {
                if options.json {
                    return Output.json(try await api.call(.GET, item.route))
                }
                return show([item])
            }
            let listing = try await resolver.children(of: item.id, query: [("sort", "name")])
            if options.json { return Output.jsonItems(try JSONItems.split(pages: listing.pages)) }
            show(listing.items)
        }
    }

    private func show(_ items: [Item]) {
        Output.table(
            items.map { item in
                var row = [item.isFolder ? "d" : "-", item.size.map(Output.bytes) ?? "-", Output.date(item.updatedAt)]
                if long { row += [item.id, item.contentType ?? "-"] }
                return row + [item.name + (item.isFolder ? "/" : "")]
            })
    }
}

struct MakeFolder: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Create a folder.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The remote folder to create, e.g. /Photos/2026.")
    var path: String

    @Flag(name: [.short, .long], help: "Create missing parents too; an existing folder is not an error.")
    var parents = false

    func run() async throws {
        let remote = RemotePath(path)
        guard let name = remote.name else { throw CLIError.conflict("/ always exists.") }
        let folder = try await APIClient.session { api in
            let resolver = Resolver(api: api)
            if parents { return try await Self.ensureFolder(remote, resolver: resolver) }
            let parent = try await resolver.folder(remote.parent)
            return try await Self.create(name, in: parent.id, api: api)
        }
        if options.json { return Output.json(folder.raw) }
        Output.line("created \(remote)")
    }

    /// The folder at `path`, created with its missing parents (`mkdir -p`).
    static func ensureFolder(_ path: RemotePath, resolver: Resolver) async throws -> Fetched<Item> {
        var folderID = try await resolver.rootID()
        var created: Fetched<Item>?
        var walked = RemotePath("/")
        var names = path.components[...]
        if path.isShared {
            // The shared item itself must exist (only its owner shares it); below it, folders
            // are created as anywhere else (the share's role decides).
            guard let first = names.popFirst() else { throw CLIError.usage("Name a folder under \(RemotePath.sharedPrefix)/.") }
            walked = RemotePath(RemotePath.sharedPrefix).appending(first)
            folderID = try await resolver.folder(walked).id
        }
        for name in names {
            walked = walked.appending(name)
            if let existing = try await resolver.child(named: name, in: folderID) {
                guard existing.isFolder else { throw CLIError.conflict("\(walked) exists and is not a folder.") }
                folderID = existing.id
                created = nil
            } else {
                let new = try await create(name, in: folderID, api: resolver.api)
                folderID = new.value.id
                created = new
            }
        }
        if let created { return created }
        return try await resolver.api.fetch(Item.self, .GET, "/v1/folders/\(folderID)")
    }

    static func create(_ name: String, in parentID: String, api: APIClient) async throws -> Fetched<Item> {
        try await api.fetch(Item.self, .POST, "/v1/folders", json: ["name": name, "parent_id": parentID])
    }
}
