import Foundation
import NIOHTTP1

/// A remote path, from the root folder: `/Photos/2026/a.jpg` (the leading `/` is optional;
/// `.` and empty segments are ignored, `..` goes up). A path written `shared:NAME/…` starts
/// instead at NAME, an item another user shares with you (`cirrus shared` lists them); a
/// folder of your own called `shared:…` is reached with a leading `/`.
struct RemotePath: CustomStringConvertible, Sendable {
    static let sharedPrefix = "shared:"

    let components: [String]
    /// Written with a trailing `/`: it must name a folder.
    let mustBeFolder: Bool
    /// Starts at the items shared with you (`shared:`), not at your root folder.
    let isShared: Bool

    init(_ text: String) {
        let shared = text.hasPrefix(Self.sharedPrefix)
        let body = shared ? text.dropFirst(Self.sharedPrefix.count) : Substring(text)
        var parts: [String] = []
        for part in body.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(String(part).precomposedStringWithCanonicalMapping)  // names are NFC
            }
        }
        components = parts
        mustBeFolder = body.hasSuffix("/") && !parts.isEmpty
        isShared = shared
    }

    private init(components: [String], isShared: Bool) {
        self.components = components
        mustBeFolder = false
        self.isShared = isShared
    }

    /// Your root folder (`/`), or `shared:` itself (not an item: the list of shared items).
    var isRoot: Bool { components.isEmpty }
    var name: String? { components.last }
    var parent: RemotePath { RemotePath(components: Array(components.dropLast()), isShared: isShared) }
    func appending(_ name: String) -> RemotePath { RemotePath(components: components + [name], isShared: isShared) }
    var description: String { (isShared ? Self.sharedPrefix : "") + "/" + components.joined(separator: "/") }
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
        guard let first = path.components.first else {
            if path.isShared {
                throw CLIError.usage(
                    "\(RemotePath.sharedPrefix) alone names no item: write \(RemotePath.sharedPrefix)/NAME/…, or list what is shared with you with `cirrus shared`."
                )
            }
            return try await root()
        }
        let top: Item?
        if path.isShared {
            top = try await sharedItem(named: first)
        } else {
            top = try await child(named: first, in: try await rootID())
        }
        guard var item = top else { return nil }
        for name in path.components.dropFirst() {
            guard item.isFolder else { return nil }
            guard let next = try await child(named: name, in: item.id) else { return nil }
            item = next
        }
        return item
    }

    /// Every share with the caller, newest first (all pages).
    func sharedWithMe() async throws -> (items: [Share], pages: [Data]) {
        try await api.pages(Share.self, "/v1/shared-with-me", query: [("limit", String(min(APIClient.pageSize, 1000)))])
    }

    /// The item shared with the caller that is named exactly `name` (`shared:/NAME`); nil when
    /// none is. Two users may share items of the same name: then the path is ambiguous.
    func sharedItem(named name: String) async throws -> Item? {
        let matches = try await sharedWithMe().items.filter { $0.item.name.precomposedStringWithCanonicalMapping == name }
        guard matches.count <= 1 else {
            let listed = matches.map { "\($0.item.id) (from \($0.owner.username))" }.joined(separator: ", ")
            throw CLIError("\(RemotePath.sharedPrefix)/\(name) names several items shared with you: \(listed). Name one with --id.")
        }
        return matches.first?.item
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
