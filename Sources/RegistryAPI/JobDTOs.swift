import Catalog
import ChatModel
import Foundation
import Hummingbird
import JSON
import Storage

/// A job as a client submits it: the queue fields plus the neutral ChatRequest fields at the top
/// level (the OpenAI Chat Completions body minus `model`). The shape has already been checked
/// against the `JobCreate` schema (unknown fields rejected); this checks values and builds the
/// stored `request` with the worker's own codec (`ChatRequest+JSON.swift`), so what is stored is
/// what the worker reads.
struct JobInput: Sendable {
    static let queueFields: Set<String> = [
        "agent_id", "execution_id", "step", "priority", "run_at", "max_attempts", "idempotency_key",
    ]
    static let maximumAttempts = 20
    static let maximumKeyLength = 200

    var job: JobRepository.NewJob

    /// `prefix` names the element in error details (`jobs[3].`, `steps[0].`).
    static func parse(_ document: JSONValue, prefix: String = "", allowExecution: Bool = true) -> (JobInput?, [FieldIssue]) {
        guard case .object(let members) = document else {
            return (nil, [FieldIssue(field: prefix.isEmpty ? "body" : String(prefix.dropLast()), message: "must be an object")])
        }
        var issues: [FieldIssue] = []
        func issue(_ field: String, _ message: String) { issues.append(FieldIssue(field: prefix + field, message: message)) }
        func string(_ key: String) -> String? { if case .string(let text)? = document[key] { text } else { nil } }
        func integer(_ key: String) -> Int? { if case .number(let text)? = document[key] { Int(text) } else { nil } }

        var agentID: UUID?
        if let text = string("agent_id") {
            agentID = UUID(uuidString: text)
            if agentID == nil { issue("agent_id", "must be a UUID") }
        } else {
            issue("agent_id", "is required")
        }
        var executionID: UUID?
        if let text = string("execution_id") {
            if !allowExecution {
                issue("execution_id", "is set by the execution")
            } else if let id = UUID(uuidString: text) {
                executionID = id
            } else {
                issue("execution_id", "must be a UUID")
            }
        }
        let step = string("step")
        if let step, step.isEmpty || step.count > 200 { issue("step", "must be 1–200 characters") }
        let priority = integer("priority") ?? 0
        if !(Int(Int32.min)...Int(Int32.max)).contains(priority) { issue("priority", "must fit a 32-bit integer") }
        let maxAttempts = integer("max_attempts") ?? 3
        if !(1...maximumAttempts).contains(maxAttempts) { issue("max_attempts", "must be between 1 and \(maximumAttempts)") }
        var runAt: Date?
        if let text = string("run_at") {
            runAt = Timestamp.date(from: text)
            if runAt == nil { issue("run_at", "must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:30:00Z") }
        }
        let key = string("idempotency_key")
        if let key, key.isEmpty || key.count > maximumKeyLength { issue("idempotency_key", "must be 1–\(maximumKeyLength) characters") }

        // The ChatRequest: every member that is not a queue field.
        let chatMembers = members.filter { !queueFields.contains($0.key) && $0.value != .null }
        var requestJSON: String?
        switch parseChatRequest(JSONValue.object(chatMembers)) {
        case .success(let request):
            if request.messages.isEmpty { issue("messages", "must contain at least one message") }
            issues += checkSampling(request).map { FieldIssue(field: prefix + $0.field, message: $0.message) }
            requestJSON = String(decoding: request.jsonBytes(), as: UTF8.self)
        case .failure(let error):
            issues.append(FieldIssue(field: prefix + (error.path.isEmpty ? "messages" : error.path), message: error.message))
        }

        guard issues.isEmpty, let agentID, let requestJSON else { return (nil, issues) }
        return (JobInput(job: JobRepository.NewJob(
            agentID: agentID, executionID: executionID, step: step, requestJSON: requestJSON, priority: priority,
            runAt: runAt, maxAttempts: maxAttempts, idempotencyKey: key)), [])
    }

    /// The request read by the worker's parser (`ChatRequest(json:)`), so a job the API accepts
    /// is one the worker can run; the error names the offending field.
    static func parseChatRequest(_ value: JSONValue) -> Result<ChatRequest, ChatRequestJSONError> {
        Result { () throws(ChatRequestJSONError) in try ChatRequest(json: value) }
    }

    /// Ranges every provider accepts; the worker clamps further per model.
    static func checkSampling(_ request: ChatRequest) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if let value = request.temperature, !(0...2).contains(value) { issues.append(.init(field: "temperature", message: "must be between 0 and 2")) }
        if let value = request.topP, !(0...1).contains(value) { issues.append(.init(field: "top_p", message: "must be between 0 and 1")) }
        if let value = request.topK, value < 1 { issues.append(.init(field: "top_k", message: "must be at least 1")) }
        if let value = request.reasoning?.budgetTokens, value < 1 {
            issues.append(.init(field: "reasoning.budget_tokens", message: "must be at least 1"))
        }
        if let value = request.maxTokens, value < 1 { issues.append(.init(field: "max_tokens", message: "must be at least 1")) }
        if let value = request.frequencyPenalty, !(-2...2).contains(value) {
            issues.append(.init(field: "frequency_penalty", message: "must be between -2 and 2"))
        }
        if let value = request.presencePenalty, !(-2...2).contains(value) {
            issues.append(.init(field: "presence_penalty", message: "must be between -2 and 2"))
        }
        for (index, message) in request.messages.enumerated() where message.content.isEmpty && message.toolCalls.isEmpty {
            issues.append(.init(field: "messages[\(index)].content", message: "must not be empty"))
        }
        return issues
    }
}

