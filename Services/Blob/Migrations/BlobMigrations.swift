import CirrusServiceKit

/// The blob database's schema changes, in order. The kit adds its outbox and inbox tables.
enum BlobMigrations {
    static let all: [Migration] = []
}
