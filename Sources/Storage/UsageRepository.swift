import Foundation
import Postgres

/// Per-model usage of one agent, aggregated from `model_usage` rows through the dashboard view
/// `usage_by_agent_model` (0009), so the API and SQL dashboards count the same way.
public struct UsageRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public struct ModelTotals: Sendable, Equatable {
        public var provider: String
        public var modelID: String
        /// Provider attempts, including retries and fallbacks.
        public var requests: Int
        public var successes: Int
        public var errors: Int
        public var errorRate: Decimal?
        public var inputTokens: Int?
        public var outputTokens: Int?
        public var cachedInputTokens: Int?
        /// Sum of known costs (USD); nil when no attempt had a known price.
        public var cost: Decimal?
        /// Attempts whose cost is unknown (excluded from `cost`).
        public var unpricedRequests: Int
        public var averageLatencyMilliseconds: Decimal?
        public var p95LatencyMilliseconds: Decimal?
        public var firstUsedAt: Date?
        public var lastUsedAt: Date?
    }

    /// Most requested first.
    public func modelTotals(agentID: UUID) async throws -> [ModelTotals] {
        try await pool.query("""
            SELECT provider, model_id, requests, successes, errors, error_rate, input_tokens, output_tokens,
                   cached_input_tokens, cost, unpriced_requests, avg_latency_ms, p95_latency_ms,
                   first_used_at, last_used_at
              FROM usage_by_agent_model
             WHERE agent_id = \(agentID)
             ORDER BY requests DESC, model_id, provider
            """).rows.map { row in
            ModelTotals(
                provider: try row.decode("provider"),
                modelID: try row.decode("model_id"),
                requests: try row.decode("requests"),
                successes: try row.decode("successes"),
                errors: try row.decode("errors"),
                errorRate: try row.decode("error_rate"),
                inputTokens: try row.decode("input_tokens"),
                outputTokens: try row.decode("output_tokens"),
                cachedInputTokens: try row.decode("cached_input_tokens"),
                cost: try row.decode("cost"),
                unpricedRequests: try row.decode("unpriced_requests"),
                averageLatencyMilliseconds: try row.decode("avg_latency_ms"),
                p95LatencyMilliseconds: try row.decode("p95_latency_ms"),
                firstUsedAt: try row.decode("first_used_at"),
                lastUsedAt: try row.decode("last_used_at")
            )
        }
    }
}
