import Catalog
import Foundation
import Postgres

/// Usage across agents, for dashboards (the web UI's Usage page, `GET /api/usage`): per UTC day,
/// per agent and per provider/model, from the same counters as an agent's `model-usage`
/// (`agent_usage_daily`), so the numbers agree with it and survive `model_usage` retention.
extension UsageRepository {
    /// Counters summed over some group of `agent_usage_daily` rows.
    public struct Counters: Sendable, Equatable {
        /// Provider attempts, retries and fallbacks included.
        public var requests = 0
        public var successes = 0
        public var errors = 0
        /// Attempts made on a fallback model (fallback_depth > 0).
        public var fallbackRequests = 0
        public var inputTokens = 0
        public var outputTokens = 0
        public var cachedInputTokens = 0
        /// Sum of known costs (USD, exact); nil when no attempt had a known price.
        public var cost: Decimal?
        public var unpricedRequests = 0
        public var averageLatencyMilliseconds: Decimal?
        public var lastUsedAt: Date?

        public init() {}

        /// errors / requests; nil without requests.
        public var errorRate: Decimal? { Self.ratio(errors, requests) }
        /// fallback attempts / requests; nil without requests.
        public var fallbackRate: Decimal? { Self.ratio(fallbackRequests, requests) }

        /// Four decimals, as the `usage_daily` view rounds `error_rate`.
        static func ratio(_ part: Int, _ whole: Int) -> Decimal? {
            guard whole > 0 else { return nil }
            var exact = Decimal(part) / Decimal(whole)
            var rounded = Decimal()
            NSDecimalRound(&rounded, &exact, 4, .plain)
            return rounded
        }

        /// The aggregate columns every overview query selects (see `Self.decode`).
        static let columns: SQL = """
            coalesce(sum(requests), 0) AS requests, coalesce(sum(successes), 0) AS successes,
            coalesce(sum(errors), 0) AS errors, coalesce(sum(fallback_requests), 0) AS fallback_requests,
            coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
            coalesce(sum(cached_input_tokens), 0) AS cached_input_tokens,
            CASE WHEN sum(priced_requests) > 0 THEN sum(cost) END AS cost,
            coalesce(sum(requests) - sum(priced_requests), 0) AS unpriced_requests,
            round(sum(latency_ms_sum)::numeric / nullif(sum(requests), 0), 1) AS avg_latency_ms,
            max(last_used_at) AS last_used_at
            """

        static func decode(_ row: PostgresRow) throws -> Counters {
            var counters = Counters()
            counters.requests = try row.decode("requests")
            counters.successes = try row.decode("successes")
            counters.errors = try row.decode("errors")
            counters.fallbackRequests = try row.decode("fallback_requests")
            counters.inputTokens = try row.decode("input_tokens")
            counters.outputTokens = try row.decode("output_tokens")
            counters.cachedInputTokens = try row.decode("cached_input_tokens")
            counters.cost = try row.decode("cost")
            counters.unpricedRequests = try row.decode("unpriced_requests")
            counters.averageLatencyMilliseconds = try row.decode("avg_latency_ms")
            counters.lastUsedAt = try row.decode("last_used_at")
            return counters
        }
    }

    public struct DayUsage: Sendable, Equatable {
        public var day: CalendarDate
        public var counters: Counters
    }

    public struct AgentUsage: Sendable, Equatable {
        public var agentID: UUID
        /// nil when the agent has been deleted since (its counters stay).
        public var agentName: String?
        public var counters: Counters
    }

    public struct ProviderModelUsage: Sendable, Equatable {
        public var provider: String
        public var modelID: String
        public var counters: Counters
    }

    public struct Overview: Sendable, Equatable {
        public var totals: Counters
        /// Days with usage, oldest first (days without any are left out).
        public var days: [DayUsage]
        /// Most requested first, at most `limit`.
        public var agents: [AgentUsage]
        public var agentCount: Int
        /// Most requested first, at most `limit`.
        public var models: [ProviderModelUsage]
        public var modelCount: Int
    }

    /// Totals, days, agents and models over `window`; only `agentIDs` when given. `limit` bounds
    /// the agent and model lists (their full counts are in `agentCount` / `modelCount`).
    /// `scope`: the tenants whose agents count (usage belongs to a tenant through its agent).
    public func overview(window: Window, agentIDs: [UUID]? = nil, limit: Int, scope tenants: TenantScope = .all) async throws -> Overview {
        let scope: SQL = agentIDs.map { "agent_id = ANY(\($0)::uuid[])" } ?? "TRUE"
        let condition: SQL = "\(window.condition) AND \(scope) AND \(tenants.agentCondition("agent_id"))"
        async let totals = pool.query("SELECT \(Counters.columns) FROM agent_usage_daily WHERE \(condition)")
        async let days = pool.query("""
            SELECT day::text AS day, \(Counters.columns)
              FROM agent_usage_daily WHERE \(condition)
             GROUP BY day ORDER BY day
            """)
        async let agents = pool.query("""
            SELECT u.*, a.name AS agent_name, count(*) OVER () AS group_count
              FROM (SELECT agent_id, \(Counters.columns) FROM agent_usage_daily WHERE \(condition) GROUP BY agent_id) u
              LEFT JOIN agents a ON a.id = u.agent_id
             ORDER BY u.requests DESC, a.name, u.agent_id
             LIMIT \(limit)
            """)
        async let models = pool.query("""
            SELECT provider, model_id, \(Counters.columns), count(*) OVER () AS group_count
              FROM agent_usage_daily WHERE \(condition)
             GROUP BY provider, model_id
             ORDER BY sum(requests) DESC, model_id, provider
             LIMIT \(limit)
            """)
        guard let totalsRow = try await totals.rows.first else {
            throw PostgresError(kind: .decoding, message: "aggregate returned no row")
        }
        let dayRows = try await days.rows
        let agentRows = try await agents.rows
        let modelRows = try await models.rows
        return Overview(
            totals: try Counters.decode(totalsRow),
            days: try dayRows.map { row in
                let text: String = try row.decode("day")
                guard let day = CalendarDate(text) else { throw PostgresError(kind: .decoding, message: "day \(text) is not a date") }
                return DayUsage(day: day, counters: try Counters.decode(row))
            },
            agents: try agentRows.map { row in
                AgentUsage(agentID: try row.decode("agent_id"), agentName: try row.decode("agent_name"), counters: try Counters.decode(row))
            },
            agentCount: try agentRows.first?.decode("group_count", as: Int.self) ?? 0,
            models: try modelRows.map { row in
                ProviderModelUsage(provider: try row.decode("provider"), modelID: try row.decode("model_id"), counters: try Counters.decode(row))
            },
            modelCount: try modelRows.first?.decode("group_count", as: Int.self) ?? 0)
    }
}
