import Catalog
import Foundation
import Hummingbird
import JSON
import Storage

/// `/api/budgets`: spend limits in USD on a tenant, an API key, an agent or everything, per day,
/// week, month or lifetime, enforced by reservation before every provider call (migration 0033,
/// docs/budgets.md). Operators manage their tenant's budgets; global budgets are an admin's.
struct BudgetRoutes: Sendable {
    let budgets: BudgetRepository
    let gate: BudgetGate
    let tenants: TenantRepository
    let keys: APIKeyRepository
    let agents: AgentRepository

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/budgets", operationID: "listBudgets", tag: "budgets",
                summary: "Budgets with their current period's spent, reserved (calls in flight) and remaining USD: the caller's tenant's, or every tenant's and the global ones for an admin.",
                access: .role(.viewer),
                parameters: [
                    .query("scope", .enumeration(BudgetRecord.Scope.allCases.map(\.rawValue)), "Only budgets of this scope."),
                    .query("scope_id", .string(format: "uuid"), "Only the budgets of this tenant, key or agent."),
                ],
                responses: [.init(200, "The budgets.", .ref("BudgetList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .post, path: "/api/budgets", operationID: "createBudget", tag: "budgets",
                summary: "Create a budget on a tenant, an API key or an agent of the caller's tenant (operator), or a global one (admin). It counts the calls reserved from its creation on.",
                access: .role(.operator),
                requestBody: .ref("BudgetCreate"),
                responses: [.init(201, "The budget.", .ref("Budget"))], errors: [403, 404],
                handler: create),
            APIRoute(
                method: .get, path: "/api/budgets/{id}", operationID: "getBudget", tag: "budgets",
                summary: "One budget: its limit, current period, spent, reserved and remaining USD, and its latest alerts.",
                access: .role(.viewer, owns: .budget),
                parameters: [.path("id", "Budget id (UUID).")],
                responses: [.init(200, "The budget.", .ref("Budget"))], errors: [404],
                handler: get),
            APIRoute(
                method: .patch, path: "/api/budgets/{id}", operationID: "updateBudget", tag: "budgets",
                summary: "Change a budget's limit, behaviour, thresholds, period or time zone. A new period or time zone starts a new period row (spend so far stays in the old one).",
                access: .role(.operator, owns: .budget),
                parameters: [.path("id", "Budget id (UUID).")],
                requestBody: .ref("BudgetUpdate"),
                responses: [.init(200, "The budget.", .ref("Budget"))], errors: [403, 404],
                handler: update),
            APIRoute(
                method: .delete, path: "/api/budgets/{id}", operationID: "deleteBudget", tag: "budgets",
                summary: "Delete a budget: calls are no longer limited by it (its periods and alerts go with it).",
                access: .role(.operator, owns: .budget),
                parameters: [.path("id", "Budget id (UUID).")],
                responses: [.init(204, "Deleted.", nil)], errors: [403, 404],
                handler: delete),
        ]
    }

    // MARK: - Bodies

    struct BudgetBody: Encodable, Sendable {
        var budget: BudgetRecord
        var alerts: [BudgetAlertRecord]?

