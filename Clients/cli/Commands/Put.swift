import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload a file, or a folder with everything in it.",
        discussion: """
            Each file is streamed from disk with its SHA-256 (computed first), which the server \
            checks before the file appears. New files of --resumable-from bytes or more (64 MiB by \
            default) go up as tus resumable uploads: if the connection drops the upload continues \
            from what the server holds, and if the command is interrupted, running it again \
            continues where it stopped. A file whose name is taken is left alone when its \
            content is the same, replaced with --replace (the old content stays as a version), \
            and otherwise a conflict (exit code 5). Uploading a folder reuses remote folders \
            that already exist; symbolic links inside it are skipped.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "A local file or folder.")
    var local: String

    @Argument(help: "The remote folder to upload into (default: /).")
    var remoteFolder: String?

    @Option(help: "The remote folder's id instead of a path.")
    var folderId: String?

    @Flag(help: "Upload a new version of files that already exist.")
    var replace = false

    @Option(help: "Send new files of this many bytes or more as resumable (tus) uploads.")
    var resumableFrom: Int64 = 64 << 20

    @Option(help: "Bytes per request of a resumable upload (smaller for proxies that limit request bodies).")
    var chunkSize: Int64 = 32 << 20

    func run() async throws {
        guard let info = try await LocalFiles.info(local) else { throw CLIError.notFound("\(local): no such local file or folder") }
        guard info.type == .regular || info.type == .directory else { throw CLIError("\(local) is not a regular file or folder.") }
        let results = try await APIClient.session { api in
            let resolver = Resolver(api: api)
            let folder: Item
            let place: String
            if let folderId {
                guard remoteFolder == nil else { throw CLIError.usage("Name the remote folder by a path or by --folder-id, not both.") }
                folder = try await resolver.item(id: folderId)
                place = folder.name
            } else {
                let path = RemotePath(remoteFolder ?? "/")
                folder = try await resolver.resolve(path)
                place = path.isRoot ? "" : path.description
            }
            guard folder.isFolder else { throw CLIError("\(place): not a folder") }
            var uploader = Uploader(
                api: api, resolver: resolver, replace: replace, quiet: options.json, resumableFrom: resumableFrom, chunkSize: chunkSize)
            let name = LocalFiles.name(of: local)
            if info.type == .directory {
                try await uploader.putFolder(local, name: name, into: folder, at: place)
            } else {
                let existing = try await resolver.child(named: name.precomposedStringWithCanonicalMapping, in: folder.id)
                try await uploader.putFile(local, size: info.size, name: name, into: folder, existing: existing, at: place)
            }
            return uploader.results
        }
        if options.json {
            if info.type == .regular, let only = results.first { return Output.json(only) }
            Output.jsonItems(results)
        }
    }
}

/// Uploads files and folder trees, one file at a time.
struct Uploader {
    let api: APIClient
    let resolver: Resolver
    let replace: Bool
    /// No text lines (for --json).
    let quiet: Bool
    /// New files of this size or more go up as resumable (tus) uploads, in requests of `chunkSize`.
    let resumableFrom: Int64
    let chunkSize: Int64
    /// The JSON of every file uploaded or found unchanged.
    private(set) var results: [Data] = []

    init(api: APIClient, resolver: Resolver, replace: Bool, quiet: Bool, resumableFrom: Int64 = 64 << 20, chunkSize: Int64 = 32 << 20) {
        self.api = api
        self.resolver = resolver
        self.replace = replace
        self.quiet = quiet
        self.resumableFrom = resumableFrom
        self.chunkSize = chunkSize
    }

    /// Uploads local folder `path` as `name` inside `parent` (reusing a remote folder of that name).
    mutating func putFolder(_ path: String, name: String, into parent: Item, at place: String) async throws {
        let remote = "\(place)/\(name)"
        let folder: Item
        if let existing = try await resolver.child(named: name.precomposedStringWithCanonicalMapping, in: parent.id) {
            guard existing.isFolder else { throw CLIError.conflict("\(remote) exists and is not a folder.") }
            folder = existing
        } else {
            folder = try await MakeFolder.create(name, in: parent.id, api: api).value
            if !quiet { Output.line("created \(remote)/") }
        }

        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw CLIError("Cannot read the folder \(path): \(error.localizedDescription)")
        }
        var existing: [String: Item] = [:]
        for item in try await resolver.children(of: folder.id).items {
            existing[item.name.precomposedStringWithCanonicalMapping] = item
        }
        for entry in entries {
            let child = "\(path)/\(entry)"
            guard let info = try await LocalFiles.info(child, followLinks: false) else { continue }
            switch info.type {
            case .directory:
                try await putFolder(child, name: entry, into: folder, at: remote)
            case .regular:
                let match = existing[entry.precomposedStringWithCanonicalMapping]
                try await putFile(child, size: info.size, name: entry, into: folder, existing: match, at: remote)
            default:
                Output.error("cirrus: skipping \(child): not a regular file or folder")
            }
        }
    }

    /// Uploads one file as `name` in `folder`, where `existing` is the item already called so.
    mutating func putFile(_ path: String, size: Int64, name: String, into folder: Item, existing: Item?, at place: String) async throws {
        let remote = "\(place)/\(name)"
        if let existing, existing.isFolder { throw CLIError.conflict("\(remote) is a folder.") }
        let sha256 = try await LocalFiles.sha256(of: path, size: size, label: name)
        let result: Fetched<Item>
        if let existing {
            if existing.sha256 == sha256, existing.size == size {
                results.append(try await api.call(.GET, existing.route))
                if !quiet { Output.line("unchanged \(remote)") }
                return
            }
            guard replace else {
                throw CLIError.conflict("\(remote) already exists with other content; --replace uploads it as a new version.")
            }
            result = try await upload(
                path, size: size, sha256: sha256, label: name,
                method: .PUT, route: "/v1/files/\(existing.id)/content", query: [])
        } else if size >= resumableFrom {
            result = try await ResumableUpload(
                api: api, path: path, size: size, sha256: sha256, folderID: folder.id, name: name, quiet: quiet, chunk: max(chunkSize, 1)
            ).run()
        } else {
            result = try await upload(
                path, size: size, sha256: sha256, label: name,
                method: .POST, route: "/v1/files", query: [("folder_id", folder.id), ("name", name)])
        }
        guard result.value.sha256 == sha256, result.value.size == size else {
            throw CLIError("The server stored \(remote) with another size or checksum than sent.")
        }
        results.append(result.raw)
        if !quiet {
            let verb = existing == nil ? "uploaded" : "replaced"
            Output.line("\(verb) \(path) → \(remote) (\(Output.bytes(size)), sha256 verified)")
        }
    }

    /// Streams the file as the raw request body, never holding it in memory.
    private func upload(
        _ path: String, size: Int64, sha256: String, label: String,
        method: HTTPMethod, route: String, query: [(String, String)]
    ) async throws -> Fetched<Item> {
        do {
            return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                let progress = Progress.start(label, total: size)
                defer { progress?.finish() }
                let response = try await api.request(
                    method, route, query: query,
                    headers: [("Content-Type", "application/octet-stream"), ("X-Content-SHA256", sha256)],
                    body: {
                        let chunks = handle.readChunks(in: 0..<size, chunkLength: .kibibytes(256)).map { chunk in
                            progress?.advance(by: chunk.readableBytes)
                            return chunk
                        }
                        return .stream(chunks, length: .known(size))
                    },
                    timeout: .hours(48)
                )
                let data = try await APIClient.collect(response)
                return Fetched(value: try APIClient.decode(Item.self, from: data), raw: data)
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("Cannot upload \(path): \(error)")
        }
    }
}
