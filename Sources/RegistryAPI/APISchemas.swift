import Foundation
import Storage

/// The named schemas of `/openapi.json` (`components/schemas`). Request schemas are also what
/// incoming bodies are checked against (`Request.decodeJSON`), so a field missing here is
/// rejected as unknown; response schemas are checked against real responses by the tests.
enum APISchemas {
    static let components: [String: JSONSchema] = {
        var all: [String: JSONSchema] = [:]
        for part in [common, models, providers, agents, changes, jobs, system, usage, access, rateLimits, budgets, FacadeSchemas.components] {
            all.merge(part) { first, _ in first }
        }
        return all
    }()

    // MARK: - Shared

    static let common: [String: JSONSchema] = [
        "Error": .object([
            "error": .object([
                "code": .string("Stable machine-readable code, e.g. validation_failed, not_found, conflict."),
                "message": .string("What went wrong, for a person.", maxLength: 10_000),
                "details": .array(.ref("FieldIssue"), "One entry per offending field (may be empty).", maxItems: 100_000),
            ], required: ["code", "message", "details"]),
        ], required: ["error"]),
        "FieldIssue": .object([
            "field": .string("JSON path of the field, e.g. temperature or fallback_model_ids[1]."),
            "message": .string(maxLength: 10_000),
        ], required: ["field", "message"]),
    ]

    // MARK: - Models

    static let modelStatus = JSONSchema.enumeration(["active", "beta", "deprecated", "retired"])
    static let tags = JSONSchema.array(.string(maxLength: 64), "lower_snake_case tags", maxItems: 64)
    static let modelID = JSONSchema.string("Provider-side model name; may contain / : and .", maxLength: 256)
    static let providerName = JSONSchema.string("llm_providers.name", maxLength: 64)
    /// Money: exact decimals. Answered as JSON numbers; accepted as numbers or decimal strings.
    static let price = JSONSchema.decimal(
        "USD per 1,000 tokens, exact decimal (a JSON number or a decimal string); null = unknown (never 0).",
        minimum: 0, maximum: 1_000_000).orNull
    static let temperature = JSONSchema.number(minimum: 0, maximum: 10)
    static let tokenCount = JSONSchema.integer(minimum: 1, maximum: Decimal(Int32.max))

    /// Every field of a model a client may write, in column order.
    static let writableModelFields: [(name: String, schema: JSONSchema)] = [
        ("provider", providerName),
        ("model_id", modelID),
        ("display_name", .string(maxLength: 256)),
        ("model_family", JSONSchema.string(maxLength: 128).orNull),
        ("capabilities", tags),
        ("context_window", tokenCount.described("Maximum input tokens; null = unknown.").orNull),
        ("max_output_tokens", tokenCount.orNull),
        ("supports_functions", .boolean()),
        ("supports_vision", .boolean()),
        ("supports_streaming", .boolean()),
        ("input_cost_per_1k", price),
        ("output_cost_per_1k", price),
        ("cached_input_cost_per_1k", price),
        ("cache_creation_input_cost_per_1k", price),
        ("description", JSONSchema.string(maxLength: 10_000).orNull),
        ("release_date", JSONSchema.string(format: "date", maxLength: 10).orNull),
        ("deprecation_date", JSONSchema.string(format: "date", "From this day the model counts as deprecated.", maxLength: 10).orNull),
        ("status", modelStatus),
        ("recommended_for", tags),
        ("default_temperature", temperature),
        ("min_temperature", temperature),
        ("max_temperature", temperature),
        ("successor_model_id", modelID.orNull),
    ]

    static func closedObject(_ fields: [(name: String, schema: JSONSchema)], required: [String] = [], _ description: String? = nil) -> JSONSchema {
        JSONSchema(kind: .object(properties: fields, required: required, additional: nil), description: description)
    }

