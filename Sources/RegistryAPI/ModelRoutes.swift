import JSON
import Catalog
import Foundation
import Hummingbird
import NIOCore
import Postgres
import Storage

/// `/api/models`: the catalog, comparisons, cost estimates, recommendations and imports.
///
/// Model ids contain `/` (`meta-llama/Llama-3.1-8B-Instruct`), so `{model_id}` is a catch-all
/// parameter; a percent-encoded `%2F` works too. The fixed paths (`providers`, `compare`, …) take
/// precedence over it.
struct ModelRoutes: Sendable {
    let models: ModelRepository
    let providers: ProviderRepository
    let importer: CatalogImporter
    let catalogCache: CatalogCache
    /// "Now", injected (tests pin it); never call `Date()` in a handler.
    let clock: @Sendable () -> Date

    var now: Date { clock() }

    static let modelIDParameter = APIParameter.path(
        "model_id", "Model id; may contain / : and . (send as is, or percent-encode the /).", catchAll: true)
    static let forceParameter = APIParameter.query(
        "force", .boolean(), "Retire even while agents use the model (their gateways then skip it).")

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/models", operationID: "listModels", tag: "models",
                summary: "List catalog models (default: every status but retired), ordered by provider and display name.",
                access: .role(.viewer),
                parameters: ModelQuery.parameters + ModelQuery.pageParameters,
                responses: [.init(200, "A page of matching models, with the total and the next page's cursor.", .ref("ModelList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .post, path: "/api/models", operationID: "createModel", tag: "models",
                summary: "Add a model to the catalog (source manual; imports never overwrite it).",
                access: .role(.admin),
                requestBody: .ref("ModelCreate"),
                responses: [.init(201, "The created model.", .ref("Model"))], errors: [409],
                handler: create),
            APIRoute(
                method: .get, path: "/api/models/providers", operationID: "listModelsByProvider", tag: "models",
                summary: "Per provider: its name, model count and models (same filters as the list).",
                access: .role(.viewer),
                parameters: ModelQuery.parameters,
                responses: [.init(200, "Models grouped by provider.", .ref("ProvidersView"))], errors: [400],
                handler: providersView),
            APIRoute(
                method: .get, path: "/api/models/compare", operationID: "compareModels", tag: "models",
                summary: "Models side by side: context, max output, prices per 1K and 1M tokens, capabilities, status.",
                access: .role(.viewer),
                parameters: [.query("ids", .string(), "Comma-separated model ids (1–20).", required: true)],
                responses: [.init(200, "The models in the order asked.", .ref("Comparison"))], errors: [400, 404],
                handler: compare),
            APIRoute(
                method: .post, path: "/api/models/estimate-cost", operationID: "estimateCost", tag: "models",
                summary: "Exact cost (USD, decimal) of a number of tokens on a model, with the per-1K prices used.",
                access: .role(.viewer),
                requestBody: .ref("EstimateCostRequest"),
                responses: [.init(200, "The cost breakdown.", .ref("CostEstimate"))], errors: [404, 422],
                handler: estimateCost),
            APIRoute(
                method: .post, path: "/api/models/recommend", operationID: "recommendModels", tag: "models",
                summary: "Rank the models that meet the requirements, with scores and reasons; 404 with what ruled models out when none does.",
                access: .role(.viewer),
                parameters: [.query("limit", .integer(), "Most recommendations to return (1–50, default 5).")],
                requestBody: .ref("RecommendationRequest"),
                responses: [.init(200, "Best first.", .ref("RecommendationList"))], errors: [404],
                handler: recommend),
            APIRoute(
                method: .post, path: "/api/models/import", operationID: "importCatalog", tag: "models",
                summary: "Import a LiteLLM cost map (the body, up to 16 MiB): inserts new models, updates prices, limits and dates, keeps local edits.",
                access: .role(.admin),
                parameters: [.query("format", .enumeration(["litellm"]), "Catalog format (default litellm).")],
                requestBody: .ref("LiteLLMCostMap"),
                responses: [.init(200, "What the import did.", .ref("ImportReport"))],
                handler: importCatalog),
            APIRoute(
                method: .get, path: "/api/models/{model_id}", operationID: "getModel", tag: "models",
                summary: "One model by id.",
                access: .role(.viewer),
                parameters: [Self.modelIDParameter],
                responses: [.init(200, "The model.", .ref("Model"))], errors: [404],
                handler: get),
            APIRoute(
                method: .patch, path: "/api/models/{model_id}", operationID: "updateModel", tag: "models",
                summary: "Change prices, limits, status, deprecation date, successor, recommended_for, capabilities…; changed fields are kept by later imports (except prices, limits, deprecation date).",
                access: .role(.admin),
                parameters: [Self.modelIDParameter, Self.forceParameter],
                requestBody: .ref("ModelUpdate"),
                responses: [.init(200, "The updated model.", .ref("Model"))], errors: [404, 409],
                handler: update),
            APIRoute(
                method: .post, path: "/api/models/{model_id}/retire", operationID: "retireModel", tag: "models",
                summary: "Retire a model (admin). 409 naming the agents that use it unless force=true. Deprecating (PATCH status) is always allowed.",
                access: .role(.admin),
                parameters: [Self.modelIDParameter, Self.forceParameter],
                responses: [.init(200, "The retired model and the agents still naming it.", .ref("RetireResult"))], errors: [404, 409],
                handler: retire),
        ]
    }