/// A job as the API answers it. Bodies (`request`, `result`, `error`) are passed through as
/// stored (exact numbers); `attempts` only on `GET /api/jobs/{id}`.
struct JobBody: Encodable, Sendable {
    var job: JobRecord
    var attempts: [JobAttemptRecord]?
    /// Batch answers: whether this call created the job (false: the idempotency key's existing job).
    var created: Bool?

    enum CodingKeys: String, CodingKey {
        case id, step, status, priority, attempt, request, result, error, attempts, created
        case agentID = "agent_id"
        case tenantID = "tenant_id"
        case executionID = "execution_id"
        case maxAttempts = "max_attempts"
        case runAt = "run_at"
        case idempotencyKey = "idempotency_key"
        case cancelRequestedAt = "cancel_requested_at"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(job.id, forKey: .id)
        try c.encode(job.agentID.jsonString, forKey: .agentID)
        try c.encode(job.tenantID.jsonString, forKey: .tenantID)
        try c.encode(job.executionID?.jsonString, forKey: .executionID)
        try c.encode(job.step, forKey: .step)
        try c.encode(job.status, forKey: .status)
        try c.encode(job.priority, forKey: .priority)
        try c.encode(job.attempt, forKey: .attempt)
        try c.encode(job.maxAttempts, forKey: .maxAttempts)
        try c.encode(job.runAt, forKey: .runAt)
        try c.encode(job.idempotencyKey, forKey: .idempotencyKey)
        try c.encode(job.cancelRequestedAt, forKey: .cancelRequestedAt)
        try c.encode(job.createdAt, forKey: .createdAt)
        try c.encode(job.startedAt, forKey: .startedAt)
        try c.encode(job.finishedAt, forKey: .finishedAt)
        try c.encode(job.updatedAt, forKey: .updatedAt)
        if let text = job.requestJSON { try c.encode(Self.document(text), forKey: .request) }
        // Bodies read with the row: present (possibly null) whenever the request was read.
        if job.requestJSON != nil {
            try c.encode(job.resultJSON.map(Self.document), forKey: .result)
            try c.encode(job.errorJSON.map(Self.document), forKey: .error)
        }
        if let attempts { try c.encode(attempts.map(AttemptBody.init), forKey: .attempts) }
        try c.encodeIfPresent(created, forKey: .created)
    }

    /// Stored JSON as a value; a document that does not parse (never written by us) is passed as text.
    static func document(_ text: String) -> JSONValue {
        (try? JSONParser.parse(Array(text.utf8))) ?? .string(text)
    }

    struct AttemptBody: Encodable, Sendable {
        var attempt: JobAttemptRecord

        enum CodingKeys: String, CodingKey {
            case provider, model, outcome, cost
            case jobAttempt = "job_attempt"
            case fallbackDepth = "fallback_depth"
            case errorClass = "error_class"
            case httpStatus = "http_status"
            case latency = "latency_ms"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case reasoningTokens = "reasoning_tokens"
            case workerID = "worker_id"
            case providerRequestID = "provider_request_id"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
            case superseded
            case budgetDecision = "budget_decision"
            case reservedUSD = "reserved_usd"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(attempt.jobAttempt, forKey: .jobAttempt)
            try c.encode(attempt.superseded, forKey: .superseded)
            try c.encode(attempt.budgetDecision, forKey: .budgetDecision)
            try c.encode(attempt.reservedUSD, forKey: .reservedUSD)
            try c.encode(attempt.modelID, forKey: .model)
            try c.encode(attempt.provider, forKey: .provider)
            try c.encode(attempt.fallbackDepth, forKey: .fallbackDepth)
            try c.encode(attempt.outcome, forKey: .outcome)
            try c.encode(attempt.errorClass, forKey: .errorClass)
            try c.encode(attempt.httpStatus, forKey: .httpStatus)
            try c.encode(attempt.latencyMilliseconds, forKey: .latency)
            try c.encode(attempt.inputTokens, forKey: .inputTokens)
            try c.encode(attempt.outputTokens, forKey: .outputTokens)
            try c.encode(attempt.cachedInputTokens, forKey: .cachedInputTokens)
            try c.encode(attempt.cacheCreationInputTokens, forKey: .cacheCreationInputTokens)
            try c.encode(attempt.reasoningTokens, forKey: .reasoningTokens)
            try c.encode(attempt.cost, forKey: .cost)
            try c.encode(attempt.workerID, forKey: .workerID)
            try c.encode(attempt.providerRequestID, forKey: .providerRequestID)
            try c.encode(attempt.startedAt, forKey: .startedAt)
            try c.encode(attempt.finishedAt, forKey: .finishedAt)
        }
    }
}

struct JobListBody: Encodable, Sendable {
    var jobs: [JobBody]
    var count: Int
    /// Pass as `cursor` for the next (older) page; nil on the last page.
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case jobs, count
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jobs, forKey: .jobs)
        try c.encode(count, forKey: .count)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

struct JobBatchBody: Encodable, Sendable {
    var jobs: [JobBody]
    var created: Int
    var existing: Int
}
