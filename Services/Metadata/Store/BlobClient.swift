import AsyncHTTPClient
import CirrusServiceKit
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Metadata's calls to blob: adding a reference for a copy.
struct BlobClient: Sendable {
    let baseURL: String
    let signer: InternalGrantSigner
    let http: HTTPClient
    let logger: Logger

    func addReference(owner: UUID, blobID: String, fileID: UUID, referenceID: UUID) async throws {
        var request = HTTPClientRequest(url: baseURL + "/internal/references")
        request.method = .POST
        request.headers.add(name: InternalGrant.header, value: signer.sign(InternalGrant(purpose: .reference, ownerID: owner, fileID: fileID, uploadID: referenceID,
                                                                                           blobID: blobID, lifetime: .seconds(300))))
        let response: HTTPClientResponse
        do {
            response = try await CirrusTracing.call("POST", "blob") {
                request.propagateTrace()
                return try await http.execute(request, timeout: .seconds(10))
            }
        } catch {
            logger.warning("blob unreachable for a copy", metadata: ["error": "\(error)"])
            throw ProblemError.unavailable("The storage service is unavailable; retry shortly.")
        }
        switch response.status.code {
        case 204: return
        case 404: throw ProblemError(.conflict, detail: "The file's content is no longer available.")
        default:
            logger.warning("blob refused a reference", metadata: ["status": "\(response.status.code)"])
            throw ProblemError.unavailable("The storage service is unavailable; retry shortly.")
        }
    }
}
