import CirrusServiceKit

/// The blob database's schema changes, in order. The kit adds its outbox and inbox tables.
enum BlobMigrations {
    static let all: [Migration] = [
        Migration(
            "0001-blob-index",
            [
                // One row per distinct content of one owner (dedup is per owner: docs/storage.md).
                // `object_key` is unique per upload and never reused, so deleting an object can
                // never race a new reference to the same bytes.
                """
                CREATE TABLE blobs (
                    owner_id UUID NOT NULL,
                    sha256 TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    content_type TEXT NOT NULL,
                    object_key TEXT NOT NULL UNIQUE,
                    ref_count INT NOT NULL CHECK (ref_count >= 0),
                    unreferenced_since TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, sha256)
                )
                """,
                "CREATE INDEX blobs_unreferenced ON blobs (unreferenced_since) WHERE ref_count = 0",
                // Which files reference which content: makes reference counting idempotent.
                """
                CREATE TABLE blob_refs (
                    owner_id UUID NOT NULL,
                    sha256 TEXT NOT NULL,
                    file_id UUID NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, sha256, file_id),
                    FOREIGN KEY (owner_id, sha256) REFERENCES blobs (owner_id, sha256)
                )
                """,
                "CREATE INDEX blob_refs_file ON blob_refs (file_id)",
            ]),
        // A reference is one *use* of a content (one upload, or one copy), not one file: a file
        // that gets the same bytes again, or loses an old version, keeps exactly the references
        // still in use, and a late release can never drop a newer use of the same bytes.
        Migration(
            "0002-blob-reference-ids",
            [
                "ALTER TABLE blob_refs ADD COLUMN ref_id UUID",
                "UPDATE blob_refs SET ref_id = file_id",
                "ALTER TABLE blob_refs ALTER COLUMN ref_id SET NOT NULL",
                "ALTER TABLE blob_refs DROP CONSTRAINT blob_refs_pkey",
                "ALTER TABLE blob_refs ADD PRIMARY KEY (owner_id, ref_id)",
            ]),
        // Metadata's content audit asks by reference id alone: `POST /internal/known/references`.
        Migration(
            "0003-blob-reference-index",
            [
                "CREATE INDEX blob_refs_ref ON blob_refs (ref_id)"
            ]),
        // Resumable (tus) uploads in progress: the offset every acknowledged byte reaches, the
        // running SHA-256 (OpenSSL's context, so no byte is read back at the end), the first
        // bytes for content sniffing, the store's staging (JSON: the S3 multipart upload and
        // its parts), a lease for the one request appending at a time, and once complete what
        // was stored (a retried last request gets the same answer).
        Migration(
            "0004-blob-resumable-uploads",
            [
                """
                CREATE TABLE resumable_uploads (
                    id UUID PRIMARY KEY,
                    owner_id UUID NOT NULL,
                    file_id UUID NOT NULL,
                    max_bytes BIGINT NOT NULL,
                    length BIGINT,
                    upload_offset BIGINT NOT NULL DEFAULT 0,
                    metadata TEXT,
                    expected_sha256 TEXT,
                    hash_state BYTEA NOT NULL,
                    prefix BYTEA NOT NULL DEFAULT '',
                    staged TEXT NOT NULL,
                    stored TEXT,
                    lease UUID,
                    lease_until TIMESTAMPTZ,
                    expires_at TIMESTAMPTZ NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX resumable_uploads_expiry ON resumable_uploads (expires_at)",
            ]),
        // Registering an upload in one round trip instead of four (docs/performance.md, "Small
        // uploads"): insert the owner's row for the content or find the existing one, lock it,
        // add the reference and count it when new. Each statement takes its own snapshot (read
        // committed), so a row that the collector deleted between the insert and the lock is
        // seen as gone: no row is returned and the caller answers 409, as before.
        Migration(
            "0005-blob-register-function",
            [
                """
                CREATE FUNCTION blob_register(
                    p_owner UUID, p_sha256 TEXT, p_size BIGINT, p_content_type TEXT, p_object_key TEXT, p_file UUID, p_ref UUID
                ) RETURNS TABLE (stored_new BOOLEAN, stored_size BIGINT, stored_type TEXT, stored_key TEXT, stored_refs INT)
                LANGUAGE plpgsql AS $$
                DECLARE
                    is_new BOOLEAN;
                    found_row blobs%ROWTYPE;
                BEGIN
                    INSERT INTO blobs (owner_id, sha256, size, content_type, object_key, ref_count)
                    VALUES (p_owner, p_sha256, p_size, p_content_type, p_object_key, 0)
                    ON CONFLICT (owner_id, sha256) DO NOTHING;
                    is_new := FOUND;
                    SELECT * INTO found_row FROM blobs WHERE owner_id = p_owner AND sha256 = p_sha256 FOR UPDATE;
                    IF NOT FOUND THEN
                        RETURN;
                    END IF;
                    INSERT INTO blob_refs (owner_id, sha256, file_id, ref_id) VALUES (p_owner, p_sha256, p_file, p_ref)
                    ON CONFLICT DO NOTHING;
                    IF FOUND THEN
                        UPDATE blobs SET ref_count = ref_count + 1, unreferenced_since = NULL
                        WHERE owner_id = p_owner AND sha256 = p_sha256;
                        found_row.ref_count := found_row.ref_count + 1;
                    END IF;
                    RETURN QUERY SELECT is_new, found_row.size, found_row.content_type, found_row.object_key, found_row.ref_count;
                END
                $$
                """
            ]),
    ]
}
