import CirrusContracts
import CirrusKafka
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// Everything a Cirrus service runs besides its own routes: PostgreSQL pool with
/// migrations, Kafka producer, topic creation, outbox relay, consumers, health and
/// metrics, all as services of one `ServiceGroup`, started in dependency order and shut
/// down in reverse on SIGTERM/SIGINT within `CIRRUS_SHUTDOWN_TIMEOUT_SECONDS`.
public final class ServiceRuntime: Sendable {
    public let configuration: ServiceConfiguration
    public let logger: Logger
    public let startup = StartupGate()
    public let readiness: Readiness
    public let postgres: PostgresClient?
    public let producer: KafkaProducer?
    /// The dead letters of this service's consumers (with a database and Kafka).
    public let deadLetters: DeadLetters?
    public let kafka: KafkaClientConfiguration
    private let migrations: [Migration]
    private let workers = NIOLockedValueBox<[any Service]>([])
    private let startupTasks = NIOLockedValueBox<[@Sendable () async throws -> Void]>([])
    private let samplers = NIOLockedValueBox<[Samplers.Sampler]>([])
    /// The span exporter with `CIRRUS_TRACING=otlp` (nil when off).
    private let tracingExporter: (any Service)?

    /// - Parameters:
    ///   - usesKafka: false for the gateway, which neither produces nor consumes events.
    public init(configuration: ServiceConfiguration, migrations: [Migration] = [], usesKafka: Bool = true, logger: Logger) throws {
        // The metrics system first: counters created before it is bootstrapped would stay no-ops.
        _ = CirrusMetrics.registry
        // The tracer too, before the first span (server middleware, clients, relay) is made.
        tracingExporter = try CirrusTracing.bootstrap(service: configuration.service, mode: configuration.tracing, logger: logger)
        self.configuration = configuration
        self.logger = logger
        self.migrations = migrations
        self.kafka = KafkaClientConfiguration(brokers: configuration.kafkaBrokers, clientID: "cirrus-\(configuration.service)")
        self.readiness = Readiness(service: configuration.service, startup: startup, logger: logger)
        readiness.add(Heartbeats.shared.readinessCheck)
        if let database = configuration.database {
            let client = PostgresClient(configuration: database.postgresConfiguration, backgroundLogger: logger)
            postgres = client
            readiness.add(
                ReadinessCheck("database") {
                    try await client.query("SELECT 1", logger: logger)
                })
        } else {
            postgres = nil
        }
        if usesKafka {
            let producer = try KafkaProducer(client: kafka, logger: logger)
            self.producer = producer
            readiness.add(ReadinessCheck("broker") { try await producer.checkConnection() })
        } else {
            producer = nil
        }
        deadLetters = postgres.flatMap { usesKafka ? DeadLetters(service: configuration.service, client: $0, logger: logger) : nil }
    }

    /// A long-lived worker (reconciliation loop, sweeper…), started after start-up work.
    public func addService(_ service: any Service) {
        workers.withLockedValue { $0.append(service) }
    }

    /// A gauge read from a store every `interval` (after start-up): see `Samplers`.
    public func addSampler(_ name: String, every interval: Duration, _ sample: @escaping @Sendable () async throws -> Void) {
        samplers.withLockedValue { $0.append(.init(name: name, interval: interval, sample: sample)) }
    }

    /// Work to finish before the service reports ready (after migrations and topics).
    public func onStartup(_ task: @escaping @Sendable () async throws -> Void) {
        startupTasks.withLockedValue { $0.append(task) }
    }

    /// Consume the events `handlers` knows, in consumer group `cirrus-<service>[-name]`.
    public func addConsumer(name: String? = nil, handlers: EventHandlers, configure: (inout KafkaConsumer.Configuration) -> Void = { _ in }) {
        guard let producer else { preconditionFailure("consumers need usesKafka") }
        let group = ["cirrus", configuration.service, name].compactMap { $0 }.joined(separator: "-")
        var consumerConfiguration = KafkaConsumer.Configuration(groupID: group, topics: handlers.topics)
        configure(&consumerConfiguration)
        // Beats on every poll and before every handler attempt: an attempt is bounded by the
        // handler timeout, a retry's pause by the longest backoff.
        let bound = consumerConfiguration.handlerTimeout + consumerConfiguration.maxBackoff + .seconds(60)
        consumerConfiguration.heartbeat = { Heartbeats.shared.beat("consumer:" + group, bound: bound) }
        let logger = self.logger
        let handle: DeadLetters.Handler = { message in try await handlers.handle(message, logger: logger) }
        if let deadLetters {
            deadLetters.register(consumer: group, handler: handle)
            consumerConfiguration.deadLetterSink = { message, error, attempts in
                try await deadLetters.record(message, consumer: group, error: error, attempts: attempts)
            }
        }
        let consumer = KafkaConsumer(
            configuration: consumerConfiguration, client: kafka, deadLetterProducer: producer, logger: logger, handler: handle)
        addService(GatedService(gate: startup, service: consumer))
    }

