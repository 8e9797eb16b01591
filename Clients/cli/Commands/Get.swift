import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a file; an interrupted download resumes.",
        discussion: """
            The bytes go to LOCAL.cirrus-part first. Running the same command after an \
            interruption continues where it stopped (Range with If-Range, so a file replaced \
            meanwhile starts over). The size and SHA-256 are checked against the server's \
            before the file takes its name; an existing LOCAL is overwritten.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The remote file.")
    var remote: String?

    @Argument(help: "A local file name or an existing folder (default: the remote name, here).")
    var local: String?

    @Option(help: "The file's id instead of a path (then the one argument is LOCAL).")
    var id: String?

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
            guard !found.isFolder else { throw CLIError("\(label) is a folder; get downloads files.") }
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
        try await FileSystem.shared.withFileHandle(
            forWritingAt: FilePath(partial), options: .modifyFile(createIfNecessary: true)
        ) { handle in
            if start == 0 { try await handle.resize(to: .bytes(0)) }
            var writer = handle.bufferedWriter(startingAtAbsoluteOffset: start, capacity: .mebibytes(1))
            let progress = Progress.start(label, total: size, startingAt: start)
            defer { progress?.finish() }
            do {
                for try await chunk in response.body {
                    try await writer.write(contentsOf: chunk)
                    progress?.advance(by: chunk.readableBytes)
                }
            } catch let error as FileSystemError {
                throw CLIError("Cannot write \(partial): \(error)")
            } catch {
                try? await writer.flush()
                throw CLIError(
                    "The download of \(label) broke off (\(error)); run the same command again to resume.",
                    status: .unavailable)
            }
            try await writer.flush()
        }
    }
}
