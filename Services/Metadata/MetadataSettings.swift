import CirrusServiceKit
import Foundation

/// Metadata's own configuration (`CIRRUS_METADATA_*`).
struct MetadataSettings: Sendable {
    /// Earlier contents kept per file; older ones are deleted for good.
    var maxVersions = 10
    /// How long a reservation waits for its bytes before it expires.
    var uploadTTL: Duration = .seconds(3600)
    /// How long a resumable (tus) upload may take from its creation (its `Upload-Expires`);
    /// unfinished ones are collected after it and their reservations released.
    var resumableUploadTTL: Duration = .seconds(86_400)
    /// Images still without thumbnails this long after they were requested are requested again.
    var thumbnailGrace: Duration = .seconds(300)
    /// How often expired reservations and missing thumbnails are looked for.
    var reconcileInterval: Duration = .seconds(60)
    /// The content audit (contents blob should hold): how often (0: off), over what is older than.
    var contentAudit = ReconcileSchedule()

    init() {}

    init(reader: ConfigReader) throws {
        maxVersions = try reader.int("CIRRUS_METADATA_MAX_VERSIONS", default: maxVersions, range: 0...1000)
        uploadTTL = try reader.seconds("CIRRUS_METADATA_UPLOAD_TTL_SECONDS", default: uploadTTL, range: 60...604_800)
        resumableUploadTTL = try reader.seconds(
            "CIRRUS_METADATA_RESUMABLE_UPLOAD_TTL_SECONDS", default: resumableUploadTTL, range: 10...2_592_000)
        thumbnailGrace = try reader.seconds("CIRRUS_METADATA_THUMBNAIL_GRACE_SECONDS", default: thumbnailGrace, range: 1...86_400)
        reconcileInterval = try reader.seconds("CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS", default: reconcileInterval, range: 1...86_400)
        contentAudit = try ReconcileSchedule(reader: reader, prefix: "CIRRUS_METADATA_CONTENT_AUDIT")
    }
}