    static let models: [String: JSONSchema] = [
        "Model": closedObject(
            [("id", JSONSchema.string(format: "uuid"))] + writableModelFields + [
                ("source", .string("seed, litellm or manual")),
                ("created_at", .string(format: "date-time")),
                ("updated_at", .string(format: "date-time")),
                ("effective_status", modelStatus.described("status, or deprecated once deprecation_date has passed")),
                ("locally_edited_fields", .array(.string(maxLength: 64), "Fields edited through the API; catalog imports keep them.", maxItems: 64)),
            ],
            required: writableModelFields.map(\.name) + ["source"]),
        "ModelCreate": closedObject(writableModelFields, required: ["provider", "model_id", "display_name"]),
        "ModelUpdate": closedObject(
            writableModelFields.filter { $0.name != "provider" && $0.name != "model_id" },
            "Fields to change; provider and model_id are immutable. Setting status to retired answers 409 while agents use the model, unless ?force=true."),
        "ModelList": .object([
            "models": .array(.ref("Model"), "This page, in catalog order.", maxItems: 1000),
            "count": .integer("Models on this page."),
            "total": .integer("Models matching the filters, on every page."),
            "next_cursor": JSONSchema.string("Pass as ?cursor= for the next page; null on the last page.", maxLength: 2048).orNull,
        ], required: ["models", "count", "total", "next_cursor"]),
        "ProvidersView": .object([
            "providers": .array(.object([
                "name": .string(), "api_style": .enumeration(["openai", "anthropic"]), "enabled": .boolean(),
                "model_count": .integer(), "models": .array(.ref("Model"), maxItems: 100_000),
            ], required: ["name", "api_style", "enabled", "model_count", "models"])),
        ], required: ["providers"]),
        "RetireResult": .object([
            "model": .ref("Model"),
            "affected_agents": .array(.object([
                "id": .string(format: "uuid"), "name": .string(), "role": .enumeration(["primary", "fallback"]),
            ], required: ["id", "name", "role"])),
        ], required: ["model", "affected_agents"]),
        "Comparison": .object([
            "models": .array(.object([
                "model_id": .string(), "display_name": .string(), "provider": .string(), "status": modelStatus,
                "context_window": JSONSchema.integer().orNull, "max_output_tokens": JSONSchema.integer().orNull,
                "input_cost_per_1k": price, "output_cost_per_1k": price,
                "input_cost_per_1m": JSONSchema.number("USD per 1M input tokens").orNull,
                "output_cost_per_1m": JSONSchema.number("USD per 1M output tokens").orNull,
                "blended_cost_per_1k": JSONSchema.number("(3 × input + output) / 4 per 1K tokens").orNull,
                "capabilities": tags, "supports_functions": .boolean(), "supports_vision": .boolean(),
                "supports_streaming": .boolean(), "recommended_for": tags,
                "deprecation_date": JSONSchema.string(format: "date").orNull, "successor_model_id": JSONSchema.string().orNull,
            ], required: [
                "model_id", "display_name", "provider", "status", "context_window", "max_output_tokens",
                "input_cost_per_1k", "output_cost_per_1k", "input_cost_per_1m", "output_cost_per_1m",
                "blended_cost_per_1k", "capabilities", "supports_functions", "supports_vision", "supports_streaming",
                "recommended_for", "deprecation_date", "successor_model_id",
            ])),
            "cheapest_model_id": JSONSchema.string().orNull,
            "largest_context_model_id": JSONSchema.string().orNull,
        ], required: ["models", "cheapest_model_id", "largest_context_model_id"]),
        "EstimateCostRequest": .object([
            "model_id": modelID, "input_tokens": .integer(maximum: 1_000_000_000_000), "output_tokens": .integer(maximum: 1_000_000_000_000),
            "cached_input_tokens": .integer("Part of input_tokens read from the provider's prompt cache (default 0).", maximum: 1_000_000_000_000),
        ], required: ["model_id", "input_tokens", "output_tokens"]),
        "CostEstimate": .object([
            "model_id": .string(), "input_tokens": .integer(), "output_tokens": .integer(), "cached_input_tokens": .integer(),
            "input_cost_per_1k": .number(), "output_cost_per_1k": .number(),
            "cached_input_cost_per_1k": .number("The cached price, else the input price."),
            "input_cost": .number(), "cached_input_cost": .number(), "output_cost": .number(),
            "total_cost": .number("USD, exact decimal."), "currency": .enumeration(["USD"]),
        ], required: [
            "model_id", "input_tokens", "output_tokens", "cached_input_tokens", "input_cost_per_1k", "output_cost_per_1k",
            "cached_input_cost_per_1k", "input_cost", "cached_input_cost", "output_cost", "total_cost", "currency",
        ]),
        "RecommendationRequest": .object([
            "task_type": JSONSchema.string("reasoning, coding, chat, summarization, classification, extraction, vision, analysis, long_context", maxLength: 64).orNull,
            "max_cost": JSONSchema.number("Most you will pay, USD per 1K tokens, blended 3:1 input:output.").orNull,
            "min_context": JSONSchema.integer().orNull,
            "required_capabilities": .array(.string(maxLength: 64), maxItems: 64),
            "prefer_provider": JSONSchema.string(maxLength: 64).orNull,
            "needs_functions": .boolean(),
            "needs_vision": .boolean(),
        ]),
        "Recommendation": .object([
            "model": .ref("Model"), "score": .number("0–100"), "reasons": .array(.string()),
            "blended_cost_per_1k": JSONSchema.number().orNull,
        ], required: ["model", "score", "reasons"]),
        "Exclusion": .object([
            "reason": .string("deprecated, retired, exceeds_max_cost, price_unknown, context_too_small, context_unknown, missing_capability, lacks_functions, lacks_vision"),
            "count": .integer(), "message": .string(maxLength: 10_000), "model_ids": .array(.string(maxLength: 256), maxItems: 100_000),
        ], required: ["reason", "count", "message", "model_ids"]),
        "RecommendationList": .object([
            "recommendations": .array(.ref("Recommendation")),
            "considered_count": .integer(),
            "exclusions": .array(.ref("Exclusion")),
        ], required: ["recommendations", "considered_count", "exclusions"]),
        "LiteLLMCostMap": JSONSchema.map(.anyValue, "LiteLLM's model_prices_and_context_window.json: model key → entry (prices per token)."),
        "ImportReport": .object([
            "format": .string(), "inserted": .integer(), "updated": .integer(),
            "unchanged": .integer("Models already identical to the catalog."),
            "skipped": .integer(),
            "inserted_model_ids": .array(.string(maxLength: 256), maxItems: 100_000),
            "updated_models": .array(.object(["model_id": .string(maxLength: 256), "fields": .array(.string())], required: ["model_id", "fields"]), maxItems: 100_000),
            "skipped_reasons": .array(.object([
                "reason": .string(), "category": .string(), "count": .integer(), "examples": .array(.string()),
            ], required: ["reason", "category", "count", "examples"]), maxItems: 100_000),
        ], required: ["format", "inserted", "updated", "unchanged", "skipped", "inserted_model_ids", "updated_models", "skipped_reasons"]),
    ]

