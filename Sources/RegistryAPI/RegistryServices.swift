import Catalog
import Foundation
import Logging
import Postgres
import Storage

/// What the route handlers work with: the repositories over one pool, and the migrations the
/// readiness probe compares the database against.
struct RegistryServices: Sendable {
    let pool: PostgresPool
    let models: ModelRepository
    let providers: ProviderRepository
    let agents: AgentRepository
    let usage: UsageRepository
    let jobs: JobRepository
    let executions: ExecutionRepository
    /// The long-poll hub (one LISTEN connection for the process).
    let completions: JobCompletionHub
    let importer: CatalogImporter
    let migrator: Migrator
    let logger: Logger

    init(pool: PostgresPool, migrations: [Migration], logger: Logger, completions: JobCompletionHub) {
        self.pool = pool
        models = ModelRepository(pool: pool)
        providers = ProviderRepository(pool: pool)
        agents = AgentRepository(pool: pool)
        usage = UsageRepository(pool: pool)
        jobs = JobRepository(pool: pool)
        executions = ExecutionRepository(pool: pool)
        self.completions = completions
        importer = CatalogImporter(pool: pool, logger: logger)
        migrator = Migrator(pool: pool, migrations: migrations, logger: logger)
        self.logger = logger
    }

    /// The catalog lookups `ModelConfigurationValidator` needs, for the models a configuration names.
    func validationLookups(for config: ModelConfiguration) async throws -> (models: [String: LLMModel], providers: [String: Provider]) {
        let models = try await self.models.find(config.modelChain).mapValues(\.model)
        var providers: [String: Provider] = [:]
        for provider in try await self.providers.all() { providers[provider.name] = provider }
        return (models, providers)
    }
}
