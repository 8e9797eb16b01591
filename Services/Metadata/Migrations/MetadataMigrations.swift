import CirrusServiceKit

/// The metadata database's schema changes, in order. The kit adds its outbox and inbox tables.
enum MetadataMigrations {
    static let all: [Migration] = [
        Migration(
            "0001-metadata-tree",
            [
                // Tiers as auth announced them (user and tier events carry them in full).
                """
                CREATE TABLE tiers (
                    id UUID PRIMARY KEY,
                    name TEXT NOT NULL,
                    thumbnail_sizes INT[] NOT NULL,
                    original_links BOOLEAN NOT NULL,
                    expiring_links BOOLEAN NOT NULL,
                    link_min_seconds INT,
                    link_max_seconds INT,
                    quota_bytes BIGINT NOT NULL,
                    max_upload_bytes BIGINT NOT NULL,
                    requests_per_minute INT NOT NULL,
                    deleted BOOLEAN NOT NULL DEFAULT false,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                // One row per user: their tier, root folder and storage use. `used_bytes` counts every
                // stored content of theirs (current contents and versions, trash included, copies too);
                // `reserved_bytes` what uploads in flight may still add. Both change in the
                // transactions that change the files, so parallel uploads cannot overshoot the quota.
                """
                CREATE TABLE users (
                    id UUID PRIMARY KEY,
                    tier_id UUID NOT NULL,
                    root_id UUID NOT NULL,
                    used_bytes BIGINT NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
                    reserved_bytes BIGINT NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                // Folders and files: a logical tree (storage never mirrors it). A file's current
                // content is on its row; earlier contents are in `versions`.
                """
                CREATE TABLE items (
                    id UUID PRIMARY KEY,
                    owner_id UUID NOT NULL,
                    parent_id UUID REFERENCES items (id),
                    kind TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
                    name TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
                    size BIGINT NOT NULL DEFAULT 0,
                    content_type TEXT,
                    sha256 TEXT,
                    blob_id TEXT,
                    content_id UUID,
                    version INT NOT NULL DEFAULT 0,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    trashed_at TIMESTAMPTZ,
                    trash_root_id UUID,
                    original_parent_id UUID,
                    thumbnail_status TEXT NOT NULL DEFAULT 'none'
                        CHECK (thumbnail_status IN ('none', 'pending', 'ready', 'failed')),
                    thumbnail_sizes INT[] NOT NULL DEFAULT '{}',
                    thumbnail_blob_id TEXT,
                    thumbnail_requested_at TIMESTAMPTZ,
                    CHECK ((parent_id IS NULL) = (kind = 'folder' AND name = ''))
                )
                """,
                // Names are unique among live siblings; the trash does not block a name.
                "CREATE UNIQUE INDEX items_live_name ON items (parent_id, name) WHERE trashed_at IS NULL",
                "CREATE UNIQUE INDEX items_root ON items (owner_id) WHERE parent_id IS NULL",
                // Listing a folder in each sort order is an index range scan (keyset pagination).
                "CREATE INDEX items_children_created ON items (parent_id, created_at, id) WHERE trashed_at IS NULL",
                "CREATE INDEX items_children_updated ON items (parent_id, updated_at, id) WHERE trashed_at IS NULL",
                "CREATE INDEX items_children_size ON items (parent_id, size, id) WHERE trashed_at IS NULL",
                "CREATE INDEX items_children_name ON items (parent_id, name, id) WHERE trashed_at IS NULL",
                // Searching all of a user's files, in each order.
                "CREATE INDEX items_files_name ON items (owner_id, name, id) WHERE kind = 'file' AND trashed_at IS NULL",
                "CREATE INDEX items_files_created ON items (owner_id, created_at, id) WHERE kind = 'file' AND trashed_at IS NULL",
                "CREATE INDEX items_files_updated ON items (owner_id, updated_at, id) WHERE kind = 'file' AND trashed_at IS NULL",
                "CREATE INDEX items_files_size ON items (owner_id, size, id) WHERE kind = 'file' AND trashed_at IS NULL",
                "CREATE INDEX items_trash ON items (owner_id, trashed_at) WHERE trashed_at IS NOT NULL AND trash_root_id = id",
                "CREATE INDEX items_trash_members ON items (trash_root_id) WHERE trash_root_id IS NOT NULL",
                "CREATE INDEX items_thumbnails_pending ON items (thumbnail_requested_at) WHERE thumbnail_status = 'pending'",
                // Earlier contents of a file, newest first by version number.
                """
                CREATE TABLE versions (
                    content_id UUID PRIMARY KEY,
                    file_id UUID NOT NULL REFERENCES items (id) ON DELETE CASCADE,
                    owner_id UUID NOT NULL,
                    version INT NOT NULL,
                    blob_id TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    content_type TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    UNIQUE (file_id, version)
                )
                """,
                // Reservations: an upload in flight. `file_id` is a pending new file, or the file whose
                // content is being replaced.
                """
                CREATE TABLE uploads (
                    id UUID PRIMARY KEY,
                    owner_id UUID NOT NULL,
                    file_id UUID NOT NULL,
                    replaces BOOLEAN NOT NULL,
                    reserved_bytes BIGINT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX uploads_expiry ON uploads (expires_at)",
            ]),
        // Users auth deleted: their still-valid access tokens (≤ 15 min) must not set up a new
        // drive through the lazy creation of unknown users.
        Migration(
            "0002-metadata-deleted-users",
            [
                "CREATE TABLE deleted_users (id UUID PRIMARY KEY, deleted_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ]),
        // Users auth disabled (`user.status_changed`): their links stop.
        Migration(
            "0003-metadata-disabled-users",
            [
                "ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false"
            ]),
        // Reconciliation asks by reference (content) id: `POST /internal/known/references`.
        Migration(
            "0004-metadata-content-index",
            [
                "CREATE INDEX items_content ON items (content_id) WHERE content_id IS NOT NULL"
            ]),
        // Owners see why thumbnails failed (`thumbnail.failed`'s reason and detail).
        Migration(
            "0005-metadata-thumbnail-failure",
            [
                "ALTER TABLE items ADD COLUMN thumbnail_failure TEXT, ADD COLUMN thumbnail_failure_detail TEXT"
            ]),
        // WebDAV (docs/webdav.md): dead properties go with their item (copied with it, deleted
        // with it); write locks are on paths of one user's drive, as RFC 4918 has them on URLs.
        Migration(
            "0006-metadata-webdav",
            [
                """
                CREATE TABLE item_properties (
                    item_id UUID NOT NULL REFERENCES items (id) ON DELETE CASCADE,
                    namespace TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (item_id, namespace, name)
                )
                """,
                """
                CREATE TABLE dav_locks (
                    token TEXT PRIMARY KEY,
                    owner_id UUID NOT NULL,
                    path TEXT NOT NULL,
                    depth_infinity BOOLEAN NOT NULL,
                    exclusive BOOLEAN NOT NULL,
                    lock_owner TEXT NOT NULL DEFAULT '',
                    timeout_seconds INT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX dav_locks_path ON dav_locks (owner_id, path)",
            ]),
        // Sharing (docs/sharing.md): an item shared with another user covers everything below
        // it; public links name an item anyone holding the token may read. Both go with their
        // item. Uploads remember who made them (an editor writes into the owner's drive).
        Migration(
            "0007-metadata-sharing",
            [
                """
                CREATE TABLE shares (
                    id UUID PRIMARY KEY,
                    item_id UUID NOT NULL REFERENCES items (id) ON DELETE CASCADE,
                    owner_id UUID NOT NULL,
                    owner_name TEXT NOT NULL,
                    recipient_id UUID NOT NULL,
                    recipient_name TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    UNIQUE (item_id, recipient_id)
                )
                """,
                "CREATE INDEX shares_recipient ON shares (recipient_id, created_at, id)",
                "CREATE INDEX shares_owner ON shares (owner_id)",
                """
                CREATE TABLE public_links (
                    id UUID PRIMARY KEY,
                    item_id UUID NOT NULL REFERENCES items (id) ON DELETE CASCADE,
                    owner_id UUID NOT NULL,
                    password_hash TEXT,
                    expires_at TIMESTAMPTZ,
                    downloads BIGINT NOT NULL DEFAULT 0,
                    failed_attempts INT NOT NULL DEFAULT 0,
                    failures_since TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX public_links_owner ON public_links (owner_id, created_at, id)",
                "ALTER TABLE uploads ADD COLUMN created_by UUID",
            ]),
    ]
}
