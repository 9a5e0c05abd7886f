import Catalog
import Foundation
import Hummingbird
import Storage

/// `/api/executions`: a workflow run (one `workflow_executions` row) with one job per step, created
/// in one transaction; read back with its steps' jobs, the models that answered, and its usage.
struct ExecutionRoutes: Sendable {
    let executions: ExecutionRepository
    /// Checks the steps' agents before the transaction, as for single jobs.
    let intake: JobIntake

    static let idParameter = APIParameter.path("id", "Execution id (UUID).")
    static let maximumSteps = 1000

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .post, path: "/api/executions", operationID: "createExecution", tag: "executions",
                summary: "Start a workflow execution: {workflow_name, steps: [{step, agent_id, messages, …}], metadata?}. One job per step, all in one transaction.",
                access: .role(.inference),
                requestBody: .ref("ExecutionCreate"),
                responses: [.init(201, "The execution and its jobs.", .ref("Execution"))], errors: [409],
                handler: create),
            APIRoute(
                method: .get, path: "/api/executions", operationID: "listExecutions", tag: "executions",
                summary: "Executions, newest first, paged with next_cursor.",
                access: .role(.viewer),
                parameters: [
                    .query("status", .enumeration(Self.statuses), "Only executions in this status."),
                    .query("cursor", .string(), "next_cursor of the previous page."),
                    .query("limit", .integer(), "1–200, default 50."),
                ],
                responses: [.init(200, "One page.", .ref("ExecutionList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .get, path: "/api/executions/{id}", operationID: "getExecution", tag: "executions",
                summary: "Status, steps with their jobs and the model that answered, models_used (live from the counters while running, the stored column once finished), total cost and tokens.",
                access: .role(.viewer, owns: .execution),
                parameters: [Self.idParameter],
                responses: [.init(200, "The execution.", .ref("Execution"))], errors: [404],
                handler: get),
        ]
    }

    static let statuses = ExecutionRecord.statuses

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ExecutionBody> {
        let (document, _) = try await request.readJSON(schema: .ref("ExecutionCreate"), context: context)
        var issues: [FieldIssue] = []
        let name = document["workflow_name"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? ""
        if name.trimmingCharacters(in: .whitespaces).isEmpty { issues.append(.init(field: "workflow_name", message: "must not be empty")) }
        guard case .array(let elements)? = document["steps"] else { throw APIError.validation([.init(field: "steps", message: "is required")]) }
        if elements.isEmpty || elements.count > Self.maximumSteps {
            issues.append(.init(field: "steps", message: "must hold 1–\(Self.maximumSteps) steps, not \(elements.count)"))
        }
        var jobs: [JobRepository.NewJob] = []
        for (index, element) in elements.enumerated() {
            let (input, found) = JobInput.parse(element, prefix: "steps[\(index)].", allowExecution: false)
            issues += found
            if let input { jobs.append(input.job) }
        }
        if !issues.isEmpty { throw APIError.validation(issues, message: "the execution is invalid") }
        // Answers encode stored documents through Foundation (Decimal numbers): a number Decimal
        // cannot hold is refused here, not stored to fail (or read back as 0) later.
        if let metadata = document["metadata"], (try? JSONCoding.encoder.encode(metadata)) == nil {
            throw APIError.validation([.init(field: "metadata", message: "holds a number too large or too small to store exactly")])
        }
        // The writer keeps every number's text on the way to jsonb.
        let metadata = document["metadata"].map { $0.encodedString() } ?? "{}"
        let principal = try context.requirePrincipal()
        let tenants = try await intake.checkReferences(jobs, for: principal, prefix: { "steps[\($0)]." })
        // An execution belongs to one tenant, with its jobs: an admin's steps must not mix tenants.
        guard tenants.count <= 1 else {
            throw APIError.validation([.init(field: "steps", message: "name agents of \(tenants.count) tenants; an execution's agents must belong to one tenant")])
        }
        let (execution, created) = try await executions.create(
            name: name, metadataJSON: metadata, steps: JobIntake.stamped(jobs, by: principal), tenantID: tenants.first ?? principal.tenantID)
        context.logger.info("registry.execution.created", metadata: [
            "execution.id": "\(execution.id.jsonString)", "jobs.count": "\(created.count)",
        ])
        let steps = created.map { job in
            ExecutionStepRecord(jobID: job.id, step: job.step, agentID: job.agentID, status: job.status, attempt: job.attempt,
                                model: nil, provider: nil, finishedAt: job.finishedAt)
        }
        return JSONResponse(ExecutionBody(execution: execution, steps: steps, usage: []), status: .created)
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ExecutionBody> {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text) else { throw APIError.notFound("no execution with id '\(text)' (execution ids are UUIDs)") }
        guard let execution = try await executions.find(id) else { throw APIError.notFound("execution \(id.jsonString) does not exist") }
        async let steps = executions.steps(of: id)
        async let usage = executions.modelsUsed(execution)
        return JSONResponse(ExecutionBody(execution: execution, steps: try await steps, usage: try await usage))
    }

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ExecutionListBody> {
        let status = request.query("status")
        if let status, !Self.statuses.contains(status) {
            throw APIError.badParameter("status", "must be one of \(Self.statuses.joined(separator: ", "))")
        }
        var before: UUID?
        if let cursor = request.query("cursor") {
            guard let id = UUID(uuidString: cursor) else { throw APIError.badParameter("cursor", "must be a next_cursor value") }
            before = id
        }
        let limit = try request.queryInt("limit", range: 1...200) ?? 50
        let page = try await executions.list(status: status, before: before, limit: limit, scope: context.scope)
        return JSONResponse(ExecutionListBody(
            executions: page.executions.map { ExecutionSummaryBody(execution: $0) }, count: page.executions.count,
            nextCursor: page.hasMore ? page.executions.last?.id.jsonString : nil))
    }
}

// MARK: - Bodies

struct ExecutionSummaryBody: Encodable, Sendable {
    var execution: ExecutionRecord

    enum CodingKeys: String, CodingKey {
        case id, status, metadata
        case workflowName = "workflow_name"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case tenantID = "tenant_id"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(execution.id.jsonString, forKey: .id)
        try c.encode(execution.tenantID.jsonString, forKey: .tenantID)
        try c.encode(execution.name, forKey: .workflowName)
        try c.encode(execution.status, forKey: .status)
        try c.encode(JobBody.document(execution.metadataJSON), forKey: .metadata)
        try c.encode(execution.startedAt, forKey: .startedAt)
        try c.encode(execution.finishedAt, forKey: .finishedAt)
        try c.encode(execution.createdAt, forKey: .createdAt)
        try c.encode(execution.updatedAt, forKey: .updatedAt)
    }
}

struct ExecutionListBody: Encodable, Sendable {
    var executions: [ExecutionSummaryBody]
    var count: Int
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case executions, count
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(executions, forKey: .executions)
        try c.encode(count, forKey: .count)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

/// The execution, its steps, `models_used` in the stored column's shape
/// (`{"<agent_id>": {"<model_id>": {requests, successes, errors, input_tokens, output_tokens,
/// cached_input_tokens, cost, unpriced_requests}}}`) and the totals over it.
struct ExecutionBody: Encodable, Sendable {
    var execution: ExecutionRecord
    var steps: [ExecutionStepRecord]
    var usage: [ModelUsageCounter]

    enum CodingKeys: String, CodingKey {
        case steps, requests, tokens
        case modelsUsed = "models_used"
        case totalCost = "total_cost"
        case unpricedRequests = "unpriced_requests"
        case jobCounts = "job_counts"
    }

    struct Counter: Encodable, Sendable {
        var usage: ModelUsageCounter

        enum CodingKeys: String, CodingKey {
            case requests, successes, errors, cost
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case unpricedRequests = "unpriced_requests"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(usage.requests, forKey: .requests)
            try c.encode(usage.successes, forKey: .successes)
            try c.encode(usage.errors, forKey: .errors)
            try c.encode(usage.inputTokens, forKey: .inputTokens)
            try c.encode(usage.outputTokens, forKey: .outputTokens)
            try c.encode(usage.cachedInputTokens, forKey: .cachedInputTokens)
            try c.encode(usage.cost, forKey: .cost)
            try c.encode(usage.unpricedRequests, forKey: .unpricedRequests)
        }
    }

    struct Step: Encodable, Sendable {
        var step: ExecutionStepRecord

        enum CodingKeys: String, CodingKey {
            case step, status, attempt, model, provider
            case jobID = "job_id"
            case agentID = "agent_id"
            case finishedAt = "finished_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(step.jobID, forKey: .jobID)
            try c.encode(step.step, forKey: .step)
            try c.encode(step.agentID.jsonString, forKey: .agentID)
            try c.encode(step.status, forKey: .status)
            try c.encode(step.attempt, forKey: .attempt)
            try c.encode(step.model, forKey: .model)
            try c.encode(step.provider, forKey: .provider)
            try c.encode(step.finishedAt, forKey: .finishedAt)
        }
    }

    struct Tokens: Encodable, Sendable {
        var input = 0
        var output = 0
        var cachedInput = 0

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case totalTokens = "total_tokens"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(input, forKey: .inputTokens)
            try c.encode(output, forKey: .outputTokens)
            try c.encode(cachedInput, forKey: .cachedInputTokens)
            try c.encode(input + output, forKey: .totalTokens)
        }
    }

    func encode(to encoder: any Encoder) throws {
        try ExecutionSummaryBody(execution: execution).encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps.map(Step.init), forKey: .steps)
        var modelsUsed: [String: [String: Counter]] = [:]
        var tokens = Tokens()
        var cost: Decimal?
        var requests = 0
        var unpriced = 0
        for entry in usage {
            modelsUsed[entry.agentID, default: [:]][entry.modelID] = Counter(usage: entry)
            tokens.input += entry.inputTokens
            tokens.output += entry.outputTokens
            tokens.cachedInput += entry.cachedInputTokens
            requests += entry.requests
            unpriced += entry.unpricedRequests
            if let entryCost = entry.cost { cost = (cost ?? 0) + entryCost }
        }
        try c.encode(modelsUsed, forKey: .modelsUsed)
        try c.encode(cost, forKey: .totalCost)
        try c.encode(unpriced, forKey: .unpricedRequests)
        try c.encode(requests, forKey: .requests)
        try c.encode(tokens, forKey: .tokens)
        var counts: [String: Int] = Dictionary(uniqueKeysWithValues: JobRecord.statuses.map { ($0, 0) })
        for step in steps { counts[step.status, default: 0] += 1 }
        try c.encode(counts, forKey: .jobCounts)
    }
}
