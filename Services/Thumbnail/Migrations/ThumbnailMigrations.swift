import CirrusServiceKit

/// The thumbnail database's schema changes, in order. The kit adds its outbox and inbox tables.
enum ThumbnailMigrations {
    static let all: [Migration] = []
}
