import Foundation
import Hummingbird
import JSON
import Storage

/// `/api/rate-limits`: requests and tokens per minute (per `window_seconds`) and concurrent jobs
/// of an API key or an agent (issue 23). Operators manage those of their tenant's keys and
/// agents; admins any. `/api/providers/{name}/quotas`: what a provider grants per model or for
/// the whole provider (admins), which the gateway's workers keep to.
struct RateLimitRoutes: Sendable {
    let limits: RateLimitRepository
    let keys: APIKeyRepository
    let agents: AgentRepository
    let providers: ProviderRepository
    let cache: RateLimitCache

    static let idParameter = APIParameter.path("id", "Rate limit id (UUID).")
    static let limitFields = ["requests_per_minute", "tokens_per_minute", "max_concurrent_jobs"]

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/rate-limits", operationID: "listRateLimits", tag: "access",
                summary: "Rate limits of the caller's tenant's keys and agents (every tenant's for an admin), with the current window's counts.",
                access: .role(.viewer),
                parameters: [
                    .query("scope", .enumeration(["api_key", "agent"]), "Only limits of this scope."),
                    .query("scope_id", .string(format: "uuid"), "Only the limit of this key or agent."),
                ],
                responses: [.init(200, "The limits.", .ref("RateLimitList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .post, path: "/api/rate-limits", operationID: "createRateLimit", tag: "access",
                summary: "Limit a key or an agent: requests_per_minute, tokens_per_minute (tokens of finished calls in the window), max_concurrent_jobs (queued + running jobs of a key). One limit per key or agent (409 when it has one).",
                access: .role(.operator),
                requestBody: .ref("RateLimitCreate"),
                responses: [.init(201, "The new limit.", .ref("RateLimit"))], errors: [404, 409],
                handler: create),
            APIRoute(
                method: .get, path: "/api/rate-limits/{id}", operationID: "getRateLimit", tag: "access",
                summary: "One limit, with the current window's requests and tokens.",
                access: .role(.viewer, owns: .rateLimit),
                parameters: [Self.idParameter],
                responses: [.init(200, "The limit.", .ref("RateLimit"))], errors: [404],
                handler: get),
            APIRoute(
                method: .patch, path: "/api/rate-limits/{id}", operationID: "updateRateLimit", tag: "access",
                summary: "Change a limit; null removes one of the three limits (at least one must remain).",
                access: .role(.operator, owns: .rateLimit),
                parameters: [Self.idParameter],
                requestBody: .ref("RateLimitUpdate"),
                responses: [.init(200, "The changed limit.", .ref("RateLimit"))], errors: [404],
                handler: update),
            APIRoute(
                method: .delete, path: "/api/rate-limits/{id}", operationID: "deleteRateLimit", tag: "access",
                summary: "Remove a limit.",
                access: .role(.operator, owns: .rateLimit),
                parameters: [Self.idParameter],
                responses: [.init(204, "Removed.", nil)], errors: [404],
                handler: delete),
            APIRoute(
                method: .get, path: "/api/providers/{name}/quotas", operationID: "listProviderQuotas", tag: "providers",
                summary: "The provider's quotas (rpm, tpm per window_seconds), for one model or the whole provider (model_id null), with the current window's counts.",
                access: .role(.viewer),
                parameters: [.path("name", "Provider name.")],
                responses: [.init(200, "The quotas.", .ref("ProviderQuotaList"))], errors: [404],
                handler: listQuotas),
            APIRoute(
                method: .put, path: "/api/providers/{name}/quotas", operationID: "setProviderQuota", tag: "providers",
                summary: "Set what the provider grants for one model (model_id) or for all its models together (model_id null or absent): rpm and/or tpm per window_seconds (default 60). Workers take a slot before every call and send jobs back to the queue while a window is full.",
                access: .role(.admin),
                parameters: [.path("name", "Provider name.")],
                requestBody: .ref("ProviderQuotaSet"),
                responses: [.init(200, "The quota.", .ref("ProviderQuota"))], errors: [404],
                handler: setQuota),
            APIRoute(
                method: .delete, path: "/api/providers/{name}/quotas", operationID: "deleteProviderQuota", tag: "providers",
                summary: "Remove the quota of one model (?model_id=) or the provider-wide one (no model_id).",
                access: .role(.admin),
                parameters: [.path("name", "Provider name."), .query("model_id", .string(), "The model whose quota goes.")],
                responses: [.init(204, "Removed.", nil)], errors: [404],
                handler: deleteQuota),
        ]
    }

