import Catalog
import Foundation
import Hummingbird
import Storage

/// `GET /api/usage`: usage across agents for dashboards (the web UI's Usage and Agents pages):
/// per UTC day, per agent and per provider/model, with totals and error and fallback rates. Read
/// from the usage counters (`agent_usage_daily`), like `GET /api/agents/{id}/model-usage`, so the
/// two always agree.
struct UsageRoutes: Sendable {
    let usage: UsageRepository

    /// Agent ids one request may name (the Agents page asks for the agents it shows).
    static let maximumAgentIDs = 200

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/usage", operationID: "getUsageOverview", tag: "usage",
                summary: "Usage across agents from the usage counters (agent_usage_daily): totals, per UTC day, per agent and per provider/model (most requested first), with error and fallback rates; optionally for a window of UTC days and for some agents.",
                access: .role(.viewer),
                parameters: [
                    .query("from", .string(format: "date", maxLength: 10), "First UTC day (YYYY-MM-DD), included."),
                    .query("to", .string(format: "date", maxLength: 10), "Last UTC day (YYYY-MM-DD), included."),
                    .query("agent_id", .array(.string(format: "uuid", maxLength: 36), maxItems: Self.maximumAgentIDs),
                           "Only these agents (UUIDs; repeat the parameter: agent_id=…&agent_id=…), at most \(Self.maximumAgentIDs)."),
                    .query("limit", .integer(minimum: 1, maximum: 1000), "Most agents and models listed, 1–1000, default 100."),
                ],
                responses: [.init(200, "Usage.", .ref("UsageOverview"))], errors: [400],
                handler: overview),
        ]
    }

    func overview(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<UsageOverviewBody> {
        // `from` after `to` is a window without days (every count 0), not an error: the schema
        // cannot say the two are related, and the answer is still well defined.
        let window = UsageRepository.Window(from: try day(request, "from"), to: try day(request, "to"))
        let limit = try request.queryInt("limit", range: 1...1000) ?? 100
        let agentIDs = try Self.agentIDs(request.uri.queryParameters[values: "agent_id"].map(String.init))
        let overview = try await usage.overview(window: window, agentIDs: agentIDs, limit: limit, scope: context.scope)
        return JSONResponse(UsageOverviewBody(window: window, overview: overview))
    }

    /// A `YYYY-MM-DD` parameter; present but empty (`?to=`) is not a day either.
    func day(_ request: Request, _ name: String) throws -> CalendarDate? {
        guard let text = request.uri.queryParameters[Substring(name)].map(String.init) else { return nil }
        guard let day = CalendarDate(text) else { throw APIError.badParameter(name, "must be a day, YYYY-MM-DD (UTC)") }
        return day
    }

    /// nil (no `agent_id`): every agent. An empty or malformed id is refused (400), never widened to every agent.
    static func agentIDs(_ values: [String]) throws -> [UUID]? {
        guard !values.isEmpty else { return nil }
        guard values.count <= maximumAgentIDs else {
            throw APIError.badParameter("agent_id", "may be repeated at most \(maximumAgentIDs) times")
        }
        return try values.map { value in
            guard let id = UUID(uuidString: value) else {
                throw APIError.badParameter("agent_id", "must be an agent id (UUID), not \"\(value.prefix(64))\"")
            }
            return id
        }
    }
}

struct UsageOverviewBody: Encodable, Sendable {
    var window: UsageRepository.Window
    var overview: UsageRepository.Overview

    enum CodingKeys: String, CodingKey {
        case window, totals, days, agents, models
        case agentCount = "agent_count"
        case modelCount = "model_count"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(AgentModelUsageBody.Window(window: window), forKey: .window)
        try c.encode(Group(counters: overview.totals), forKey: .totals)
        try c.encode(overview.days.map { Group(counters: $0.counters, day: $0.day.description) }, forKey: .days)
        try c.encode(overview.agents.map { Group(counters: $0.counters, agent: ($0.agentID.jsonString, $0.agentName)) }, forKey: .agents)
        try c.encode(overview.agentCount, forKey: .agentCount)
        try c.encode(overview.models.map { Group(counters: $0.counters, model: ($0.provider, $0.modelID)) }, forKey: .models)
        try c.encode(overview.modelCount, forKey: .modelCount)
    }

    /// One group's counters with what identifies it (a day, an agent or a model; none for totals).
    struct Group: Encodable, Sendable {
        var counters: UsageRepository.Counters
        var day: String?
        var agent: (id: String, name: String?)?
        var model: (provider: String, modelID: String)?

        enum CodingKeys: String, CodingKey {
            case day, requests, successes, errors, cost, provider
            case agentID = "agent_id"
            case agentName = "agent_name"
            case modelID = "model_id"
            case errorRate = "error_rate"
            case fallbackRequests = "fallback_requests"
            case fallbackRate = "fallback_rate"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case totalTokens = "total_tokens"
            case unpricedRequests = "unpriced_requests"
            case averageLatency = "avg_latency_ms"
            case lastUsedAt = "last_used_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            if let day { try c.encode(day, forKey: .day) }
            if let agent {
                try c.encode(agent.id, forKey: .agentID)
                try c.encode(agent.name, forKey: .agentName)
            }
            if let model {
                try c.encode(model.provider, forKey: .provider)
                try c.encode(model.modelID, forKey: .modelID)
            }
            try c.encode(counters.requests, forKey: .requests)
            try c.encode(counters.successes, forKey: .successes)
            try c.encode(counters.errors, forKey: .errors)
            try c.encode(counters.errorRate, forKey: .errorRate)
            try c.encode(counters.fallbackRequests, forKey: .fallbackRequests)
            try c.encode(counters.fallbackRate, forKey: .fallbackRate)
            try c.encode(counters.inputTokens, forKey: .inputTokens)
            try c.encode(counters.outputTokens, forKey: .outputTokens)
            try c.encode(counters.cachedInputTokens, forKey: .cachedInputTokens)
            try c.encode(counters.inputTokens + counters.outputTokens, forKey: .totalTokens)
            try c.encode(counters.cost, forKey: .cost)
            try c.encode(counters.unpricedRequests, forKey: .unpricedRequests)
            try c.encode(counters.averageLatencyMilliseconds, forKey: .averageLatency)
            try c.encode(counters.lastUsedAt, forKey: .lastUsedAt)
        }
    }
}
