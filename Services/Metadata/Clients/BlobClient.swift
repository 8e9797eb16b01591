import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Metadata's calls to blob: adding a reference for a copy, copying bytes across drives.
struct BlobClient: Sendable {
    let peer: InternalClient
    /// Blob for a copy of bytes, which answers only when the whole file is copied: a client
    /// whose read timeout (AsyncHTTPClient's longest silence before the answer) is as long.
    var patient: InternalClient
    let signer: InternalGrantSigner
    let logger: Logger

    static let copyTimeout: TimeAmount = .hours(6)

    init(peer: InternalClient, patient: InternalClient? = nil, signer: InternalGrantSigner, logger: Logger) {
        self.peer = peer
        self.patient = patient ?? peer
        self.signer = signer
        self.logger = logger
    }

    /// Blob copies `source`'s bytes into the reserved upload (another owner's drive): the receipt.
    func copy(into reservation: UploadReservation, source: String) async throws -> String {
        let reply = try await patient.send(
            .POST, "/internal/uploads/\(reservation.uploadID.uuidString.lowercased())/copy", as: .grant(reservation.grant),
            json: ContentCopy(source: source), timeout: Self.copyTimeout)
        if reply.status == 404 { throw ProblemError(.conflict, detail: "The file's content is no longer available.") }
        if reply.status == 413 { throw ProblemError(.contentTooLarge, detail: "The file is larger than your tier allows to upload.") }
        guard let stored = try reply.decode(StoredUpload.self, status: 201) else {
            logger.warning("blob refused a copy", metadata: ["status": "\(reply.status)"])
            throw ProblemError.unavailable("The storage service is unavailable; retry shortly.")
        }
        return stored.receipt
    }

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
