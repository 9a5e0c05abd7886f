import Catalog
import ChatModel
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import NIOCore
import ServiceLifecycle
import Storage
import Synchronization

/// `/v1`: OpenAI Chat Completions (`POST /v1/chat/completions`), Anthropic Messages
/// (`POST /v1/messages`) and `GET /v1/models`, for SDKs pointed at the registry by base URL.
///
/// No second execution path: each call becomes one job through `JobRoutes.enqueue` (the code of
/// `POST /api/jobs`), waits on the shared `JobCompletionHub` listener, and is answered from the
/// job's result, so the agent's chain, retries, cooldowns, usage rows and counters all apply.
/// A client that disconnects while waiting cancels its job, unless it sent an Idempotency-Key
/// (then it may retry with the key and get the same job's answer).
struct FacadeRoutes: Sendable {
    let services: RegistryServices
    let state = FacadeState()

    /// How long a call waits for its job; then the job is cancelled and the call answers 504.
    /// Shorter than the OpenAI and Anthropic SDKs' default timeout (600 s), so the SDK gets the
    /// 504 (`x-should-retry: false`) rather than timing out and retrying into a second job. A live
    /// stream is bounded by it until its first token, not after.
    static let maximumWaitSeconds = 540
    /// Chat bodies carry images (base64); larger than the rest of the API's 1 MiB.
    static let maximumBodyBytes = 8 << 20
    static let maximumIdempotencyKeyLength = JobInput.maximumKeyLength

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .post, path: "/v1/chat/completions", operationID: "v1ChatCompletions", tag: "v1",
                summary: "OpenAI Chat Completions over the queue. model = agent:<name>, agent:<uuid> or a catalog model id. One job per call (Idempotency-Key honoured); answered when the job finishes, with x-switchboard-job-id, x-switchboard-fallback-depth and x-switchboard-cost. stream: true answers the whole reply as SSE chunks ending in data: [DONE] once the job is done.",
                access: .role(.inference),
                requestBody: .ref("V1ChatCompletionRequest"),
                responses: FacadeSchemas.responses(success: "V1ChatCompletion", stream: true),
                handler: chatCompletions),
            APIRoute(
                method: .post, path: "/v1/responses", operationID: "v1Responses", tag: "v1",
                summary: "OpenAI Responses over the queue (same rules as /v1/chat/completions; stream: true streams the Responses event sequence live): input text or items (messages, function_call, function_call_output), instructions, function tools, text.format, reasoning.effort, previous_response_id (resp_sb<job id>: that job's conversation is continued).",
                access: .role(.inference),
                requestBody: .ref("V1ResponsesRequest"),
                responses: FacadeSchemas.responses(success: "V1Response", stream: true),
                handler: responses),
            APIRoute(
                method: .post, path: "/v1/messages", operationID: "v1Messages", tag: "v1",
                summary: "Anthropic Messages over the queue (same rules as /v1/chat/completions); stream: true answers Anthropic's event sequence once the job is done.",
                access: .role(.inference),
                requestBody: .ref("V1MessagesRequest"),
                responses: FacadeSchemas.responses(success: "V1Message", stream: true),
                handler: messages),
            APIRoute(
                method: .post, path: "/v1/messages/count_tokens", operationID: "v1CountTokens", tag: "v1",
                summary: "Anthropic's token count for a Messages body (max_tokens optional): {input_tokens}, the gateway's documented pre-call estimate (about 4 bytes of text per token plus fixed costs per message, image and tool; on the high side). No job, no provider call.",
                access: .role(.inference),
                requestBody: .ref("V1CountTokensRequest"),
                responses: FacadeSchemas.responses(success: "V1TokenCount", stream: false, description: "The count."),
                handler: countTokens),
            APIRoute(
                method: .get, path: "/v1/models/{model_id}", operationID: "v1RetrieveModel", tag: "v1",
                summary: "One entry of /v1/models (client.models.retrieve): agent:<name>, agent:<uuid> or a catalog model id, which may contain /.",
                access: .role(.viewer),
                parameters: [APIParameter.path("model_id", "agent:<name>, agent:<uuid> or a catalog model id (may contain /).", catchAll: true)],
                responses: FacadeSchemas.responses(success: "V1Model", stream: false, description: "The model."),
                handler: model),
            APIRoute(
                method: .get, path: "/v1/models", operationID: "v1Models", tag: "v1",
                summary: "Active agents (as agent:<name>, or agent:<uuid> when several share a name) and catalog models that are not retired, in a list both the OpenAI and the Anthropic SDK read.",
                access: .role(.viewer),
                responses: FacadeSchemas.responses(success: "V1ModelList", stream: false),
                handler: models),
            StreamPushRoute.route(relay: services.streams),
        ]
    }

    func chatCompletions(_ request: Request, _ context: RegistryContext) async throws -> Response {
        await serve(request, context, format: .openAI) { document throws(FacadeError) in try OpenAIChatFacade.parse(document) }
    }

    func responses(_ request: Request, _ context: RegistryContext) async throws -> Response {
        await serve(request, context, format: .openAI) { document throws(FacadeError) in try OpenAIResponsesFacade.parse(document) }
    }

    func messages(_ request: Request, _ context: RegistryContext) async throws -> Response {
        await serve(request, context, format: .anthropic) { document throws(FacadeError) in try AnthropicMessagesFacade.parse(document) }
    }

    // MARK: - One call

    /// Runs the call while watching the connection: when the client goes away (the request's
    /// inbound stream closes) the call is cancelled, and so is its job.
    func serve(
        _ request: Request, _ context: RegistryContext, format: FacadeFormat,
        parse: @escaping @Sendable (JSONValue) throws(FacadeError) -> FacadeCall
    ) async -> Response {
        var response = await serveWatchingConnection(request, context, format: format, parse: parse)
        // Watching the inbound side consumes the connection's request stream: Hummingbird closes
        // the connection after this answer, so say it (clients then do not try to reuse it).
        response.headers[.connection] = "close"
        return response
    }

    private func serveWatchingConnection(
        _ request: Request, _ context: RegistryContext, format: FacadeFormat,
        parse: @escaping @Sendable (JSONValue) throws(FacadeError) -> FacadeCall
    ) async -> Response {
        let jobID = FacadeJobSlot()
        do {
            return try await request.body.consumeWithCancellationOnInboundClose { body in
                try await run(body: body, request, context, format: format, parse: parse, jobID: jobID)
            }
        } catch is CancellationError {
            if let id = jobID.value {
                context.logger.info("registry.v1.client_disconnected", metadata: ["job.id": "\(id)", "job.kept": "\(jobID.keepOnDisconnect)"])
                if !jobID.keepOnDisconnect { cancelJob(id, context) }
            }
            return FacadeError(HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"), "the client closed the connection")
                .response(format)
        } catch var error as FacadeError {
            error.jobID = error.jobID ?? jobID.value
            return error.response(format)
        } catch is NIOTooManyBytesError {
            return FacadeError(.contentTooLarge, "request body is larger than \(Self.maximumBodyBytes) bytes").response(format)
        } catch {
            var converted = FacadeError(ErrorMiddleware.apiError(for: error, request: request, logger: context.logger))
            converted.jobID = jobID.value
            return converted.response(format)
        }
    }

    /// Cancels the job outside the (cancelled) request task, so the database call is not itself cancelled.
    func cancelJob(_ id: Int64, _ context: RegistryContext) {
        let jobs = services.jobs
        let logger = context.logger
        Task.detached {
            do {
                _ = try await jobs.cancel(id)
            } catch {
                logger.warning("registry.v1.cancel_failed", metadata: ["job.id": "\(id)", "error.message": "\(error)"])
            }
        }
    }

    func run(
        body: RequestBody, _ request: Request, _ context: RegistryContext, format: FacadeFormat,
        parse: (JSONValue) throws(FacadeError) -> FacadeCall, jobID: FacadeJobSlot
    ) async throws -> Response {
        let buffer = try await body.collect(upTo: Self.maximumBodyBytes)
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(buffer.readableBytesView))
        } catch {
            throw FacadeError.invalidRequest("the request body is not valid JSON: \(error.description)")
        }
        var call = try parse(document)
        var key: String?
        if let header = request.headers[FacadeHeaders.idempotencyKey] {
            guard (1...Self.maximumIdempotencyKeyLength).contains(header.count) else {
                throw FacadeError.invalidRequest("Idempotency-Key must be 1–\(Self.maximumIdempotencyKeyLength) characters")
            }
            key = header
        }
        let principal = try context.requirePrincipal()
        if let previous = call.previousResponseJobID {
            call.request.messages = try await conversation(endedBy: previous, for: principal) + call.request.messages
            try FacadeParsing.check(call.request)
        }
        // Counted against the caller's waits before a job exists, so a refused call costs nothing.
        return try await services.waits.withWait(for: principal) {
            let job = try await newJob(call, idempotencyKey: key, for: principal)
            let outcome: JobRepository.InsertOutcome
            do {
                outcome = try await JobRoutes(services: services).enqueue(job, for: principal, waiting: true)
            } catch let error as APIError where error.code == "not_accepting_jobs" {
                throw FacadeError.modelNotFound(call.model, error.message)
            } catch let error as APIError where error.code == "idempotency_conflict" {
                throw FacadeError.idempotencyConflict(error.message)
            }
            var current = outcome.job
            // A caller that sent an Idempotency-Key can come back for the answer (a retry after a
            // timeout waits for the same job), so its disconnect leaves the job running.
            jobID.keepOnDisconnect = key != nil
            jobID.value = current.id
            if case .created = outcome {
                context.logger.info("registry.v1.job_created", metadata: ["job.id": "\(current.id)", "agent.id": "\(current.agentID.jsonString)"])
            }
            if call.stream, !current.isTerminal {
                // Live: the worker pushes the deltas to this instance as they arrive.
                return try await liveStream(current, call: call, format: format, context: context, keepOnDisconnect: key != nil)
            }
            if !current.isTerminal {
                current = try await services.completions.waitForCompletion(of: current.id, timeout: .seconds(Self.maximumWaitSeconds)) ?? current
            }
            // The wait also ends when the task is cancelled (the client left): never answer as if done.
            try Task.checkCancellation()
            return try answer(current, call: call, format: format, context: context)
        }
    }

    /// Responses `previous_response_id`: the conversation the caller's earlier, succeeded job
    /// ended (its request's turns and its answer). Another tenant's job is one that does not exist.
    func conversation(endedBy jobID: Int64, for principal: Principal) async throws -> [ChatMessage] {
        let notFound = FacadeError(
            .notFound, "Previous response with id '\(OpenAIResponsesFacade.responseID(jobID))' not found.",
            code: "previous_response_not_found", param: "previous_response_id")
        guard let job = try await services.jobs.find(jobID), principal.scope.contains(job.tenantID) else { throw notFound }
        guard job.status == "succeeded", let resultText = job.resultJSON, let result = FacadeResult(json: resultText),
            let requestText = job.requestJSON, let request = try? ChatRequest(jsonBytes: Array(requestText.utf8))
        else {
            throw FacadeError.invalidRequest(
                "previous response \(OpenAIResponsesFacade.responseID(jobID)) has no answer to continue (job \(job.status))",
                param: "previous_response_id")
        }
        return OpenAIResponsesFacade.history(request: request, result: result)
    }

    /// The job for a call: the agent's (its chain decides the model), or the caller's tenant's
    /// direct-calls agent's with `request.model` set (that model alone). Agents of another tenant
    /// are answered as agents that do not exist.
    func newJob(_ call: FacadeCall, idempotencyKey: String?, for principal: Principal) async throws -> JobRepository.NewJob {
        var request = call.request
        var model: String?
        let agentID: UUID
        switch try await resolve(call.model, for: principal) {
        case .agent(let agent):
            request = FacadeOverrides.apply(request, agent: agent.effectiveModelConfig)
            agentID = agent.id
        case .model(let stored):
            request = FacadeOverrides.apply(request, model: stored)
            agentID = try await directAgent(of: principal.tenantID)
            model = stored.modelID
        }
        var document = request.jsonValue
        if let model { document["model"] = .string(model) }
        // Tells the worker to stream the call and push its deltas (llm_job_streams says where).
        if call.stream { document["stream"] = true }
        return JobRepository.NewJob(agentID: agentID, requestJSON: document.encodedString(), idempotencyKey: idempotencyKey)
    }

    /// What a call's `model` names, as the caller may use it.
    enum ResolvedTarget {
        case agent(AgentRecord)
        case model(LLMModel)
    }

    /// The active agent or usable catalog model `model` names for this caller; agents of another
    /// tenant are answered as agents that do not exist.
    func resolve(_ model: String, for principal: Principal) async throws -> ResolvedTarget {
        switch FacadeTarget(model) {
        case .agentID(let id):
            let agent = try await services.agents.find(id)
            guard let agent, agent.agentType != AgentRepository.directAgentType, principal.scope.contains(agent.tenantID) else {
                throw FacadeError.modelNotFound(model, "no agent with id \(id.jsonString)")
            }
            guard agent.status == "active" else { throw FacadeError.modelNotFound(model, "agent '\(agent.name)' is \(agent.status)") }
            return .agent(agent)
        case .agentName(let name):
            let agents = try await services.agents.find(named: name, scope: principal.scope)
            let active = agents.filter { $0.status == "active" }
            guard let agent = active.first else {
                throw FacadeError.modelNotFound(model, agents.first.map { "agent '\(name)' is \($0.status)" } ?? "no agent named '\(name)'")
            }
            guard active.count == 1 else {
                throw FacadeError.invalidRequest(
                    "several active agents are named '\(name)'; name one as agent:<uuid>", param: "model", code: "model_ambiguous")
            }
            return .agent(agent)
        case .model(let id):
            guard let stored = try await services.models.find(id) else { throw FacadeError.modelNotFound(id, "not in the catalog") }
            guard stored.model.status != .retired else { throw FacadeError.modelNotFound(id, "the model is retired") }
            guard principal.mayUse(model: id) else {
                throw FacadeError(.forbidden, "this key may not call model '\(id)' directly", code: "model_not_allowed")
            }
            return .model(stored.model)
        }
    }

    /// The tenant's direct-calls agent, created on its first direct call and then remembered.
    func directAgent(of tenantID: UUID) async throws -> UUID {
        if let id = state.directAgents.withLock({ $0[tenantID] }) { return id }
        let agent = try await services.agents.ensureDirectAgent(tenantID: tenantID)
        state.directAgents.withLock { $0[tenantID] = agent.id }
        return agent.id
    }

    /// A finished job in the caller's format; a job still open at the deadline is cancelled (504).
    func answer(_ job: JobRecord, call: FacadeCall, format: FacadeFormat, context: RegistryContext) throws -> Response {
        switch job.status {
        case "succeeded":
            guard let text = job.resultJSON, let result = FacadeResult(json: text) else {
                throw FacadeError(.badGateway, "job \(job.id) succeeded without a readable result", jobID: job.id)
            }
            let created = Int((job.finishedAt ?? services.now).timeIntervalSince1970)
            var headers = HTTPFields()
            headers[FacadeHeaders.jobID] = String(job.id)
            headers[FacadeHeaders.fallbackDepth] = String(result.fallbackDepth)
            headers[FacadeHeaders.cost] = result.costText ?? "unknown"
            headers[FacadeHeaders.provider] = result.provider
            if let attempts = result.attempts { headers[FacadeHeaders.attempts] = String(attempts) }
            if let warnings = FacadeHeaders.warnings(result.warnings) { headers[FacadeHeaders.warnings] = warnings }
            headers[.cacheControl] = "no-store"
            let bytes: [UInt8]
            if call.stream {
                headers[.contentType] = "text/event-stream"
                switch format {
                case .openAI where call.openAIObject == .response:
                    // The whole answer as one burst of the live sequence.
                    var encoder = LiveStreamEncoder(format: format, jobID: job.id, created: created, includeUsage: false, call: call)
                    bytes = encoder.encode(.finished(job))
                case .openAI: bytes = OpenAIChatFacade.stream(result, jobID: job.id, created: created, includeUsage: call.includeUsage)
                case .anthropic: bytes = AnthropicMessagesFacade.stream(result, jobID: job.id)
                }
            } else {
                headers[.contentType] = "application/json"
                switch format {
                case .openAI where call.openAIObject == .response:
                    bytes = OpenAIResponsesFacade.response(result, jobID: job.id, created: created, call: call).encodedBytes()
                case .openAI: bytes = OpenAIChatFacade.completion(result, jobID: job.id, created: created).encodedBytes()
                case .anthropic: bytes = AnthropicMessagesFacade.message(result, jobID: job.id).encodedBytes()
                }
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case "failed", "cancelled":
            let error = FacadeJobError(json: job.errorJSON)
            let code = job.status == "cancelled" ? "cancelled" : error.code
            throw FacadeError.jobFailed(jobID: job.id, code: code, message: error.message)
        default:
            if Task.isShuttingDownGracefully {
                // The job goes on; a retry with the same Idempotency-Key (another instance, or this
                // one restarted) waits for the same job.
                var error = FacadeError(
                    .serviceUnavailable, "the registry is shutting down; job \(job.id) continues: retry with the same Idempotency-Key to get its answer",
                    code: "shutting_down", jobID: job.id)
                error.shouldRetry = true
                throw error
            }
            cancelJob(job.id, context)
            throw FacadeError.waitExpired(jobID: job.id, seconds: Self.maximumWaitSeconds)
        }
    }

    // MARK: - Models

    func models(_ request: Request, _ context: RegistryContext) async throws -> Response {
        let data = try await listedModels(for: try context.requirePrincipal())
        let list = JSONValue.object([
            ("object", "list"), ("data", .array(data)), ("has_more", false),
            ("first_id", data.first?["id"] ?? .null), ("last_id", data.last?["id"] ?? .null),
        ])
        return Self.json(list)
    }

    /// `GET /v1/models/{model_id}` (`client.models.retrieve`): the entry the list has for it.
    func model(_ request: Request, _ context: RegistryContext) async throws -> Response {
        let id = context.catchAllParameter()
        let listed = try await listedModels(for: try context.requirePrincipal())
        guard let entry = listed.first(where: { $0["id"]?.stringValue == id }) else {
            throw FacadeError.modelNotFound(id, "no active agent or usable catalog model has this id")
        }
        return Self.json(entry)
    }

    static func json(_ document: JSONValue) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document.encodedBytes())))
    }

    /// Active agents as `agent:<name>` (`agent:<uuid>` when several share the name) and catalog
    /// models that are not retired, as far as the caller's key may use them.
    func listedModels(for principal: Principal) async throws -> [JSONValue] {
        let agents = try await services.agents.activeForListing(scope: principal.scope).filter { principal.mayUse(agent: $0.id) }
        let models = try await services.models.all().map(\.model).filter { $0.status != .retired && principal.mayUse(model: $0.modelID) }
        var data: [JSONValue] = []
        data.reserveCapacity(agents.count + models.count)
        for agent in agents {
            let id = FacadeTarget.agentPrefix + (agent.nameIsShared ? agent.id.jsonString : agent.name)
            data.append(FacadeSchemas.listedModel(id: id, displayName: agent.name, ownedBy: "switchboard", created: agent.createdAt))
        }
        for model in models {
            data.append(FacadeSchemas.listedModel(
                id: model.modelID, displayName: model.displayName, ownedBy: model.provider, created: model.createdAt ?? Date(timeIntervalSince1970: 0)))
        }
        return data
    }

    // MARK: - Token counting

    /// `POST /v1/messages/count_tokens`: a Messages body (max_tokens optional) answered with
    /// `{"input_tokens"}`, the gateway's own pre-call estimate of the prompt (no provider call,
    /// no job): about 4 bytes of text per token plus fixed costs, deliberately on the high side.
    func countTokens(_ request: Request, _ context: RegistryContext) async throws -> Response {
        do {
            let buffer = try await request.body.collect(upTo: Self.maximumBodyBytes)
            var document: JSONValue
            do {
                document = try JSONParser.parse(Array(buffer.readableBytesView))
            } catch {
                throw FacadeError.invalidRequest("the request body is not valid JSON: \(error.description)")
            }
            // The same parser as /v1/messages; count_tokens takes no max_tokens.
            if document.isObject, document["max_tokens"] == nil { document["max_tokens"] = 1 }
            let call = try AnthropicMessagesFacade.parse(document)
            _ = try await resolve(call.model, for: try context.requirePrincipal())
            return Self.json(.object([("input_tokens", .int(call.request.estimatedPromptTokens))]))
        } catch let error as FacadeError {
            return error.response(.anthropic)
        } catch is NIOTooManyBytesError {
            return FacadeError(.contentTooLarge, "request body is larger than \(Self.maximumBodyBytes) bytes").response(.anthropic)
        }
    }
}

