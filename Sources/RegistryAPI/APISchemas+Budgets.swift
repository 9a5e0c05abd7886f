import Foundation

extension APISchemas {
    static let money = JSONSchema.string("USD, an exact decimal string.", maxLength: 64)
    static let share = JSONSchema.decimal("A share of the limit, above 0 and at most 1.", minimum: 0, maximum: 1)

    static let budgets: [String: JSONSchema] = [
        "Budget": .object([
            "id": .string(format: "uuid"),
            "tenant_id": JSONSchema.string(format: "uuid", "The owning tenant; null for a global budget.").orNull,
            "scope": .enumeration(["global", "tenant", "api_key", "agent"]),
            "scope_id": JSONSchema.string(format: "uuid", "The tenant, key or agent limited; null for global.").orNull,
            "name": .string(maxLength: 200),
            "period": .enumeration(["day", "week", "month", "lifetime"]),
            "time_zone": .string("The zone the period's days, weeks (from Monday) and months are counted in.", maxLength: 64),
            "limit_usd": money,
            "on_exhausted": .enumeration(["fail", "defer", "downgrade"]),
            "downgrade_threshold": JSONSchema.string("downgrade: from this share of the limit on, calls move to the cheapest model of the chain that fits.", maxLength: 64).orNull,
            "alert_thresholds": .array(.string(maxLength: 64), maxItems: 20),
            "period_start": JSONSchema.string(format: "date-time", "null for a lifetime budget.", maxLength: 40).orNull,
            "period_end": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
            "spent_usd": JSONSchema.string("Settled calls of the current period: exact costs, and the whole reservation of a call whose outcome is unknown.", maxLength: 64),
            "reserved_usd": JSONSchema.string("Calls in flight, at their maximum cost.", maxLength: 64),
            "remaining_usd": JSONSchema.string("limit − spent − reserved, at least 0.", maxLength: 64),
            "requests": .integer("Calls reserved in the current period."),
            "created_at": .string(format: "date-time", maxLength: 40),
            "updated_at": .string(format: "date-time", maxLength: 40),
            "alerts": .array(.ref("BudgetAlert"), "The latest alerts (GET of one budget).", maxItems: 100),
        ], required: [
            "id", "tenant_id", "scope", "scope_id", "name", "period", "time_zone", "limit_usd", "on_exhausted",
            "downgrade_threshold", "alert_thresholds", "period_start", "period_end", "spent_usd", "reserved_usd",
            "remaining_usd", "requests", "created_at", "updated_at",
        ]),
        "BudgetAlert": .object([
            "id": .integer(), "threshold": .string(maxLength: 64),
            "period_start": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
            "spent_usd": money, "limit_usd": money,
            "created_at": .string(format: "date-time", maxLength: 40),
            "delivered_at": JSONSchema.string(format: "date-time", "When the webhook took it (null: pending, or no webhook).", maxLength: 40).orNull,
            "attempts": .integer("Webhook deliveries tried."),
            "last_error": JSONSchema.string(maxLength: 1000).orNull,
        ], required: ["id", "threshold", "period_start", "spent_usd", "limit_usd", "created_at", "delivered_at", "attempts", "last_error"]),
        "BudgetList": .object(["budgets": .array(.ref("Budget"), maxItems: 10_000)], required: ["budgets"]),
        "BudgetCreate": .object([
            "scope": .enumeration(["global", "tenant", "api_key", "agent"], "What the budget limits; global needs an admin key."),
            "scope_id": JSONSchema.string(format: "uuid", "The tenant, API key or agent (absent for global).").orNull,
            "name": .string(maxLength: 200),
            "period": .enumeration(["day", "week", "month", "lifetime"], "Default month."),
            "time_zone": .string("An IANA zone (default UTC).", maxLength: 64),
            "limit_usd": .decimal("USD, exact: a number or a decimal string such as \"12.50\".", minimum: 0),
            "on_exhausted": .enumeration(["fail", "defer", "downgrade"], "fail (default): the job fails budget_exceeded; defer: it waits for the next period; downgrade: the cheapest model of the chain that fits."),
            "downgrade_threshold": share.orNull,
            "alert_thresholds": .array(share, "Default [0.5, 0.8, 1.0]; each recorded once per period.", maxItems: 20),
        ], required: ["scope", "limit_usd"]),
        "BudgetUpdate": .object([
            "name": .string(maxLength: 200),
            "period": .enumeration(["day", "week", "month", "lifetime"]),
            "time_zone": .string(maxLength: 64),
            "limit_usd": .decimal(minimum: 0),
            "on_exhausted": .enumeration(["fail", "defer", "downgrade"]),
            "downgrade_threshold": share.orNull,
            "alert_thresholds": .array(share, maxItems: 20),
        ]),
    ]
}
