import Foundation
import Postgres

/// Prometheus gauges of every budget's current period (issue 23), read from `budget_status` at
/// scrape time, so they are as current as the database and every registry reports the same.
enum BudgetGauges {
    /// At most this many budgets are exposed (a scrape stays small; the API lists them all).
    static let limit = 1000

    static func render(pool: PostgresPool) async throws -> [UInt8] {
        let rows = try await pool.query("""
            SELECT budget_id::text, scope, coalesce(scope_id::text, ''), coalesce(tenant_id::text, ''), period,
                   limit_usd::float8, spent_usd::float8, reserved_usd::float8
              FROM budget_status ORDER BY budget_id LIMIT \(limit)
            """).rows
        guard !rows.isEmpty else { return [] }
        var limits = "# HELP switchboard_budget_limit_usd A budget's limit in USD.\n# TYPE switchboard_budget_limit_usd gauge\n"
        var spent = "# HELP switchboard_budget_spent_usd Spent in the budget's current period (settled calls).\n# TYPE switchboard_budget_spent_usd gauge\n"
        var reserved = "# HELP switchboard_budget_reserved_usd Reserved in the current period by calls in flight.\n# TYPE switchboard_budget_reserved_usd gauge\n"
        for row in rows {
            let labels = "{budget_id=\"\(try row.decode(at: 0, as: String.self))\",scope=\"\(try row.decode(at: 1, as: String.self))\","
                + "scope_id=\"\(try row.decode(at: 2, as: String.self))\",tenant_id=\"\(try row.decode(at: 3, as: String.self))\","
                + "period=\"\(try row.decode(at: 4, as: String.self))\"}"
            limits += "switchboard_budget_limit_usd\(labels) \(try row.decode(at: 5, as: Double.self))\n"
            spent += "switchboard_budget_spent_usd\(labels) \(try row.decode(at: 6, as: Double.self))\n"
            reserved += "switchboard_budget_reserved_usd\(labels) \(try row.decode(at: 7, as: Double.self))\n"
        }
        return Array((limits + spent + reserved).utf8)
    }
}
