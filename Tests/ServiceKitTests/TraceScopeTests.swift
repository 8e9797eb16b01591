import AsyncHTTPClient
import CirrusContracts
import CirrusKafka
import CirrusTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import CirrusServiceKit

@Suite("Trace scope")
struct TraceScopeTests {
    @Test func aConsumedEventsTraceAndRequestIDAreTheHandlersAndGoOnToItsCalls() async throws {
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "k=v", requestID: "req-7")
        let event = EventEnvelope(producer: "kit-tests", trace: trace, payload: UserDeleted(userID: UUID()))
        let seen = Recorder<[String]>()
        var handlers = EventHandlers()
        handlers.on(UserDeleted.self) { envelope in
            // A task the handler starts (as thumbnail's renders are) inherits the scope too.
            let forwarded = try await Task {
                var outgoing = HTTPClientRequest(url: "http://127.0.0.1:1/internal/blobs/x")
                outgoing.propagateTrace()
                return ["X-Request-Id", "traceparent", "tracestate"].map { outgoing.headers.first(name: $0) ?? "-" }
            }.value
            seen.append([TraceScope.current == envelope.trace ? "scope" : "no scope"] + forwarded)
        }
        let message = KafkaMessage(
            topic: UserDeleted.topic.rawValue, partition: 0, offset: 0, key: nil,
            value: Array(try ContractCoding.encoder().encode(event)), headers: [])
        try await handlers.handle(message, logger: Logger(label: "trace-tests"))
        #expect(seen.all == [["scope", "req-7", trace.traceparent!, "k=v"]])
        #expect(TraceScope.current == TraceContext())
    }

    @Test func thePublishedRecordCarriesTraceparentAndTracestateInItsHeaders() {
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "k=v", requestID: "req-8")
        let id = UUID()
        let record = Outbox.record(
            topic: "file.deleted", key: "k", eventID: id, type: "file.deleted", payload: ByteBuffer(string: "{}"), trace: trace)
        #expect(
            record.headers.map { "\($0.key)=\($0.stringValue ?? "")" } == [
                "cirrus-event-id=\(id.uuidString.lowercased())", "cirrus-event-type=file.deleted",
                "traceparent=\(trace.traceparent!)", "tracestate=k=v",
            ])
        let bare = Outbox.record(
            topic: "file.deleted", key: "k", eventID: id, type: "file.deleted", payload: ByteBuffer(string: "{}"), trace: TraceContext())
        #expect(bare.headers.map(\.key) == ["cirrus-event-id", "cirrus-event-type"])
    }

    /// With tracing off (as in these tests: nothing bootstraps a tracer), the helpers only run
    /// their bodies and hand the caller's context on unchanged.
    @Test func withTracingOffTheHelpersOnlyRunTheirBodies() async throws {
        #expect(!CirrusTracing.enabled)
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "k=v", requestID: "req-9")
        let (inSpan, inCall, outgoing) = try await TraceScope.$current.withValue(trace) {
            (try await CirrusTracing.span("s") { 1 }, await CirrusTracing.call("GET", "blob") { 2 }, CirrusTracing.outgoing())
        }
        #expect(inSpan == 1 && inCall == 2)
        #expect(outgoing == trace)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await CirrusTracing.span("s") { throw Boom() } }
    }
}