    // MARK: - Providers

    static let providerSettings: [(name: String, schema: JSONSchema)] = [
        ("api_style", JSONSchema.enumeration(["openai", "anthropic"], "Wire protocol.")),
        ("base_url", JSONSchema.string(
            "Scheme and host without /v1, e.g. https://api.openai.com. https, or http only to loopback or SWITCHBOARD_ALLOWED_HTTP_HOSTS when a key is set; no user@, query or fragment.",
            maxLength: 2048)),
        ("api_key_env", JSONSchema.string(
            "NAME of the environment variable holding the key (never the key): a variable bound to this base_url's host in SWITCHBOARD_KEY_HOSTS (OPENAI_API_KEY, ANTHROPIC_API_KEY, HF_TOKEN are built in), or listed in SWITCHBOARD_ALLOWED_KEY_VARS.",
            maxLength: 128).orNull),
        ("enabled", JSONSchema.boolean()),
        ("connect_timeout_seconds", JSONSchema.number(maximum: 3600)),
        ("request_timeout_seconds", JSONSchema.number(maximum: 3600)),
    ]

    static let providers: [String: JSONSchema] = [
        "Provider": closedObject(
            [("name", providerName)] + providerSettings + [("model_count", .integer())],
            required: ["name"] + providerSettings.map(\.name) + ["model_count"]),
        "ProviderCreate": closedObject([("name", .string("lowercase: a-z 0-9 _ . -", maxLength: 64))] + providerSettings, required: ["name", "api_style", "base_url"]),
        "ProviderUpdate": closedObject(providerSettings.filter { $0.name != "api_style" }),
        "ProviderList": .object(["providers": .array(.ref("Provider"))], required: ["providers"]),
    ]

