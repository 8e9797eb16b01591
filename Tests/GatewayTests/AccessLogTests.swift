import CirrusContracts
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Gateway

/// Access lines: JSON with the documented keys, written off the request path into a buffer
/// that is flushed on a timer, when it grows past its threshold, and at shutdown.
@Suite("Access log")
struct AccessLogTests {
    static func entry(
        status: Int = 200, bytes: Int? = 21_052, micros: Int64 = 38_493, user: String? = "u1", request: String? = "r1"
    )
        -> AccessLogSink.Entry
    {
        AccessLogSink.Entry(
            ts: Date(timeIntervalSince1970: 1_795_372_200.123), method: "GET", route: "/v1/folders/{id}/children", status: status,
            bytes: bytes, durationMicroseconds: micros, userID: user, requestID: request, client: "127.0.0.1", aborted: false)
    }

    func object(_ line: ByteBuffer) throws -> [String: Any] {
        let bytes = Array(line.readableBytesView)
        #expect(bytes.last == 0x0A)
        return try #require(JSONSerialization.jsonObject(with: Data(bytes.dropLast())) as? [String: Any])
    }

    @Test func aLineHoldsEveryFieldWithSortedKeys() throws {
        let line = Self.entry().line
        #expect(
            String(buffer: line)
                == #"{"aborted":false,"bytes":21052,"client":"127.0.0.1","duration_ms":38.493,"log":"access","method":"GET","#
                + #""request_id":"r1","route":"/v1/folders/{id}/children","status":200,"ts":"2026-11-22T18:30:00.123Z","user_id":"u1"}"#
                + "\n")
        let object = try object(line)
        #expect(object["log"] as? String == "access")
    }

    @Test(arguments: [(Int64(0), "0"), (1, "0.001"), (1000, "1"), (1500, "1.5"), (12_340, "12.34"), (2_000_010, "2000.01")])
    func durationsAreMillisecondsWithoutTrailingZeros(micros: Int64, text: String) {
        #expect(String(buffer: Self.entry(micros: micros).line).contains("\"duration_ms\":\(text),"))
    }

    @Test func absentValuesAreLeftOut() throws {
        let object = try object(Self.entry(status: 404, bytes: nil, user: nil, request: nil).line)
        #expect(object["bytes"] == nil && object["user_id"] == nil && object["request_id"] == nil)
        #expect(object["status"] as? Int == 404)
    }

    @Test func linesWaitForTheFlushThenReachTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try AccessLogSink(setting: path, flushThreshold: 4096)
        sink.write(Self.entry())
        sink.write(Self.entry(status: 201))
        #expect(try String(contentsOfFile: path, encoding: .utf8).isEmpty)  // buffered, not yet written
        sink.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].contains("\"status\":201"))
    }

    @Test func aBufferPastItsThresholdIsWrittenAtOnce() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try AccessLogSink(setting: path, flushThreshold: 3 * Self.entry().line.readableBytes + 1)
        for _ in 0..<5 { sink.write(Self.entry()) }  // the fourth crosses the threshold; the fifth waits
        let written = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
        #expect(written == 4)
        sink.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 5)
    }

    @Test func theFlushLoopWritesWithoutBeingAsked() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try AccessLogSink(setting: path, flushInterval: .milliseconds(20))
        let loop = Task { try await sink.run() }
        sink.write(Self.entry())
        var seen = 0
        for _ in 0..<100 where seen == 0 {
            try await Task.sleep(for: .milliseconds(20))
            seen = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
        }
        loop.cancel()
        _ = try? await loop.value
        #expect(seen == 1)
    }

    /// With the access log off there is nothing to flush, but the service must still run
    /// until shutdown: a service that returns early stops the whole gateway.
    @Test func aSinkThatIsOffRunsUntilShutdown() async throws {
        let sink = try AccessLogSink(setting: "off")
        let returned = Mutex(false)
        let running = Task {
            try? await sink.run()
            returned.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(returned.withLock { $0 } == false)
        running.cancel()
        await running.value
        #expect(returned.withLock { $0 })
    }
}
