import Catalog
import Foundation
import Postgres

/// An agent's usage from the counters the worker's completion transaction maintains
/// (`agent_usage_daily`, per UTC day; 0013). They survive `model_usage` retention and read in
/// constant time per day and model, so any window is cheap. `agents.model_usage_stats` is
/// deprecated (0013) and not read.
public struct UsageRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// UTC days, both ends included; nil = unbounded.
    public struct Window: Sendable, Equatable {
        public var from: CalendarDate?
        public var to: CalendarDate?

        public init(from: CalendarDate? = nil, to: CalendarDate? = nil) {
            self.from = from
            self.to = to
        }

        var condition: SQL {
            var parts: [SQL] = []
            if let from { parts.append("day >= \(from.description)::date") }
            if let to { parts.append("day <= \(to.description)::date") }
            return parts.isEmpty ? "TRUE" : SQL.joined(parts, separator: " AND ")
        }
    }

    public struct ModelTotals: Sendable, Equatable {
        public var provider: String
        public var modelID: String
        /// Provider attempts, including retries and fallbacks.
        public var requests: Int
        public var successes: Int
        public var errors: Int
        public var errorRate: Decimal?
        public var fallbackRequests: Int
        public var inputTokens: Int
        public var outputTokens: Int
        public var cachedInputTokens: Int
        public var cacheCreationInputTokens: Int
        public var reasoningTokens: Int
        /// Sum of known costs (USD); nil when no attempt had a known price.
        public var cost: Decimal?
        /// Attempts whose cost is unknown (excluded from `cost`).
        public var unpricedRequests: Int
        public var averageLatencyMilliseconds: Decimal?
        public var firstUsedDay: CalendarDate?
        public var lastUsedAt: Date?
    }

    /// The PRD's `model_usage_stats` shape (the `agent_usage_stats` view's formulas, over a window).
    public struct Stats: Sendable, Equatable {
        public var totalTokens: Int
        public var totalCost: Decimal?
        public var totalRequests: Int
        public var averageTokensPerRequest: Decimal?
        public var lastUsedAt: Date?
        public var unpricedRequests: Int
        public var successes: Int
        public var errors: Int
        public var fallbackRequests: Int
    }

    /// Per provider and model, most requested first.
    public func modelTotals(agentID: UUID, window: Window = Window()) async throws -> [ModelTotals] {
        try await pool.query("""
            SELECT provider, model_id, sum(requests) AS requests, sum(successes) AS successes, sum(errors) AS errors,
                   round(sum(errors)::numeric / nullif(sum(requests), 0), 4) AS error_rate,
                   sum(fallback_requests) AS fallback_requests,
                   sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                   sum(cached_input_tokens) AS cached_input_tokens,
                   sum(cache_creation_input_tokens) AS cache_creation_input_tokens,
                   sum(reasoning_tokens) AS reasoning_tokens,
                   CASE WHEN sum(priced_requests) > 0 THEN sum(cost) END AS cost,
                   sum(requests) - sum(priced_requests) AS unpriced_requests,
                   round(sum(latency_ms_sum)::numeric / nullif(sum(requests), 0), 1) AS avg_latency_ms,
                   min(day)::text AS first_used_day, max(last_used_at) AS last_used_at
              FROM agent_usage_daily
             WHERE agent_id = \(agentID) AND \(window.condition)
             GROUP BY provider, model_id
             ORDER BY sum(requests) DESC, model_id, provider
            """).rows.map { row in
            ModelTotals(
                provider: try row.decode("provider"),
                modelID: try row.decode("model_id"),
                requests: try row.decode("requests"),
                successes: try row.decode("successes"),
                errors: try row.decode("errors"),
                errorRate: try row.decode("error_rate"),
                fallbackRequests: try row.decode("fallback_requests"),
                inputTokens: try row.decode("input_tokens"),
                outputTokens: try row.decode("output_tokens"),
                cachedInputTokens: try row.decode("cached_input_tokens"),
                cacheCreationInputTokens: try row.decode("cache_creation_input_tokens"),
                reasoningTokens: try row.decode("reasoning_tokens"),
                cost: try row.decode("cost"),
                unpricedRequests: try row.decode("unpriced_requests"),
                averageLatencyMilliseconds: try row.decode("avg_latency_ms"),
                firstUsedDay: try row.decode("first_used_day", as: String?.self).flatMap(CalendarDate.init),
                lastUsedAt: try row.decode("last_used_at")
            )
        }
    }

    public func stats(agentID: UUID, window: Window = Window()) async throws -> Stats {
        let row = try await pool.query("""
            SELECT coalesce(sum(input_tokens + output_tokens), 0) AS total_tokens,
                   CASE WHEN sum(priced_requests) > 0 THEN sum(cost) END AS total_cost,
                   coalesce(sum(requests), 0) AS total_requests,
                   round(sum(input_tokens + output_tokens)::numeric / nullif(sum(requests), 0), 2) AS avg_tokens_per_request,
                   max(last_used_at) AS last_used_at,
                   coalesce(sum(requests) - sum(priced_requests), 0) AS unpriced_requests,
                   coalesce(sum(successes), 0) AS successes, coalesce(sum(errors), 0) AS errors,
                   coalesce(sum(fallback_requests), 0) AS fallback_requests
              FROM agent_usage_daily
             WHERE agent_id = \(agentID) AND \(window.condition)
            """).rows.first
        guard let row else { throw PostgresError(kind: .decoding, message: "aggregate returned no row") }
        return Stats(
            totalTokens: try row.decode("total_tokens"),
            totalCost: try row.decode("total_cost"),
            totalRequests: try row.decode("total_requests"),
            averageTokensPerRequest: try row.decode("avg_tokens_per_request"),
            lastUsedAt: try row.decode("last_used_at"),
            unpricedRequests: try row.decode("unpriced_requests"),
            successes: try row.decode("successes"),
            errors: try row.decode("errors"),
            fallbackRequests: try row.decode("fallback_requests"))
    }
}
