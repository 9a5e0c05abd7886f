import Foundation
import Postgres
import Storage

/// Who may call a route, declared on the route itself (`APIRoute.access`), so the route table is
/// also the access table: the router checks it before the handler runs, `/openapi.json` documents
/// it, and the route-by-role test walks it.
struct RouteAccess: Sendable, Equatable {
    /// nil: public (probes, the UI's files, the OpenAPI document).
    var role: APIKeyRole?
    /// The path parameter `{id}` names a row that belongs to a tenant: a caller of another tenant
    /// gets the same 404 as for an id that does not exist (never a 403 that confirms it exists).
    var owned: OwnedResource?

    static let `public` = RouteAccess(role: nil, owned: nil)

    static func role(_ role: APIKeyRole, owns owned: OwnedResource? = nil) -> RouteAccess {
        RouteAccess(role: role, owned: owned)
    }
}

/// The tenant-owned rows a path can name by `{id}`.
enum OwnedResource: String, Sendable, Equatable {
    case agent, job, execution, apiKey = "api_key", tenant, rateLimit = "rate_limit", budget

    /// The same wording the handlers use for an id that does not exist.
    func notFound(_ text: String) -> APIError {
        switch self {
        case .agent: return APIError.notFound("agent \(text) does not exist")
        case .job: return APIError.notFound("job \(text) does not exist")
        case .execution: return APIError.notFound("execution \(text) does not exist")
        case .apiKey: return APIError.notFound("key \(text) does not exist")
        case .tenant: return APIError.notFound("tenant \(text) does not exist")
        case .rateLimit: return APIError.notFound("rate limit \(text) does not exist")
        case .budget: return APIError.notFound("budget \(text) does not exist")
        }
    }
}

/// Checks a route's `RouteAccess` for a request: the role, then (for an owned `{id}`) that the row
/// is in the caller's scope, by one indexed lookup. Ids that do not parse are left to the handler,
/// which answers them as it always has.
struct RouteGuard: Sendable {
    let pool: PostgresPool

    func check(_ access: RouteAccess, context: RegistryContext) async throws {
        guard let needed = access.role else { return }
        let principal = try context.requirePrincipal()
        guard principal.role >= needed else {
            context.logger.notice("registry.auth.forbidden", metadata: [
                "auth.role": "\(principal.role.rawValue)", "auth.needs": "\(needed.rawValue)",
            ])
            throw APIError.forbidden(role: principal.role, needs: needed)
        }
        guard let owned = access.owned, case .tenant(let tenantID) = principal.scope,
            let text = context.parameters.get("id")
        else { return }
        guard let owner = try await owner(of: owned, id: text) else { return }
        if owner != tenantID { throw owned.notFound(displayed(text, owned)) }
    }

    /// The tenant of the row `text` names; nil when the id does not parse or no row has it (the
    /// handler then answers as for any missing id).
    func owner(of resource: OwnedResource, id text: String) async throws -> UUID? {
        if resource == .job {
            guard let id = Int64(text), id > 0 else { return nil }
            return try await pool.query("SELECT tenant_id FROM llm_jobs WHERE id = \(id)").rows.first?.decode("tenant_id")
        }
        guard let id = UUID(uuidString: text) else { return nil }
        let sql: SQL
        switch resource {
        case .agent: sql = "SELECT tenant_id FROM agents WHERE id = \(id)"
        case .execution: sql = "SELECT tenant_id FROM workflow_executions WHERE id = \(id)"
        case .apiKey: sql = "SELECT tenant_id FROM api_keys WHERE id = \(id)"
        case .tenant: sql = "SELECT id AS tenant_id FROM tenants WHERE id = \(id)"
        case .rateLimit: sql = "SELECT tenant_id FROM rate_limits WHERE id = \(id)"
        // A global budget has no tenant: its handler answers 404 to anyone but an admin.
        case .budget: sql = "SELECT tenant_id FROM budgets WHERE id = \(id)"
        case .job: return nil
        }
        return try await pool.query(sql).rows.first?.decode("tenant_id")
    }

    private func displayed(_ text: String, _ resource: OwnedResource) -> String {
        if resource == .job { return text }
        return UUID(uuidString: text).map { $0.uuidString.lowercased() } ?? text
    }
}
