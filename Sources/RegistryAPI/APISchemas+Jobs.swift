import ChatModel
import Storage

/// Schemas of `/api/jobs` and `/api/executions` (request bodies are checked against them: a
/// member not listed is rejected as unknown).
extension APISchemas {
    /// The neutral ChatRequest's members (OpenAI Chat Completions body minus `model`), as
    /// `ChatRequest(json:)` (ChatModel) reads them.
    static let chatRequestFields: [(name: String, schema: JSONSchema)] = [
        ("messages", .array(.ref("ChatMessageInput"), "At least one message.")),
        ("tools", .array(.anyValue, "OpenAI function tools: {\"type\":\"function\",\"function\":{\"name\",\"description\",\"parameters\"}}.")),
        ("tool_choice", JSONSchema(kind: .any, description: "auto, none, required, or {\"type\":\"function\",\"function\":{\"name\"}}.")),
        ("parallel_tool_calls", JSONSchema.boolean().orNull),
        ("stop", JSONSchema(kind: .any, description: "A stop sequence or an array of them.")),
        ("temperature", JSONSchema.number("0–2; overrides the agent's model_config, clamped per model by the worker.").orNull),
        ("top_p", JSONSchema.number("[0, 1]").orNull),
        ("max_tokens", JSONSchema.integer("At least 1; overrides the agent's model_config.").orNull),
        ("max_completion_tokens", JSONSchema.integer("OpenAI's newer name for max_tokens.").orNull),
        ("frequency_penalty", JSONSchema.number("[-2, 2]").orNull),
        ("presence_penalty", JSONSchema.number("[-2, 2]").orNull),
        ("response_format", JSONSchema(kind: .any, description: "{\"type\": \"text\" | \"json_object\" | \"json_schema\", \"json_schema\": {…}}.")),
        ("user", JSONSchema.string().orNull),
        ("seed", JSONSchema.integer().orNull),
        ("safety_identifier", JSONSchema.string("OpenAI's newer name for user; sent as the end-user id.").orNull),
        ("reasoning", JSONSchema.object([
            "effort": .enumeration(ReasoningEffort.allCases.map(\.rawValue)),
            "budget_tokens": .integer("Thinking tokens (Anthropic thinking.budget_tokens; mapped to an effort for OpenAI)."),
        ], "The neutral reasoning control, for models the catalog marks as reasoning models.").orNull),
        ("reasoning_effort", JSONSchema.enumeration(ReasoningEffort.allCases.map(\.rawValue), "OpenAI's flat name for reasoning.effort.").orNull),
        ("verbosity", JSONSchema.enumeration(["low", "medium", "high"], "OpenAI gpt-5 verbosity; dropped elsewhere with a warning.").orNull),
        ("prompt_cache_key", JSONSchema.string("OpenAI prompt-cache routing key; dropped elsewhere with a warning.").orNull),
        ("top_k", JSONSchema.integer("Anthropic and compatible servers; dropped for OpenAI with a warning.").orNull),
    ]

    static let jobScheduleFields: [(name: String, schema: JSONSchema)] = [
        ("agent_id", .string(format: "uuid", "An active agent; its model_config picks the model and fallbacks.")),
        ("step", JSONSchema.string("Free-form step name, for reporting.", maxLength: 200).orNull),
        ("priority", .integer("Higher runs first (default 0).")),
        ("run_at", JSONSchema.string(format: "date-time", "Not before this instant (ISO 8601 with a zone; default now).").orNull),
        ("max_attempts", .integer("1–20, default 3: how many times a worker may claim the job.")),
    ]

    /// Text a provider wrote (answers, refusals, tool arguments, error messages) is bounded by the
    /// gateway's response limit (`CurlHTTPRequest.maxResponseBytes`, 64 MiB), not the 1,024
    /// characters of the default string bound.
    static let providerTextMaxLength = 64 << 20

    static let jobStatus = JSONSchema.enumeration(JobRecord.statuses)

    static func openObject(_ fields: [(name: String, schema: JSONSchema)], required: [String] = [], _ description: String? = nil) -> JSONSchema {
        JSONSchema(kind: .object(properties: fields, required: required, additional: .anyValue), description: description)
    }

