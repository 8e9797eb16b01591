/// A service's `/readyz` answer.
public struct ReadinessReport: Codable, Sendable, Equatable {
    public var service: String
    public var ready: Bool
    public var checks: [String: CheckResult]

    public init(service: String, ready: Bool, checks: [String: CheckResult]) {
        self.service = service
        self.ready = ready
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey { case service, ready, checks }
}

/// One readiness check: passed or not, a short public reason, how long it took.
/// Absent `detail` / `latency_ms` are omitted from the JSON.
public struct CheckResult: Codable, Sendable, Equatable {
    public var ok: Bool
    public var detail: String?
    public var latencyMs: Double?

    public init(ok: Bool, detail: String? = nil, latencyMs: Double? = nil) {
        self.ok = ok
        self.detail = detail
        self.latencyMs = latencyMs
    }

    enum CodingKeys: String, CodingKey {
        case ok, detail
        case latencyMs = "latency_ms"
    }
}

/// The gateway's `/v1/status`: every service's readiness.
public struct SystemStatus: Codable, Sendable, Equatable {
    public var ready: Bool
    public var services: [String: ReadinessReport]

    public init(ready: Bool, services: [String: ReadinessReport]) {
        self.ready = ready
        self.services = services
    }

    enum CodingKeys: String, CodingKey { case ready, services }
}
