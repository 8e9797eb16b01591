import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Expiring links. Creating one is metadata's decision (the file, the caller's tier); the
/// gateway turns its path into a URL under `CIRRUS_PUBLIC_URL`. Following one needs no
/// account: the gateway checks the signature and expiry itself (no database involved, so a
/// flood of forged links costs an HMAC each), then metadata confirms the file still exists
/// and grants the read, and the bytes stream from blob or thumbnail.
struct LinkEndpoints: Sendable {
    let metadata: UpstreamProxy
    let peers: Peers
    let transfer: FileTransfer
    let signer: LinkSigner
    let publicURL: String

    /// Media types a link may show inline; anything else downloads (never rendered as a page
    /// on the API's origin).
    static let inlineTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "application/pdf"]

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/v1/files/:id/links") { request, context in try await create(request, context) }
        router.get("/v1/links/:token") { request, context in try await follow(request, context, head: false) }
        router.head("/v1/links/:token") { request, context in try await follow(request, context, head: true) }
    }

    func create(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let answer = try await metadata.fetch(request, context: context, path: nil)
        guard answer.status == .created, var object = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: answer.body)),
            let path = object["path"]?.string
        else {
            return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
        }
        object["url"] = .string(publicURL + path)
        let data = try ContractCoding.encoder().encode(object)
        return Response(
            status: .created, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    func follow(_ request: Request, _ context: GatewayRequestContext, head: Bool) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let link = try signer.check(token)
        let resolved = try await peers.metadata.send(.GET, "/internal/links/" + token)
        guard resolved.status == 200 else { return FileTransfer.relay(resolved) }
        let remaining = max(0, link.expiresAt - Int64(Date().timeIntervalSince1970))
        var response: Response
        switch link.variant {
        case .original:
            guard let content = try resolved.decode(ContentGrant.self) else { throw ProblemError.notFound("file") }
            response = try await transfer.streamFromBlob(
                blobID: content.blobID, grant: content.grant, name: content.name, request: request, context: context,
                head: head, disposition: Self.inlineTypes.contains(content.contentType) ? "inline" : "attachment")
        case .thumbnail:
            guard let size = link.size, let thumbnail = try resolved.decode(ThumbnailGrant.self) else { throw ProblemError.notFound("file") }
            response = try await transfer.streamThumbnail(fileID: link.fileID, size: size, grant: thumbnail.grant, request: request, context: context)
            if head {  // the headers of the GET (its length included), without the bytes
                let length = response.headers[.contentLength]
                response.body = ResponseBody()
                response.headers[.contentLength] = length
            }
        }
        if response.status == .ok || response.status == .partialContent || response.status == .notModified {
            response.headers[.cacheControl] = "private, max-age=\(min(remaining, 3600))"
        }
        return response
    }
}