    // MARK: - Agents

    static let configurationFields: [(name: String, schema: JSONSchema)] = [
        ("model_id", .string("Primary model (llm_models.model_id).", maxLength: 256)),
        ("provider", JSONSchema.string("Must match the model's provider when given.", maxLength: 64).orNull),
        ("temperature", JSONSchema.number("Within the model's min/max temperature.").orNull),
        ("max_tokens", JSONSchema.integer("1 … the model's max output tokens; null = model default.").orNull),
        ("top_p", JSONSchema.number("(0, 1]").orNull),
        ("frequency_penalty", JSONSchema.number("[-2, 2]; ignored by Anthropic (warning).").orNull),
        ("presence_penalty", JSONSchema.number("[-2, 2]; ignored by Anthropic (warning).").orNull),
        ("fallback_model_ids", .array(
            .string(maxLength: 256), "Tried in order when the primary fails; at most 5, distinct, not the primary. Each is checked against its own limits (warnings name it).",
            maxItems: 5)),
    ]

    /// Configuration keys added after 0002: present in an agent's configuration only when set.
    static let optionalConfigurationFields: [(name: String, schema: JSONSchema)] = [
        ("stream_first_token_seconds", JSONSchema.number(
            "(0, 300]: a streamed call's deadline for its first token (before it, a missed deadline fails over down the chain); absent or null = the gateway's GATEWAY_STREAM_FIRST_TOKEN_SECONDS (30).").orNull),
        ("stream_stall_seconds", JSONSchema.number(
            "(0, 300]: a streamed call's longest gap between tokens after the first (a missed one ends the stream with an error event); absent or null = the gateway's GATEWAY_STREAM_STALL_SECONDS (20).").orNull),
    ]

    static let agentStatus = JSONSchema.enumeration(["active", "inactive", "archived"])

    static let agentWritableFields: [(name: String, schema: JSONSchema)] = [
        ("name", .string(maxLength: 200)),
        ("agent_type", .string("e.g. researcher, coder, summarizer; drives recommendations.", maxLength: 100)),
        ("description", JSONSchema.string(maxLength: 10_000).orNull),
        ("skills", .array(.string(maxLength: 100), maxItems: 50)),
        ("status", agentStatus),
        ("model_config", .ref("ModelConfigurationInput")),
        ("preferred_model", JSONSchema.string(
            "LEGACY: merged into model_config (fallbacks, top_p and penalties are kept); a retired model maps to its successor with a warning. Do not combine with model_config.",
            maxLength: 256).orNull),
        ("temperature", JSONSchema.number("LEGACY: merged into model_config.temperature, clamped into the model's range with a warning.").orNull),
        ("max_tokens", JSONSchema.integer("LEGACY: merged into model_config.max_tokens (≤ 0 means the model's default, with a warning).").orNull),
    ]

