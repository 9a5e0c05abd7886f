import JSON
import Catalog
import Foundation
import Hummingbird
import Postgres
import Storage

/// `/api/agents`: agents, their model configuration (validated against the catalog), usage and
/// recommendations.
///
/// Backward compatibility: an agent may be created or updated with the legacy fields
/// (`preferred_model`, `temperature`, `max_tokens`); they become a full `model_config` by the
/// backfill's rules (LegacyModelMapping), adjusted to the catalog (the model's real provider, the
/// temperature clamped into its range). Every write mirrors the primary model, temperature and
/// max_tokens into the legacy columns, so pre-Switchboard readers keep seeing the agent's model.
struct AgentRoutes: Sendable {
    let agents: AgentRepository
    let models: ModelRepository
    let providers: ProviderRepository
    let usage: UsageRepository
    let tenants: TenantRepository
    /// "Now", injected (tests pin it); never call `Date()` in a handler.
    let clock: @Sendable () -> Date

    var now: Date { clock() }

    static let idParameter = APIParameter.path("id", "Agent id (UUID).")

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/agents", operationID: "listAgents", tag: "agents",
                summary: "List agents by name.",
                access: .role(.viewer),
                parameters: [
                    .query("status", .enumeration(["active", "inactive", "archived"]), "Only agents with this status."),
                    .query("agent_type", .string(), "Only agents of this type."),
                    .query("model_id", .string(), "Only agents whose stored model_config names this model (primary or fallback)."),
                    .query("limit", .integer(), "1–1000, default 100."),
                    .query("offset", .integer(), "Default 0."),
                ],
                responses: [.init(200, "The agents.", .ref("AgentList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .post, path: "/api/agents", operationID: "createAgent", tag: "agents",
                summary: "Create an agent with a model_config, or with the legacy preferred_model/temperature/max_tokens (mapped to a full model_config), or with neither (catalog default).",
                access: .role(.operator),
                requestBody: .ref("AgentCreate"),
                responses: [.init(201, "The agent, with warnings.", .ref("Agent"))], errors: [404],
                handler: create),
            APIRoute(
                method: .get, path: "/api/agents/{id}", operationID: "getAgent", tag: "agents",
                summary: "One agent.",
                access: .role(.viewer, owns: .agent),
                parameters: [Self.idParameter],
                responses: [.init(200, "The agent.", .ref("Agent"))], errors: [404],
                handler: get),
            APIRoute(
                method: .patch, path: "/api/agents/{id}", operationID: "updateAgent", tag: "agents",
                summary: "Change an agent's fields; model_config (validated) or the legacy fields replace its configuration.",
                access: .role(.operator, owns: .agent),
                parameters: [Self.idParameter],
                requestBody: .ref("AgentUpdate"),
                responses: [.init(200, "The agent, with warnings.", .ref("Agent"))], errors: [404],
                handler: update),
            APIRoute(
                method: .delete, path: "/api/agents/{id}", operationID: "deleteAgent", tag: "agents",
                summary: "Delete an agent; 409 when jobs refer to it (archive it instead: status archived).",
                access: .role(.operator, owns: .agent),
                parameters: [Self.idParameter],
                responses: [.init(204, "Deleted.", nil)], errors: [404, 409],
                handler: delete),
            APIRoute(
                method: .get, path: "/api/agents/{id}/model-config", operationID: "getAgentModelConfig", tag: "agents",
                summary: "The agent's model configuration, with warnings (deprecated or retired models, ignored penalties…).",
                access: .role(.viewer, owns: .agent),
                parameters: [Self.idParameter],
                responses: [.init(200, "The configuration.", .ref("AgentModelConfig"))], errors: [404],
                handler: getModelConfig),
            APIRoute(
                method: .put, path: "/api/agents/{id}/model-config", operationID: "putAgentModelConfig", tag: "agents",
                summary: "Replace the model configuration. 400 with one entry per bad field; deprecated models are accepted with a warning naming the successor.",
                access: .role(.operator, owns: .agent),
                parameters: [Self.idParameter],
                requestBody: .ref("ModelConfigurationInput"),
                responses: [.init(200, "The stored configuration, with warnings.", .ref("AgentModelConfig"))], errors: [404],
                handler: putModelConfig),
            APIRoute(
                method: .get, path: "/api/agents/{id}/model-usage", operationID: "getAgentModelUsage", tag: "agents",
                summary: "Current model, configuration, usage stats (total_tokens, total_cost, total_requests, avg_tokens_per_request, last_used_at) and a per-model breakdown, from the usage counters (agent_usage_daily), optionally for a window of UTC days.",
                access: .role(.viewer, owns: .agent),
                parameters: [
                    Self.idParameter,
                    .query("from", .string(format: "date"), "First UTC day (YYYY-MM-DD), included."),
                    .query("to", .string(format: "date"), "Last UTC day (YYYY-MM-DD), included."),
                ],
                responses: [.init(200, "Usage.", .ref("AgentModelUsage"))], errors: [400, 404],
                handler: modelUsage),
            APIRoute(
                method: .get, path: "/api/agents/{id}/recommendations", operationID: "getAgentRecommendations", tag: "agents",
                summary: "Models recommended for the agent's type and skills, with reasons.",
                access: .role(.viewer, owns: .agent),
                parameters: [Self.idParameter, .query("limit", .integer(), "1–50, default 5.")],
                responses: [.init(200, "Best first.", .ref("AgentRecommendations"))], errors: [400, 404],
                handler: recommendations),
        ]
    }

