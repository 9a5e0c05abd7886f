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
    /// `SWITCHBOARD_API_TOKEN` (read and write) and `SWITCHBOARD_READ_TOKEN` (read only): when
    /// either is set, `/api` requires `Authorization: Bearer <token>`.
    public var tokens: APITokens
    /// Provider writes: hosts a key may be sent to over plain http besides loopback
    /// (`SWITCHBOARD_ALLOWED_HTTP_HOSTS`), and key variable names allowed besides the documented
    /// patterns (`SWITCHBOARD_ALLOWED_KEY_VARS`).
    public var providerPolicy: ProviderPolicy
    /// The migrations `/readyz` compares the database with.
    public var migrations: [Migration]
    /// Where request metrics go and what `/metrics` renders.
    public var metrics: PrometheusCollectorRegistry
    public var version: String
    /// "Now" for every date-dependent answer (deprecation, effective status). Tests pin it.
    public var clock: @Sendable () -> Date
    /// Key caching, failed-authentication throttling, waits per key.
    public var access: AccessConfiguration
    /// A connection that completes no request part (header block, body chunk) for this long while
    /// no response is pending is closed: slow-loris and idle keep-alive connections (review
    /// finding P2-5). Long-polls and `/v1` waits, whose request is read, are not cut.
    public var idleTimeout: Duration = .seconds(30)
    /// Live streaming of `/v1` calls; its callback URL defaults to `http://127.0.0.1:<port>`.
    public var streaming = StreamingConfiguration()
    /// Browser origins (`https://app.example.com`) allowed to call `/v1` cross-origin
    /// (`SWITCHBOARD_CORS_ORIGINS`); empty: no CORS.
    public var corsOrigins: Set<String> = []

    public init(
        host: String = "127.0.0.1", port: Int = 8080, apiToken: String? = nil, readToken: String? = nil,
        providerPolicy: ProviderPolicy = ProviderPolicy(), migrations: [Migration] = [],
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String = "1.0.0",
        clock: @escaping @Sendable () -> Date = { Date() }, adminToken: String? = nil,
        access: AccessConfiguration = AccessConfiguration()
    ) {
        self.host = host
        self.port = port
        self.access = access
        self.tokens = APITokens(write: apiToken, read: readToken, admin: adminToken)
        self.providerPolicy = providerPolicy
        self.migrations = migrations
        self.metrics = metrics
        self.version = version
        self.clock = clock
    }
}

/// The registry's route table (also the source of `/openapi.json`). Each route group gets the
/// repositories and policies it uses, and nothing else, here.
extension RegistryConfiguration {
    /// The streaming settings with the callback URL filled in from the listen address.
    var resolvedStreaming: StreamingConfiguration {
        var streaming = streaming
        if streaming.callbackURL == nil {
            let wildcard = ["0.0.0.0", "::", "", "*"].contains(host)
            let reachable = wildcard ? "127.0.0.1" : (host.contains(":") ? "[\(host)]" : host)
            streaming.callbackURL = "http://\(reachable):\(port)"
        }
        return streaming
    }
}

func registryRoutes(configuration: RegistryConfiguration, services: RegistryServices) -> [APIRoute] {
    // `/openapi.json` documents the table it is part of: its handler reads the finished document.
    let document = OpenAPIDocumentHolder()
    let intake = services.intake
    let groups: [[APIRoute]] = [
        ModelRoutes(
            models: services.models, providers: services.providers, importer: services.importer,
            catalogCache: services.catalogCache, clock: services.clock).routes,
        ProviderRoutes(providers: services.providers, policy: services.providerPolicy, catalogCache: services.catalogCache).routes,
        AgentRoutes(
            agents: services.agents, models: services.models, providers: services.providers, usage: services.usage,
            tenants: services.tenants, clock: services.clock).routes,
        ChangeRoutes(changes: services.changes, agents: services.agents).routes,
        TenantRoutes(tenants: services.tenants).routes,
        RateLimitRoutes(
            limits: services.rateLimits, keys: services.keys, agents: services.agents, providers: services.providers,
            cache: services.rateLimitCache).routes,
        KeyRoutes(keys: services.keys, tenants: services.tenants, agents: services.agents, clock: services.clock).routes,
        BudgetRoutes(
            budgets: services.budgets, gate: services.budgetGate, tenants: services.tenants, keys: services.keys,
            agents: services.agents).routes,
        JobRoutes(jobs: services.jobs, intake: intake, completions: services.completions, waits: services.waits).routes,
        ExecutionRoutes(executions: services.executions, intake: intake).routes,
        SystemRoutes(
            pool: services.pool, migrator: services.migrator, tokens: services.tokens, metrics: configuration.metrics,
            document: { document.value.withLock { $0 } }).routes,
        UsageRoutes(usage: services.usage).routes,
        UIRoutes(assets: UIAssets.load(logger: services.logger)).routes,
        FacadeRoutes(services: services).routes,
    ]
    let routes = groups.flatMap { $0 }
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
    buildRouter(configuration: configuration, pool: pool, logger: logger, completions: completions, catalogCache: CatalogCache())
}

