import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Metadata's calls to blob: adding a reference for a copy.
struct BlobClient: Sendable {
    let peer: InternalClient
    let signer: InternalGrantSigner
    let logger: Logger

    func addReference(owner: UUID, blobID: String, fileID: UUID, referenceID: UUID) async throws {
        let grant = signer.sign(
            InternalGrant(
                purpose: .reference, ownerID: owner, fileID: fileID, uploadID: referenceID, blobID: blobID,
                lifetime: .seconds(300)))
        let reply = try await peer.send(.POST, "/internal/references", as: .grant(grant), timeout: .seconds(10))
        switch reply.status {
        case 204: return
        case 404: throw ProblemError(.conflict, detail: "The file's content is no longer available.")
        default:
            logger.warning("blob refused a reference", metadata: ["status": "\(reply.status)"])
            throw ProblemError.unavailable("The storage service is unavailable; retry shortly.")
        }
    }
}