    // MARK: - CRUD

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentListBody> {
        var filter = AgentRepository.Filter(
            status: request.query("status"), agentType: request.query("agent_type"), modelID: request.query("model_id"))
        if let status = filter.status, !AgentRecord.statuses.contains(status) {
            throw APIError.badParameter("status", "must be active, inactive or archived")
        }
        filter.limit = try request.queryInt("limit", range: 1...1000) ?? 100
        filter.offset = try request.queryInt("offset", range: 0...Int(Int32.max)) ?? 0
        filter.scope = context.scope
        let (agents, total) = try await self.agents.page(filter)
        return JSONResponse(AgentListBody(agents: agents.map { AgentBody(agent: $0) }, count: agents.count, total: total))
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentBody> {
        JSONResponse(AgentBody(agent: try await findAgent(context)))
    }

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentBody> {
        let input = try await request.decodeJSON(AgentInput.self, schema: .ref("AgentCreate"), context: context)
        let tenantID = try await TenantResolution(tenants: tenants)
            .tenant(id: input.tenantID, name: input.tenant, for: try context.requirePrincipal())
        var warnings: [FieldIssue] = []
        var config: ModelConfiguration?
        // Validation and insert in one transaction, the chain's models held FOR SHARE.
        let created = try await agents.create(actor: context.actor) { connection in
            var agent = AgentRecord(name: input.name ?? "", agentType: input.agentType ?? "", tenantID: tenantID)
            applyFields(input, to: &agent)
            var issues = Self.fieldIssues(agent)
            let resolved = try await resolveConfiguration(input, current: nil, on: connection)
            issues += resolved.errors
            if !issues.isEmpty { throw APIError.validation(issues, message: "the agent is invalid") }
            Self.store(resolved.config, in: &agent)
            warnings = resolved.warnings
            config = resolved.config
            return agent
        }
        context.logger.info("registry.agent.created", metadata: [
            "agent.id": "\(created.id.jsonString)", "llm.model": "\(config?.modelID ?? "")", "agent.legacy_fields": "\(input.usesLegacyFields)",
        ])
        return JSONResponse(AgentBody(agent: created, warnings: warnings), status: .created)
    }

    func update(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentBody> {
        let id = try agentID(context)
        let input = try await request.decodeJSON(AgentInput.self, schema: .ref("AgentUpdate"), context: context)
        var warnings: [FieldIssue] = []
        // The configuration is resolved from the locked row, so a concurrent write cannot be lost.
        let updated = try await agents.update(id, actor: context.actor) { agent, connection in
            let current = agent
            applyFields(input, to: &agent)
            var issues = Self.fieldIssues(agent)
            if input.modelConfig != nil || input.usesLegacyFields {
                let resolved = try await resolveConfiguration(input, current: current, on: connection)
                issues += resolved.errors
                if issues.isEmpty { Self.store(resolved.config, in: &agent) }
                warnings = resolved.warnings
            }
            if !issues.isEmpty { throw APIError.validation(issues, message: "the agent is invalid") }
        }
        guard let updated else { throw Self.agentNotFound(id) }
        context.logger.info("registry.agent.updated", metadata: ["agent.id": "\(id.jsonString)"])
        return JSONResponse(AgentBody(agent: updated, warnings: warnings))
    }

    func delete(_ request: Request, _ context: RegistryContext) async throws -> HTTPResponse.Status {
        let id = try agentID(context)
        switch try await agents.delete(id, actor: context.actor) {
        case .deleted:
            context.logger.info("registry.agent.deleted", metadata: ["agent.id": "\(id.jsonString)"])
            return .noContent
        case .notFound:
            throw Self.agentNotFound(id)
        case .hasJobs(let count):
            throw APIError.conflict(
                "agent \(id.jsonString) has \(count) job(s) and cannot be deleted; set its status to archived instead",
                details: [.init(field: "id", message: "referenced by \(count) job(s)")])
        }
    }

    // MARK: - Model configuration

    func getModelConfig(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentModelConfigBody> {
        let agent = try await findAgent(context)
        var config = agent.effectiveModelConfig
        let lookups = try await validationLookups(for: config)
        // A legacy row's provider is a guess from the model name; the catalog knows better.
        if agent.modelConfig == nil, let model = lookups.models[config.modelID] { config.provider = model.provider }
        let outcome = ModelConfigurationValidator.validate(
            config, models: { lookups.models[$0] }, providers: { lookups.providers[$0] }, today: now)
        // A stored configuration can go bad later (its model retired with force): say so.
        return JSONResponse(AgentModelConfigBody(
            agentID: agent.id.jsonString, modelConfig: config, source: agent.modelConfig == nil ? "legacy" : "stored",
            warnings: outcome.errors + outcome.warnings))
    }

    func putModelConfig(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentModelConfigBody> {
        let id = try agentID(context)
        let input = try await request.decodeJSON(ModelConfiguration.self, schema: .ref("ModelConfigurationInput"), context: context)
        var outcome = ValidationOutcome()
        var stored = input
        // Check and write under the same locks: the agent FOR UPDATE, its chain's models FOR SHARE,
        // so a retire cannot slip in between (it waits, then sees this agent and answers 409).
        let updated = try await agents.update(id, actor: context.actor) { agent, connection in
            let (config, result) = try await validate(input, on: connection)
            if !result.isValid { throw APIError.validation(result.errors, message: "the model configuration is invalid") }
            Self.store(config, in: &agent)
            outcome = result
            stored = config
        }
        guard let updated else { throw Self.agentNotFound(id) }
        context.logger.info("registry.agent.model_config.updated", metadata: [
            "agent.id": "\(id.jsonString)", "llm.model": "\(stored.modelID)", "llm.fallbacks": "\(stored.fallbackModelIDs.count)",
        ])
        return JSONResponse(AgentModelConfigBody(
            agentID: id.jsonString, modelConfig: updated.effectiveModelConfig, source: "stored", warnings: outcome.warnings))
    }

    // MARK: - Usage and recommendations

    func modelUsage(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentModelUsageBody> {
        let window = UsageRepository.Window(from: try dayParameter(request, "from"), to: try dayParameter(request, "to"))
        if let from = window.from, let to = window.to, from > to { throw APIError.badParameter("from", "must not be after to") }
        let agent = try await findAgent(context)
        let config = agent.effectiveModelConfig
        let current = try await models.find(config.modelID)?.model
        async let totals = usage.modelTotals(agentID: agent.id, window: window)
        async let stats = usage.stats(agentID: agent.id, window: window)
        let entries = try await totals.map { entry in
            AgentModelUsageBody.Entry(
                totals: entry,
                role: entry.modelID == config.modelID ? "primary"
                    : config.fallbackModelIDs.contains(entry.modelID) ? "fallback" : "not_configured")
        }
        return JSONResponse(AgentModelUsageBody(
            agentID: agent.id.jsonString, agentName: agent.name,
            currentModel: .init(
                modelID: config.modelID, provider: current?.provider ?? config.provider, displayName: current?.displayName,
                status: current?.effectiveStatus(on: now), inCatalog: current != nil),
            configuration: config, window: window, usageStats: try await stats, models: entries,
            totals: .init(entries.map(\.totals))))
    }

    /// A `YYYY-MM-DD` (UTC day) query parameter.
    func dayParameter(_ request: Request, _ name: String) throws -> CalendarDate? {
        guard let text = request.query(name) else { return nil }
        guard let day = CalendarDate(text) else { throw APIError.badParameter(name, "must be a day, YYYY-MM-DD (UTC)") }
        return day
    }

    func recommendations(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<AgentRecommendationsBody> {
        let limit = try request.queryInt("limit", range: 1...50) ?? 5
        let agent = try await findAgent(context)
        let models = try await RecommendationCandidates.load(models: self.models, providers: self.providers)
        let result = Recommender.recommendations(
            forAgentType: agent.agentType, skills: agent.skills, models: models, today: now, limit: limit)
        guard result.result.hasMatches else { throw ModelRoutes.noMatch(result.result) }
        return JSONResponse(AgentRecommendationsBody(
            agentID: agent.id.jsonString, taskTypes: result.taskTypes, recommendations: result.result.recommendations,
            consideredCount: result.result.consideredCount, exclusions: result.result.exclusions))
    }

    // MARK: - Helpers

    /// The configuration a create/update asks for, checked against the catalog as read on
    /// `connection` (models FOR SHARE). Errors carry the field names the client sent
    /// (`model_config.temperature`, or `preferred_model` on the legacy path).
    func resolveConfiguration(_ input: AgentInput, current: AgentRecord?, on connection: PostgresConnection) async throws
        -> (config: ModelConfiguration, errors: [FieldIssue], warnings: [FieldIssue])
    {
        if input.modelConfig != nil, input.usesLegacyFields {
            let issue = FieldIssue(
                field: "model_config",
                message: "send either model_config or the legacy fields preferred_model/temperature/max_tokens, not both")
            return (current?.effectiveModelConfig ?? LegacyModelMapping.configuration(preferredModel: nil, temperature: nil, maxTokens: nil), [issue], [])
        }
        if let requested = input.modelConfig {
            let (config, outcome) = try await validate(requested, on: connection)
            return (config, outcome.errors.map { Self.prefixed($0, "model_config") }, outcome.warnings.map { Self.prefixed($0, "model_config") })
        }
        if let current, !input.usesLegacyFields {
            return (current.effectiveModelConfig, [], [])
        }
        // Legacy path: merged into what the agent has (or, on create, into the catalog default),
        // so fallbacks, top_p and penalties survive.
        let base = current?.effectiveModelConfig
            ?? LegacyModelMapping.configuration(preferredModel: nil, temperature: nil, maxTokens: nil)
        var candidates = base.modelChain
        if let preferred = input.preferredModel, let id = LegacyModelMapping.normalizedModelID(preferred) { candidates.append(id) }
        let known = try await lookupWithSuccessors(candidates, on: connection)
        var merged = LegacyConfigurationMerge.merge(
            preferredModel: input.preferredModel, temperature: input.temperature, maxTokens: input.maxTokens,
            into: base, lookup: { known[$0] }, today: now)
        // The catalog's provider wins over the legacy name guess ("claude…" → anthropic, else openai).
        if let model = known[merged.config.modelID] { merged.config.provider = model.provider }
        let (validated, outcome) = try await validate(merged.config, on: connection)
        return (validated, outcome.errors.map(Self.legacyField), merged.warnings + outcome.warnings.map(Self.legacyField))
    }

    /// Models by id, with their successors (a retired legacy model maps to its successor), FOR SHARE.
    func lookupWithSuccessors(_ ids: [String], on connection: PostgresConnection) async throws -> [String: LLMModel] {
        var found: [String: LLMModel] = [:]
        var pending = ids
        for _ in 0...LegacyConfigurationMerge.maximumSuccessorHops where !pending.isEmpty {
            let batch = try await models.findForShare(pending, on: connection).mapValues(\.model)
            found.merge(batch) { first, _ in first }
            pending = batch.values.compactMap(\.successorModelID).filter { found[$0] == nil }
        }
        return found
    }

    /// The catalog lookups `ModelConfigurationValidator` needs, for the models a configuration names.
    func validationLookups(for config: ModelConfiguration) async throws -> (models: [String: LLMModel], providers: [String: Provider]) {
        let models = try await self.models.find(config.modelChain).mapValues(\.model)
        var providers: [String: Provider] = [:]
        for provider in try await self.providers.all() { providers[provider.name] = provider }
        return (models, providers)
    }

    /// Validates against the catalog as read on `connection` (the chain's models FOR SHARE) and
    /// fills in the provider from it when the client left it out.
    func validate(_ requested: ModelConfiguration, on connection: PostgresConnection) async throws -> (ModelConfiguration, ValidationOutcome) {
        let models = try await self.models.findForShare(requested.modelChain, on: connection).mapValues(\.model)
        var providers: [String: Provider] = [:]
        for provider in try await self.providers.all(on: connection) { providers[provider.name] = provider }
        let outcome = ModelConfigurationValidator.validate(
            requested, models: { models[$0] }, providers: { providers[$0] }, today: now)
        var config = requested
        if config.provider == nil { config.provider = models[config.modelID]?.provider }
        return (config, outcome)
    }

    /// Stores the configuration and mirrors it into the legacy columns for pre-Switchboard readers.
    static func store(_ config: ModelConfiguration, in agent: inout AgentRecord) {
        agent.modelConfig = config
        agent.preferredModel = config.modelID
        agent.temperature = config.temperature
        agent.maxTokens = config.maxTokens
    }

    func applyFields(_ input: AgentInput, to agent: inout AgentRecord) {
        if let name = input.name { agent.name = name }
        if let agentType = input.agentType { agent.agentType = agentType }
        if let description = input.description { agent.description = description }
        if let skills = input.skills { agent.skills = skills }
        if let status = input.status { agent.status = status }
    }

    static func fieldIssues(_ agent: AgentRecord) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if agent.name.trimmingCharacters(in: .whitespaces).isEmpty { issues.append(.init(field: "name", message: "name must not be empty")) }
        if agent.agentType.trimmingCharacters(in: .whitespaces).isEmpty {
            issues.append(.init(field: "agent_type", message: "agent_type must not be empty"))
        }
        for (index, skill) in agent.skills.enumerated() where skill.trimmingCharacters(in: .whitespaces).isEmpty {
            issues.append(.init(field: "skills[\(index)]", message: "skills must not be empty strings"))
        }
        return issues
    }

    static func prefixed(_ issue: FieldIssue, _ prefix: String) -> FieldIssue {
        FieldIssue(field: "\(prefix).\(issue.field)", message: issue.message)
    }

    /// Validator fields → the legacy field the client actually sent.
    static func legacyField(_ issue: FieldIssue) -> FieldIssue {
        switch issue.field {
        case "model_id", "provider": return FieldIssue(field: "preferred_model", message: issue.message)
        case "temperature", "max_tokens": return issue
        default: return prefixed(issue, "model_config")
        }
    }

    func agentID(_ context: RegistryContext) throws -> UUID {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text) else {
            throw APIError.notFound("no agent with id '\(text)' (agent ids are UUIDs)")
        }
        return id
    }

    func findAgent(_ context: RegistryContext) async throws -> AgentRecord {
        let id = try agentID(context)
        guard let agent = try await agents.find(id) else { throw Self.agentNotFound(id) }
        return agent
    }

    static func agentNotFound(_ id: UUID) -> APIError {
        APIError.notFound("agent \(id.jsonString) does not exist")
    }
}