    static let jobs: [String: JSONSchema] = [
        "ChatMessageInput": closedObject([
            ("role", .enumeration(["system", "developer", "user", "assistant", "tool"])),
            ("content", JSONSchema(kind: .any, description: "A string, an array of {type: text|image_url} parts, or null (assistant tool calls).")),
            ("name", JSONSchema.string().orNull),
            ("tool_calls", .array(.anyValue, "Assistant turns: {\"id\",\"type\":\"function\",\"function\":{\"name\",\"arguments\"}}.")),
            ("tool_call_id", JSONSchema.string("Tool turns: the call answered.").orNull),
        ], required: ["role"]),
        "JobCreate": closedObject(
            jobScheduleFields + [
                ("execution_id", JSONSchema.string(format: "uuid", "A running workflow execution this job belongs to.").orNull),
                ("idempotency_key", JSONSchema.string("1–200 characters. Repeating it answers the existing job (200) instead of a second one; 409 when the content differs.", maxLength: JobInput.maximumKeyLength).orNull),
            ] + chatRequestFields,
            required: ["agent_id", "messages"],
            "The queue fields plus the chat request at the top level."),
        "JobBatchCreate": .object(["jobs": .array(.ref("JobCreate"), "1–1,000 jobs; idempotency keys distinct.")], required: ["jobs"]),
        "JobResult": openObject([
            ("content", JSONSchema.string(maxLength: providerTextMaxLength).orNull),
            ("tool_calls", .array(.object([
                "id": .string(), "name": .string(), "arguments": .string("JSON text", maxLength: providerTextMaxLength),
            ], required: ["id", "name", "arguments"]))),
            ("finish_reason", JSONSchema.string().orNull),
            ("refusal", JSONSchema.string(maxLength: providerTextMaxLength).orNull),
            ("model", .string("The model that answered.")),
            ("provider", .string()),
            ("fallback_depth", .integer("0 = the agent's primary model.")),
            ("usage", JSONSchema.object([
                "input_tokens": JSONSchema.integer().orNull, "output_tokens": JSONSchema.integer().orNull,
                "cached_input_tokens": JSONSchema.integer().orNull, "cache_creation_input_tokens": JSONSchema.integer().orNull,
                "reasoning_tokens": JSONSchema.integer().orNull,
            ]).orNull),
            ("cost", JSONSchema.number("USD, exact; null = unknown price.").orNull),
            ("provider_request_id", JSONSchema.string().orNull),
            ("response_id", JSONSchema.string().orNull),
            ("warnings", .array(.string())),
            ("attempts", .integer("Provider calls made for this job, over all its attempts.")),
        ], "Written by the worker on success."),
        "JobError": openObject([
            ("code", .string("The error class, or no_usable_model, lease_expired, max_attempts_exceeded, invalid_request.")),
            ("message", .string(maxLength: providerTextMaxLength)),
            ("attempts", .array(openObject([
                ("job_attempt", .integer()), ("model", .string()), ("provider", .string()), ("fallback_depth", .integer()),
                ("outcome", .enumeration(["error", "success"])), ("error_class", JSONSchema.string().orNull),
                ("http_status", JSONSchema.integer().orNull), ("message", JSONSchema.string(maxLength: providerTextMaxLength).orNull),
                ("latency_ms", JSONSchema.integer().orNull), ("started_at", JSONSchema.string(format: "date-time").orNull),
            ]))),
            ("skipped", .array(openObject([
                ("model", .string()), ("provider", JSONSchema.string().orNull),
                ("reason", .string("retired, provider_disabled, missing_credentials, context_too_small, cooling_down, unknown_model, unsafe_base_url, key_not_bound")),
                ("detail", .string("What to change, when the reason alone does not say (key_not_bound names the variable, its hosts and the binding to add).")),
            ]))),
        ], "Written by the worker when the job failed (kept across requeues as the history so far)."),
        "JobAttempt": .object([
            "job_attempt": .integer("llm_jobs.attempt during which the call was made."),
            "model": .string(), "provider": .string(), "fallback_depth": .integer(),
            "outcome": .enumeration(["success", "error"]),
            "error_class": JSONSchema.string().orNull, "http_status": JSONSchema.integer().orNull,
            "latency_ms": JSONSchema.integer().orNull,
            "input_tokens": JSONSchema.integer().orNull, "output_tokens": JSONSchema.integer().orNull,
            "cached_input_tokens": JSONSchema.integer().orNull, "cache_creation_input_tokens": JSONSchema.integer().orNull,
            "reasoning_tokens": JSONSchema.integer().orNull,
            "cost": JSONSchema.number("USD, exact; null = unknown price.").orNull,
            "worker_id": JSONSchema.string().orNull, "provider_request_id": JSONSchema.string().orNull,
            "started_at": .string(format: "date-time"), "finished_at": .string(format: "date-time"),
            "superseded": .boolean("Made by an attempt that had lost its lease: a duplicate provider call, still billed, counted apart (superseded_requests)."),
            "budget_decision": JSONSchema.enumeration(["downgrade"], "A budget moved this call to a cheaper model of the agent's chain.").orNull,
            "reserved_usd": JSONSchema.string("The call's maximum cost, reserved against its budgets before it was sent (null: no budget applied).", maxLength: 64).orNull,
        ], required: [
            "job_attempt", "model", "provider", "fallback_depth", "outcome", "error_class", "http_status", "latency_ms",
            "input_tokens", "output_tokens", "cached_input_tokens", "cache_creation_input_tokens", "reasoning_tokens", "cost",
            "worker_id", "provider_request_id", "started_at", "finished_at", "superseded", "budget_decision", "reserved_usd",
        ]),
        "Job": .object([
            "id": .integer(), "agent_id": .string(format: "uuid"),
            "tenant_id": .string(format: "uuid", "The tenant of the job (its agent's)."),
            "execution_id": JSONSchema.string(format: "uuid").orNull, "step": JSONSchema.string().orNull,
            "status": jobStatus, "priority": .integer(),
            "attempt": .integer("Claims so far (0 = never claimed)."), "max_attempts": .integer(),
            "run_at": .string(format: "date-time"), "idempotency_key": JSONSchema.string().orNull,
            "cancel_requested_at": JSONSchema.string(format: "date-time", "Set when a running job was asked to cancel.").orNull,
            "created_at": .string(format: "date-time"), "started_at": JSONSchema.string(format: "date-time").orNull,
            "finished_at": JSONSchema.string(format: "date-time").orNull, "updated_at": .string(format: "date-time"),
            "request": JSONSchema.map(.anyValue, "The stored neutral ChatRequest (absent in lists without include=result)."),
            "result": JSONSchema.ref("JobResult").orNull,
            "error": JSONSchema.ref("JobError").orNull,
            "attempts": .array(.ref("JobAttempt"), "GET /api/jobs/{id} only: every provider call (model_usage), oldest first."),
            "created": .boolean("Batch answers only: false when the idempotency key's existing job was returned."),
        ], required: [
            "id", "agent_id", "execution_id", "step", "status", "priority", "attempt", "max_attempts", "run_at",
            "idempotency_key", "cancel_requested_at", "created_at", "started_at", "finished_at", "updated_at",
        ]),
        "JobList": .object([
            "jobs": .array(.ref("Job")), "count": .integer(),
            "next_cursor": JSONSchema.string("Pass as cursor for the next page; null on the last page.").orNull,
        ], required: ["jobs", "count", "next_cursor"]),
        "JobBatch": .object([
            "jobs": .array(.ref("Job"), "In input order, without bodies."),
            "created": .integer(), "existing": .integer(),
        ], required: ["jobs", "created", "existing"]),

        "ExecutionStepCreate": closedObject(
            jobScheduleFields + chatRequestFields, required: ["step", "agent_id", "messages"],
            "One step: its job's agent and chat request."),
        "ExecutionCreate": .object([
            "workflow_name": .string(),
            "steps": .array(.ref("ExecutionStepCreate"), "1–1,000 steps; one job each, in this order."),
            "metadata": JSONSchema.map(.anyValue, "Free-form; stored with the execution."),
        ], required: ["workflow_name", "steps"]),
        "ModelsUsedEntry": .object([
            "requests": .integer(), "successes": .integer(), "errors": .integer(),
            "input_tokens": .integer(), "output_tokens": .integer(), "cached_input_tokens": .integer(),
            "cost": JSONSchema.number("USD, exact; null when no request had a known price.").orNull,
            "unpriced_requests": .integer(),
        ], required: ["requests", "successes", "errors", "input_tokens", "output_tokens", "cached_input_tokens", "cost", "unpriced_requests"]),
        "ExecutionSummary": closedObject(executionFields, required: executionFields.map(\.name)),
        "Execution": closedObject(executionFields + [
            ("steps", .array(.object([
                "job_id": .integer(), "step": JSONSchema.string().orNull, "agent_id": .string(format: "uuid"), "status": jobStatus,
                "attempt": .integer(), "model": JSONSchema.string("The model that answered (once succeeded).").orNull,
                "provider": JSONSchema.string().orNull, "finished_at": JSONSchema.string(format: "date-time").orNull,
            ], required: ["job_id", "step", "agent_id", "status", "attempt", "model", "provider", "finished_at"]))),
            ("models_used", JSONSchema.map(JSONSchema.map(.ref("ModelsUsedEntry")), "agent_id → model_id → usage (live while running).")),
            ("total_cost", JSONSchema.number("USD, exact sum of known costs; null when none was known.").orNull),
            ("unpriced_requests", .integer()),
            ("requests", .integer("Provider calls.")),
            ("tokens", .object([
                "input_tokens": .integer(), "output_tokens": .integer(), "cached_input_tokens": .integer(), "total_tokens": .integer(),
            ], required: ["input_tokens", "output_tokens", "cached_input_tokens", "total_tokens"])),
            ("job_counts", JSONSchema.map(.integer(), "Jobs per status.")),
        ], required: executionFields.map(\.name) + ["steps", "models_used", "total_cost", "unpriced_requests", "requests", "tokens", "job_counts"]),
        "ExecutionList": .object([
            "executions": .array(.ref("ExecutionSummary")), "count": .integer(), "next_cursor": JSONSchema.string().orNull,
        ], required: ["executions", "count", "next_cursor"]),
    ]

    static let executionFields: [(name: String, schema: JSONSchema)] = [
        ("id", .string(format: "uuid")),
        ("workflow_name", .string()),
        ("status", .enumeration(ExecutionRecord.statuses)),
        ("metadata", JSONSchema.map(.anyValue)),
        ("started_at", .string(format: "date-time")),
        ("finished_at", JSONSchema.string(format: "date-time").orNull),
        ("created_at", .string(format: "date-time")),
        ("updated_at", .string(format: "date-time")),
        ("tenant_id", .string(format: "uuid")),
    ]
}
