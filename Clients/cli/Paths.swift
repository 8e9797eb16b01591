import Foundation
import NIOHTTP1

/// A remote path, always from the root folder: `/Photos/2026/a.jpg` (the leading `/` is
/// optional; `.` and empty segments are ignored, `..` goes up).
struct RemotePath: CustomStringConvertible, Sendable {
    let components: [String]
    /// Written with a trailing `/`: it must name a folder.
    let mustBeFolder: Bool

    init(_ text: String) {
        var parts: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(String(part).precomposedStringWithCanonicalMapping)  // names are NFC
            }
        }
        components = parts
        mustBeFolder = text.hasSuffix("/") && !parts.isEmpty
    }

    private init(components: [String]) {
        self.components = components
        mustBeFolder = false
    }

    var isRoot: Bool { components.isEmpty }
    var name: String? { components.last }
    var parent: RemotePath { RemotePath(components: Array(components.dropLast())) }
    func appending(_ name: String) -> RemotePath { RemotePath(components: components + [name]) }
    var description: String { "/" + components.joined(separator: "/") }
}

/// Finds items by path (name by name from the root folder) or by id.
struct Resolver {
    let api: APIClient

    func root() async throws -> Item {
        try await api.fetch(Item.self, .GET, "/v1/folders/root").value
    }

    /// The root folder's id, remembered since login.
    func rootID() async throws -> String {
        if let id = api.config.rootFolderId { return id }
        return try await root().id
    }

    /// Every live item of a folder (all pages).
    func children(of folderID: String, query: [(String, String)] = []) async throws -> (items: [Item], pages: [Data]) {
        try await api.pages(Item.self, "/v1/folders/\(folderID)/children", query: query + [("limit", String(APIClient.pageSize))])
    }

    /// The folder's item named exactly `name`, if any. The API filters by "name contains"
    /// (case-insensitive), so the exact match is picked here.
    func child(named name: String, in folderID: String) async throws -> Item? {
        let candidates = try await children(of: folderID, query: [("q", name)]).items
        return candidates.first { $0.name.precomposedStringWithCanonicalMapping == name }
    }

    /// The item at `path`, or nil when some part of it does not exist.
    func lookup(_ path: RemotePath) async throws -> Item? {
        guard let first = path.components.first else { return try await root() }
        guard var item = try await child(named: first, in: try await rootID()) else { return nil }
        for name in path.components.dropFirst() {
            guard item.isFolder else { return nil }
            guard let next = try await child(named: name, in: item.id) else { return nil }
            item = next
        }
        return item
    }

    /// The item at `path`; a missing one is a not-found error (exit code 3).
    func resolve(_ path: RemotePath) async throws -> Item {
        guard let item = try await lookup(path) else { throw CLIError.notFound("\(path): no such file or folder") }
        if path.mustBeFolder, !item.isFolder { throw CLIError("\(path): not a folder") }
        return item
    }

    /// The folder at `path`.
    func folder(_ path: RemotePath) async throws -> Item {
        let item = try await resolve(path)
        guard item.isFolder else { throw CLIError("\(path): not a folder") }
        return item
    }

    /// The item with this id: a file, else a folder.
    func item(id: String) async throws -> Item {
        let segment = APIClient.segment(id)
        do {
            return try await api.fetch(Item.self, .GET, "/v1/files/\(segment)").value
        } catch let error as CLIError where error.status == .notFound {
            do {
                return try await api.fetch(Item.self, .GET, "/v1/folders/\(segment)").value
            } catch let error as CLIError where error.status == .notFound {
                throw CLIError.notFound("No file or folder has the id \(id).")
            }
        }
    }

    /// The item named by a path argument or by `--id` (exactly one of them).
    func item(path: String?, id: String?) async throws -> (item: Item, label: String) {
        switch (path, id) {
        case (let path?, nil):
            let remote = RemotePath(path)
            return (try await resolve(remote), remote.description)
        case (nil, let id?):
            return (try await item(id: id), id)
        default:
            throw CLIError.usage("Name the item by a remote path or by --id, not both.")
        }
    }

    /// Where a move or copy of an item called `name` to `destination` lands: into it when it
    /// is a folder, else under its parent with its last name (`mv /a.txt /b.txt` renames).
    func destination(_ destination: RemotePath, name: String) async throws -> (folder: Item, name: String) {
        if let existing = try await lookup(destination) {
            guard existing.isFolder else { throw CLIError.conflict("\(destination) already exists.") }
            return (existing, name)
        }
        guard let newName = destination.name, !destination.mustBeFolder else {
            throw CLIError.notFound("\(destination): no such folder")
        }
        return (try await folder(destination.parent), newName)
    }
}
