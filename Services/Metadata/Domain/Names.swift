import CirrusServiceKit
import Foundation

/// The rules for folder and file names: 1–255 bytes of UTF-8 (after NFC normalisation, so a
/// name typed on macOS and on Linux is the same name), no `/`, no NUL or other control
/// characters, and not `.` or `..`.
enum Names {
    static func validate(_ raw: String?, field: String = "name") throws -> String {
        guard let raw else { throw ProblemError.validation(field: field, "is required") }
        let name = raw.precomposedStringWithCanonicalMapping
        if name.isEmpty { throw ProblemError.validation(field: field, "must not be empty") }
        if name.utf8.count > 255 { throw ProblemError.validation(field: field, "must be at most 255 bytes of UTF-8") }
        if name.contains("/") { throw ProblemError.validation(field: field, "must not contain '/'") }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ProblemError.validation(field: field, "must not contain control characters")
        }
        if name == "." || name == ".." { throw ProblemError.validation(field: field, "must not be '.' or '..'") }
        return name
    }

    /// `report.pdf` → `report (restored).pdf`, `report (restored 2).pdf`, … for a restore whose
    /// name is taken meanwhile.
    static func restoredVariant(of name: String, attempt: Int) -> String {
        let suffix = attempt == 1 ? " (restored)" : " (restored \(attempt))"
        let ext = (name as NSString).pathExtension
        let base = ext.isEmpty || name.hasPrefix(".") && !name.dropFirst().contains(".") ? name : String(name.dropLast(ext.count + 1))
        let candidate = ext.isEmpty || base == name ? base + suffix : base + suffix + "." + ext
        // Stay within 255 bytes by shortening the base.
        if candidate.utf8.count <= 255 { return candidate }
        var shorter = base
        while (shorter + suffix + (ext.isEmpty || base == name ? "" : "." + ext)).utf8.count > 255 { shorter.removeLast() }
        return shorter + suffix + (ext.isEmpty || base == name ? "" : "." + ext)
    }
}
