import ArgumentParser
import Catalog
import Foundation
import Gateway
import Hummingbird
import Logging
import Metrics
import Postgres
import Prometheus
import ServiceLifecycle
import Support

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Claim and run jobs until SIGTERM/SIGINT.",
        discussion: """
            Every option has an environment equivalent (flags win): DATABASE_URL, GATEWAY_WORKER_ID, \
            GATEWAY_CONCURRENCY, GATEWAY_BATCH_SIZE, GATEWAY_LEASE_SECONDS, GATEWAY_POLL_INTERVAL, \
            GATEWAY_GRACE_PERIOD, GATEWAY_SHUTDOWN_WRITE_SECONDS, GATEWAY_METRICS_PORT, GATEWAY_METRICS_HOST, GATEWAY_MAX_RETRIES, \
            GATEWAY_RETRY_BASE_MS, GATEWAY_REQUEUE_BASE_MS, GATEWAY_CALL_TIMEOUT, GATEWAY_COOLDOWN_SECONDS, \
            GATEWAY_RETENTION_JOBS, GATEWAY_RETENTION_USAGE, GATEWAY_RETENTION_INTERVAL, LOG_LEVEL. Provider keys come from the variables \
            named by llm_providers.api_key_env, sent only to the hosts bound in SWITCHBOARD_KEY_HOSTS (names besides the bound ones: \
            SWITCHBOARD_ALLOWED_KEY_VARS). Provider hosts may resolve to loopback or private addresses only when listed in \
            SWITCHBOARD_ALLOWED_PRIVATE_HOSTS or bound in SWITCHBOARD_KEY_HOSTS. GATEWAY_METRICS_TOKEN: bearer token for /metrics.
            """)

    @Option(help: "PostgreSQL URL or conninfo (default: DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Worker id used in leases and usage rows (default: <host>-<pid>).")
    var workerID: String?

    @Option(help: "Most jobs (provider calls) in flight at once (default 256).")
    var concurrency: Int?

    @Option(help: "Most jobs per claim (default 64); a completion transaction writes up to 4 batches.")
    var batchSize: Int?

    @Option(help: "Lease length in seconds; heartbeats every third of it (default 60).")
    var leaseSeconds: Double?

    @Flag(help: .hidden)
    var allowShortLease = false

    @Option(help: "Idle poll interval in seconds (NOTIFY usually wakes the worker first; default 1).")
    var pollInterval: Double?

    @Option(help: "Seconds in-flight calls may run after SIGTERM before they are released (default 30).")
    var gracePeriod: Double?

    @Option(help: "Seconds after the grace period for the last outcomes to be written; then they are abandoned to the rescuer and the worker exits 1 (default 30).")
    var shutdownWriteSeconds: Double?

    @Option(help: "Port of /metrics, /healthz, /readyz (default 9464; 0 = no metrics server).")
    var metricsPort: Int?

    @Option(help: "Interface of the metrics server (default 127.0.0.1; 0.0.0.0 for every interface, e.g. on a private container network).")
    var metricsHost: String?

    @Option(help: "Retries of the same model after a transient error (default 2).")
    var maxRetries: Int?

    @Option(help: "First retry delay in milliseconds, doubled per retry with full jitter (default 250).")
    var retryBaseMs: Int?

    @Option(help: "Base requeue delay in milliseconds when every model failed transiently (default 2000).")
    var requeueBaseMs: Int?

    @Option(help: "Per-call timeout in seconds (the provider's request timeout when shorter; default 60).")
    var callTimeout: Double?

    @Option(help: "Seconds a model is skipped by every worker after repeated transient failures (default 60).")
    var cooldownSeconds: Double?

    @Option(help: "Delete finished jobs older than this: 0 = keep forever, or e.g. 36h, 7d (default 7d).")
    var retentionJobs: String?

    @Option(help: "Drop model_usage day partitions older than this: 0 = keep forever (default 30d). Counters are kept.")
    var retentionUsage: String?

    @Option(help: "How often to prune (one gateway at a time): 0 = never (default 1h).")
    var retentionInterval: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func env<T>(_ name: String, _ parse: (String) -> T?) -> T? { environment[name].flatMap(parse) }
        func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1000)) }

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "llm-gateway")
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        // Which hosts each provider key may reach (SWITCHBOARD_KEY_HOSTS): a malformed value stops the
        // start instead of running with fewer bindings than the operator meant.
        let keyHosts: KeyHostBindings
        do { keyHosts = try KeyHostBindings(environment: environment) } catch { throw ValidationError(error.description) }
        logger.info("gateway.key_hosts", metadata: [
            "key_hosts": "\(keyHosts.hosts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.sorted().joined(separator: "|"))" }.joined(separator: ","))",
        ])

        let database: PostgresConfiguration
        if let databaseURL {
            database = PostgresConfiguration(connectionString: databaseURL, applicationName: "llm-gateway")
        } else {
            database = try PostgresConfiguration.fromEnvironment(environment, applicationName: "llm-gateway")
        }

        // Flag, else environment variable, else GatewayConfiguration's own default.
        let defaults = GatewayConfiguration()
        let lease = leaseSeconds ?? env("GATEWAY_LEASE_SECONDS", Double.init) ?? defaults.leaseDuration.seconds
        guard lease >= 1 else { throw ValidationError("--lease-seconds must be at least 1") }
        // Tests only (--allow-short-lease, GATEWAY_ALLOW_SHORT_LEASE=1): see leaseFloor.
        let allowShort = allowShortLease || environment["GATEWAY_ALLOW_SHORT_LEASE"] == "1"
        guard allowShort || lease >= GatewayConfiguration.leaseFloor.seconds else {
            throw ValidationError(
                "--lease-seconds must be at least \(Int(GatewayConfiguration.leaseFloor.seconds)): one stalled statement "
                    + "(a silently dead link) blocks the heartbeat that long, and a shorter lease then lapses under a live call")
        }
        var configuration = GatewayConfiguration(
            workerID: workerID ?? environment["GATEWAY_WORKER_ID"] ?? defaults.workerID,
            concurrency: concurrency ?? env("GATEWAY_CONCURRENCY", Int.init) ?? defaults.concurrency,
            batchSize: batchSize ?? env("GATEWAY_BATCH_SIZE", Int.init) ?? defaults.batchSize,
            leaseDuration: seconds(lease),
            pollInterval: (pollInterval ?? env("GATEWAY_POLL_INTERVAL", Double.init)).map(seconds) ?? defaults.pollInterval,
            gracePeriod: (gracePeriod ?? env("GATEWAY_GRACE_PERIOD", Double.init)).map(seconds) ?? defaults.gracePeriod,
            shutdownWriteTimeout: (shutdownWriteSeconds ?? env("GATEWAY_SHUTDOWN_WRITE_SECONDS", Double.init)).map(seconds)
                ?? defaults.shutdownWriteTimeout,
            maxRetriesPerModel: maxRetries ?? env("GATEWAY_MAX_RETRIES", Int.init) ?? defaults.maxRetriesPerModel,
            retryBaseDelay: (retryBaseMs ?? env("GATEWAY_RETRY_BASE_MS", Int.init)).map { .milliseconds($0) } ?? defaults.retryBaseDelay,
            callTimeout: (callTimeout ?? env("GATEWAY_CALL_TIMEOUT", Double.init)).map(seconds) ?? defaults.callTimeout,
            requeueBaseDelay: (requeueBaseMs ?? env("GATEWAY_REQUEUE_BASE_MS", Int.init)).map { .milliseconds($0) } ?? defaults.requeueBaseDelay,
            cooldownDuration: (cooldownSeconds ?? env("GATEWAY_COOLDOWN_SECONDS", Double.init)).map(seconds) ?? defaults.cooldownDuration,
            environment: environment)
        // Streaming jobs (/v1 stream: true): the first token's deadline (then the next model) and
        // the longest gap between tokens once one reached the client (then stream_interrupted).
        if let value = env("GATEWAY_STREAM_FIRST_TOKEN_SECONDS", Double.init) {
            guard value > 0 else { throw ValidationError("GATEWAY_STREAM_FIRST_TOKEN_SECONDS must be > 0") }
            configuration.streamFirstTokenTimeout = seconds(value)
        }
        if let value = env("GATEWAY_STREAM_STALL_SECONDS", Double.init) {
            guard value > 0 else { throw ValidationError("GATEWAY_STREAM_STALL_SECONDS must be > 0") }
            configuration.streamStallTimeout = seconds(value)
        }
        let port = metricsPort ?? env("GATEWAY_METRICS_PORT", Int.init) ?? 9464
        let metricsHost = metricsHost ?? environment["GATEWAY_METRICS_HOST"] ?? GatewayMetricsServer.defaultHost
        let metricsToken = environment[GatewayMetricsServer.tokenVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard (0...65_535).contains(port) else { throw ValidationError("--metrics-port must be 0-65535") }

        let retention = try retentionPolicy(environment)

        let openFiles = ProcessLimits.prepareForManyConnections()
        if openFiles >= 0 && openFiles < configuration.concurrency + 64 {
            logger.warning("gateway.open_file_limit_low", metadata: [
                "process.open_files": "\(openFiles)", "worker.concurrency": "\(configuration.concurrency)",
                "fix": "raise the hard limit (ulimit -Hn / LimitNOFILE) above --concurrency + 64",
            ])
        }

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let worker = try Worker(configuration: configuration, database: database, logger: logger)
        var services: [any Service] = []
        if port != 0 {
            services.append(GatewayMetricsServer.application(
                host: metricsHost, port: port, worker: worker, registry: registry, logger: logger, token: metricsToken))
        }
        services.append(RetentionService(policy: retention, database: database, logger: logger))
        services.append(BudgetAlertService(
            settings: BudgetAlertService.Settings.from(environment: environment), database: database, logger: logger))
        // Shut down in reverse order: the worker drains first, the metrics server last.
        services.append(GatewayService(worker: worker))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// The retention flags, else their GATEWAY_RETENTION_* variables, else the defaults.
    private func retentionPolicy(_ environment: [String: String]) throws -> RetentionPolicy {
        func parse(_ flag: String?, _ variable: String, _ name: String, default value: Duration) throws -> Duration? {
            guard let text = flag ?? environment[variable] else { return value }
            do {
                return try RetentionPolicy.parseDuration(text)
            } catch {
                throw ValidationError("--\(name) (\(variable)): \(error)")
            }
        }
        let usage = try parse(retentionUsage, "GATEWAY_RETENTION_USAGE", "retention-usage", default: RetentionPolicy.defaultUsage)
        // model_usage_ensure_partitions() keeps yesterday's partition: a shorter retention would
        // drop and recreate it every round.
        if let usage, usage < .seconds(2 * 86_400) {
            throw ValidationError("--retention-usage must be 0 (keep) or at least 2d")
        }
        return RetentionPolicy(
            jobs: try parse(retentionJobs, "GATEWAY_RETENTION_JOBS", "retention-jobs", default: RetentionPolicy.defaultJobs),
            usage: usage,
            interval: try parse(
                retentionInterval, "GATEWAY_RETENTION_INTERVAL", "retention-interval", default: RetentionPolicy.defaultInterval))
    }
}
