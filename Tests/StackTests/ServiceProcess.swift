import CirrusTestSupport
import Foundation

/// One service binary started as a child process, its output in a log file.
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let port: Int
    let process = Process()
    let logURL: URL

    init(name: String, port: Int, environment: [String: String]) throws {
        self.name = name
        self.port = port
        let binary = URL(fileURLWithPath: TestEnvironment.binDirectory).appendingPathComponent("cirrus-\(name)")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TimedOut(what: "binary \(binary.path) (run `swift build` first)")
        }
        logURL = URL(fileURLWithPath: TestEnvironment.scratchDirectory).appendingPathComponent("stack-\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = binary
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CIRRUS_") }
        env.merge(environment) { $1 }
        env["CIRRUS_HTTP_HOST"] = "127.0.0.1"
        env["CIRRUS_HTTP_PORT"] = "\(port)"
        process.environment = env
        process.standardOutput = log
        process.standardError = log
    }

    func start() throws { try process.run() }

    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then wait up to `timeout` for the exit; SIGKILL if it does not come.
    func terminate(timeout: Duration = .seconds(30)) async -> (status: Int32, reason: Process.TerminationReason)? {
        guard process.isRunning else { return (process.terminationStatus, process.terminationReason) }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return (process.terminationStatus, process.terminationReason)
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
}