    static let agents: [String: JSONSchema] = [
        "ModelConfiguration": closedObject(configurationFields + optionalConfigurationFields, required: configurationFields.map(\.name),
                                           "An agent's model configuration, every key of migrations/0002 present; later keys only when set."),
        "ModelConfigurationInput": closedObject(
            configurationFields + optionalConfigurationFields + [("fallback_model_id", JSONSchema.string("PRD form of a one-model chain; same as fallback_model_ids: [id].", maxLength: 256).orNull)],
            required: ["model_id"]),
        "Agent": closedObject([
            ("id", .string(format: "uuid")),
            ("name", .string()),
            ("agent_type", .string()),
            ("description", JSONSchema.string().orNull),
            ("skills", .array(.string())),
            ("status", agentStatus),
            ("model_config", .ref("ModelConfiguration")),
            ("model_config_source", JSONSchema.enumeration(["stored", "legacy"], "legacy: derived from preferred_model/temperature/max_tokens (no stored model_config).")),
            ("preferred_model", JSONSchema.string().orNull),
            ("temperature", JSONSchema.number().orNull),
            ("max_tokens", JSONSchema.integer().orNull),
            ("created_at", .string(format: "date-time")),
            ("updated_at", .string(format: "date-time")),
            ("tenant_id", .string(format: "uuid", "The tenant that owns the agent (fixed at creation).")),
            ("warnings", .array(.ref("FieldIssue"), "On writes: accepted but noteworthy (deprecated model, ignored penalty…).")),
        ], required: [
            "id", "name", "agent_type", "description", "skills", "status", "model_config", "model_config_source",
            "preferred_model", "temperature", "max_tokens", "created_at", "updated_at", "tenant_id",
        ]),
        "AgentCreate": closedObject(agentWritableFields + [
            ("tenant_id", .string(format: "uuid", "The owning tenant (admins only; default: the caller's).")),
            ("tenant", .string("The owning tenant by name (instead of tenant_id).", maxLength: 63)),
        ], required: ["name", "agent_type"]),
        "AgentUpdate": closedObject(agentWritableFields),
        "AgentList": .object([
            "agents": .array(.ref("Agent")), "count": .integer("Agents on this page."),
            "total": .integer("Agents matching the filters, on every page."),
        ], required: ["agents", "count", "total"]),
        "AgentModelConfig": .object([
            "agent_id": .string(format: "uuid"),
            "model_config": .ref("ModelConfiguration"),
            "source": .enumeration(["stored", "legacy"]),
            "warnings": .array(.ref("FieldIssue")),
        ], required: ["agent_id", "model_config", "source", "warnings"]),
        "ModelUsageEntry": .object([
            "model_id": .string(), "provider": .string(),
            "role": .enumeration(["primary", "fallback", "not_configured"], "The model's place in the agent's current configuration."),
            "requests": .integer("Provider attempts, including retries and fallbacks."), "successes": .integer(), "errors": .integer(),
            "error_rate": JSONSchema.number().orNull,
            "fallback_requests": .integer("Attempts made as a fallback (fallback_depth > 0)."),
            "input_tokens": .integer(), "output_tokens": .integer(), "cached_input_tokens": .integer(),
            "cache_creation_input_tokens": .integer(), "reasoning_tokens": .integer(),
            "cost": JSONSchema.number("USD, sum of known costs; null when none was known.").orNull,
            "unpriced_requests": .integer("Attempts with an unknown price (excluded from cost)."),
            "avg_latency_ms": JSONSchema.number().orNull,
            "first_used_day": JSONSchema.string(format: "date", "First UTC day with usage in the window.").orNull,
            "last_used_at": JSONSchema.string(format: "date-time").orNull,
        ], required: [
            "model_id", "provider", "role", "requests", "successes", "errors", "error_rate", "fallback_requests", "input_tokens",
            "output_tokens", "cached_input_tokens", "cache_creation_input_tokens", "reasoning_tokens", "cost", "unpriced_requests",
            "avg_latency_ms", "first_used_day", "last_used_at",
        ]),
        "AgentUsageStats": .object([
            "total_tokens": .integer("Input + output tokens."),
            "total_cost": JSONSchema.number("USD, exact sum of known costs; null when none was known.").orNull,
            "total_requests": .integer("Provider attempts."),
            "avg_tokens_per_request": JSONSchema.number("total_tokens / total_requests, 2 decimals; null without requests.").orNull,
            "last_used_at": JSONSchema.string(format: "date-time").orNull,
            "unpriced_requests": .integer(), "successes": .integer(), "errors": .integer(), "fallback_requests": .integer(),
        ], required: [
            "total_tokens", "total_cost", "total_requests", "avg_tokens_per_request", "last_used_at", "unpriced_requests",
            "successes", "errors", "fallback_requests",
        ]),
        "AgentModelUsage": .object([
            "agent_id": .string(format: "uuid"),
            "agent_name": .string(),
            "current_model": .object([
                "model_id": .string(), "provider": JSONSchema.string().orNull, "display_name": JSONSchema.string().orNull,
                "status": modelStatus.orNull, "in_catalog": .boolean(),
            ], required: ["model_id", "provider", "display_name", "status", "in_catalog"]),
            "configuration": .ref("ModelConfiguration"),
            "window": .object([
                "from": JSONSchema.string(format: "date").orNull, "to": JSONSchema.string(format: "date").orNull,
            ], required: ["from", "to"]),
            "usage_stats": .ref("AgentUsageStats"),
            "models": .array(.ref("ModelUsageEntry"), "Per provider and model over the window (agent_usage_daily), most requested first."),
            "totals": .object([
                "requests": .integer(), "successes": .integer(), "errors": .integer(),
                "input_tokens": .integer(), "output_tokens": .integer(),
                "cost": JSONSchema.number().orNull, "unpriced_requests": .integer(),
            ], required: ["requests", "successes", "errors", "input_tokens", "output_tokens", "cost", "unpriced_requests"]),
        ], required: ["agent_id", "agent_name", "current_model", "configuration", "window", "usage_stats", "models", "totals"]),
        "AgentRecommendations": .object([
            "agent_id": .string(format: "uuid"),
            "task_types": .array(.object(["task_type": .string(), "reason": .string()], required: ["task_type", "reason"])),
            "recommendations": .array(.ref("Recommendation")),
            "considered_count": .integer(),
            "exclusions": .array(.ref("Exclusion")),
        ], required: ["agent_id", "task_types", "recommendations", "considered_count", "exclusions"]),
    ]

