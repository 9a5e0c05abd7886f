import Foundation
import Postgres

/// A row of `budgets` (migrations/0033) with its current period: a spend limit in USD per
/// tenant, API key, agent or globally, enforced by reservation before every provider call.
public struct BudgetRecord: Sendable, Equatable {
    public enum Scope: String, Sendable, CaseIterable { case global, tenant, apiKey = "api_key", agent }
    public enum Period: String, Sendable, CaseIterable { case day, week, month, lifetime }
    public enum Behaviour: String, Sendable, CaseIterable { case fail, `defer`, downgrade }

    public var id: UUID
    /// nil for a global budget.
    public var tenantID: UUID?
    public var scope: Scope
    public var scopeID: UUID?
    public var name: String
    public var period: Period
    public var timeZone: String
    /// Exact decimal text, as stored.
    public var limitUSD: String
    public var onExhausted: Behaviour
    public var downgradeThreshold: String?
    public var alertThresholds: [String]
    public var createdAt: Date
    public var updatedAt: Date
    /// The current period (nil bounds: lifetime).
    public var periodStart: Date?
    public var periodEnd: Date?
    public var spentUSD: String
    public var reservedUSD: String
    public var remainingUSD: String
    public var requests: Int
}

/// An alert a budget raised: one per threshold per period (`budget_alerts`).
public struct BudgetAlertRecord: Sendable, Equatable {
    public var id: Int64
    public var budgetID: UUID
    public var periodStart: Date?
    public var threshold: String
    public var spentUSD: String
    public var limitUSD: String
    public var createdAt: Date
    public var deliveredAt: Date?
    public var attempts: Int
    public var lastError: String?
}