        enum CodingKeys: String, CodingKey {
            case id, scope, name, period, requests, alerts
            case tenantID = "tenant_id", scopeID = "scope_id", timeZone = "time_zone", limitUSD = "limit_usd"
            case onExhausted = "on_exhausted", downgradeThreshold = "downgrade_threshold", alertThresholds = "alert_thresholds"
            case periodStart = "period_start", periodEnd = "period_end", spentUSD = "spent_usd", reservedUSD = "reserved_usd"
            case remainingUSD = "remaining_usd", createdAt = "created_at", updatedAt = "updated_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(budget.id.jsonString, forKey: .id)
            try c.encode(budget.tenantID?.jsonString, forKey: .tenantID)
            try c.encode(budget.scope.rawValue, forKey: .scope)
            try c.encode(budget.scopeID?.jsonString, forKey: .scopeID)
            try c.encode(budget.name, forKey: .name)
            try c.encode(budget.period.rawValue, forKey: .period)
            try c.encode(budget.timeZone, forKey: .timeZone)
            // Money as exact decimal strings, as stored.
            try c.encode(budget.limitUSD, forKey: .limitUSD)
            try c.encode(budget.onExhausted.rawValue, forKey: .onExhausted)
            try c.encode(budget.downgradeThreshold, forKey: .downgradeThreshold)
            try c.encode(budget.alertThresholds, forKey: .alertThresholds)
            try c.encode(budget.periodStart, forKey: .periodStart)
            try c.encode(budget.periodEnd, forKey: .periodEnd)
            try c.encode(budget.spentUSD, forKey: .spentUSD)
            try c.encode(budget.reservedUSD, forKey: .reservedUSD)
            try c.encode(budget.remainingUSD, forKey: .remainingUSD)
            try c.encode(budget.requests, forKey: .requests)
            try c.encode(budget.createdAt, forKey: .createdAt)
            try c.encode(budget.updatedAt, forKey: .updatedAt)
            if let alerts { try c.encode(alerts.map(AlertBody.init), forKey: .alerts) }
        }
    }

    struct AlertBody: Encodable, Sendable {
        var alert: BudgetAlertRecord
        enum CodingKeys: String, CodingKey {
            case id, threshold, attempts
            case periodStart = "period_start", spentUSD = "spent_usd", limitUSD = "limit_usd", createdAt = "created_at"
            case deliveredAt = "delivered_at", lastError = "last_error"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(alert.id, forKey: .id)
            try c.encode(alert.threshold, forKey: .threshold)
            try c.encode(alert.periodStart, forKey: .periodStart)
            try c.encode(alert.spentUSD, forKey: .spentUSD)
            try c.encode(alert.limitUSD, forKey: .limitUSD)
            try c.encode(alert.createdAt, forKey: .createdAt)
            try c.encode(alert.deliveredAt, forKey: .deliveredAt)
            try c.encode(alert.attempts, forKey: .attempts)
            try c.encode(alert.lastError, forKey: .lastError)
        }
    }

    struct BudgetListBody: Encodable, Sendable {
        var budgets: [BudgetBody]
    }