    // MARK: - Reading

    func list(_ request: Request, _ context: RegistryContext) async throws -> EncodedJSONResponse {
        // Hot path: the same query on the same day and catalog version is answered from memory.
        let cacheKey = request.uri.query ?? ""
        let day = CalendarDate(now)
        if let body = catalogCache.lookup(cacheKey, day: day) { return EncodedJSONResponse(body) }
        let version = catalogCache.version
        let query = try ModelQuery(request)
        let limit = try request.queryInt("limit", range: 1...500) ?? 100
        let after = try request.query("cursor").map(ModelQuery.position(fromCursor:))
        let today = now
        let (models, total) = try await self.models.page(query.filter(today: today), after: after, limit: limit)
        var next: String?
        if models.count == limit, let last = models.last?.model {
            next = ModelQuery.cursor(after: .init(provider: last.provider, displayName: last.displayName, modelID: last.modelID))
        }
        let body = ByteBuffer(bytes: try JSONCoding.encoder.encode(ModelListBody(
            models: models.map { ModelBody(stored: $0, today: today) }, count: models.count, total: total, nextCursor: next)))
        catalogCache.store(cacheKey, day: day, version: version, body: body)
        return EncodedJSONResponse(body)
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ModelBody> {
        let stored = try await findModel(context.catchAllParameter())
        return JSONResponse(ModelBody(stored: stored, today: now))
    }

    func providersView(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ProvidersViewBody> {
        let query = try ModelQuery(request)
        let today = now
        let models = try await self.models.all(query.filter(today: today))
        let providers = try await self.providers.all().filter { query.provider == nil || $0.name == query.provider }
        let entries = providers.map { provider in
            let own = models.filter { $0.model.provider == provider.name }
            return ProvidersViewBody.Entry(
                name: provider.name, apiStyle: provider.apiStyle.rawValue, enabled: provider.enabled,
                modelCount: own.count, models: own.map { ModelBody(stored: $0, today: today) })
        }
        return JSONResponse(ProvidersViewBody(providers: entries))
    }

    func compare(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<CompareBody> {
        guard let list = request.query("ids") else {
            throw APIError.badParameter("ids", "is required: a comma-separated list of model ids")
        }
        var ids: [String] = []
        for id in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !id.isEmpty && !ids.contains(id) {
            ids.append(id)
        }
        guard (1...20).contains(ids.count) else { throw APIError.badParameter("ids", "must name between 1 and 20 models") }
        let found = try await models.find(ids)
        let missing = ids.filter { found[$0] == nil }
        if !missing.isEmpty {
            throw APIError(
                .notFound, code: "not_found", message: "\(missing.count) of the models are not in the catalog",
                details: missing.map { .init(field: "ids", message: "model '\($0)' is not in the catalog") })
        }
        let today = now
        let models = ids.compactMap { found[$0]?.model }
        let cheapest = models.filter { $0.blendedCostPer1K != nil }.min { ($0.blendedCostPer1K ?? 0) < ($1.blendedCostPer1K ?? 0) }
        let largest = models.filter { $0.contextWindow != nil }.max { ($0.contextWindow ?? 0) < ($1.contextWindow ?? 0) }
        return JSONResponse(CompareBody(
            models: models.map { ComparedModel($0, today: today) },
            cheapestModelID: cheapest?.modelID, largestContextModelID: largest?.modelID))
    }

    func estimateCost(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<EstimateCostBody> {
        let input = try await request.decodeJSON(EstimateCostRequest.self, schema: .ref("EstimateCostRequest"), context: context)
        let stored = try await findModel(input.modelID, field: "model_id")
        let breakdown: CostBreakdown
        do {
            breakdown = try CostCalculator.cost(
                model: stored.model, inputTokens: input.inputTokens, outputTokens: input.outputTokens,
                cachedInputTokens: input.cachedInputTokens ?? 0)
        } catch {
            switch error {
            case .priceUnknown(_, let missing):
                throw APIError(
                    .unprocessableContent, code: "price_unknown", message: error.description,
                    details: missing.map { .init(field: "\($0)_cost_per_1k", message: "the catalog has no \($0) price for '\(input.modelID)'") })
            case .negativeTokenCount(let field, _):
                throw APIError.validation([.init(field: field, message: error.description)])
            case .cachedTokensExceedInput:
                throw APIError.validation([.init(field: "cached_input_tokens", message: error.description)])
            }
        }
        return JSONResponse(EstimateCostBody(breakdown: breakdown))
    }

    func recommend(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<RecommendationsBody> {
        let limit = try request.queryInt("limit", range: 1...50) ?? 5
        let requirements = try await request.decodeJSON(
            RecommendationRequirements.self, schema: .ref("RecommendationRequest"), context: context)
        var issues: [FieldIssue] = []
        if let maxCost = requirements.maxCost, maxCost < 0 { issues.append(.init(field: "max_cost", message: "max_cost must not be negative")) }
        if let minContext = requirements.minContext, minContext < 0 { issues.append(.init(field: "min_context", message: "min_context must not be negative")) }
        if !issues.isEmpty { throw APIError.validation(issues) }
        let models = try await RecommendationCandidates.load(models: self.models, providers: self.providers)
        let result = Recommender.recommend(requirements, models: models, today: now, limit: limit)
        guard result.hasMatches else { throw Self.noMatch(result) }
        return JSONResponse(
            RecommendationsBody(recommendations: result.recommendations, consideredCount: result.consideredCount, exclusions: result.exclusions))
    }

    /// 404 listing, per requirement, how many models it ruled out.
    static func noMatch(_ result: RecommendationResult) -> APIError {
        APIError(
            .notFound, code: "no_matching_model",
            message: "no model meets the requirements (\(result.consideredCount) considered)",
            details: result.exclusions.map { .init(field: requirementField($0.reason), message: $0.message) })
    }

    static func requirementField(_ reason: ExclusionReason) -> String {
        switch reason {
        case .deprecated, .retired: return "status"
        case .exceedsMaxCost, .priceUnknown: return "max_cost"
        case .contextTooSmall, .contextUnknown: return "min_context"
        case .missingCapability: return "required_capabilities"
        case .lacksFunctions: return "needs_functions"
        case .lacksVision: return "needs_vision"
        }
    }

    // MARK: - Writing

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ModelBody> {
        var model = try await request.decodeJSON(LLMModel.self, schema: .ref("ModelCreate"), context: context)
        model.source = "manual"
        let providers = Set(try await self.providers.all().map(\.name))
        let issues = ModelInputRules.issues(model, knownProviders: providers)
        if !issues.isEmpty { throw APIError.validation(issues, message: "the model is invalid") }
        do {
            let stored = try await models.create(model, actor: context.actor)
            catalogCache.invalidate()
            context.logger.info("registry.model.created", metadata: ["llm.model": "\(model.modelID)"])
            return JSONResponse(ModelBody(stored: stored, today: now), status: .created)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw APIError.conflict(
                "model '\(model.modelID)' already exists", details: [.init(field: "model_id", message: "is already in the catalog")])
        }
    }

    func update(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ModelBody> {
        let modelID = context.catchAllParameter()
        let force = try request.queryBool("force") ?? false
        let (patch, _) = try await request.readJSON(schema: .ref("ModelUpdate"), context: context)
        guard case .object(let members) = patch else { throw APIError.validation([.init(field: "body", message: "must be an object")]) }
        // Read before the row lock is taken: the locked section uses only its own connection.
        let providers = Set(try await self.providers.all().map(\.name))
        let stored = try await models.update(modelID, editedFields: members.map(\.key), actor: context.actor) { existing, connection in
            let updated = try Self.apply(patch, to: existing.model)
            let issues = ModelInputRules.issues(updated, knownProviders: providers)
            if !issues.isEmpty { throw APIError.validation(issues, message: "the model is invalid") }
            if updated.status == .retired, existing.model.status != .retired {
                _ = try await agentsBlockingRetirement(modelID, force: force, on: connection)
            }
            return updated
        }
        guard let stored else { throw APIError.notFound("model '\(modelID)' is not in the catalog") }
        catalogCache.invalidate()
        context.logger.info("registry.model.updated", metadata: [
            "llm.model": "\(modelID)", "model.fields": "\(members.map(\.key).joined(separator: ","))",
        ])
        return JSONResponse(ModelBody(stored: stored, today: now))
    }

    func retire(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<RetireBody> {
        let modelID = context.catchAllParameter()
        let force = try request.queryBool("force") ?? false
        var users: [ModelUsageByAgent] = []
        let stored = try await models.update(modelID, editedFields: ["status"], actor: context.actor) { existing, connection in
            users = try await agentsBlockingRetirement(modelID, force: force, on: connection)
            var model = existing.model
            model.status = .retired
            return model
        }
        guard let stored else { throw APIError.notFound("model '\(modelID)' is not in the catalog") }
        catalogCache.invalidate()
        context.logger.notice("registry.model.retired", metadata: [
            "llm.model": "\(modelID)", "model.affected_agents": "\(users.count)", "request.force": "\(force)",
        ])
        return JSONResponse(RetireBody(
            model: ModelBody(stored: stored, today: now),
            affectedAgents: users.map { .init(id: $0.agentID.jsonString, name: $0.agentName, role: $0.role) }))
    }

    func importCatalog(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ImportReportBody> {
        let formatName = request.query("format") ?? CatalogImporter.Format.litellm.rawValue
        guard let format = CatalogImporter.Format(rawValue: formatName) else {
            throw APIError.badParameter("format", "must be litellm, not \"\(formatName)\"")
        }
        var body = request
        let buffer = try await body.collectBody(upTo: RegistryLimits.maximumImportBytes)
        let bytes = Array(buffer.readableBytesView)
        // Strict syntax first: Foundation's decoder tolerates some invalid JSON (trailing commas)
        // and cannot say where a document is broken.
        do {
            _ = try JSONParser.parse(bytes)
        } catch {
            throw APIError.invalidJSON(error.description)
        }
        do {
            let report = try await importer.importCatalog(Data(bytes), format: format, actor: context.actor)
            catalogCache.invalidate()
            return JSONResponse(ImportReportBody(format: format, report: report))
        } catch let error as CatalogImporter.ImportError {
            throw APIError(.badRequest, code: "invalid_catalog", message: error.description,
                           details: [.init(field: "body", message: error.description)])
        }
    }

    // MARK: - Helpers

    func findModel(_ modelID: String, field: String? = nil) async throws -> StoredModel {
        guard let stored = try await models.find(modelID) else {
            throw APIError(.notFound, code: "not_found", message: "model '\(modelID)' is not in the catalog",
                           details: field.map { [.init(field: $0, message: "model '\(modelID)' is not in the catalog")] } ?? [])
        }
        return stored
    }

    /// The agents naming the model; 409 naming them when there are any and `force` is false.
    func agentsBlockingRetirement(_ modelID: String, force: Bool, on connection: PostgresConnection) async throws -> [ModelUsageByAgent] {
        let users = try await models.agentsUsing(modelID, on: connection)
        if !users.isEmpty, !force {
            let names = users.prefix(10).map { "'\($0.agentName)'" }.joined(separator: ", ")
            throw APIError.conflict(
                "model '\(modelID)' is used by \(users.count) agent(s): \(names)\(users.count > 10 ? ", …" : ""); change their model_config first, or retry with ?force=true",
                details: users.map { .init(field: "agents", message: "agent '\($0.agentName)' (\($0.agentID.jsonString)) uses it as \($0.role.rawValue) model") })
        }
        return users
    }

    /// The model with the patch's members written over its JSON form, decoded back: JSON null
    /// clears an optional field, absent members stay as they are.
    static func apply(_ patch: JSONValue, to model: LLMModel) throws -> LLMModel {
        guard case .object(let changes) = patch,
            case .object(var members) = try JSONParser.parse(Array(JSONCoding.encoder.encode(model)))
        else { throw APIError.validation([.init(field: "body", message: "must be an object")]) }
        for change in changes {
            if let index = members.firstIndex(where: { $0.key == change.key }) {
                members[index].value = change.value
            } else {
                members.append(change)
            }
        }
        return try Request.decode(LLMModel.self, from: Array(JSONCoding.encoder.encode(JSONValue.object(members))))
    }
}
