import Foundation

/// Everything the commands print: results on standard output (text or the API's JSON),
/// messages on standard error.
enum Output {
    /// A line on standard output.
    static func line(_ text: String) {
        print(text)
    }

    /// A line on standard error.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// The API's JSON as it was received.
    static func json(_ data: Data) {
        FileHandle.standardOutput.write(data)
        if data.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    /// Several answers' JSON values joined as `{"items": [...]}` (the items of every page of a
    /// listing, or several results of one command), each value kept as the API sent it.
    static func jsonItems(_ values: [Data]) {
        var out = Data("{\"items\":[".utf8)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(value)
        }
        out.append(contentsOf: Array("]}".utf8))
        json(out)
    }

    /// Rows padded into columns (the last column is not padded).
    static func table(_ rows: [[String]]) {
        guard let count = rows.map(\.count).max(), count > 0 else { return }
        var widths = [Int](repeating: 0, count: count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        for row in rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            line(cells.joined(separator: "  "))
        }
    }

    /// `1536` → `1.5 KiB`.
    static func bytes(_ count: Int64) -> String {
        if count < 1024 { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    /// `2026-11-23T12:36:43.111Z` → `2026-11-23 12:36`.
    static func date(_ iso: String?) -> String {
        guard let iso, iso.count >= 16 else { return iso ?? "-" }
        return String(iso.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    static func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }
}

/// The JSON values of each page's `items` member, as raw bytes.
enum JSONItems {
    static func split(pages: [Data]) throws -> [Data] {
        var values: [Data] = []
        for page in pages {
            guard let object = try JSONSerialization.jsonObject(with: page) as? [String: Any],
                let items = object["items"] as? [Any]
            else { throw CLIError("The server sent a page without items.") }
            for item in items {
                values.append(try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys, .withoutEscapingSlashes]))
            }
        }
        return values
    }
}
