import CirrusContracts
import Foundation
import Testing

/// The RFC 9457 error body and the readiness reports.
@Suite("Problem and readiness bodies")
struct ProblemTests {
    func text(_ value: some Encodable) throws -> String {
        String(decoding: try ContractCoding.encoder().encode(value), as: UTF8.self)
    }

    @Test func problemsOmitAbsentFields() throws {
        let bare = Problem(type: "https://cirrus.dev/problems/not-found", title: "Not Found", status: 404)
        #expect(try text(bare) == #"{"status":404,"title":"Not Found","type":"https://cirrus.dev/problems/not-found"}"#)
        #expect(try ContractCoding.decoder().decode(Problem.self, from: Data(try text(bare).utf8)) == bare)
        #expect(Problem.mediaType == "application/problem+json")
    }

    @Test func validationProblemsNameTheirFieldsAndRoundTrip() throws {
        let full = Problem(
            type: "t", title: "Validation failed", status: 422, detail: "d", instance: "/v1/folders",
            errors: [FieldError(field: "name", message: "must not be empty")])
        #expect(
            try text(full)
                == #"{"detail":"d","errors":[{"field":"name","message":"must not be empty"}],"instance":"/v1/folders","status":422,"title":"Validation failed","type":"t"}"#
        )
        #expect(try ContractCoding.decoder().decode(Problem.self, from: ContractCoding.encoder().encode(full)) == full)
    }

    @Test func readinessUsesSnakeCaseAndOmitsAbsentFields() throws {
        #expect(try text(CheckResult(ok: true, latencyMs: 1.5)) == #"{"latency_ms":1.5,"ok":true}"#)
        #expect(try text(CheckResult(ok: false, detail: "unreachable")) == #"{"detail":"unreachable","ok":false}"#)
        let report = ReadinessReport(service: "blob", ready: false, checks: ["postgres": CheckResult(ok: false, detail: "timeout", latencyMs: 2000)])
        #expect(try text(report) == #"{"checks":{"postgres":{"detail":"timeout","latency_ms":2000,"ok":false}},"ready":false,"service":"blob"}"#)
        let status = SystemStatus(ready: false, services: ["blob": report])
        #expect(try ContractCoding.decoder().decode(SystemStatus.self, from: ContractCoding.encoder().encode(status)) == status)
    }
}
