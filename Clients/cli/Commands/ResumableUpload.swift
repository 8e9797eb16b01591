import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

/// One file sent as a tus 1.0 resumable upload (`/v1/uploads`): created with its folder, name
/// and whole-file SHA-256 (the server checks it before the file appears), then sent in PATCH
/// requests of `chunk` bytes streamed from disk. Where the upload is, is remembered in a small
/// file under the config's directory (`uploads/`, keyed by server, folder, name, size and
/// SHA-256): a dropped connection is resumed from the server's offset within the run, and an
/// interrupted run is resumed by running the same command again. The progress bar starts at the
/// server's offset.
struct ResumableUpload {
    let api: APIClient
    let path: String
    let size: Int64
    let sha256: String
    let folderID: String
    let name: String
    let quiet: Bool
    var chunk: Int64 = 32 << 20
    /// Attempts in a row that may fail before the command gives up (each resumes).
    var attempts = 5

    struct Remembered: Codable {
        var location: String
        var path: String
        var size: Int64
        var sha256: String
    }

    var stateFile: String {
        let key = SHA256.hash(data: Data("\(api.config.server)\n\(folderID)\n\(name)\n\(size)\n\(sha256)".utf8))
            .map { String(format: "%02x", $0) }.joined()
        return (api.uploadsDirectory as NSString).appendingPathComponent(key + ".json")
    }

    func remembered() -> Remembered? {
        guard let data = FileManager.default.contents(atPath: stateFile) else { return nil }
        return try? JSONDecoder().decode(Remembered.self, from: data)
    }

    func remember(_ location: String) throws {
        try FileManager.default.createDirectory(
            atPath: api.uploadsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = try JSONEncoder().encode(Remembered(location: location, path: path, size: size, sha256: sha256))
        guard FileManager.default.createFile(atPath: stateFile, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("Cannot write \(stateFile).")
        }
    }

    func forget() { try? FileManager.default.removeItem(atPath: stateFile) }

    static let tus = ("Tus-Resumable", "1.0.0")

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// The server's offset of a remembered upload; nil when the server no longer has it.
    func offset(of location: String) async throws -> Int64? {
        do {
            let response = try await api.request(.HEAD, location, headers: [Self.tus])
            return response.headers.first(name: "Upload-Offset").flatMap(Int64.init)
        } catch let error as CLIError where error.status == .notFound {
            return nil
        }
    }

    func create() async throws -> String {
        let metadata = "folder_id \(Self.base64(folderID)),name \(Self.base64(name)),sha256 \(Self.base64(sha256))"
        let response = try await api.request(
            .POST, "/v1/uploads", headers: [Self.tus, ("Upload-Length", String(size)), ("Upload-Metadata", metadata)])
        guard let location = response.headers.first(name: "Location"), location.hasPrefix("/v1/uploads/") else {
            throw CLIError("The server did not say where the upload is (no Location).")
        }
        return location
    }

    func run() async throws -> Fetched<Item> {
        var location: String
        var offset: Int64
        if let known = remembered(), let at = try await self.offset(of: known.location) {
            (location, offset) = (known.location, at)
            if !quiet { Output.line("resuming \(path) at \(Output.bytes(offset)) of \(Output.bytes(size))") }
        } else {
            forget()
            location = try await create()
            try remember(location)
            offset = 0
        }
        let progress = Progress.start(name, total: size, startingAt: offset)
        defer { progress?.finish() }
        var failures = 0
        var fileID: String?
        while fileID == nil {
            do {
                (offset, fileID) = try await send(to: location, from: offset, progress: progress)
                failures = 0
            } catch let error as CLIError where [.unavailable, .conflict].contains(error.status) && failures + 1 < attempts {
                // The connection dropped, the server is restarting, or it holds another offset
                // than this run thought (a request cut short keeps what arrived): ask and go on.
                failures += 1
                try await Task.sleep(for: .seconds(failures))
                guard let at = try? await self.offset(of: location) else { continue }
                offset = at
                progress?.set(done: offset)
            } catch let error as CLIError where error.status == .notFound {
                forget()  // expired or terminated: the next run starts afresh
                throw error
            }
        }
        forget()
        return try await api.fetch(Item.self, .GET, "/v1/files/\(fileID!)")
    }

    /// One PATCH of up to `chunk` bytes from `offset`, streamed from the file; the new offset,
    /// and the file's id once the server says it is complete.
    func send(to location: String, from offset: Int64, progress: Progress?) async throws -> (Int64, String?) {
        let end = min(size, offset + chunk)
        let response: HTTPClientResponse
        do {
            response = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                try await api.request(
                    .PATCH, location,
                    headers: [Self.tus, ("Upload-Offset", String(offset)), ("Content-Type", "application/offset+octet-stream")],
                    body: {
                        let chunks = handle.readChunks(in: offset..<end, chunkLength: .kibibytes(256)).map { chunk in
                            progress?.advance(by: chunk.readableBytes)
                            return chunk
                        }
                        return .stream(chunks, length: .known(end - offset))
                    },
                    timeout: .hours(2))
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("Cannot read \(path): \(error)")
        }
        guard let next = response.headers.first(name: "Upload-Offset").flatMap(Int64.init) else {
            throw CLIError("The server did not say how far the upload is (no Upload-Offset).")
        }
        return (next, response.headers.first(name: "Cirrus-File-Id"))
    }
}
