import JSON
import Foundation
import Hummingbird
import Logging
import Postgres
import Prometheus
import Storage
import Synchronization

/// Everything `model-registry serve` decides at start.
public struct RegistryConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// `SWITCHBOARD_API_TOKEN`: when set, `/api` requires `Authorization: Bearer <token>`.
    public var apiToken: String?
    /// The migrations `/readyz` compares the database with.
    public var migrations: [Migration]
    /// Where request metrics go and what `/metrics` renders.
    public var metrics: PrometheusCollectorRegistry
    public var version: String

    public init(
        host: String = "0.0.0.0", port: Int = 8080, apiToken: String? = nil, migrations: [Migration] = [],
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String = "1.0.0"
    ) {
        self.host = host
        self.port = port
        self.apiToken = apiToken.flatMap { $0.isEmpty ? nil : $0 }
        self.migrations = migrations
        self.metrics = metrics
        self.version = version
    }
}

/// The registry's route table (also the source of `/openapi.json`).
func registryRoutes(configuration: RegistryConfiguration, services: RegistryServices) -> [APIRoute] {
    // `/openapi.json` documents the table it is part of: its handler reads the finished document.
    let document = OpenAPIDocumentHolder()
    let system = SystemRoutes(services: services, metrics: configuration.metrics, document: {
        document.value.withLock { $0 }
    })
    let routes = ModelRoutes(services: services).routes + ProviderRoutes(services: services).routes
        + AgentRoutes(services: services).routes + JobRoutes(services: services).routes
        + ExecutionRoutes(services: services).routes + system.routes
    let built = OpenAPIDocument.build(routes: routes, version: configuration.version)
    document.value.withLock { $0 = built }
    return routes
}

final class OpenAPIDocumentHolder: Sendable {
    let value = Mutex<JSONValue>(.null)
}

/// The router with every route and middleware: errors as JSON (outermost after metrics, so even
/// 401/404/413 use the API's shape), request metrics, bearer auth. `completions` serves the jobs
/// long-poll; its owner shuts it down (a hub made here is only started by a long-poll).
public func buildRouter(
    configuration: RegistryConfiguration, pool: PostgresPool, logger: Logger, completions: JobCompletionHub? = nil
) -> Router<RegistryContext> {
    let services = RegistryServices(
        pool: pool, migrations: configuration.migrations, logger: logger,
        completions: completions ?? JobCompletionHub(pool: pool, logger: logger))
    let routes = registryRoutes(configuration: configuration, services: services)
    var templates: [String: String] = [:]
    for route in routes { templates[RouterPath(route.routerPath).description] = route.path }
    let router = Router(context: RegistryContext.self)
    router.add(middleware: RequestMetricsMiddleware(registry: configuration.metrics, templates: templates))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: BearerAuthMiddleware(token: configuration.apiToken))
    router.register(routes)
    return router
}

/// `model-registry serve`: the Hummingbird application. Warns once at start when no API token is
/// configured, and when migrations are pending (`/readyz` then answers 503 until `migrate` runs).
public func buildApplication(
    configuration: RegistryConfiguration, pool: PostgresPool, logger: Logger
) async -> some ApplicationProtocol {
    if configuration.apiToken == nil {
        logger.warning("registry.auth.disabled", metadata: [
            "registry.hint": "SWITCHBOARD_API_TOKEN is not set: every /api route is open to anyone who can reach this port",
        ])
    }
    do {
        let status = try await Migrator(pool: pool, migrations: configuration.migrations, logger: logger).status()
        if !status.pending.isEmpty {
            logger.warning("registry.migrations.pending", metadata: [
                "migrations.pending": "\(status.pending.joined(separator: ","))",
                "registry.hint": "run `model-registry migrate`; /readyz answers 503 until then",
            ])
        }
    } catch {
        logger.warning("registry.migrations.unknown", metadata: ["error.message": "\(error)"])
    }
    let completions = JobCompletionHub(pool: pool, logger: logger)
    let router = buildRouter(configuration: configuration, pool: pool, logger: logger, completions: completions)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "model-registry"),
        services: [JobCompletionHubService(hub: completions)],
        logger: logger
    )
}