    // MARK: - Handlers

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<BudgetListBody> {
        var kind: BudgetRecord.Scope?
        if let text = request.query("scope") {
            guard let scope = BudgetRecord.Scope(rawValue: text) else {
                throw APIError.badParameter("scope", "must be one of global, tenant, api_key, agent")
            }
            kind = scope
        }
        var scopeID: UUID?
        if let text = request.query("scope_id") {
            guard let id = UUID(uuidString: text) else { throw APIError.badParameter("scope_id", "must be a UUID") }
            scopeID = id
        }
        let found = try await budgets.list(context.scope, kind: kind, scopeID: scopeID)
        return JSONResponse(BudgetListBody(budgets: found.map { BudgetBody(budget: $0) }))
    }

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<BudgetBody> {
        let principal = try context.requirePrincipal()
        let (document, _) = try await request.readJSON(schema: .ref("BudgetCreate"), context: context)
        var issues: [APIError.Detail] = []
        let scope = BudgetRecord.Scope(rawValue: document["scope"]?.stringValue ?? "") ?? .global
        var scopeID: UUID?
        if scope == .global {
            if document["scope_id"].map({ !$0.isNull }) == true {
                issues.append(.init(field: "scope_id", message: "must be absent for a global budget"))
            }
            guard principal.role == .admin else {
                throw APIError.forbidden("admin_only", "only an admin key may create a global budget")
            }
        } else {
            guard let text = document["scope_id"]?.stringValue, let id = UUID(uuidString: text) else {
                throw APIError.validation([.init(field: "scope_id", message: "must be the UUID of the \(scope.rawValue.replacingOccurrences(of: "_", with: " ")) the budget limits")])
            }
            scopeID = id
        }
        let tenantID = try await owningTenant(scope, scopeID, for: principal)
        let settings = try await Self.settings(document, current: nil, budgets: budgets, issues: &issues)
        if !issues.isEmpty { throw APIError.validation(issues) }
        let created = try await budgets.create(
            BudgetRepository.NewBudget(
                tenantID: tenantID, scope: scope, scopeID: scopeID, name: settings.name ?? "", period: settings.period ?? .month,
                timeZone: settings.timeZone ?? "UTC", limitUSD: settings.limit ?? 0, onExhausted: settings.onExhausted ?? .fail,
                downgradeThreshold: settings.downgradeThreshold ?? nil, alertThresholds: settings.alertThresholds ?? Self.defaultAlerts),
            actor: context.actor)
        gate.invalidate()
        context.logger.notice("registry.budget.created", metadata: [
            "budget.id": "\(created.id.jsonString)", "budget.scope": "\(scope.rawValue)", "budget.limit_usd": "\(created.limitUSD)",
        ])
        return JSONResponse(BudgetBody(budget: created), status: .created)
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<BudgetBody> {
        let budget = try await visibleBudget(context)
        return JSONResponse(BudgetBody(budget: budget, alerts: try await budgets.alerts(of: budget.id)))
    }

    func update(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<BudgetBody> {
        let principal = try context.requirePrincipal()
        let budget = try await visibleBudget(context)
        if budget.scope == .global, principal.role != .admin {
            throw APIError.forbidden("admin_only", "only an admin key may change a global budget")
        }
        let (document, _) = try await request.readJSON(schema: .ref("BudgetUpdate"), context: context)
        var issues: [APIError.Detail] = []
        let settings = try await Self.settings(document, current: budget, budgets: budgets, issues: &issues)
        if !issues.isEmpty { throw APIError.validation(issues) }
        var changes = BudgetRepository.Changes()
        changes.name = settings.name
        changes.period = settings.period
        changes.timeZone = settings.timeZone
        changes.limitUSD = settings.limit
        changes.onExhausted = settings.onExhausted
        changes.downgradeThreshold = settings.downgradeThreshold
        changes.alertThresholds = settings.alertThresholds
        guard let updated = try await budgets.update(budget.id, changes, actor: context.actor) else {
            throw OwnedResource.budget.notFound(budget.id.jsonString)
        }
        gate.invalidate()
        return JSONResponse(BudgetBody(budget: updated, alerts: try await budgets.alerts(of: updated.id)))
    }

    func delete(_ request: Request, _ context: RegistryContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let budget = try await visibleBudget(context)
        if budget.scope == .global, principal.role != .admin {
            throw APIError.forbidden("admin_only", "only an admin key may delete a global budget")
        }
        guard try await budgets.delete(budget.id, actor: context.actor) else { throw OwnedResource.budget.notFound(budget.id.jsonString) }
        gate.invalidate()
        context.logger.notice("registry.budget.deleted", metadata: ["budget.id": "\(budget.id.jsonString)"])
        return Response(status: .noContent)
    }

    // MARK: - Rules

    static let defaultAlerts: [Decimal] = [Decimal(string: "0.5")!, Decimal(string: "0.8")!, 1]
    static let largestLimit = Decimal(string: "1000000000000")!

    /// The budget `{id}` if the caller may see it (a global one: admins only), else 404.
    private func visibleBudget(_ context: RegistryContext) async throws -> BudgetRecord {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text), let budget = try await budgets.find(id) else {
            throw OwnedResource.budget.notFound(text)
        }
        let visible = budget.tenantID.map(context.scope.contains) ?? (context.scope == .all)
        guard visible else { throw OwnedResource.budget.notFound(id.jsonString) }
        return budget
    }

    /// The tenant a budget of `scope` on `id` belongs to, checked to be the caller's (another
    /// tenant's key, agent or tenant reads as missing).
    private func owningTenant(_ scope: BudgetRecord.Scope, _ id: UUID?, for principal: Principal) async throws -> UUID? {
        let owner: UUID?
        switch scope {
        case .global: return nil
        case .tenant: owner = try await tenants.find(id!)?.id
        case .apiKey: owner = try await keys.find(id!)?.tenantID
        case .agent: owner = try await agents.find(id!)?.tenantID
        }
        guard let owner, principal.scope.contains(owner) else {
            throw APIError(
                .notFound, code: "not_found",
                message: "no \(scope.rawValue.replacingOccurrences(of: "_", with: " ")) with id \(id!.jsonString)",
                details: [.init(field: "scope_id", message: "names no \(scope.rawValue) of the caller's tenant")])
        }
        return owner
    }

    /// The settable fields a body names (nil: not sent), each checked.
    struct Settings {
        var name: String?
        var period: BudgetRecord.Period?
        var timeZone: String?
        var limit: Decimal?
        var onExhausted: BudgetRecord.Behaviour?
        /// .some(nil): cleared.
        var downgradeThreshold: Decimal??
        var alertThresholds: [Decimal]?
    }

    static func settings(
        _ document: JSONValue, current: BudgetRecord?, budgets: BudgetRepository, issues: inout [APIError.Detail]
    ) async throws -> Settings {
        var settings = Settings()
        settings.name = document["name"]?.stringValue
        if let text = document["period"]?.stringValue { settings.period = BudgetRecord.Period(rawValue: text) }
        if let zone = document["time_zone"]?.stringValue {
            if try await budgets.timeZoneExists(zone) {
                settings.timeZone = zone
            } else {
                issues.append(.init(field: "time_zone", message: "'\(zone)' is not a time zone Postgres knows (e.g. UTC, Europe/Paris, America/New_York)"))
            }
        }
        if let value = document["limit_usd"] {
            if let limit = decimal(value), limit >= 0, limit <= largestLimit {
                settings.limit = limit
            } else {
                issues.append(.init(field: "limit_usd", message: "must be a decimal number of USD from 0 to 1,000,000,000,000, e.g. \"12.50\""))
            }
        } else if current == nil {
            issues.append(.init(field: "limit_usd", message: "is required"))
        }
        if let text = document["on_exhausted"]?.stringValue { settings.onExhausted = BudgetRecord.Behaviour(rawValue: text) }
        if let value = document["downgrade_threshold"] {
            if value.isNull {
                settings.downgradeThreshold = .some(nil)
            } else if let threshold = decimal(value), threshold > 0, threshold <= 1 {
                settings.downgradeThreshold = .some(threshold)
            } else {
                issues.append(.init(field: "downgrade_threshold", message: "must be a share of the limit above 0 and at most 1, e.g. 0.9"))
            }
        }
        let behaviour = settings.onExhausted ?? current?.onExhausted ?? .fail
        let threshold: Decimal? = settings.downgradeThreshold.map { $0 } ?? current?.downgradeThreshold.flatMap { Decimal(string: $0) }
        if threshold != nil, behaviour != .downgrade {
            issues.append(.init(field: "downgrade_threshold", message: "applies only to on_exhausted: downgrade"))
        }
        if case .array(let values)? = document["alert_thresholds"] {
            var thresholds: [Decimal] = []
            for (index, value) in values.enumerated() {
                guard let threshold = decimal(value), threshold > 0, threshold <= 1 else {
                    issues.append(.init(field: "alert_thresholds[\(index)]", message: "must be a share of the limit above 0 and at most 1"))
                    continue
                }
                thresholds.append(threshold)
            }
            settings.alertThresholds = Array(Set(thresholds)).sorted()
        }
        return settings
    }

    private static func decimal(_ value: JSONValue) -> Decimal? {
        switch value {
        case .number(let text): return ExactDecimal.parse(text)
        case .string(let text): return ExactDecimal.parse(text)
        default: return nil
        }
    }
}
