import AsyncHTTPClient
import CirrusContracts
import CirrusKafka
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import Logging
import NIOHTTP1
import Testing

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
        let message = KafkaMessage(topic: UserDeleted.topic.rawValue, partition: 0, offset: 0, key: nil,
                                   value: Array(try ContractCoding.encoder().encode(event)), headers: [])
        try await handlers.handle(message, logger: Logger(label: "trace-tests"))
        #expect(seen.all == [["scope", "req-7", trace.traceparent!, "k=v"]])
        #expect(TraceScope.current == TraceContext())
    }
}
