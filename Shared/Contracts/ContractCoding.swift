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
    /// survives encode → decode exactly at that precision. Written by hand (`RFC3339`): this
    /// runs for every date of every response.
    public static func formatDate(_ date: Date) -> String {
        RFC3339.string(milliseconds: milliseconds(of: date))
    }

    /// The date's milliseconds since 1970, rounded to the nearest (half away from zero).
    public static func milliseconds(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// Accepts RFC 3339 with or without fractional seconds; keeps whole milliseconds, the
    /// wire precision, so a decoded date equals the one that was encoded.
    /// Any UTC offset is accepted, and so are the lower-case `t` / `z` RFC 3339 allows.
    /// The hand-written reader takes what RFC 3339 allows; Foundation's ISO 8601 parser is
    /// asked only about anything else (it is more lenient, and was the only reader before).
    public static func parseDate(_ text: String) -> Date? {
        if let milliseconds = RFC3339.milliseconds(parsing: text) { return Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
        let text = text.uppercased()
        guard let date = (try? millisecondStyle.parse(text)) ?? (try? secondStyle.parse(text)) else { return nil }
        return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    private static let millisecondStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let secondStyle = Date.ISO8601FormatStyle(timeZone: .gmt)
}
