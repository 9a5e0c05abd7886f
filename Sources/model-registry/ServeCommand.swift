import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Postgres
import Prometheus
import RegistryAPI
import Storage

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the registry API (models, providers, agents, /openapi.json, /healthz, /readyz, /metrics).",
        discussion: """
            Environment: DATABASE_URL, PORT, SWITCHBOARD_API_TOKEN (when set, /api requires \
            Authorization: Bearer <token>), LOG_LEVEL. Migrations are not applied here: run \
            `model-registry migrate`; until then /readyz answers 503.
            """)

    @Option(help: "Port to listen on (default: $PORT, else 8080).")
    var port: Int?

    @Option(help: "Interface to listen on.")
    var host = "0.0.0.0"

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Folder of NNNN_name.sql files /readyz compares the database with (default: SWITCHBOARD_MIGRATIONS_DIR, else ./migrations).")
    var migrationsDir: String?

    @Option(help: "Most database connections the server opens.")
    var maxConnections = 10

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let resolvedPort = port ?? environment["PORT"].flatMap(Int.init) ?? 8080
        guard (0...65_535).contains(resolvedPort) else { throw ValidationError("port must be 0-65535") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "model-registry")
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        let databaseConfiguration = try database.configuration(environment)
        let directory = migrationsDir.map { URL(fileURLWithPath: $0) } ?? Migration.defaultDirectory(environment: environment)
        let migrations: [Migration]
        do {
            migrations = try Migration.load(from: directory)
        } catch {
            throw ValidationError("\(error) (set --migrations-dir or SWITCHBOARD_MIGRATIONS_DIR)")
        }

        // One registry for our request metrics and anything else reporting through swift-metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let pool = PostgresPool(configuration: databaseConfiguration, maxConnections: maxConnections, logger: logger)
        defer { pool.shutdown() }
        logger.info("registry.starting", metadata: [
            "http.port": "\(resolvedPort)", "postgres.target": "\(databaseConfiguration)", "migrations.count": "\(migrations.count)",
        ])
        let app = await buildApplication(
            configuration: RegistryConfiguration(
                host: host, port: resolvedPort, apiToken: environment["SWITCHBOARD_API_TOKEN"],
                migrations: migrations, metrics: registry),
            pool: pool, logger: logger)
        try await app.runService()
    }
}
