import Logging
import PostgresNIO

/// One versioned schema change. Ids sort the order of application and must never change
/// once released; statements run in one transaction with the others pending.
public struct Migration: Sendable {
    public var id: String
    public var statements: [String]

    public init(_ id: String, _ statements: [String]) {
        self.id = id
        self.statements = statements
    }
}

/// Applies pending migrations at start-up, under an advisory lock so replicas starting
/// together do not race, all in one transaction: a failed migration leaves nothing behind.
public enum Migrator {
    /// The tables every service with a database has: outbox and inbox.
    public static let kitMigrations: [Migration] = [
        Migration(
            "0000-kit-outbox-inbox",
            [
                """
                CREATE TABLE cirrus_outbox (
                    id BIGSERIAL PRIMARY KEY,
                    event_id UUID NOT NULL UNIQUE,
                    topic TEXT NOT NULL,
                    partition_key TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    payload BYTEA NOT NULL,
                    traceparent TEXT,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    published_at TIMESTAMPTZ
                )
                """,
                "CREATE INDEX cirrus_outbox_unpublished ON cirrus_outbox (id) WHERE published_at IS NULL",
                "CREATE INDEX cirrus_outbox_published_at ON cirrus_outbox (published_at) WHERE published_at IS NOT NULL",
                """
                CREATE TABLE cirrus_inbox (
                    consumer TEXT NOT NULL,
                    event_id UUID NOT NULL,
                    topic TEXT NOT NULL,
                    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer, event_id)
                )
                """,
                "CREATE INDEX cirrus_inbox_processed_at ON cirrus_inbox (processed_at)",
            ]),
        DeadLetters.migration,
        // The W3C tracestate beside traceparent: the relay puts both in the record's headers.
        Migration("0000-kit-outbox-tracestate", ["ALTER TABLE cirrus_outbox ADD COLUMN tracestate TEXT"]),
        // A statement that writes outbox rows tells the relays at commit (`NOTIFY`, one per
        // transaction however many rows): they publish at once instead of at their next poll.
        Migration(
            "0000-kit-outbox-notify",
            [
                """
                CREATE FUNCTION cirrus_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('\(OutboxRelay.channel)', '');
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER cirrus_outbox_notify AFTER INSERT ON cirrus_outbox
                FOR EACH STATEMENT EXECUTE FUNCTION cirrus_outbox_notify()
                """,
            ]),
    ]

    /// Apply `migrations` (after the kit's own) that are not applied yet. Returns the ids applied.
    @discardableResult
    public static func migrate(_ migrations: [Migration], client: PostgresClient, logger: Logger) async throws -> [String] {
        let all = kitMigrations + migrations
        precondition(Set(all.map(\.id)).count == all.count, "duplicate migration id")
        return try await client.transaction(logger: logger) { connection in
            try await AdvisoryLock.migrations.lock(on: connection, logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS cirrus_schema_migrations (
                    id TEXT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied = Set<String>()
            for try await id in try await connection.query("SELECT id FROM cirrus_schema_migrations", logger: logger).decode(String.self) {
                applied.insert(id)
            }
            var done: [String] = []
            for migration in all where !applied.contains(migration.id) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO cirrus_schema_migrations (id) VALUES (\(migration.id))", logger: logger)
                logger.info("migration applied", metadata: ["migration": "\(migration.id)"])
                done.append(migration.id)
            }
            return done
        }
    }
}
