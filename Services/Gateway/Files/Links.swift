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
        guard answer.status == .created, var object = try? JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any],
              let path = object["path"] as? String else {
            return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: answer.body))
        }
        object["url"] = publicURL + path
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: .created, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    func follow(_ request: Request, _ context: GatewayRequestContext, head: Bool) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let link = try signer.check(token)
        let resolved = try await transfer.callMetadata(.GET, "/internal/links/" + token, token: nil, json: nil, context: context)
        guard resolved.status == 200, let object = resolved.json, let grant = object["grant"] as? String else { return resolved.relayed }
        let remaining = max(0, link.expiresAt - Int64(Date().timeIntervalSince1970))
        var response: Response
        switch link.variant {
        case .original:
            guard let blobID = object["blob_id"] as? String else { throw ProblemError.notFound("file") }
            let type = (object["content_type"] as? String) ?? ""
            response = try await transfer.streamFromBlob(blobID: blobID, grant: grant, name: object["name"] as? String ?? "download", request: request,
                                                         context: context, head: head, disposition: Self.inlineTypes.contains(type) ? "inline" : "attachment")
        case .thumbnail:
            guard let size = link.size else { throw ProblemError.notFound("file") }
            response = try await transfer.streamThumbnail(fileID: link.fileID, size: size, grant: grant, request: request, context: context)
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