func buildRouter(
    configuration: RegistryConfiguration, pool: PostgresPool, logger: Logger, completions: JobCompletionHub?,
    catalogCache: CatalogCache, rateLimitCache: RateLimitCache = RateLimitCache()
) -> Router<RegistryContext> {
    let services = RegistryServices(
        pool: pool, migrations: configuration.migrations, logger: logger,
        completions: completions ?? JobCompletionHub(pool: pool, logger: logger), clock: configuration.clock,
        providerPolicy: configuration.providerPolicy, tokens: configuration.tokens, catalogCache: catalogCache,
        access: configuration.access, streaming: configuration.resolvedStreaming, rateLimitCache: rateLimitCache)
    let routes = registryRoutes(configuration: configuration, services: services)
    var templates: [String: String] = [:]
    for route in routes { templates[RouterPath(route.routerPath).description] = route.path }
    let router = Router(context: RegistryContext.self)
    router.add(middleware: RequestMetricsMiddleware(registry: configuration.metrics, templates: templates))
    router.add(middleware: RequestIDMiddleware())
    // Outside the error middleware, so a browser may read error answers too; before routing, so
    // preflights (OPTIONS) are answered.
    if !configuration.corsOrigins.isEmpty { router.add(middleware: FacadeCORSMiddleware(allowedOrigins: configuration.corsOrigins)) }
    router.add(middleware: NoStoreMiddleware())
    router.add(middleware: ErrorMiddleware())
    // Open mode (no credential configured): loopback Host names only (DNS rebinding).
    if !configuration.tokens.isEnabled { router.add(middleware: LoopbackHostMiddleware()) }
    // Auth and the JSON content type belong to the /api group: whatever the router routes there
    // passes through them, however the path was spelled.
    let api = router.group(RouterPath(APIRoute.apiPrefix))
        .add(middleware: APIAuthMiddleware(authenticator: services.authenticator))
        .add(middleware: JSONContentTypeMiddleware())
    // The OpenAI/Anthropic-compatible endpoints: the same credentials, errors in the caller's format.
    let v1 = router.group(RouterPath(APIRoute.v1Prefix)).add(middleware: FacadeMiddleware(authenticator: services.authenticator))
    router.register(routes, api: api, v1: v1, guard: RouteGuard(pool: pool))
    return router
}

/// `model-registry serve`: the Hummingbird application. Warns once at start when no API token is
/// configured, and when migrations are pending (`/readyz` then answers 503 until `migrate` runs).
public func buildApplication(
    configuration: RegistryConfiguration, pool: PostgresPool, logger: Logger
) async -> some ApplicationProtocol {
    if !configuration.tokens.isEnabled {
        logger.warning("registry.auth.disabled", metadata: [
            "http.host": "\(configuration.host)",
            "registry.hint": "SWITCHBOARD_ADMIN_TOKEN is not set: /api and /v1 answer, without a key, any request to \(configuration.host):\(configuration.port) whose Host is a loopback name",
        ])
    }
    if configuration.tokens.write != nil {
        logger.warning("registry.auth.deprecated_token", metadata: [
            "registry.hint": "SWITCHBOARD_API_TOKEN is deprecated and acts as SWITCHBOARD_ADMIN_TOKEN for one release: set SWITCHBOARD_ADMIN_TOKEN, and give applications keys of their own (model-registry keys create)",
        ])
    }
    if configuration.tokens.read != nil {
        logger.warning("registry.auth.deprecated_token", metadata: [
            "registry.hint": "SWITCHBOARD_READ_TOKEN is deprecated and acts as a viewer key of the default tenant for one release: create a viewer key (model-registry keys create --role viewer)",
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
    let catalogCache = CatalogCache()
    let rateLimitCache = RateLimitCache()
    let completions = JobCompletionHub(pool: pool, logger: logger)
    let router = buildRouter(
        configuration: configuration, pool: pool, logger: logger, completions: completions, catalogCache: catalogCache,
        rateLimitCache: rateLimitCache)
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: configuration.idleTimeAmount)),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "model-registry"),
        services: [
            JobCompletionHubService(hub: completions),
            CatalogCacheListener(cache: catalogCache, configuration: pool.configuration, logger: logger, rateLimits: rateLimitCache),
        ],
        logger: logger
    )
}
