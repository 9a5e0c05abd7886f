import Foundation
import Logging
import Postgres

/// Provider quotas (issue 23, `provider_quotas` in migrations/0036): what a provider grants per
/// model, or for all its models together, in requests and tokens per window. Before every call
/// to a model that has a quota, the runner takes a slot in the window every worker shares
/// (`provider_quota_take`, one statement); when the window is full the call is not made, and the
/// job goes back to the queue until the window ends (a snooze: the attempt is given back) unless
/// another model of its chain can be called. Calls to models without a quota cost nothing here:
/// which (provider, model) pairs have one is in the config snapshot, reloaded on the
/// `switchboard_config` notification of `provider_quotas`.
///
/// A provider 429 whose Retry-After is longer than this worker waits writes a shared cooldown
/// (`llm_model_cooldowns`): the model is then skipped by every worker before any slot is taken,
/// so the cooldown is the lower quota (zero) until then, and the snooze waits for whichever of
/// the cooldown and the quota window ends first.
struct ProviderQuotas: Sendable {
    let pool: PostgresPool
    let logger: Logger

    enum Decision: Sendable, Equatable {
        /// No quota applies, or a slot was taken: make the call.
        case granted
        /// Every slot of a window is taken (or the database did not answer): do not call before this.
        case full(retryAfter: Duration)
    }

    /// The snapshot's key of a provider-wide quota.
    static func providerWide(_ provider: String) -> CooldownKey { CooldownKey(provider: provider, modelID: "") }

    /// Takes a slot for one call of `key`, when a quota applies to it.
    func take(_ key: CooldownKey, snapshot: ConfigSnapshot) async -> Decision {
        guard snapshot.quotas.contains(key) || snapshot.quotas.contains(Self.providerWide(key.provider)) else { return .granted }
        do {
            let rows = try await pool.query(
                "SELECT refused, retry_after_ms FROM provider_quota_take(\(key.provider), \(key.modelID))").rows
            guard !rows.isEmpty else { return .granted }
            var longest: Int64 = 1
            for row in rows { longest = max(longest, try row.decode("retry_after_ms")) }
            return .full(retryAfter: .milliseconds(longest))
        } catch {
            // Without the shared window the call could exceed the quota: wait, without an attempt spent.
            logger.warning("gateway.quota.take_failed", metadata: [
                "llm.provider": "\(key.provider)", "llm.model": "\(key.modelID)", "error": "\(error)",
            ])
            return .full(retryAfter: .seconds(1))
        }
    }

    /// Which (provider, model) pairs have a quota; model "" for a provider-wide one.
    static func load(_ pool: PostgresPool) async throws -> Set<CooldownKey> {
        let rows = try await pool.query("SELECT provider, coalesce(model_id, '') AS model_id FROM provider_quotas").rows
        var keys: Set<CooldownKey> = []
        for row in rows { keys.insert(CooldownKey(provider: try row.decode("provider"), modelID: try row.decode("model_id"))) }
        return keys
    }
}
