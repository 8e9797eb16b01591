import CirrusServiceKit

/// The auth database's schema changes, in order. The kit adds its outbox and inbox tables.
enum AuthMigrations {
    static let all: [Migration] = []
}
