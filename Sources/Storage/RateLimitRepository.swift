import Foundation
import Postgres

/// A row of `rate_limits` (migrations/0036): the limits of one API key or one agent, with its
/// current window's counts.
public struct RateLimitRecord: Sendable, Equatable {
    public enum Scope: String, Sendable, Equatable, CaseIterable {
        case apiKey = "api_key"
        case agent
    }

    public var id: UUID
    public var tenantID: UUID
    public var scope: Scope
    public var scopeID: UUID
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int64?
    public var maxConcurrentJobs: Int?
    public var windowSeconds: Int
    public var createdAt: Date
    public var updatedAt: Date
    /// The counter's window (nil before the first request) and what it holds; a window that has
    /// ended reads as empty.
    public var windowStart: Date?
    public var windowRequests: Int
    public var windowTokens: Int64
}

/// What a new or changed limit says; nil fields are absent (PATCH leaves them, `clear` removes).
public struct RateLimitValues: Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int64?
    public var maxConcurrentJobs: Int?
    public var windowSeconds: Int?

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int64? = nil, maxConcurrentJobs: Int? = nil, windowSeconds: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.maxConcurrentJobs = maxConcurrentJobs
        self.windowSeconds = windowSeconds
    }
}

/// One limit's refusal from `rate_limit_admit`.
public struct RateLimitRefusal: Sendable, Equatable {
    public var limitID: UUID
    /// `requests_per_minute` or `tokens_per_minute`.
    public var limit: String
    public var value: Int64
    /// Until the refusing window ends (at least 1 ms).
    public var retryAfterMilliseconds: Int64
}

/// A row of `provider_quotas`: what a provider grants for one model, or for all its models.
public struct ProviderQuotaRecord: Sendable, Equatable {
    public var id: UUID
    public var provider: String
    /// nil: every model of the provider together.
    public var modelID: String?
    public var rpm: Int?
    public var tpm: Int64?
    public var windowSeconds: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var windowStart: Date?
    public var windowRequests: Int
    public var windowTokens: Int64
}

