import CirrusServiceKit

/// The metadata database's schema changes, in order. The kit adds its outbox and inbox tables.
enum MetadataMigrations {
    static let all: [Migration] = []
}
