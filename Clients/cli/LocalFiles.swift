import Crypto
import Foundation
import NIOCore
import NIOFileSystem

/// Local files: what they are, and their SHA-256 computed in one streaming pass.
enum LocalFiles {
    /// The file's type and size (`followLinks: false` describes a symbolic link itself);
    /// nil when nothing is there.
    static func info(_ path: String, followLinks: Bool = true) async throws -> FileInfo? {
        do {
            return try await FileSystem.shared.info(forFileAt: FilePath(path), infoAboutSymbolicLink: !followLinks)
        } catch {
            throw CLIError("Cannot read \(path): \(error)")
        }
    }

    /// The hex SHA-256 of the file's first `size` bytes, read in 1 MiB chunks (a progress
    /// bar for large files).
    static func sha256(of path: String, size: Int64, label: String) async throws -> String {
        do {
            return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                var hasher = SHA256()
                let progress = size >= 16 << 20 ? Progress.start("\(label) (checksum)", total: size) : nil
                defer { progress?.finish() }
                for try await chunk in handle.readChunks(in: 0..<size, chunkLength: .mebibytes(1)) {
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    progress?.advance(by: chunk.readableBytes)
                }
                return hex(hasher.finalize())
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("Cannot read \(path): \(error)")
        }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The last component of a local path (`.` and `dir/` included).
    static func name(of path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
    }
}