    /// A router with the kit's middleware (request id, problem+json errors, metrics) and
    /// the operational routes.
    /// - Parameter publicEdge: true for the gateway, whose port is the public one: `/metrics`
    ///   is then served only with `CIRRUS_METRICS_TOKEN` set.
    /// - Parameter edge: adds middleware that must apply to the operational routes too (the
    ///   gateway's security headers, access log, rate limits).
    public func makeRouter() -> Router<ServiceRequestContext> {
        makeRouter(context: ServiceRequestContext.self) { _ in }
    }

    public func makeRouter<Context: RequestContext>(
        context: Context.Type, publicEdge: Bool = false,
        edge: (Router<Context>) throws -> Void = { _ in }
    ) rethrows -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: RequestIDMiddleware())
        if CirrusTracing.enabled { router.add(middleware: ServerSpanMiddleware()) }
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: HTTPMetricsMiddleware())
        try edge(router)
        router.addOperationalRoutes(readiness: readiness, metrics: .forService(token: configuration.metricsToken, publicPort: publicEdge))
        return router
    }

    /// How long a connection may send nothing (no request part) before the server closes it.
    public static let idleTimeout: TimeAmount = .seconds(75)

    /// Run until SIGTERM/SIGINT. Throws if start-up fails (the process then exits non-zero).
    public func run<Responder: HTTPResponderBuilder>(router: Responder) async throws
    where Responder.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        var app = Application(
            router: router,
            // A connection that sends nothing for this long is closed: request headers never finished
            // (slow-loris), a body stalled, or an idle keep-alive. Above the 60 s for which this
            // code's HTTP clients keep idle pooled connections, so a server never closes one a
            // client is about to reuse. A response being written is not cut.
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()], idleTimeout: Self.idleTimeout)),
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "cirrus-\(configuration.service)"),
            onServerRunning: { [logger, configuration] channel in
                logger.info("listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")", "service": "\(configuration.service)"])
            },
            logger: logger
        )
        let startup = self.startup
        app.beforeServerStarts { try await startup.wait() }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // First in, last out: the exporter flushes the spans of everything shut down before it.
        if let tracingExporter { services.append(.init(service: tracingExporter)) }
        if let postgres { services.append(.init(service: postgres)) }
        if let producer { services.append(.init(service: producer)) }
        services.append(.init(service: StartupService(runtime: self), successTerminationBehavior: .ignore))
        if let postgres, let producer {
            var relayConfiguration = OutboxRelay.Configuration()
            relayConfiguration.pollInterval = configuration.outboxPollInterval
            services.append(
                .init(service: OutboxRelay(client: postgres, producer: producer, configuration: relayConfiguration, startup: startup, logger: logger))
            )
        }
        for worker in workers.withLockedValue({ $0 }) { services.append(.init(service: worker)) }
        if let postgres {
            let logger = self.logger
            addSampler("database connections", every: .seconds(10)) { try await DatabaseMetrics.sample(postgres, logger: logger) }
        }
        let samplers = self.samplers.withLockedValue { $0 }
        if !samplers.isEmpty { services.append(.init(service: GatedService(gate: startup, service: Samplers(samplers: samplers, logger: logger)))) }
        services.append(.init(service: app))

        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        logger.info("starting", metadata: ["configuration": "\(configuration)"])
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.info("stopped")
    }

    /// Migrations, topics, then the service's own start-up tasks; opens the gate.
    func performStartup() async throws {
        if let postgres {
            try await retrying("database migrations") {
                try await Migrator.migrate(self.migrations, client: postgres, logger: self.logger)
            }
        }
        if producer != nil {
            let topics = Topic.allCases.flatMap { topic in
                [topic.rawValue, Topic.deadLetter(topic.rawValue)].map {
                    KafkaTopicSpec(name: $0, partitions: configuration.topicPartitions, replicationFactor: configuration.topicReplicationFactor)
                }
            }
            try await retrying("topic creation") {
                try await KafkaAdmin.createTopics(topics, client: self.kafka, logger: self.logger)
            }
        }
        for task in startupTasks.withLockedValue({ $0 }) { try await task() }
        await deadLetters?.refreshGauges()
        startup.open()
        logger.info("ready")
    }

    /// Dependencies may start after us (compose, a slow broker): retry for about a minute.
    private func retrying(_ what: String, _ body: @Sendable () async throws -> Void) async throws {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await body()
            } catch {
                if ContinuousClock.now > deadline || Task.isCancelled {
                    logger.critical("\(what) failed", metadata: ["error": "\(String(reflecting: error))"])
                    throw error
                }
                logger.warning("\(what) failed, retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

/// Runs start-up work once the pool and producer are running, then stays out of the way.
struct StartupService: Service {
    let runtime: ServiceRuntime

    func run() async throws {
        do {
            try await runtime.performStartup()
        } catch {
            runtime.startup.fail(error)
            throw error
        }
    }
}

/// Starts `service` only after start-up work is done.
public struct GatedService: Service {
    let gate: StartupGate
    let service: any Service

    public init(gate: StartupGate, service: any Service) {
        self.gate = gate
        self.service = service
    }

    public func run() async throws {
        try await gate.wait()
        try await service.run()
    }
}
