import Crypto
import Foundation
import NIOConcurrencyHelpers

/// What `./infra/test` provides: the throw-away PostgreSQL, broker and S3 test server.
/// Integration suites are enabled only when `CIRRUS_INTEGRATION=1` (infra/test sets it).
public enum TestEnvironment {
    private static var env: [String: String] { ProcessInfo.processInfo.environment }

    public static var integration: Bool { env["CIRRUS_INTEGRATION"] == "1" }
    public static var postgresURL: String { env["CIRRUS_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres" }
    public static var kafkaBrokers: String { env["CIRRUS_TEST_KAFKA_BROKERS"] ?? "127.0.0.1:9092" }
    public static var s3Endpoint: String { env["CIRRUS_TEST_S3_ENDPOINT"] ?? "http://127.0.0.1:9000" }
    public static var binDirectory: String { env["CIRRUS_BIN_DIR"] ?? ".build/debug" }
    public static var scratchDirectory: String { env["CIRRUS_TEST_TMP"] ?? NSTemporaryDirectory() }

    /// A name no other test uses: topics, groups, databases.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Poll `condition` until it holds or `timeout` passes. The default is generous: when every
/// suite starts at once on two cores, joining a consumer group on the local broker has taken
/// ~50 s; a condition that holds returns at once whatever the bound.
public func eventually(
    _ what: String, timeout: Duration = .seconds(90), interval: Duration = .milliseconds(50), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    if try await condition() { return }
    throw TimedOut(what: what)
}

/// A thread-safe list tests append to from handlers.
public final class Recorder<Element: Sendable>: Sendable {
    private let box = NIOLockedValueBox<[Element]>([])
    public init() {}
    public func append(_ element: Element) { box.withLockedValue { $0.append(element) } }
    public var all: [Element] { box.withLockedValue { $0 } }
    public var count: Int { box.withLockedValue { $0.count } }
}

/// SHA-256 as lower-case hex.
public enum SHA256Hex {
    public static func of(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
