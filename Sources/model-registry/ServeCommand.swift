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
            Authorization: Bearer <token>), SWITCHBOARD_READ_TOKEN (a token that may only read), \
            SWITCHBOARD_ALLOWED_HTTP_HOSTS, SWITCHBOARD_ALLOWED_KEY_VARS, SWITCHBOARD_KEY_HOSTS, LOG_LEVEL, LOG_FORMAT=json. \
            Without a token the server listens on 127.0.0.1 only unless --allow-unauthenticated is given. \
            Migrations are not applied here: run `model-registry migrate`; until then /readyz answers 503.
            """)

    @Option(help: "Port to listen on (default: $PORT, else 8080).")
    var port: Int?

    @Option(help: "Interface to listen on (default: 0.0.0.0 with a token, 127.0.0.1 without).")
    var host: String?

    @Flag(help: "Serve the API without a token on a non-loopback address (anyone who reaches the port can change the catalog and providers).")
    var allowUnauthenticated = false

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

        let tokens = APITokens(write: environment["SWITCHBOARD_API_TOKEN"], read: environment["SWITCHBOARD_READ_TOKEN"])
        let listenHost: String
        do {
            listenHost = try ListenPolicy.host(requestedHost: host, tokens: tokens, allowUnauthenticated: allowUnauthenticated)
        } catch {
            throw ValidationError(error.description)
        }

        if environment["LOG_FORMAT"]?.lowercased() == "json" {
            LoggingSystem.bootstrap { label in JSONLogHandler.standardError(label: label) }
        } else {
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
        }
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
            "http.host": "\(listenHost)", "http.port": "\(resolvedPort)", "auth.enabled": "\(tokens.isEnabled)", "postgres.target": "\(databaseConfiguration)", "migrations.count": "\(migrations.count)",
        ])
        let providerPolicy: ProviderPolicy
        do { providerPolicy = try ProviderPolicy(environment: environment) } catch { throw ValidationError(error.description) }
        let app = await buildApplication(
            configuration: RegistryConfiguration(
                host: listenHost, port: resolvedPort, apiToken: tokens.write, readToken: tokens.read,
                providerPolicy: providerPolicy, migrations: migrations, metrics: registry),
            pool: pool, logger: logger)
        try await app.runService()
    }
}
