import Catalog
import Foundation
import Logging
import Postgres
import Storage

/// Everything the registry's routes are built from: the repositories over one pool, the
/// long-poll hub, the clock, the policies and caches. `registryRoutes` hands each route group
/// only the parts it uses; the `/v1` facade still takes the whole of it.
struct RegistryServices: Sendable {
    let pool: PostgresPool
    let models: ModelRepository
    let providers: ProviderRepository
    let agents: AgentRepository
    let usage: UsageRepository
    let changes: ConfigChangeRepository
    let jobs: JobRepository
    let executions: ExecutionRepository
    let tenants: TenantRepository
    let keys: APIKeyRepository
    let budgets: BudgetRepository
    /// The enqueue-time budget check.
    let budgetGate: BudgetGate
    /// Who is calling (environment tokens and keys, cached).
    let authenticator: Authenticator
    /// Long-polls and `/v1` waits per credential.
    let waits: WaitLimiter
    /// The long-poll hub (one LISTEN connection for the process).
    let completions: JobCompletionHub
    let importer: CatalogImporter
    let migrator: Migrator
    let logger: Logger
    /// "Now", injected (tests pin it); never call `Date()` in a handler.
    let clock: @Sendable () -> Date
    let providerPolicy: ProviderPolicy
    let tokens: APITokens
    /// Encoded catalog answers; only used while its listener runs (`model-registry serve`).
    let catalogCache: CatalogCache
    /// Live `/v1` streams held by this instance, and where workers push to them.
    let streams = StreamRelay()
    let jobStreams: JobStreamRepository
    let streaming: StreamingConfiguration
    let rateLimits: RateLimitRepository
    /// Which keys and agents have rate limits; only used while its listener runs.
    let rateLimitCache: RateLimitCache
    /// How jobs enter the queue (every route that creates jobs, `/v1` included).
    let intake: JobIntake

    init(
        pool: PostgresPool, migrations: [Migration], logger: Logger, completions: JobCompletionHub,
        clock: @escaping @Sendable () -> Date = { Date() },
        providerPolicy: ProviderPolicy = ProviderPolicy(), tokens: APITokens = APITokens(write: nil),
        catalogCache: CatalogCache = CatalogCache(), access: AccessConfiguration = AccessConfiguration(),
        streaming: StreamingConfiguration = StreamingConfiguration(), rateLimitCache: RateLimitCache = RateLimitCache()
    ) {
        self.streaming = streaming
        jobStreams = JobStreamRepository(pool: pool)
        self.catalogCache = catalogCache
        self.clock = clock
        self.providerPolicy = providerPolicy
        self.tokens = tokens
        self.pool = pool
        models = ModelRepository(pool: pool)
        providers = ProviderRepository(pool: pool)
        agents = AgentRepository(pool: pool)
        usage = UsageRepository(pool: pool)
        changes = ConfigChangeRepository(pool: pool)
        jobs = JobRepository(pool: pool)
        executions = ExecutionRepository(pool: pool)
        tenants = TenantRepository(pool: pool)
        keys = APIKeyRepository(pool: pool)
        budgets = BudgetRepository(pool: pool)
        budgetGate = BudgetGate(budgets: budgets)
        rateLimits = RateLimitRepository(pool: pool)
        self.rateLimitCache = rateLimitCache
        intake = JobIntake(jobs: jobs, budgets: budgetGate, limiter: RateLimiter(repository: rateLimits, cache: rateLimitCache))
        authenticator = Authenticator(
            tokens: tokens, keys: keys, maxAge: access.keyCacheMaxAge,
            throttle: FailedAuthThrottle(perMinute: access.failedAuthenticationsPerMinute),
            monotonicNow: access.monotonicNow, wallClock: clock)
        waits = WaitLimiter(limit: access.maximumWaitsPerCredential)
        self.completions = completions
        importer = CatalogImporter(pool: pool, logger: logger)
        migrator = Migrator(pool: pool, migrations: migrations, logger: logger)
        self.logger = logger
    }

    /// The current instant by the injected clock.
    var now: Date { clock() }
}

extension RecommendationCandidates {
    /// The models recommendations choose from: none of a disabled provider, no dated snapshot
    /// next to its alias.
    static func load(models: ModelRepository, providers: ProviderRepository) async throws -> [LLMModel] {
        let disabled = Set(try await providers.all().filter { !$0.enabled }.map(\.name))
        return filter(try await models.all().map(\.model), disabledProviders: disabled)
    }
}
