import CirrusServiceKit

/// The auth database's schema changes, in order. The kit adds its outbox and inbox tables.
enum AuthMigrations {
    static let all: [Migration] = [
        Migration(
            "0001-auth-tiers-users-tokens",
            [
                """
                CREATE TABLE tiers (
                    id UUID PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    thumbnail_sizes INT[] NOT NULL,
                    original_links BOOLEAN NOT NULL,
                    expiring_links BOOLEAN NOT NULL,
                    link_min_seconds INT,
                    link_max_seconds INT,
                    quota_bytes BIGINT NOT NULL,
                    max_upload_bytes BIGINT NOT NULL,
                    requests_per_minute INT NOT NULL,
                    is_default BOOLEAN NOT NULL DEFAULT false,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE UNIQUE INDEX tiers_one_default ON tiers (is_default) WHERE is_default",
                """
                CREATE TABLE users (
                    id UUID PRIMARY KEY,
                    username TEXT NOT NULL UNIQUE,
                    email TEXT NOT NULL UNIQUE,
                    password_hash TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
                    tier_id UUID NOT NULL REFERENCES tiers (id),
                    disabled BOOLEAN NOT NULL DEFAULT false,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX users_tier ON users (tier_id)",
                """
                CREATE TABLE refresh_tokens (
                    id UUID PRIMARY KEY,
                    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    family_id UUID NOT NULL,
                    token_hash BYTEA NOT NULL UNIQUE,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    expires_at TIMESTAMPTZ NOT NULL,
                    used_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ
                )
                """,
                "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
                "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
                """
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    private_key TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    retired_at TIMESTAMPTZ
                )
                """,
                """
                CREATE TABLE login_throttle (
                    key TEXT PRIMARY KEY,
                    failures INT NOT NULL,
                    window_started_at TIMESTAMPTZ NOT NULL,
                    locked_until TIMESTAMPTZ
                )
                """,
                // The three tiers of the systems Cirrus replaces (shared/API.md); basic is the default.
                """
                INSERT INTO tiers (id, name, thumbnail_sizes, original_links, expiring_links, link_min_seconds, link_max_seconds,
                                   quota_bytes, max_upload_bytes, requests_per_minute, is_default) VALUES
                  ('00000000-0000-4000-a000-000000000001', 'basic', '{200}', false, false, NULL, NULL,
                   1073741824, 104857600, 120, true),
                  ('00000000-0000-4000-a000-000000000002', 'premium', '{200,400}', true, false, NULL, NULL,
                   53687091200, 2147483648, 600, false),
                  ('00000000-0000-4000-a000-000000000003', 'enterprise', '{200,400}', true, true, 300, 30000,
                   1099511627776, 10737418240, 1200, false)
                """,
            ]),
        // App passwords (WebDAV clients): stored as the SHA-256 of 125 random bits; a row
        // deleted is a password revoked. They go with their user.
        Migration(
            "0002-auth-app-passwords",
            [
                """
                CREATE TABLE app_passwords (
                    id UUID PRIMARY KEY,
                    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    password_hash BYTEA NOT NULL UNIQUE,
                    read_only BOOLEAN NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    last_used_at TIMESTAMPTZ
                )
                """,
                "CREATE INDEX app_passwords_user ON app_passwords (user_id, created_at)",
            ]),
    ]
}
