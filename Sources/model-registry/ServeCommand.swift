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
            Environment: DATABASE_URL, PORT, SWITCHBOARD_ADMIN_TOKEN (the bootstrap admin credential; \
            when set, /api and /v1 require a key or token), SWITCHBOARD_API_TOKEN and \
            SWITCHBOARD_READ_TOKEN (deprecated: admin and default-tenant viewer), \
            SWITCHBOARD_AUTH_FAILURES_PER_MINUTE, SWITCHBOARD_MAX_WAITS_PER_KEY, \
            SWITCHBOARD_ALLOWED_HTTP_HOSTS, SWITCHBOARD_ALLOWED_KEY_VARS, SWITCHBOARD_KEY_HOSTS, \
            SWITCHBOARD_STREAM_CALLBACK_URL (where workers push live /v1 streams; default http://127.0.0.1:<port>), \
            SWITCHBOARD_STREAM_KEEPALIVE_SECONDS (default 15), SWITCHBOARD_CORS_ORIGINS (browser origins allowed \
            to call /v1, comma-separated; default none), LOG_LEVEL, LOG_FORMAT=json. \
            Without a token the server listens on 127.0.0.1 only unless --allow-unauthenticated is given, \
            and answers only loopback Host names; tokens shorter than 32 characters are refused on a \
            non-loopback address. Keys: `model-registry keys create`. \
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

        let tokens = APITokens(
            write: environment["SWITCHBOARD_API_TOKEN"], read: environment["SWITCHBOARD_READ_TOKEN"],
            admin: environment["SWITCHBOARD_ADMIN_TOKEN"])
        let listenHost: String
        do {
            listenHost = try ListenPolicy.host(requestedHost: host, tokens: tokens, allowUnauthenticated: allowUnauthenticated)
        } catch {
            throw ValidationError(error.description)
        }
        var access = AccessConfiguration()
        for (name, assign) in [
            ("SWITCHBOARD_AUTH_FAILURES_PER_MINUTE", { (value: Int) in access.failedAuthenticationsPerMinute = value }),
            ("SWITCHBOARD_MAX_WAITS_PER_KEY", { (value: Int) in access.maximumWaitsPerCredential = max(1, value) }),
        ] as [(String, (Int) -> Void)] {
            guard let text = environment[name] else { continue }
            guard let value = Int(text), value >= 0 else { throw ValidationError("\(name) must be a whole number ≥ 0, not '\(text)'") }
            assign(value)
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
        var configuration = RegistryConfiguration(
            host: listenHost, port: resolvedPort, apiToken: tokens.write, readToken: tokens.read,
            providerPolicy: providerPolicy, migrations: migrations, metrics: registry,
            adminToken: tokens.admin, access: access)
        // Live /v1 streams: where workers push deltas to this instance, and the keep-alive period.
        if let url = environment["SWITCHBOARD_STREAM_CALLBACK_URL"], !url.isEmpty {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ValidationError("SWITCHBOARD_STREAM_CALLBACK_URL must be an http(s) URL, not '\(url)'")
            }
            configuration.streaming.callbackURL = url
        }
        if let text = environment["SWITCHBOARD_CORS_ORIGINS"] {
            let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for origin in origins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin.hasSuffix("/") || origin == "*" {
                throw ValidationError("SWITCHBOARD_CORS_ORIGINS lists origins (scheme://host[:port], no path, no *), not '\(origin)'")
            }
            configuration.corsOrigins = Set(origins)
        }
        if let text = environment["SWITCHBOARD_STREAM_KEEPALIVE_SECONDS"] {
            guard let seconds = Double(text), seconds > 0 else {
                throw ValidationError("SWITCHBOARD_STREAM_KEEPALIVE_SECONDS must be a number of seconds > 0, not '\(text)'")
            }
            configuration.streaming.keepAliveInterval = .milliseconds(Int64(seconds * 1000))
        }
        let app = await buildApplication(configuration: configuration, pool: pool, logger: logger)
        try await app.runService()
    }
}
