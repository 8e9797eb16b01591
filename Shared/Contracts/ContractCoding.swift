import Foundation

/// The one JSON configuration for everything on the wire: sorted keys (stable bytes for
/// golden tests), RFC 3339 UTC dates with milliseconds. Types spell their keys out in
/// `CodingKeys` instead of relying on a key strategy, so renaming a property never
/// changes the wire format silently.
public enum ContractCoding {
    /// A fresh encoder: sorted keys, unescaped slashes, dates as `formatDate` writes them.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        return encoder
    }

    /// A fresh decoder: dates as `parseDate` reads them; unknown keys are ignored.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date: \(text)")
            }
            return date
        }
        return decoder
    }

    /// `2026-11-22T18:30:00.123Z`: whole milliseconds, rounded (not truncated), so a date
    /// survives encode → decode exactly at that precision.
    public static func formatDate(_ date: Date) -> String {
        let totalMs = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, ms) = totalMs.quotientAndRemainder(dividingBy: 1000)
        let (wholeSeconds, millis) = ms < 0 ? (seconds - 1, ms + 1000) : (seconds, ms)
        let base = Date(timeIntervalSince1970: TimeInterval(wholeSeconds)).formatted(secondStyle)  // ...:00Z
        let digits = String(millis)
        return base.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Accepts RFC 3339 with or without fractional seconds; keeps whole milliseconds, the
    /// wire precision, so a decoded date equals the one that was encoded.
    /// Any UTC offset is accepted, and so are the lower-case `t` / `z` RFC 3339 allows.
    public static func parseDate(_ text: String) -> Date? {
        let text = text.uppercased()
        guard let date = (try? millisecondStyle.parse(text)) ?? (try? secondStyle.parse(text)) else { return nil }
        return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    private static let millisecondStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let secondStyle = Date.ISO8601FormatStyle(timeZone: .gmt)
}
