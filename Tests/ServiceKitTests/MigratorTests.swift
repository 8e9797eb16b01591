import CirrusServiceKit
import CirrusTestSupport
import PostgresNIO
import Testing

@Suite("Migrations against PostgreSQL", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(2)))
struct MigratorTests {
    let logger = TestDatabase.logger

    @Test func appliesPendingMigrationsOnceInOrder() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let migrations = [
                Migration("0001-notes", ["CREATE TABLE notes (id INT PRIMARY KEY, body TEXT NOT NULL)"]),
                Migration("0002-notes-index", ["CREATE INDEX notes_body ON notes (body)"]),
            ]
            let first = try await Migrator.migrate(migrations, client: client, logger: logger)
            #expect(first == Migrator.kitMigrations.map(\.id) + ["0001-notes", "0002-notes-index"])
            #expect(first.prefix(2) == ["0000-kit-outbox-inbox", "0000-kit-dead-letters"])
            let second = try await Migrator.migrate(migrations, client: client, logger: logger)
            #expect(second.isEmpty)
            // A new release adds one more: only it runs.
            let third = try await Migrator.migrate(
                migrations + [Migration("0003-notes-col", ["ALTER TABLE notes ADD COLUMN tag TEXT"])], client: client, logger: logger)
            #expect(third == ["0003-notes-col"])
            try await client.query("INSERT INTO notes (id, body, tag) VALUES (1, 'x', 'y')", logger: logger)
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let broken = [
                Migration("0001-good", ["CREATE TABLE good (id INT)"]),
                Migration("0002-bad", ["CREATE TABLE bad (id INT)", "THIS IS NOT SQL"]),
            ]
            await #expect(throws: (any Error).self) {
                try await Migrator.migrate(broken, client: client, logger: logger)
            }
            let tables = try await client.query(
                "SELECT count(*)::int FROM pg_tables WHERE tablename IN ('good', 'bad', 'cirrus_outbox')", logger: logger)
            var count = -1
            for try await value in tables.decode(Int.self) { count = value }
            #expect(count == 0)
        }
    }

    @Test func replicasStartingTogetherApplyEachMigrationOnce() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let migrations = [Migration("0001-counter", ["CREATE TABLE counter (n INT)", "INSERT INTO counter VALUES (1)"])]
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await Migrator.migrate(migrations, client: client, logger: logger) } }
                var all: [String] = []
                for try await ids in group { all += ids }
                return all
            }
            #expect(applied.filter { $0 == "0001-counter" }.count == 1)
            var rows = -1
            for try await value in try await client.query("SELECT count(*)::int FROM counter", logger: logger).decode(Int.self) { rows = value }
            #expect(rows == 1)
        }
    }
}
