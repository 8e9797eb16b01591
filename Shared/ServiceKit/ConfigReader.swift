import Foundation

/// A configuration value that is missing or malformed. Names the key, never the value
/// (it may be a secret).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let reason: String
    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }
    public var description: String { "configuration \(key): \(reason)" }
}

/// Typed access to configuration from environment variables (`CIRRUS_*`).
/// Every key a service reads is documented in README.md and `.env.example`.
///
/// Any `CIRRUS_*` key may instead be given as `<KEY>_FILE`, the path of a file holding the
/// value (Docker and Kubernetes secrets); one trailing newline is dropped. Setting both, or
/// naming a file that cannot be read, is an error for that key.
public struct ConfigReader: Sendable {
    public let values: [String: String]
    /// Keys whose `_FILE` variant could not be used, with the reason.
    let fileProblems: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var values = environment
        var problems: [String: String] = [:]
        for (name, path) in environment where name.hasPrefix("CIRRUS_") && name.hasSuffix("_FILE") && !path.isEmpty {
            let key = String(name.dropLast(5))
            if let direct = environment[key], !direct.isEmpty {
                problems[key] = "is set both directly and as \(name): set one"
                continue
            }
            guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
                problems[key] = "\(name) names a file that cannot be read"
                continue
            }
            if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
            values[key] = text
        }
        self.values = values
        self.fileProblems = problems
    }

    /// Throws for the first `_FILE` variant, of any key, that could not be used (both set, or
    /// an unreadable file): every service checks this before reading its configuration.
    public func checkFiles() throws {
        if let key = fileProblems.keys.sorted().first { try checkFile(key) }
    }

    /// Throws when `key`'s `_FILE` variant could not be used.
    func checkFile(_ key: String) throws {
        if let problem = fileProblems[key] { throw ConfigurationError(key: key, reason: problem) }
    }

    /// A secret (optional): refused when it still holds a placeholder such as those in
    /// `.env.example`, and, when `keyLike` (a key Cirrus signs or compares with), when it is
    /// shorter than `minLength` or easy to guess (`SecretPolicy`).
    public func secret(_ key: String, minLength: Int = 1, keyLike: Bool = true) throws -> String? {
        try checkFile(key)
        guard let value = optionalString(key) else { return nil }
        let problem = keyLike ? SecretPolicy.weaknessProblem(value, minLength: minLength) : SecretPolicy.placeholderProblem(value)
        if let problem { throw ConfigurationError(key: key, reason: problem) }
        return value
    }

    /// `secret`, required.
    public func requiredSecret(_ key: String, minLength: Int = 1, keyLike: Bool = true) throws -> String {
        guard let value = try secret(key, minLength: minLength, keyLike: keyLike) else { throw ConfigurationError(key: key, reason: "is required") }
        return value
    }

    public func string(_ key: String, default value: String) -> String {
        values[key].flatMap { $0.isEmpty ? nil : $0 } ?? value
    }

    public func optionalString(_ key: String) -> String? {
        values[key].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func requiredString(_ key: String) throws -> String {
        try checkFile(key)
        guard let value = optionalString(key) else { throw ConfigurationError(key: key, reason: "is required") }
        return value
    }

    public func int(_ key: String, default value: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let raw = optionalString(key) else { return value }
        guard let parsed = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(parsed) else {
            throw ConfigurationError(key: key, reason: "must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let raw = optionalString(key)?.lowercased() else { return value }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(key: key, reason: "must be true or false")
        }
    }

    /// A duration given in whole milliseconds.
    public func milliseconds(_ key: String, default value: Duration, range: ClosedRange<Int> = 0...86_400_000) throws -> Duration {
        guard optionalString(key) != nil else { return value }
        return .milliseconds(try int(key, default: 0, range: range))
    }

    /// A duration given in whole seconds.
    public func seconds(_ key: String, default value: Duration, range: ClosedRange<Int> = 0...31_536_000) throws -> Duration {
        guard optionalString(key) != nil else { return value }
        return .seconds(try int(key, default: 0, range: range))
    }

    /// An http(s) base URL, without a trailing slash.
    public func url(_ key: String, default value: String) throws -> String {
        let raw = string(key, default: value)
        guard let url = URL(string: raw), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ConfigurationError(key: key, reason: "must be an http(s) URL")
        }
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }
}
