import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a file (an interrupted download resumes), or a folder as a ZIP.",
        discussion: """
            The bytes go to LOCAL.cirrus-part first. Running the same command after an \
            interruption continues where it stopped (Range with If-Range, so a file replaced \
            meanwhile starts over). The size and SHA-256 are checked against the server's \
            before the file takes its name; an existing LOCAL is overwritten.

            With --zip the remote is a folder: everything in it (empty folders too, not what \
            is in the trash) arrives as one ZIP archive, by default ./<folder name>.zip \
            (cirrus.zip for /). It is streamed to LOCAL.cirrus-part and renamed when complete; \
            an interrupted ZIP download starts over.

            A file or folder shared with you is reached as shared:/NAME/… or by --id.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The remote file (with --zip: the remote folder).")
    var remote: String?

    @Argument(help: "A local file name or an existing folder (default: the remote name, here).")
    var local: String?

    @Option(help: "The file's id instead of a path (then the one argument is LOCAL).")
    var id: String?

    @Flag(help: "Download a folder as a ZIP archive.")
    var zip = false

    func run() async throws {
        var remote = remote
        var local = local
        if id != nil, local == nil {
            local = remote
            remote = nil
        }
        try await APIClient.session { api in
            let resolver = Resolver(api: api)
            let (found, label) = try await resolver.item(path: remote, id: id)
            if zip { return try await Self.downloadZip(found, label: label, to: local, resolver: resolver, json: options.json) }
            guard !found.isFolder else { throw CLIError("\(label) is a folder; get downloads files (get --zip downloads a folder as a ZIP).") }
            let file = try await api.fetch(Item.self, .GET, "/v1/files/\(found.id)")
            guard let size = file.value.size, let sha256 = file.value.sha256 else {
                throw CLIError("\(label) has no content yet.")
            }
            let destination = try await Self.destination(local, name: file.value.name)
            let download = Download(
                api: api, fileID: found.id, size: size, sha256: sha256,
                partial: destination + ".cirrus-part", label: file.value.name)
            try await download.run()
            guard rename(download.partial, destination) == 0 else {
                throw CLIError("Cannot rename \(download.partial) to \(destination): \(String(cString: strerror(errno)))")
            }
            if options.json { return Output.json(file.raw) }
            Output.line("downloaded \(label) → \(destination) (\(Output.bytes(size)), sha256 verified)")
        }
    }

    /// `get --zip`: the folder's ZIP (`GET /v1/folders/{id}/zip`, streamed without a length)
    /// into `<destination>.cirrus-part`, renamed once the archive is complete.
    static func downloadZip(_ folder: Item, label: String, to local: String?, resolver: Resolver, json: Bool) async throws {
        let api = resolver.api
        guard folder.isFolder else { throw CLIError("\(label) is a file; get --zip downloads folders.") }
        let rootID = try await resolver.rootID()
        let isRoot = folder.id.lowercased() == rootID.lowercased()
        let name = isRoot ? "cirrus.zip" : folder.name.replacingOccurrences(of: "/", with: "_") + ".zip"
        let destination = try await Self.destination(local, name: name)
        let partial = destination + ".cirrus-part"
        let response = try await api.request(.GET, "/v1/folders/\(folder.id)/zip", timeout: .hours(48))
        let total = response.headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0
        let size: Int64
        do {
            size = try await Download.write(response, to: partial, from: 0, total: total, label: name, resumable: false)
            guard try ZipCheck.isComplete(partial, size: size) else {
                throw CLIError("The ZIP of \(label) arrived incomplete (no end record); run the same command again.", status: .unavailable)
            }
        } catch {
            unlink(partial)  // a ZIP is not resumed: nothing half-done is kept
            throw error
        }
        guard rename(partial, destination) == 0 else {
            throw CLIError("Cannot rename \(partial) to \(destination): \(String(cString: strerror(errno)))")
        }
        if json { return Output.json(try await api.call(.GET, "/v1/folders/\(folder.id)")) }
        Output.line("downloaded \(label) → \(destination) (ZIP, \(Output.bytes(size)))")
    }

    /// LOCAL, LOCAL/name when it is a folder, or ./name.
    static func destination(_ local: String?, name: String) async throws -> String {
        guard let local else { return name }
        if try await LocalFiles.info(local)?.type == .directory {
            return (local.hasSuffix("/") ? String(local.dropLast()) : local) + "/" + name
        }
        if local.hasSuffix("/") { throw CLIError.notFound("\(local): no such local folder") }
        return local
    }
}

/// One file's download into its `.cirrus-part` file, resumed from what is there already.
struct Download {
    let api: APIClient
    let fileID: String
    let size: Int64
    let sha256: String
    let partial: String
    let label: String

    /// Downloads what is missing and verifies the whole file; a resumed file that does not
    /// verify is downloaded once more from the start.
    func run() async throws {
        var have = try await LocalFiles.info(partial)?.size ?? 0
        if have > size { have = 0 }
        if have > 0 {
            Output.error("cirrus: resuming \(label) at byte \(have) of \(size)")
        }
        try await fetch(from: have)
        if try await verified() { return }
        if have > 0 {
            Output.error("cirrus: the resumed file did not verify; downloading \(label) again from the start")
            try await fetch(from: 0)
            if try await verified() { return }
        }
        unlink(partial)
        throw CLIError("The bytes received for \(label) do not match its size and SHA-256; nothing was kept.")
    }

    private func verified() async throws -> Bool {
        guard try await LocalFiles.info(partial)?.size == size else { return false }
        return try await LocalFiles.sha256(of: partial, size: size, label: label) == sha256
    }

    private func fetch(from offset: Int64) async throws {
        if offset > 0, offset == size { return }  // complete already: only the check is left
        var headers: [(String, String)] = []
        if offset > 0 {
            // The ETag is the content's SHA-256: a file replaced since answers 200 with all of it.
            headers = [("Range", "bytes=\(offset)-"), ("If-Range", "\"\(sha256)\"")]
        }
        let response: HTTPClientResponse
        do {
            response = try await api.request(.GET, "/v1/files/\(fileID)/content", headers: headers, timeout: .hours(48))
        } catch let error as CLIError where error.httpStatus == 416 && offset > 0 {
            return try await fetch(from: 0)
        }
        var start: Int64 = 0
        if response.status == .partialContent {
            let range = response.headers.first(name: "Content-Range") ?? ""
            guard range.hasPrefix("bytes \(offset)-") else {
                throw CLIError("The server sent another range (\(range)) than asked for (from byte \(offset)).")
            }
            start = offset
        } else if offset > 0 {
            Output.error("cirrus: the server sent all of \(label) (it changed meanwhile); starting over")
        }
        try await Self.write(response, to: partial, from: start, total: size, label: label, resumable: true)
    }

    /// Writes an answer's body into `path` from byte `start` (0: the file is emptied first),
    /// with a progress bar (`total` 0: the size is not known); returns the bytes written.
    /// `get` of a file and `get --zip` of a folder both stream through here.
    @discardableResult
    static func write(
        _ response: HTTPClientResponse, to path: String, from start: Int64, total: Int64, label: String, resumable: Bool
    ) async throws -> Int64 {
        try await FileSystem.shared.withFileHandle(
            forWritingAt: FilePath(path), options: .modifyFile(createIfNecessary: true)
        ) { handle in
            if start == 0 { try await handle.resize(to: .bytes(0)) }
            var writer = handle.bufferedWriter(startingAtAbsoluteOffset: start, capacity: .mebibytes(1))
            let progress = Progress.start(label, total: total, startingAt: start)
            defer { progress?.finish() }
            var written: Int64 = 0
            do {
                for try await chunk in response.body {
                    try await writer.write(contentsOf: chunk)
                    written += Int64(chunk.readableBytes)
                    progress?.advance(by: chunk.readableBytes)
                }
            } catch let error as FileSystemError {
                throw CLIError("Cannot write \(path): \(error)")
            } catch {
                try? await writer.flush()
                let hint = resumable ? "run the same command again to resume" : "run the same command again"
                throw CLIError("The download of \(label) broke off (\(error)); \(hint).", status: .unavailable)
            }
            try await writer.flush()
            return written
        }
    }
}

/// Whether a downloaded ZIP ends with its end-of-central-directory record. The gateway ends
/// the answer without the archive's end records when a file's read fails half-way
/// (docs/sharing.md): the HTTP answer itself then looks complete.
enum ZipCheck {
    static func isComplete(_ path: String, size: Int64) throws -> Bool {
        let record = 22  // the end record without a comment; a comment may follow, up to 65535 bytes
        guard size >= Int64(record) else { return false }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError("Cannot read \(path).") }
        defer { try? handle.close() }
        let tail = min(size, Int64(record + 0xFFFF))
        try handle.seek(toOffset: UInt64(size - tail))
        let bytes = [UInt8](try handle.readToEnd() ?? Data())
        guard bytes.count == Int(tail) else { return false }
        var index = bytes.count - record
        while index >= 0 {
            if bytes[index] == 0x50, bytes[index + 1] == 0x4B, bytes[index + 2] == 0x05, bytes[index + 3] == 0x06 {
                let comment = Int(bytes[index + 20]) | Int(bytes[index + 21]) << 8
                if index + record + comment == bytes.count { return true }
            }
            index -= 1
        }
        return false
    }
}
