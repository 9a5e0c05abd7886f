import Foundation
import Postgres

/// Which tenants' rows a caller may see: every tenant (an admin, the CLI) or one. Repositories
/// take it explicitly wherever they list or look up tenant-owned rows, so a query cannot forget it.
public enum TenantScope: Sendable, Equatable {
    case all
    case tenant(UUID)

    /// The tenant this scope is limited to; nil for `.all`.
    public var tenantID: UUID? {
        if case .tenant(let id) = self { return id }
        return nil
    }

    /// `column = <tenant>` (or TRUE for `.all`), for a WHERE clause.
    public func condition(_ column: String) -> SQL {
        switch self {
        case .all: return "TRUE"
        case .tenant(let id): return "\(SQL.unsafeSQL(column)) = \(id)"
        }
    }

    /// Agents of this scope, as a condition on an `agent_id` column (usage and counters belong to
    /// a tenant through their agent).
    public func agentCondition(_ column: String) -> SQL {
        switch self {
        case .all: return "TRUE"
        case .tenant(let id): return "\(SQL.unsafeSQL(column)) IN (SELECT id FROM agents WHERE tenant_id = \(id))"
        }
    }

    public func contains(_ tenantID: UUID) -> Bool {
        switch self {
        case .all: return true
        case .tenant(let id): return id == tenantID
        }
    }
}
