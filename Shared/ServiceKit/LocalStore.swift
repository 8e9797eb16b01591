import Foundation

/// Readiness of a local-directory object store: the directory exists (created if missing)
/// and accepts a write. Used by blob and thumbnail until their storage modules land.
public enum LocalDirectoryCheck {
    public static func prepare(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public static func check(_ path: String) throws {
        let probe = URL(fileURLWithPath: path).appendingPathComponent(".cirrus-ready-\(UUID().uuidString)")
        try Data("ok".utf8).write(to: probe)
        try FileManager.default.removeItem(at: probe)
    }
}
