/// Schemas of `GET /api/usage` (usage across agents, for dashboards and the web UI).
extension APISchemas {
    /// The counters every usage group carries (day, agent, model, totals).
    static let usageCounterFields: [(name: String, schema: JSONSchema)] = [
        ("requests", .integer("Provider attempts, including retries and fallbacks.")),
        ("successes", .integer()),
        ("errors", .integer()),
        ("error_rate", JSONSchema.number("errors / requests, 4 decimals; null without requests.").orNull),
        ("fallback_requests", .integer("Attempts made on a fallback model (fallback_depth > 0).")),
        ("fallback_rate", JSONSchema.number("fallback_requests / requests, 4 decimals; null without requests.").orNull),
        ("input_tokens", .integer()),
        ("output_tokens", .integer()),
        ("cached_input_tokens", .integer("Part of input_tokens read from a prompt cache.")),
        ("total_tokens", .integer("input_tokens + output_tokens.")),
        ("cost", JSONSchema.number("USD, exact sum of known costs; null when none was known.").orNull),
        ("unpriced_requests", .integer("Attempts with an unknown price (excluded from cost).")),
        ("avg_latency_ms", JSONSchema.number().orNull),
        ("last_used_at", JSONSchema.string(format: "date-time").orNull),
    ]

    static let usage: [String: JSONSchema] = [
        "UsageCounters": closedObject(usageCounterFields, required: usageCounterFields.map(\.name)),
        "UsageOverview": .object([
            "window": .object([
                "from": JSONSchema.string(format: "date").orNull, "to": JSONSchema.string(format: "date").orNull,
            ], required: ["from", "to"]),
            "totals": .ref("UsageCounters"),
            "days": .array(
                closedObject([("day", .string(format: "date", "UTC day."))] + usageCounterFields,
                             required: ["day"] + usageCounterFields.map(\.name)),
                "Days with usage in the window, oldest first (days without usage are left out).", maxItems: 100_000),
            "agents": .array(
                closedObject([
                    ("agent_id", .string(format: "uuid")),
                    ("agent_name", JSONSchema.string("null when the agent was deleted since.").orNull),
                ] + usageCounterFields, required: ["agent_id", "agent_name"] + usageCounterFields.map(\.name)),
                "Per agent, most requested first, at most limit.", maxItems: 1000),
            "agent_count": .integer("Agents with usage in the window (the list may be cut at limit)."),
            "models": .array(
                closedObject([("provider", .string()), ("model_id", .string(maxLength: 256))] + usageCounterFields,
                             required: ["provider", "model_id"] + usageCounterFields.map(\.name)),
                "Per provider and model, most requested first, at most limit.", maxItems: 1000),
            "model_count": .integer("Provider/model pairs with usage in the window."),
        ], required: ["window", "totals", "days", "agents", "agent_count", "models", "model_count"]),
    ]
}
