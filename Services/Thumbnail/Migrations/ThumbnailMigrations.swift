import CirrusServiceKit

/// The thumbnail database's schema changes, in order. The kit adds its outbox and inbox tables.
enum ThumbnailMigrations {
    static let all: [Migration] = [
        Migration(
            "0001-thumbnail-index",
            [
                // One row per stored rendition of one content of one file. `last_access_at` drives
                // eviction; a row is deleted before its object, so a served row always has its bytes.
                """
                CREATE TABLE thumbnails (
                    file_id UUID NOT NULL,
                    blob_id TEXT NOT NULL,
                    size INT NOT NULL,
                    owner_id UUID NOT NULL,
                    width INT NOT NULL,
                    height INT NOT NULL,
                    bytes BIGINT NOT NULL,
                    format TEXT NOT NULL,
                    object_key TEXT NOT NULL UNIQUE,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    last_access_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (file_id, blob_id, size)
                )
                """,
                "CREATE INDEX thumbnails_last_access ON thumbnails (last_access_at)",
                // Contents known not to render (so on-demand requests fail fast, not re-render).
                """
                CREATE TABLE thumbnail_failures (
                    file_id UUID NOT NULL,
                    blob_id TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (file_id, blob_id)
                )
                """,
            ]),
        // Files whose file.deleted (the whole file) was handled: a render that finishes
        // afterwards must not index its rendition again. Kept 7 days. (blob_id is reserved
        // for a per-content tombstone; rows have it NULL.)
        Migration(
            "0002-thumbnail-tombstones",
            [
                "CREATE TABLE thumbnail_tombstones (file_id UUID NOT NULL, blob_id TEXT, deleted_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                "CREATE INDEX thumbnail_tombstones_file ON thumbnail_tombstones (file_id)",
                "CREATE INDEX thumbnail_tombstones_age ON thumbnail_tombstones (deleted_at)",
            ]),
    ]
}