public struct BudgetRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// A budget to create.
    public struct NewBudget: Sendable {
        public var tenantID: UUID?
        public var scope: BudgetRecord.Scope
        public var scopeID: UUID?
        public var name: String
        public var period: BudgetRecord.Period
        public var timeZone: String
        public var limitUSD: Decimal
        public var onExhausted: BudgetRecord.Behaviour
        public var downgradeThreshold: Decimal?
        public var alertThresholds: [Decimal]

        public init(
            tenantID: UUID?, scope: BudgetRecord.Scope, scopeID: UUID?, name: String, period: BudgetRecord.Period,
            timeZone: String, limitUSD: Decimal, onExhausted: BudgetRecord.Behaviour, downgradeThreshold: Decimal?,
            alertThresholds: [Decimal]
        ) {
            self.tenantID = tenantID
            self.scope = scope
            self.scopeID = scopeID
            self.name = name
            self.period = period
            self.timeZone = timeZone
            self.limitUSD = limitUSD
            self.onExhausted = onExhausted
            self.downgradeThreshold = downgradeThreshold
            self.alertThresholds = alertThresholds
        }
    }

    /// The fields a PATCH may change (nil: unchanged; `clearThreshold` sets it to NULL).
    public struct Changes: Sendable {
        public var name: String?
        public var period: BudgetRecord.Period?
        public var timeZone: String?
        public var limitUSD: Decimal?
        public var onExhausted: BudgetRecord.Behaviour?
        public var downgradeThreshold: Decimal??
        public var alertThresholds: [Decimal]?

        public init() {}
    }

    /// Reads from `budget_status` (0033): the budget with its current period's spend.
    static let select: SQL = """
        SELECT b.id, b.tenant_id, b.scope, b.scope_id, b.name, b.period, b.time_zone, b.limit_usd::text,
               b.on_exhausted, b.downgrade_threshold::text, b.alert_thresholds::text[], b.created_at, b.updated_at,
               CASE WHEN isfinite(s.period_start) THEN s.period_start END, CASE WHEN isfinite(s.period_end) THEN s.period_end END,
               s.spent_usd::text, s.reserved_usd::text, s.remaining_usd::text, s.requests
          FROM budgets b JOIN budget_status s ON s.budget_id = b.id
        """

    static func record(_ row: PostgresRow) throws -> BudgetRecord {
        BudgetRecord(
            id: try row.decode(at: 0), tenantID: try row.decode(at: 1),
            scope: BudgetRecord.Scope(rawValue: try row.decode(at: 2)) ?? .global, scopeID: try row.decode(at: 3),
            name: try row.decode(at: 4), period: BudgetRecord.Period(rawValue: try row.decode(at: 5)) ?? .lifetime,
            timeZone: try row.decode(at: 6), limitUSD: try row.decode(at: 7),
            onExhausted: BudgetRecord.Behaviour(rawValue: try row.decode(at: 8)) ?? .fail,
            downgradeThreshold: try row.decode(at: 9), alertThresholds: try row.decode(at: 10),
            createdAt: try row.decode(at: 11), updatedAt: try row.decode(at: 12),
            periodStart: try row.decode(at: 13), periodEnd: try row.decode(at: 14),
            spentUSD: try row.decode(at: 15), reservedUSD: try row.decode(at: 16), remainingUSD: try row.decode(at: 17),
            requests: try row.decode(at: 18))
    }

    /// Whether Postgres knows the time zone (the names of `pg_timezone_names`, e.g. Europe/Paris).
    public func timeZoneExists(_ name: String) async throws -> Bool {
        try await pool.query("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = \(name))").rows[0].decode(at: 0)
    }

    public func create(_ budget: NewBudget, actor: ChangeActor?) async throws -> BudgetRecord {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            let id: UUID = try await connection.query("""
                INSERT INTO budgets (tenant_id, scope, scope_id, name, period, time_zone, limit_usd, on_exhausted,
                                     downgrade_threshold, alert_thresholds)
                VALUES (\(budget.tenantID), \(budget.scope.rawValue), \(budget.scopeID), \(budget.name), \(budget.period.rawValue),
                        \(budget.timeZone), \(budget.limitUSD.description)::numeric, \(budget.onExhausted.rawValue),
                        \(budget.downgradeThreshold?.description)::numeric, \(budget.alertThresholds.map(\.description))::numeric[])
                RETURNING id
                """).rows[0].decode(at: 0)
            return try Self.record(try await connection.query("\(Self.select) WHERE b.id = \(id)").rows[0])
        }
    }

    public func find(_ id: UUID) async throws -> BudgetRecord? {
        try await pool.query("\(Self.select) WHERE b.id = \(id)").rows.first.map(Self.record)
    }

    /// The budgets `scope` may see (global ones only for `.all`), optionally of one scope / id.
    public func list(_ scope: TenantScope, kind: BudgetRecord.Scope? = nil, scopeID: UUID? = nil) async throws -> [BudgetRecord] {
        var sql: SQL = "\(Self.select) WHERE \(scope.condition("b.tenant_id"))"
        if let kind { sql.append(" AND b.scope = \(kind.rawValue)") }
        if let scopeID { sql.append(" AND b.scope_id = \(scopeID)") }
        sql.append(" ORDER BY b.created_at, b.id LIMIT 10000")
        return try await pool.query(sql).rows.map(Self.record)
    }

    public func update(_ id: UUID, _ changes: Changes, actor: ChangeActor?) async throws -> BudgetRecord? {
        try await pool.withTransaction { connection -> BudgetRecord? in
            try await connection.announce(actor)
            var sets: [SQL] = ["updated_at = now()"]
            if let name = changes.name { sets.append("name = \(name)") }
            if let period = changes.period { sets.append("period = \(period.rawValue)") }
            if let zone = changes.timeZone { sets.append("time_zone = \(zone)") }
            if let limit = changes.limitUSD { sets.append("limit_usd = \(limit.description)::numeric") }
            if let behaviour = changes.onExhausted { sets.append("on_exhausted = \(behaviour.rawValue)") }
            if let threshold = changes.downgradeThreshold { sets.append("downgrade_threshold = \(threshold?.description)::numeric") }
            if let alerts = changes.alertThresholds { sets.append("alert_thresholds = \(alerts.map(\.description))::numeric[]") }
            var sql: SQL = "UPDATE budgets SET "
            for (index, set) in sets.enumerated() {
                if index > 0 { sql.append(", ") }
                sql.append(set)
            }
            sql.append(" WHERE id = \(id) RETURNING id")
            guard try await connection.query(sql).rows.first != nil else { return nil }
            return try Self.record(try await connection.query("\(Self.select) WHERE b.id = \(id)").rows[0])
        }
    }

    /// true when it existed.
    public func delete(_ id: UUID, actor: ChangeActor?) async throws -> Bool {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            return try await connection.query("DELETE FROM budgets WHERE id = \(id) RETURNING id").rows.first != nil
        }
    }

    public func alerts(of id: UUID, limit: Int = 100) async throws -> [BudgetAlertRecord] {
        try await pool.query("""
            SELECT id, budget_id, CASE WHEN isfinite(period_start) THEN period_start END, threshold::text, spent_usd::text,
                   limit_usd::text, created_at, delivered_at, attempts, last_error
              FROM budget_alerts WHERE budget_id = \(id) ORDER BY id DESC LIMIT \(limit)
            """).rows.map { row in
            BudgetAlertRecord(
                id: try row.decode(at: 0), budgetID: try row.decode(at: 1), periodStart: try row.decode(at: 2),
                threshold: try row.decode(at: 3), spentUSD: try row.decode(at: 4), limitUSD: try row.decode(at: 5),
                createdAt: try row.decode(at: 6), deliveredAt: try row.decode(at: 7), attempts: try row.decode(at: 8),
                lastError: try row.decode(at: 9))
        }
    }

    /// The enqueue-time check: a `fail` budget of the job(s) whose period is already spent
    /// (spent ≥ limit), or a `defer` one too for a caller that waits for the answer (`/v1`: it
    /// cannot wait for the next period). The reservation before each call stays the authority;
    /// this only refuses at once what would be refused anyway.
    public func exhausted(tenantID: UUID, apiKeyID: UUID?, agentIDs: [UUID], includingDeferred: Bool = false) async throws -> BudgetRecord? {
        try await pool.query("""
            \(Self.select)
             WHERE (b.on_exhausted = 'fail' OR (\(includingDeferred) AND b.on_exhausted = 'defer'))
               AND s.spent_usd >= b.limit_usd
               AND (b.scope = 'global'
                    OR (b.scope = 'tenant' AND b.scope_id = \(tenantID))
                    OR (b.scope = 'api_key' AND b.scope_id = \(apiKeyID))
                    OR (b.scope = 'agent' AND b.scope_id = ANY(\(agentIDs.map { $0.uuidString.lowercased() })::uuid[])))
             LIMIT 1
            """).rows.first.map(Self.record)
    }

    public func anyExist() async throws -> Bool {
        try await pool.query("SELECT EXISTS (SELECT 1 FROM budgets)").rows[0].decode(at: 0)
    }
}
