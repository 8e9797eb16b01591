import CirrusContracts
import CirrusServiceKit
import CirrusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Thumbnail's one route: renditions for the gateway.
extension ThumbnailApp {
    func register(on router: Router<ServiceRequestContext>) {
        router.get("/internal/thumbnails/:file/:size") { request, context in try await serve(request, context) }
    }

    /// A rendition's bytes for the gateway. The grant (from metadata, which checked the
    /// caller's ownership and tier) names the file, its content and the size; a missing
    /// rendition is rendered now, once however many ask.
    func serve(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let grant = try request.grant(.read, signer: signer)
        let fileID = try context.parameters.uuid("file", resource: "thumbnail")
        guard let size = context.parameters.get("size").flatMap(Int.init), grant.fileID == fileID, grant.size == Int64(size),
            let blobID = grant.blobID, let contentType = grant.contentType
        else {
            throw ProblemError(.forbidden, detail: "The grant is not valid.")
        }
        if let reason = try await index.failure(fileID: fileID, blobID: blobID) {
            throw ProblemError(
                .unprocessableContent, type: "https://cirrus.dev/problems/no-thumbnail", title: "No thumbnail",
                detail: "This file cannot have thumbnails (\(reason)).")
        }
        let source = SourceRef(fileID: fileID, ownerID: grant.ownerID, blobID: blobID, contentType: contentType)
        var rendition = try await index.touch(fileID: fileID, blobID: blobID, size: size)
        if rendition == nil {
            do {
                rendition = try await coordinator.ensure(source, sizes: [size])[size]
            } catch let failure as RenderFailure {
                try await client.withConnection { try await index.recordFailure(source, failure, on: $0) }
                throw ProblemError(
                    .unprocessableContent, type: "https://cirrus.dev/problems/no-thumbnail", title: "No thumbnail",
                    detail: "This file cannot have thumbnails (\(failure.reason.rawValue)).")
            }
        }
        guard let rendition else { throw ProblemError.notFound("thumbnail") }
        let etag = "\"\(rendition.objectKey.split(separator: "/").last ?? "")\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "private, max-age=86400"]
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" })
        {
            return Response(status: .notModified, headers: headers)
        }
        let read = try await store.read(key: rendition.objectKey, range: nil)
        headers[.contentType] = rendition.format == "webp" ? "image/webp" : "image/jpeg"
        headers[.contentLength] = String(read.size)
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: read.body))
    }
}