    // MARK: - Audit trail

    static let changes: [String: JSONSchema] = [
        "ConfigChange": .object([
            "id": .integer(), "entity": .enumeration(ConfigChangeRepository.entities),
            "entity_id": .string("model_id, provider name or agent id.", maxLength: 512),
            "action": .enumeration(["create", "update", "delete"]),
            "changed_fields": .array(.string(maxLength: 64), "Top-level fields whose value changed.", maxItems: 64),
            "before": JSONSchema.anyValue.described("The row before (null on create)."),
            "after": JSONSchema.anyValue.described("The row after (null on delete)."),
            "token_kind": .string("api_key, admin_token, write_token, read_token, unauthenticated, cli, migration or database (plain SQL).", maxLength: 32),
            "request_id": JSONSchema.string("The registry's id of the API request (X-Switchboard-Request-Id, in its logs).", maxLength: 128).orNull,
            "client_request_id": JSONSchema.string("The X-Request-Id the client sent.", maxLength: 128).orNull,
            "key_id": JSONSchema.string(format: "uuid", "The API key that made the change (null: an environment token, the CLI or SQL).").orNull,
            "tenant_id": JSONSchema.string(format: "uuid", "The tenant of the changed row (agents, keys), else the writer's.").orNull,
            "changed_at": .string(format: "date-time", maxLength: 40),
        ], required: ["id", "entity", "entity_id", "action", "changed_fields", "before", "after", "token_kind", "request_id", "changed_at"]),
        "ConfigChangeList": .object([
            "changes": .array(.ref("ConfigChange"), maxItems: 200),
            "next_cursor": JSONSchema.string("Pass as ?cursor= for older changes; null when there are none.", maxLength: 20).orNull,
        ], required: ["changes", "next_cursor"]),
    ]

    // MARK: - Operations

    static let system: [String: JSONSchema] = [
        "Health": .object(["status": .enumeration(["ok"])], required: ["status"]),
        "Readiness": .object([
            "status": .enumeration(["ready", "not_ready"]),
            "database": .enumeration(["ok", "unreachable"]),
            "migrations": .object([
                "applied": .integer(), "pending": .array(.string()),
                "error": JSONSchema.string("Why the migration state could not be read.").orNull,
            ], required: ["applied", "pending"]),
        ], required: ["status"], "database and migrations only for authenticated callers (or a server without tokens)."),
    ]
}
