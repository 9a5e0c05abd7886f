import Catalog
import Foundation
import Logging
import Postgres
import Storage
import Support
import Synchronization

/// What a runner needs to know about an agent.
struct AgentSettings: Sendable {
    var configuration: ModelConfiguration
    /// Why the stored `model_config` could not be read (e.g. written by SQL past 0002's checks):
    /// such an agent's jobs fail rather than run on a model nobody configured.
    var invalidConfiguration: String? = nil
}

/// The catalog as the runners see it: replaced wholesale on reload, read without locks held
/// across calls (runners copy the snapshot reference).
struct ConfigSnapshot: Sendable {
    var agents: [UUID: AgentSettings] = [:]
    var models: [String: LLMModel] = [:]
    var providers: [String: Provider] = [:]
    /// (provider, model_id) → until.
    var cooldowns: [CooldownKey: Date] = [:]
    /// (provider, model_id) pairs with a provider quota; model_id "" for a provider-wide one.
    var quotas: Set<CooldownKey> = []
    /// Whether any budget exists: then every call reserves its maximum cost first (issue 23).
    var budgetsExist = false
}

struct CooldownKey: Hashable, Sendable {
    var provider: String
    var modelID: String
}

/// Agents' model configurations, llm_models, llm_providers and llm_model_cooldowns in memory.
///
/// Loaded at start, reloaded when `switchboard_config` fires (0010's triggers; a cooldown
/// written by any worker notifies the same channel) and whenever the listener reconnects
/// (notifications sent while it was down are lost). All agents are loaded at once: one row is a
/// few hundred bytes, so 100k agents are tens of MB and load in well under a second; a single
/// agent's change reloads only that agent. An agent missing from the cache (created after the last
/// load, its notification not yet processed) is loaded on first use.
final class ConfigCache: Sendable {
    private let pool: PostgresPool
    private let logger: Logger
    private let state = Mutex(ConfigSnapshot())

    init(pool: PostgresPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    var snapshot: ConfigSnapshot { state.withLock { $0 } }

    /// Reloads everything.
    func reloadAll() async throws {
        let started = ContinuousClock.now
        let models = try await ModelRepository(pool: pool).all()
        let providers = try await ProviderRepository(pool: pool).all()
        let agentRows = try await pool.query(Self.agentSelect(where: nil)).rows
        var agents: [UUID: AgentSettings] = [:]
        agents.reserveCapacity(agentRows.count)
        for row in agentRows {
            let (id, settings) = try Self.agent(from: row)
            agents[id] = settings
        }
        let cooldowns = try await loadCooldowns()
        let quotas = try await ProviderQuotas.load(pool)
        let budgetsExist = try await loadBudgetsExist()
        var snapshot = ConfigSnapshot()
        snapshot.quotas = quotas
        snapshot.budgetsExist = budgetsExist
        snapshot.agents = agents
        for stored in models { snapshot.models[stored.model.modelID] = stored.model }
        for provider in providers { snapshot.providers[provider.name] = provider }
        snapshot.cooldowns = cooldowns
        state.withLock { $0 = snapshot }
        logger.debug("gateway.config.reloaded", metadata: [
            "config.reload_ms": "\((ContinuousClock.now - started).roundedMilliseconds)",
            "config.agents": "\(agents.count)", "config.models": "\(snapshot.models.count)",
            "config.providers": "\(snapshot.providers.count)", "config.cooldowns": "\(cooldowns.count)",
        ])
    }

    func reloadModels() async throws {
        let models = try await ModelRepository(pool: pool).all()
        var byID: [String: LLMModel] = [:]
        for stored in models { byID[stored.model.modelID] = stored.model }
        state.withLock { $0.models = byID }
    }

    func reloadProviders() async throws {
        let providers = try await ProviderRepository(pool: pool).all()
        var byName: [String: Provider] = [:]
        for provider in providers { byName[provider.name] = provider }
        state.withLock { $0.providers = byName }
    }

    func reloadQuotas() async throws {
        let quotas = try await ProviderQuotas.load(pool)
        state.withLock { $0.quotas = quotas }
    }

    func reloadCooldowns() async throws {
        let cooldowns = try await loadCooldowns()
        state.withLock { $0.cooldowns = cooldowns }
    }

    func reloadBudgets() async throws {
        let exist = try await loadBudgetsExist()
        state.withLock { $0.budgetsExist = exist }
    }

    /// The ledger found a budget this cache had not heard of yet.
    func noteBudgetsExist() {
        state.withLock { $0.budgetsExist = true }
    }

    private func loadBudgetsExist() async throws -> Bool {
        try await pool.query("SELECT EXISTS (SELECT 1 FROM budgets)").rows[0].decode(at: 0)
    }

    /// Reloads one agent (or forgets it when it was deleted).
    @discardableResult
    func reloadAgent(_ id: UUID) async throws -> AgentSettings? {
        let rows = try await pool.query(Self.agentSelect(where: id)).rows
        let settings = try rows.first.map { try Self.agent(from: $0).1 }
        state.withLock { $0.agents[id] = settings }
        return settings
    }

    /// The agent's settings, loading it when the cache has not seen it yet.
    func agent(_ id: UUID) async throws -> AgentSettings? {
        if let cached = state.withLock({ $0.agents[id] }) { return cached }
        return try await reloadAgent(id)
    }

    /// Applies a cooldown this worker decided, before the shared row comes back through NOTIFY.
    func applyCooldown(_ key: CooldownKey, until: Date) {
        state.withLock { $0.cooldowns[key] = until }
    }

    /// The cooldown is over for good (a probe succeeded, or the row was gone).
    func clearCooldown(_ key: CooldownKey) {
        state.withLock { _ = $0.cooldowns.removeValue(forKey: key) }
    }

    private func loadCooldowns() async throws -> [CooldownKey: Date] {
        // Ended ones too (a day back): the first call after the end is the half-open probe, and
        // the row's deletion by a successful probe is what ends the cooldown for every worker.
        let rows = try await pool.query("SELECT provider, model_id, until FROM llm_model_cooldowns WHERE until > now() - interval '1 day'").rows
        var cooldowns: [CooldownKey: Date] = [:]
        for row in rows {
            cooldowns[CooldownKey(provider: try row.decode(at: 0), modelID: try row.decode(at: 1))] = try row.decode(at: 2)
        }
        return cooldowns
    }

    private static func agentSelect(where id: UUID?) -> SQL {
        var sql: SQL = "SELECT id, model_config::text, preferred_model, temperature, max_tokens FROM agents"
        if let id { sql.append(" WHERE id = \(id)") }
        return sql
    }

    private static func agent(from row: PostgresRow) throws -> (UUID, AgentSettings) {
        let id: UUID = try row.decode(at: 0)
        let configText: String? = try row.decode(at: 1)
        let legacy = LegacyModelMapping.configuration(
            preferredModel: try row.decode(at: 2), temperature: try row.decode(at: 3), maxTokens: try row.decode(at: 4))
        guard let configText, configText != "null" else { return (id, AgentSettings(configuration: legacy)) }
        do {
            return (id, AgentSettings(configuration: try JSONDecoder().decode(ModelConfiguration.self, from: Data(configText.utf8))))
        } catch {
            return (id, AgentSettings(configuration: legacy, invalidConfiguration: "\(error)"))
        }
    }
}