public struct RateLimitRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let columns: SQL = """
        l.id, l.tenant_id, l.scope, coalesce(l.api_key_id, l.agent_id) AS scope_id, l.requests_per_minute,
        l.tokens_per_minute, l.max_concurrent_jobs, l.window_seconds, l.created_at, l.updated_at,
        c.window_start, CASE WHEN c.window_start = rate_window_start(now(), l.window_seconds) THEN c.requests ELSE 0 END AS requests,
        CASE WHEN c.window_start = rate_window_start(now(), l.window_seconds) THEN c.tokens ELSE 0 END AS tokens
        """

    static func record(_ row: PostgresRow) throws -> RateLimitRecord {
        let scopeText: String = try row.decode("scope")
        guard let scope = RateLimitRecord.Scope(rawValue: scopeText) else {
            throw PostgresError(kind: .decoding, message: "rate_limits.scope '\(scopeText)' is unknown")
        }
        return RateLimitRecord(
            id: try row.decode("id"), tenantID: try row.decode("tenant_id"), scope: scope, scopeID: try row.decode("scope_id"),
            requestsPerMinute: try row.decode("requests_per_minute"), tokensPerMinute: try row.decode("tokens_per_minute"),
            maxConcurrentJobs: try row.decode("max_concurrent_jobs"), windowSeconds: try row.decode("window_seconds"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            windowStart: try row.decode("window_start"), windowRequests: try row.decode("requests"), windowTokens: try row.decode("tokens"))
    }

    private static let from: SQL = "FROM rate_limits l LEFT JOIN rate_limit_counters c ON c.limit_id = l.id"

    /// nil: the key or agent already has a limit.
    public func create(tenantID: UUID, scope: RateLimitRecord.Scope, scopeID: UUID, values: RateLimitValues) async throws -> RateLimitRecord? {
        let keyID: UUID? = scope == .apiKey ? scopeID : nil
        let agentID: UUID? = scope == .agent ? scopeID : nil
        let rows = try await pool.query("""
            INSERT INTO rate_limits (tenant_id, scope, api_key_id, agent_id, requests_per_minute, tokens_per_minute,
                                     max_concurrent_jobs, window_seconds)
            VALUES (\(tenantID), \(scope.rawValue), \(keyID), \(agentID), \(values.requestsPerMinute), \(values.tokensPerMinute),
                    \(values.maxConcurrentJobs), \(values.windowSeconds ?? 60))
            ON CONFLICT DO NOTHING
            RETURNING id
            """).rows
        guard let id: UUID = try rows.first?.decode("id") else { return nil }
        return try await find(id)
    }

    public func find(_ id: UUID) async throws -> RateLimitRecord? {
        try await pool.query("SELECT \(Self.columns) \(Self.from) WHERE l.id = \(id)").rows.first.map(Self.record)
    }

    public func list(_ scope: TenantScope, limitScope: RateLimitRecord.Scope? = nil, scopeID: UUID? = nil) async throws -> [RateLimitRecord] {
        try await pool.query("""
            SELECT \(Self.columns) \(Self.from)
             WHERE \(scope.condition("l.tenant_id"))
               AND (\(limitScope?.rawValue)::text IS NULL OR l.scope = \(limitScope?.rawValue))
               AND (\(scopeID)::uuid IS NULL OR coalesce(l.api_key_id, l.agent_id) = \(scopeID))
             ORDER BY l.created_at, l.id
            """).rows.map(Self.record)
    }

    /// Sets the fields `values` holds and clears those in `clear` (names of the three limits).
    public func update(_ id: UUID, values: RateLimitValues, clear: Set<String>) async throws -> RateLimitRecord? {
        let rows = try await pool.query("""
            UPDATE rate_limits SET
                requests_per_minute = CASE WHEN \(clear.contains("requests_per_minute")) THEN NULL
                                           ELSE coalesce(\(values.requestsPerMinute), requests_per_minute) END,
                tokens_per_minute = CASE WHEN \(clear.contains("tokens_per_minute")) THEN NULL
                                         ELSE coalesce(\(values.tokensPerMinute), tokens_per_minute) END,
                max_concurrent_jobs = CASE WHEN \(clear.contains("max_concurrent_jobs")) THEN NULL
                                           ELSE coalesce(\(values.maxConcurrentJobs), max_concurrent_jobs) END,
                window_seconds = coalesce(\(values.windowSeconds), window_seconds),
                updated_at = now()
             WHERE id = \(id)
            RETURNING id
            """).rows
        guard !rows.isEmpty else { return nil }
        try await Self.dropMisalignedCounter(pool, table: "rate_limit_counters", key: "limit_id", of: "rate_limits", id: id)
        return try await find(id)
    }

    /// After a window length changed: a counter whose window does not start on a multiple of the
    /// new length counted another window; it goes (the next statement starts a fresh one).
    static func dropMisalignedCounter(_ pool: PostgresPool, table: String, key: String, of limits: String, id: UUID) async throws {
        try await pool.execute("""
            DELETE FROM \(SQL.unsafeSQL(table)) c USING \(SQL.unsafeSQL(limits)) l
             WHERE c.\(SQL.unsafeSQL(key)) = l.id AND l.id = \(id)
               AND c.window_start <> rate_window_start(c.window_start, l.window_seconds)
            """)
    }

    public func delete(_ id: UUID) async throws -> Bool {
        !(try await pool.query("DELETE FROM rate_limits WHERE id = \(id) RETURNING id").rows.isEmpty)
    }

    /// Which of these keys and agents have a request or token limit, by id (one indexed lookup).
    public func requestLimits(keyID: UUID?, agentIDs: [UUID]) async throws -> [UUID: UUID] {
        let rows = try await pool.query("""
            SELECT coalesce(api_key_id, agent_id) AS scope_id, id FROM rate_limits
             WHERE (requests_per_minute IS NOT NULL OR tokens_per_minute IS NOT NULL)
               AND (api_key_id = \(keyID) OR agent_id = ANY (\(agentIDs)))
            """).rows
        var found: [UUID: UUID] = [:]
        for row in rows { found[try row.decode("scope_id")] = try row.decode("id") }
        return found
    }

    /// Every key and agent with a request or token limit: scope id → limit id (the registry's cache).
    public func allRequestLimits() async throws -> [UUID: UUID] {
        let rows = try await pool.query("""
            SELECT coalesce(api_key_id, agent_id) AS scope_id, id FROM rate_limits
             WHERE requests_per_minute IS NOT NULL OR tokens_per_minute IS NOT NULL
            """).rows
        var found: [UUID: UUID] = [:]
        for row in rows { found[try row.decode("scope_id")] = try row.decode("id") }
        return found
    }

    /// Counts `counts[i]` requests against `limits[i]`, all or none (one statement); the refusals
    /// when any limit is full, else empty.
    public func admit(_ limits: [(id: UUID, count: Int)]) async throws -> [RateLimitRefusal] {
        guard !limits.isEmpty else { return [] }
        let rows = try await pool.query("""
            SELECT limit_id, refused, limit_value, retry_after_ms
              FROM rate_limit_admit(\(limits.map(\.id)), \(limits.map(\.count))::integer[])
            """).rows
        return try rows.map { row in
            RateLimitRefusal(
                limitID: try row.decode("limit_id"), limit: try row.decode("refused"), value: try row.decode("limit_value"),
                retryAfterMilliseconds: max(1, try row.decode("retry_after_ms")))
        }
    }

    /// Whether every one of these (agent, idempotency key) pairs already names a job of the agent's
    /// tenant: a replay, which creates nothing.
    public func allReplays(_ pairs: [(agentID: UUID, key: String)]) async throws -> Bool {
        guard !pairs.isEmpty else { return false }
        let rows = try await pool.query("""
            SELECT count(*) AS n FROM unnest(\(pairs.map(\.agentID)), \(pairs.map(\.key))) AS p (agent_id, key)
             WHERE EXISTS (SELECT 1 FROM llm_jobs j JOIN agents a ON a.tenant_id = j.tenant_id
                            WHERE a.id = p.agent_id AND j.idempotency_key = p.key)
            """).rows
        return try rows.first?.decode("n", as: Int.self) == pairs.count
    }

    // MARK: - Provider quotas

    static let quotaColumns: SQL = """
        q.id, q.provider, q.model_id, q.rpm, q.tpm, q.window_seconds, q.created_at, q.updated_at, c.window_start,
        CASE WHEN c.window_start = rate_window_start(now(), q.window_seconds) THEN c.requests ELSE 0 END AS requests,
        CASE WHEN c.window_start = rate_window_start(now(), q.window_seconds) THEN c.tokens ELSE 0 END AS tokens
        """
    private static let quotaFrom: SQL = "FROM provider_quotas q LEFT JOIN provider_quota_counters c ON c.quota_id = q.id"

    static func quota(_ row: PostgresRow) throws -> ProviderQuotaRecord {
        ProviderQuotaRecord(
            id: try row.decode("id"), provider: try row.decode("provider"), modelID: try row.decode("model_id"),
            rpm: try row.decode("rpm"), tpm: try row.decode("tpm"), windowSeconds: try row.decode("window_seconds"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            windowStart: try row.decode("window_start"), windowRequests: try row.decode("requests"), windowTokens: try row.decode("tokens"))
    }

    /// The quotas of a provider (every provider when nil), provider-wide first.
    public func quotas(provider: String? = nil) async throws -> [ProviderQuotaRecord] {
        try await pool.query("""
            SELECT \(Self.quotaColumns) \(Self.quotaFrom)
             WHERE \(provider)::text IS NULL OR q.provider = \(provider)
             ORDER BY q.provider, q.model_id NULLS FIRST
            """).rows.map(Self.quota)
    }

    /// Sets (creates or replaces) the quota of `provider`/`modelID`.
    public func setQuota(provider: String, modelID: String?, rpm: Int?, tpm: Int64?, windowSeconds: Int) async throws -> ProviderQuotaRecord? {
        let rows = try await pool.query("""
            INSERT INTO provider_quotas (provider, model_id, rpm, tpm, window_seconds)
            VALUES (\(provider), \(modelID), \(rpm), \(tpm), \(windowSeconds))
            ON CONFLICT (provider, coalesce(model_id, '')) DO UPDATE
               SET rpm = excluded.rpm, tpm = excluded.tpm, window_seconds = excluded.window_seconds, updated_at = now()
            RETURNING id
            """).rows
        guard let id: UUID = try rows.first?.decode("id") else { return nil }
        try await Self.dropMisalignedCounter(pool, table: "provider_quota_counters", key: "quota_id", of: "provider_quotas", id: id)
        return try await pool.query("SELECT \(Self.quotaColumns) \(Self.quotaFrom) WHERE q.id = \(id)").rows.first.map(Self.quota)
    }

    public func deleteQuota(provider: String, modelID: String?) async throws -> Bool {
        !(try await pool.query("""
            DELETE FROM provider_quotas WHERE provider = \(provider) AND coalesce(model_id, '') = coalesce(\(modelID)::text, '') RETURNING id
            """).rows.isEmpty)
    }
}
