import AsyncHTTPClient
import CirrusContracts
import CirrusServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// The kit's middleware and operational routes, through Hummingbird's router test client.
@Suite("HTTP kit")
struct HTTPKitTests {
    struct Leaky: Error { let secret = "password=hunter2 at db.internal:5432" }

    func makeApp(checks: [ReadinessCheck] = [], open: Bool = true) -> some ApplicationProtocol {
        var logger = Logger(label: "http-tests")
        logger.logLevel = .critical
        let gate = StartupGate()
        if open { gate.open() }
        let readiness = Readiness(service: "test", startup: gate, checks: checks, logger: logger)
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.addOperationalRoutes(readiness: readiness)
        router.get("/validation") { _, _ -> String in
            throw ProblemError.validation([FieldError(field: "name", message: "must not be empty")])
        }
        router.get("/leak") { _, _ -> String in throw Leaky() }
        // What a handler would put in the events it emits and forward to services it calls.
        router.get("/trace") { request, _ -> String in
            let trace = request.traceContext
            var outgoing = HTTPClientRequest(url: "http://127.0.0.1:1/next")
            outgoing.propagateTrace()
            let forwarded = ["X-Request-Id", "traceparent", "tracestate"].map { outgoing.headers.first(name: $0) ?? "-" }
            return ([trace.requestID ?? "-", trace.traceparent ?? "-", trace.tracestate ?? "-"] + forwarded).joined(separator: " ")
        }
        return Application(router: router, logger: logger)
    }

    func problem(_ body: ByteBuffer) throws -> Problem {
        try ContractCoding.decoder().decode(Problem.self, from: Data(buffer: body))
    }

    @Test func validationErrorsAreProblemJSONNamingTheField() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/validation", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try problem(response.body)
                #expect(problem.status == 422)
                #expect(problem.errors == [FieldError(field: "name", message: "must not be empty")])
                #expect(problem.instance == "/validation")
            }
        }
    }

    @Test func unknownErrorsBecomeABare500WithoutDetail() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/leak", method: .get) { response in
                #expect(response.status == .internalServerError)
                let text = String(buffer: response.body)
                #expect(!text.contains("hunter2"))
                #expect(!text.contains("db.internal"))
                let decoded = try problem(response.body)
                #expect(decoded.status == 500)
            }
        }
    }

    @Test func unknownRoutesAreProblemJSON404() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test func requestIDIsEchoedOrMade() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get, headers: [.requestID: "abc-123"]) { response in
                #expect(response.headers[.requestID] == "abc-123")
            }
            try await client.execute(uri: "/validation", method: .get, headers: [.requestID: "def-456"]) { response in
                #expect(response.headers[.requestID] == "def-456")
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(UUID(uuidString: response.headers[.requestID] ?? "") != nil)
            }
            // A request id with a line break cannot be injected into logs; a new one is made.
            try await client.execute(uri: "/healthz", method: .get, headers: [.requestID: String(repeating: "x", count: 300)]) { response in
                #expect(response.headers[.requestID]?.count == 36)
            }
        }
    }

    @Test func theRequestIDAndTraceReachEventsAndCallsToOtherServices() async throws {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        var fields = HTTPFields()
        fields[.requestID] = "abc-123"
        fields[HTTPField.Name("traceparent")!] = traceparent
        fields[HTTPField.Name("tracestate")!] = "k=v"
        let sent = fields
        let expected = "abc-123 \(traceparent) k=v abc-123 \(traceparent) k=v"
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/trace", method: .get, headers: sent) { response in
                let body = String(buffer: response.body)
                #expect(body == expected)
            }
            // No id from the caller: the one the middleware made (and answered with) travels.
            try await client.execute(uri: "/trace", method: .get) { response in
                let id: String = response.headers[.requestID] ?? "none"
                let body = String(buffer: response.body)
                #expect(body == id + " - - " + id + " - -")
            }
        }
        // Outside a request nothing is forwarded.
        var outgoing = HTTPClientRequest(url: "http://127.0.0.1:1/next")
        outgoing.propagateTrace()
        #expect(outgoing.headers.first(name: "X-Request-Id") == nil)
    }

    @Test func readyWhenEveryCheckPasses() async throws {
        let app = makeApp(checks: [ReadinessCheck("database") {}, ReadinessCheck("broker") {}])
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let report = try ContractCoding.decoder().decode(ReadinessReport.self, from: Data(buffer: response.body))
                #expect(report.ready)
                #expect(Set(report.checks.keys) == ["startup", "database", "broker"])
            }
        }
    }

    @Test func notReadyNamesTheFailingOrSlowCheckWithoutItsError() async throws {
        struct DatabaseDown: Error { let detail = "connection refused 10.0.0.5" }
        let app = makeApp(checks: [
            ReadinessCheck("database") { throw DatabaseDown() },
            ReadinessCheck("broker", timeout: .milliseconds(100)) { try await Task.sleep(for: .seconds(5)) },
            ReadinessCheck("store") {},
        ])
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let report = try ContractCoding.decoder().decode(ReadinessReport.self, from: Data(buffer: response.body))
                #expect(!report.ready)
                #expect(report.checks["database"]?.ok == false)
                #expect(report.checks["database"]?.detail == "unavailable")
                #expect(report.checks["broker"]?.detail == "timed out")
                #expect(report.checks["store"]?.ok == true)
                #expect(!String(buffer: response.body).contains("10.0.0.5"))
            }
        }
    }

    @Test func notReadyUntilStartupFinished() async throws {
        try await makeApp(open: false).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func metricsAreInPrometheusTextFormat() async throws {
        _ = CirrusMetrics.registry
        Metrics.Counter(label: "cirrus_test_counter_total").increment()
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(String(buffer: response.body).contains("cirrus_test_counter_total"))
            }
        }
    }
}
