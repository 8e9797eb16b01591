import ArgumentParser
import Foundation
import NIOHTTP1

/// SOURCE and DEST, where `--id` takes SOURCE's place (then the one argument is DEST).
private func operands(_ first: String?, _ second: String?, id: String?) throws -> (source: String?, destination: String) {
    switch (first, second, id) {
    case (let source?, let destination?, nil): return (source, destination)
    case (let destination?, nil, _?): return (nil, destination)
    default: throw CLIError.usage("Give SOURCE DEST, or --id ID DEST.")
    }
}

private func sameID(_ a: String?, _ b: String?) -> Bool {
    a?.lowercased() == b?.lowercased()
}

struct Move: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mv",
        abstract: "Move or rename a file or folder.",
        discussion: "Into DEST when it is a folder; otherwise DEST is the new path and name."
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The remote file or folder.") var source: String?
    @Argument(help: "A remote folder to move into, or the new path.") var destination: String?
    @Option(help: "The item's id instead of SOURCE.") var id: String?

    func run() async throws {
        let (source, destination) = try operands(source, destination, id: id)
        try await APIClient.session { api in
            let resolver = Resolver(api: api)
            let (item, label) = try await resolver.item(path: source, id: id)
            // (An item shared with you has no parent_id either: the server decides about it.)
            let rootID = try await resolver.rootID()
            guard !sameID(item.id, rootID) else { throw CLIError("The root folder cannot be moved.") }
            let target = try await resolver.destination(RemotePath(destination), name: item.name)
            var changes: [String: Any] = [:]
            if target.name != item.name { changes["name"] = target.name }
            if !sameID(target.folder.id, item.parentId) { changes["parent_id"] = target.folder.id }
            let moved =
                changes.isEmpty
                ? try await api.call(.GET, item.route)
                : try await api.call(.PATCH, item.route, json: changes)
            if options.json { return Output.json(moved) }
            Output.line(changes.isEmpty ? "\(label) is already there" : "moved \(label) → \(destination)")
        }
    }
}

struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy a file (no bytes are duplicated on the server).",
        discussion: "Into DEST when it is a folder; otherwise DEST is the copy's path and name."
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The remote file.") var source: String?
    @Argument(help: "A remote folder to copy into, or the copy's path.") var destination: String?
    @Option(help: "The file's id instead of SOURCE.") var id: String?

    func run() async throws {
        let (source, destination) = try operands(source, destination, id: id)
        try await APIClient.session { api in
            let resolver = Resolver(api: api)
            let (item, label) = try await resolver.item(path: source, id: id)
            guard !item.isFolder else { throw CLIError("\(label) is a folder; only files can be copied.") }
            let target = try await resolver.destination(RemotePath(destination), name: item.name)
            let copy = try await api.fetch(
                Item.self, .POST, "/v1/files/\(item.id)/copy",
                json: ["parent_id": target.folder.id, "name": target.name])
            if options.json { return Output.json(copy.raw) }
            Output.line("copied \(label) → \(destination) (id \(copy.value.id))")
        }
    }
}

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Move files or folders (with their content) to the trash.",
        discussion: "`cirrus trash` lists the trash, `cirrus restore ID` brings an item back."
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "Remote files or folders.") var paths: [String] = []
    @Option(name: .customLong("id"), help: "An item's id (repeatable).") var ids: [String] = []

    func run() async throws {
        guard !paths.isEmpty || !ids.isEmpty else { throw CLIError.usage("Name what to remove.") }
        try await APIClient.session { api in
            let resolver = Resolver(api: api)
            var removed: [Data] = []
            for (path, id) in paths.map({ ($0 as String?, nil as String?) }) + ids.map({ (nil, $0) }) {
                let (item, label) = try await resolver.item(path: path, id: id)
                let rootID = try await resolver.rootID()
                guard !sameID(item.id, rootID) else { throw CLIError("The root folder cannot be removed.") }
                if options.json { removed.append(try await api.call(.GET, item.route)) }
                _ = try await api.call(.DELETE, item.route)
                if !options.json { Output.line("trashed \(label) (id \(item.id))") }
            }
            if options.json { Output.jsonItems(removed) }
        }
    }
}