/// The job of a call in progress, for the code that cancels it when the client leaves.
final class FacadeJobSlot: Sendable {
    private let id = Mutex<Int64?>(nil)
    private let keep = Mutex(false)

    var value: Int64? {
        get { id.withLock { $0 } }
        set { id.withLock { $0 = newValue } }
    }

    /// The call carried an Idempotency-Key: a disconnect does not cancel the job.
    var keepOnDisconnect: Bool {
        get { keep.withLock { $0 } }
        set { keep.withLock { $0 = newValue } }
    }
}

/// Per-router memory of the `/v1` routes.
final class FacadeState: Sendable {
    /// The direct-calls agent has been ensured by this process.
    /// Tenant → its direct-calls agent.
    let directAgents = Mutex<[UUID: UUID]>([:])
}

/// Which of the caller's sampling parameters reach the job.
///
/// Agent calls: every parameter the caller sends overrides the agent's (temperature, top_p,
/// penalties, stop, seed…; the worker clamps them to each model's catalog range), except that the
/// agent's `max_tokens`, when it sets one, is a ceiling: a caller may ask for fewer tokens, never
/// for more than the agent's owner allowed. Plain model calls: the catalog's default temperature
/// when the caller sends none; `max_tokens` is bounded by the model's `max_output_tokens` (worker).
enum FacadeOverrides {
    static func apply(_ request: ChatRequest, agent configuration: ModelConfiguration) -> ChatRequest {
        var request = request
        if let ceiling = configuration.maxTokens, ceiling > 0, let asked = request.maxTokens, asked > ceiling {
            request.maxTokens = ceiling
        }
        return request
    }

    static func apply(_ request: ChatRequest, model: LLMModel) -> ChatRequest {
        var request = request
        if request.temperature == nil { request.temperature = model.defaultTemperature }
        return request
    }
}

/// On the `/v1` group: a key (or environment token) as `Authorization: Bearer <key>` (OpenAI SDKs)
/// or `x-api-key: <key>` (Anthropic SDKs), checked by the same `Authenticator` as `/api`; the
/// routes' `RouteAccess` then needs inference to call and viewer to list models. POST bodies must
/// be JSON. Every error here and below it is answered in the caller's format.
struct FacadeMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let format = FacadeFormat.of(request)
        do {
            var context = context
            context.principal = try await authenticator.principal(for: request, context: context)
            context.identifyCaller()
            if request.method == .post, !JSONContentTypeMiddleware.isJSON(request.headers[.contentType]) {
                throw FacadeError(.unsupportedMediaType, "send Content-Type: application/json", code: "unsupported_media_type")
            }
            return try await next(request, context)
        } catch let error as FacadeError {
            return error.response(format)
        } catch {
            return FacadeError(ErrorMiddleware.apiError(for: error, request: request, logger: context.logger)).response(format)
        }
    }
}
