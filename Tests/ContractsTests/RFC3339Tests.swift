import CirrusContracts
import Foundation
import Testing

/// The hand-written RFC 3339 writer and reader against Foundation's ISO 8601 style, which
/// wrote and read every date before: the same text for every date, the same date for every text.
@Suite("RFC 3339")
struct RFC3339Tests {
    static let foundationStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Dates across leap years, century rules, month ends and the day's edges, plus a seeded
    /// random spread over 1970–2400.
    static var milliseconds: [Int64] {
        var values: [Int64] = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 1_795_372_200_123]
        var generator = SplitMix(seed: 20_261_204)
        for _ in 0..<2000 { values.append(Int64(generator.next() % 13_569_465_600_000)) }
        return values
    }

    /// What `ContractCoding.formatDate` wrote before: Foundation's text of the whole second
    /// (its fractions are truncated binary, hence not asked for), then the milliseconds.
    static func foundationText(_ ms: Int64) -> String {
        let (seconds, millis) = ms < 0 && ms % 1000 != 0 ? (ms / 1000 - 1, ms % 1000 + 1000) : (ms / 1000, ms % 1000)
        let whole = Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
        let digits = String(millis)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    @Test func writesWhatFoundationWrites() {
        for ms in Self.milliseconds + [-1, -1000, -86_400_001] {
            #expect(RFC3339.string(milliseconds: ms) == Self.foundationText(ms), "\(ms)")
        }
    }

    @Test func readsWhatItWrites() {
        for ms in Self.milliseconds {
            #expect(RFC3339.milliseconds(parsing: RFC3339.string(milliseconds: ms)) == ms, "\(ms)")
        }
    }

    @Test func readsWhatFoundationReads() throws {
        for text in [
            "2026-11-22T18:30:00Z", "2026-11-22T18:30:00.5Z", "2026-11-22t18:30:00.123z", "2026-11-22T19:30:00.123+01:00",
            "2026-11-22T12:00:00.123-06:30", "2000-02-29T23:59:59.999Z", "1999-12-31T23:59:59.9994Z", "1999-12-31T23:59:59.0005Z",
        ] {
            let foundation = try Self.foundationStyle.parse(text.uppercased())
            let expected = Int64((foundation.timeIntervalSince1970 * 1000).rounded())
            #expect(RFC3339.milliseconds(parsing: text) == expected, "\(text)")
        }
    }

    @Test(arguments: [
        "", "yesterday", "2026-11-22", "2026-11-22T18:30:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T18:60:00Z", "2026-11-22T18:30:00.Z", "2026-11-22T18:30:00+0100", "2026-11-22 18:30:00Z",
        "2026-11-22T18:30:00Zjunk", "２026-11-22T18:30:00Z",
    ])
    func refusesWhatIsNotADateTime(text: String) {
        #expect(RFC3339.milliseconds(parsing: text) == nil)
    }

    @Test func contractCodingTakesTheFastPathAndFallsBackForTheRest() {
        #expect(ContractCoding.parseDate("2026-11-22T18:30:00.123Z") == Date(timeIntervalSince1970: 1_795_372_200.123))
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: 1_795_372_200.1234)) == "2026-11-22T18:30:00.123Z")
        #expect(ContractCoding.formatDate(Date(timeIntervalSince1970: -0.0015)) == "1969-12-31T23:59:59.998Z")
    }

    @Test func hexIsLowerCaseTwoDigitsPerByte() {
        #expect([0x00, 0x0F, 0xA0, 0xFF].lowercaseHex == "000fa0ff")
        #expect([UInt8]().lowercaseHex == "")
        let all = (0...255).map { UInt8($0) }
        #expect(all.lowercaseHex == all.map { String(format: "%02x", $0) }.joined())
    }
}

/// A small deterministic generator (SplitMix64), so the random dates are the same each run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
