import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import NIOCore
import NIOHTTP1

/// Thumbnail's calls to blob: an original's bytes, read with a grant thumbnail signs itself
/// (the event that asked for the render came from metadata, which checked the owner).
struct BlobOriginals: Sendable {
    let blob: InternalClient
    let signer: InternalGrantSigner
    /// Larger originals are refused (`tooLarge`) before or while they are read.
    let maxBytes: Int64
    let scratch: String

    /// The original, streamed from blob into a temporary file.
    func fetch(_ source: SourceRef) async throws -> String {
        let grant = signer.sign(InternalGrant(purpose: .read, ownerID: source.ownerID, blobID: source.blobID, lifetime: .seconds(300)))
        let response: HTTPClientResponse
        do {
            response = try await blob.streamOrUnreachable(.GET, "/internal/blobs/" + source.blobID, as: .grant(grant), timeout: .seconds(300))
        } catch {
            throw StorageError.unavailable("blob unreachable")
        }
        switch response.status.code {
        case 200: break
        case 404: throw RenderFailure(reason: .sourceMissing, detail: "The original is gone.")
        default: throw StorageError.unavailable("blob answered \(response.status.code)")
        }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length > maxBytes {
            throw RenderFailure(reason: .tooLarge, detail: "The file is larger than \(maxBytes) bytes.")
        }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let path = scratch + "/" + UUID().uuidString.lowercased()
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw StorageError.unavailable("cannot write the scratch directory")
        }
        defer { try? handle.close() }
        var written: Int64 = 0
        do {
            for try await chunk in response.body {
                written += Int64(chunk.readableBytes)
                if written > maxBytes { throw RenderFailure(reason: .tooLarge, detail: "The file is larger than \(maxBytes) bytes.") }
                try handle.write(contentsOf: chunk.readableBytesView)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        return path
    }
}
