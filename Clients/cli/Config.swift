import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `cirrus login` remembers: the server and the session's tokens.
struct Config: Codable, Sendable {
    var server: String
    var username: String?
    var accessToken: String?
    var refreshToken: String?
    var accessTokenExpiresAt: Date?
    /// The account's root folder (it never changes): saves a request per path look-up.
    var rootFolderId: String?

    var isLoggedIn: Bool { accessToken != nil && refreshToken != nil }
}

/// The config file: `$CIRRUS_CONFIG`, else `~/.config/cirrus/config.json`. Written atomically
/// with mode 0600 (its directory, when created here, 0700): it holds the refresh token.
struct ConfigStore: Sendable {
    let path: String

    static func standard() -> ConfigStore {
        let env = ProcessInfo.processInfo.environment
        if let path = env["CIRRUS_CONFIG"], !path.isEmpty { return ConfigStore(path: path) }
        let base =
            env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"] ?? NSHomeDirectory()) + "/.config"
        return ConfigStore(path: base + "/cirrus/config.json")
    }

    private var directory: String { (path as NSString).deletingLastPathComponent }

    /// The saved config, or nil when there is none yet.
    func load() throws -> Config? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(Config.self, from: data)
        } catch {
            throw CLIError("The config file \(path) is not valid (\(error)); remove it and log in again.")
        }
    }

    func save(_ config: Config) throws {
        try ensureDirectory()
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(config)
        // A new file next to the old one, then rename: a crash never leaves half a config.
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw CLIError("Cannot write \(temporary): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CLIError("Cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs `body` holding an exclusive lock on the config (`<path>.lock`), so that two
    /// `cirrus` processes never refresh with the same refresh token: the server treats the
    /// reuse of a rotated token as theft and revokes the whole session.
    func withLock<T>(_ body: () async throws -> T) async throws -> T {
        try ensureDirectory()
        let fd = open(path + ".lock", O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw CLIError("Cannot open \(path).lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }  // closing releases the lock
        flock(fd, LOCK_EX)
        return try await body()
    }

    private func ensureDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("\(directory) is not a directory.") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIError("Cannot create \(directory): \(error.localizedDescription)")
        }
        chmod(directory, 0o700)
    }
}