    // MARK: - Bodies

    struct LimitBody: Encodable, Sendable {
        var limit: RateLimitRecord

        enum CodingKeys: String, CodingKey {
            case id, scope, tenantID = "tenant_id", scopeID = "scope_id", requestsPerMinute = "requests_per_minute"
            case tokensPerMinute = "tokens_per_minute", maxConcurrentJobs = "max_concurrent_jobs", windowSeconds = "window_seconds"
            case createdAt = "created_at", updatedAt = "updated_at", window
        }

        enum WindowKeys: String, CodingKey { case start, requests, tokens }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(limit.id.jsonString, forKey: .id)
            try c.encode(limit.tenantID.jsonString, forKey: .tenantID)
            try c.encode(limit.scope.rawValue, forKey: .scope)
            try c.encode(limit.scopeID.jsonString, forKey: .scopeID)
            try c.encode(limit.requestsPerMinute, forKey: .requestsPerMinute)
            try c.encode(limit.tokensPerMinute, forKey: .tokensPerMinute)
            try c.encode(limit.maxConcurrentJobs, forKey: .maxConcurrentJobs)
            try c.encode(limit.windowSeconds, forKey: .windowSeconds)
            try c.encode(limit.createdAt, forKey: .createdAt)
            try c.encode(limit.updatedAt, forKey: .updatedAt)
            var w = c.nestedContainer(keyedBy: WindowKeys.self, forKey: .window)
            try w.encode(limit.windowStart, forKey: .start)
            try w.encode(limit.windowRequests, forKey: .requests)
            try w.encode(limit.windowTokens, forKey: .tokens)
        }
    }

    struct LimitListBody: Encodable, Sendable {
        var rateLimits: [LimitBody]
        enum CodingKeys: String, CodingKey { case rateLimits = "rate_limits" }
    }

    struct QuotaBody: Encodable, Sendable {
        var quota: ProviderQuotaRecord

        enum CodingKeys: String, CodingKey {
            case id, provider, modelID = "model_id", rpm, tpm, windowSeconds = "window_seconds"
            case createdAt = "created_at", updatedAt = "updated_at", window
        }

        enum WindowKeys: String, CodingKey { case start, requests, tokens }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(quota.id.jsonString, forKey: .id)
            try c.encode(quota.provider, forKey: .provider)
            try c.encode(quota.modelID, forKey: .modelID)
            try c.encode(quota.rpm, forKey: .rpm)
            try c.encode(quota.tpm, forKey: .tpm)
            try c.encode(quota.windowSeconds, forKey: .windowSeconds)
            try c.encode(quota.createdAt, forKey: .createdAt)
            try c.encode(quota.updatedAt, forKey: .updatedAt)
            var w = c.nestedContainer(keyedBy: WindowKeys.self, forKey: .window)
            try w.encode(quota.windowStart, forKey: .start)
            try w.encode(quota.windowRequests, forKey: .requests)
            try w.encode(quota.windowTokens, forKey: .tokens)
        }
    }

    struct QuotaListBody: Encodable, Sendable {
        var quotas: [QuotaBody]
    }

    // MARK: - Input

    /// The limits a body sets (a number), clears (null) or leaves (absent).
    static func values(_ document: JSONValue) throws -> (values: RateLimitValues, cleared: Set<String>) {
        var values = RateLimitValues()
        var cleared: Set<String> = []
        var issues: [APIError.Detail] = []
        func number(_ name: String, maximum: Int64) -> Int64? {
            guard let value = document[name] else { return nil }
            if value.isNull {
                cleared.insert(name)
                return nil
            }
            guard let int = value.intValue, int >= 1, Int64(int) <= maximum else {
                issues.append(.init(field: name, message: "must be an integer from 1 to \(maximum)"))
                return nil
            }
            return Int64(int)
        }
        values.requestsPerMinute = number("requests_per_minute", maximum: Int64(Int32.max)).map(Int.init)
        values.tokensPerMinute = number("tokens_per_minute", maximum: Int64(1) << 53)
        values.maxConcurrentJobs = number("max_concurrent_jobs", maximum: Int64(Int32.max)).map(Int.init)
        if let window = document["window_seconds"] {
            if let int = window.intValue, (1...3600).contains(int) {
                values.windowSeconds = int
            } else {
                issues.append(.init(field: "window_seconds", message: "must be an integer from 1 to 3600"))
            }
        }
        if !issues.isEmpty { throw APIError.validation(issues, message: "the rate limit is invalid") }
        return (values, cleared)
    }

    // MARK: - Handlers

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<LimitListBody> {
        var scope: RateLimitRecord.Scope?
        if let text = request.query("scope") {
            guard let parsed = RateLimitRecord.Scope(rawValue: text) else { throw APIError.badParameter("scope", "must be api_key or agent") }
            scope = parsed
        }
        var scopeID: UUID?
        if let text = request.query("scope_id") {
            guard let id = UUID(uuidString: text) else { throw APIError.badParameter("scope_id", "must be a UUID") }
            scopeID = id
        }
        let found = try await limits.list(context.scope, limitScope: scope, scopeID: scopeID)
        return JSONResponse(LimitListBody(rateLimits: found.map { LimitBody(limit: $0) }))
    }

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<LimitBody> {
        let principal = try context.requirePrincipal()
        let (document, _) = try await request.readJSON(schema: .ref("RateLimitCreate"), context: context)
        guard let scopeText = document["scope"]?.stringValue, let scope = RateLimitRecord.Scope(rawValue: scopeText) else {
            throw APIError.validation([.init(field: "scope", message: "must be api_key or agent")])
        }
        guard let idText = document["scope_id"]?.stringValue, let scopeID = UUID(uuidString: idText) else {
            throw APIError.validation([.init(field: "scope_id", message: "must be the UUID of a key or an agent")])
        }
        let (values, cleared) = try Self.values(document)
        if !cleared.isEmpty || (values.requestsPerMinute == nil && values.tokensPerMinute == nil && values.maxConcurrentJobs == nil) {
            throw APIError.validation(
                [.init(field: "body", message: "set at least one of requests_per_minute, tokens_per_minute, max_concurrent_jobs (a number, not null)")],
                message: "the rate limit is invalid")
        }
        if scope == .agent, values.maxConcurrentJobs != nil {
            throw APIError.validation([.init(field: "max_concurrent_jobs", message: "applies to api_key limits only (a key's queued + running jobs)")])
        }
        // The key or agent must be the caller's tenant's (another tenant's reads as missing).
        let tenantID: UUID
        switch scope {
        case .apiKey:
            guard let key = try await keys.find(scopeID), principal.scope.contains(key.tenantID) else {
                throw APIError.notFound("key \(scopeID.jsonString) does not exist")
            }
            if principal.role != .admin, key.role >= principal.role {
                throw APIError.forbidden("role_too_high", "a \(principal.role.rawValue) key may only limit keys of a lower role")
            }
            tenantID = key.tenantID
        case .agent:
            guard let agent = try await agents.find(scopeID), principal.scope.contains(agent.tenantID) else {
                throw APIError.notFound("agent \(scopeID.jsonString) does not exist")
            }
            tenantID = agent.tenantID
        }
        guard let created = try await limits.create(tenantID: tenantID, scope: scope, scopeID: scopeID, values: values) else {
            throw APIError.conflict(
                "\(scope == .apiKey ? "key" : "agent") \(scopeID.jsonString) already has a rate limit: change it with PATCH",
                details: [.init(field: "scope_id", message: "has a rate limit")])
        }
        cache.invalidate()
        context.logger.notice("registry.rate_limit.created", metadata: [
            "rate_limit.id": "\(created.id.jsonString)", "rate_limit.scope": "\(scope.rawValue)", "tenant.id": "\(tenantID.jsonString)",
        ])
        return JSONResponse(LimitBody(limit: created), status: .created)
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<LimitBody> {
        JSONResponse(LimitBody(limit: try await find(context)))
    }

    func update(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<LimitBody> {
        let existing = try await find(context)
        let (document, _) = try await request.readJSON(schema: .ref("RateLimitUpdate"), context: context)
        let (values, cleared) = try Self.values(document)
        if existing.scope == .agent, values.maxConcurrentJobs != nil {
            throw APIError.validation([.init(field: "max_concurrent_jobs", message: "applies to api_key limits only (a key's queued + running jobs)")])
        }
        let remaining = [
            values.requestsPerMinute != nil || (existing.requestsPerMinute != nil && !cleared.contains("requests_per_minute")),
            values.tokensPerMinute != nil || (existing.tokensPerMinute != nil && !cleared.contains("tokens_per_minute")),
            values.maxConcurrentJobs != nil || (existing.maxConcurrentJobs != nil && !cleared.contains("max_concurrent_jobs")),
        ]
        guard remaining.contains(true) else {
            throw APIError.validation([.init(field: "body", message: "at least one limit must remain; DELETE removes the rate limit")])
        }
        guard let updated = try await limits.update(existing.id, values: values, clear: cleared) else {
            throw OwnedResource.rateLimit.notFound(existing.id.jsonString)
        }
        cache.invalidate()
        context.logger.notice("registry.rate_limit.updated", metadata: ["rate_limit.id": "\(updated.id.jsonString)"])
        return JSONResponse(LimitBody(limit: updated))
    }

    func delete(_ request: Request, _ context: RegistryContext) async throws -> Response {
        let existing = try await find(context)
        guard try await limits.delete(existing.id) else { throw OwnedResource.rateLimit.notFound(existing.id.jsonString) }
        cache.invalidate()
        context.logger.notice("registry.rate_limit.deleted", metadata: ["rate_limit.id": "\(existing.id.jsonString)"])
        return Response(status: .noContent)
    }

    private func find(_ context: RegistryContext) async throws -> RateLimitRecord {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text), let limit = try await limits.find(id), context.scope.contains(limit.tenantID) else {
            throw OwnedResource.rateLimit.notFound(text)
        }
        return limit
    }

    // MARK: - Provider quotas

    private func provider(_ context: RegistryContext) async throws -> String {
        let name = try context.pathParameter("name")
        guard try await providers.all().contains(where: { $0.name == name }) else {
            throw APIError.notFound("provider '\(name)' does not exist")
        }
        return name
    }

    func listQuotas(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<QuotaListBody> {
        let name = try await provider(context)
        return JSONResponse(QuotaListBody(quotas: try await limits.quotas(provider: name).map { QuotaBody(quota: $0) }))
    }

    func setQuota(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<QuotaBody> {
        let name = try await provider(context)
        let (document, _) = try await request.readJSON(schema: .ref("ProviderQuotaSet"), context: context)
        var issues: [APIError.Detail] = []
        func positive(_ field: String, maximum: Int64) -> Int64? {
            guard let value = document[field], !value.isNull else { return nil }
            guard let int = value.intValue, int >= 1, Int64(int) <= maximum else {
                issues.append(.init(field: field, message: "must be an integer from 1 to \(maximum)"))
                return nil
            }
            return Int64(int)
        }
        let rpm = positive("rpm", maximum: Int64(Int32.max)).map(Int.init)
        let tpm = positive("tpm", maximum: Int64(1) << 53)
        let window = positive("window_seconds", maximum: 3600).map(Int.init) ?? 60
        let modelID = document["model_id"]?.stringValue
        if rpm == nil && tpm == nil && issues.isEmpty { issues.append(.init(field: "body", message: "set rpm, tpm or both")) }
        if let modelID, modelID.isEmpty { issues.append(.init(field: "model_id", message: "must not be empty (null: the whole provider)")) }
        if !issues.isEmpty { throw APIError.validation(issues, message: "the quota is invalid") }
        guard let quota = try await limits.setQuota(provider: name, modelID: modelID, rpm: rpm, tpm: tpm, windowSeconds: window) else {
            throw APIError.internalError
        }
        context.logger.notice("registry.provider_quota.set", metadata: [
            "llm.provider": "\(name)", "llm.model": "\(modelID ?? "*")", "quota.rpm": "\(rpm.map(String.init) ?? "-")",
            "quota.tpm": "\(tpm.map(String.init) ?? "-")",
        ])
        return JSONResponse(QuotaBody(quota: quota))
    }

    func deleteQuota(_ request: Request, _ context: RegistryContext) async throws -> Response {
        let name = try await provider(context)
        let modelID = request.query("model_id")
        guard try await limits.deleteQuota(provider: name, modelID: modelID) else {
            throw APIError.notFound("provider '\(name)' has no quota for \(modelID.map { "model '\($0)'" } ?? "the whole provider")")
        }
        return Response(status: .noContent)
    }
}

extension APISchemas {
    static let limitWindow: JSONSchema = .object([
        "start": JSONSchema.string(format: "date-time", "Start of the current window (database clock); null before the first request.", maxLength: 40).orNull,
        "requests": .integer("Requests (jobs) admitted, or calls sent, in the current window."),
        "tokens": .integer("Input + output tokens of calls finished in the current window."),
    ], required: ["start", "requests", "tokens"])

    static let rateLimits: [String: JSONSchema] = [
        "RateLimit": .object([
            "id": .string(format: "uuid"), "tenant_id": .string(format: "uuid"),
            "scope": .enumeration(["api_key", "agent"]), "scope_id": .string(format: "uuid"),
            "requests_per_minute": JSONSchema.integer("Jobs admitted per window.", minimum: 1).orNull,
            "tokens_per_minute": JSONSchema.integer("Tokens of finished calls per window; new work is refused while the window holds this many.", minimum: 1).orNull,
            "max_concurrent_jobs": JSONSchema.integer("Queued + running jobs of the key (api_key scope).", minimum: 1).orNull,
            "window_seconds": .integer("Window length (60: per minute).", minimum: 1, maximum: 3600),
            "created_at": .string(format: "date-time", maxLength: 40), "updated_at": .string(format: "date-time", maxLength: 40),
            "window": limitWindow,
        ], required: [
            "id", "tenant_id", "scope", "scope_id", "requests_per_minute", "tokens_per_minute", "max_concurrent_jobs", "window_seconds",
            "created_at", "updated_at", "window",
        ]),
        "RateLimitList": .object(["rate_limits": .array(.ref("RateLimit"), maxItems: 100_000)], required: ["rate_limits"]),
        "RateLimitCreate": .object([
            "scope": .enumeration(["api_key", "agent"]),
            "scope_id": .string(format: "uuid", "The key's or the agent's id."),
            "requests_per_minute": JSONSchema.integer("Jobs per window (a batch of n jobs counts n).", minimum: 1).orNull,
            "tokens_per_minute": JSONSchema.integer("Input + output tokens of finished calls per window.", minimum: 1).orNull,
            "max_concurrent_jobs": JSONSchema.integer("Queued + running jobs of the key.", minimum: 1).orNull,
            "window_seconds": .integer("Window length, default 60.", minimum: 1, maximum: 3600),
        ], required: ["scope", "scope_id"]),
        "RateLimitUpdate": .object([
            "requests_per_minute": JSONSchema.integer("null removes it.", minimum: 1).orNull,
            "tokens_per_minute": JSONSchema.integer("null removes it.", minimum: 1).orNull,
            "max_concurrent_jobs": JSONSchema.integer("null removes it.", minimum: 1).orNull,
            "window_seconds": .integer(minimum: 1, maximum: 3600),
        ]),
        "ProviderQuota": .object([
            "id": .string(format: "uuid"), "provider": .string(maxLength: 200),
            "model_id": JSONSchema.string("null: every model of the provider together.", maxLength: 200).orNull,
            "rpm": JSONSchema.integer("Calls per window.", minimum: 1).orNull,
            "tpm": JSONSchema.integer("Input + output tokens of finished calls per window.", minimum: 1).orNull,
            "window_seconds": .integer(minimum: 1, maximum: 3600),
            "created_at": .string(format: "date-time", maxLength: 40), "updated_at": .string(format: "date-time", maxLength: 40),
            "window": limitWindow,
        ], required: ["id", "provider", "model_id", "rpm", "tpm", "window_seconds", "created_at", "updated_at", "window"]),
        "ProviderQuotaList": .object(["quotas": .array(.ref("ProviderQuota"), maxItems: 100_000)], required: ["quotas"]),
        "ProviderQuotaSet": .object([
            "model_id": JSONSchema.string("The model (absent or null: the whole provider).", maxLength: 200).orNull,
            "rpm": JSONSchema.integer("Calls per window.", minimum: 1).orNull,
            "tpm": JSONSchema.integer("Tokens per window.", minimum: 1).orNull,
            "window_seconds": .integer("Default 60.", minimum: 1, maximum: 3600),
        ]),
        "TenantUpdate": .object([
            "max_queued_jobs": JSONSchema.integer("At most this many queued jobs of the tenant; null: no cap.", minimum: 1).orNull,
        ]),
    ]
}
