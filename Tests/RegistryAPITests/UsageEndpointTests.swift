import Foundation
import JSON
import Postgres
import Testing
@testable import RegistryAPI

/// `GET /api/usage`: usage across agents from the counters (`agent_usage_daily`), per day, agent
/// and model, and its agreement with each agent's `model-usage`.
@Suite struct UsageEndpointTests {
    /// Two agents' counters over three days (rows as the worker's completion transaction writes
    /// them: several shards per key), plus a raw attempt row that must not count.
    static func seed(_ api: Registry) async throws -> (writer: String, coder: String) {
        let writer = try await api.createAgent(#"{"name": "Writer", "agent_type": "writer", "model_config": {"model_id": "gpt-4o", "fallback_model_ids": ["claude-haiku-4-5"]}}"#)
        let coder = try await api.createAgent(#"{"name": "Coder", "agent_type": "coder", "model_config": {"model_id": "claude-haiku-4-5"}}"#)
        let w = try #require(UUID(uuidString: writer))
        let c = try #require(UUID(uuidString: coder))
        try await api.pool.execute("""
            INSERT INTO agent_usage_daily (agent_id, day, provider, model_id, shard, requests, successes, errors, fallback_requests,
                                           input_tokens, output_tokens, cached_input_tokens, priced_requests, cost, latency_ms_sum, last_used_at)
            VALUES (\(w), '2026-11-20', 'openai', 'gpt-4o', 0, 2, 1, 1, 0, 1000, 100, 10, 2, 0.0035, 800, '2026-11-20T10:00:00Z'),
                   (\(w), '2026-11-20', 'openai', 'gpt-4o', 5, 1, 1, 0, 0, 500, 50, 0, 1, 0.0010, 200, '2026-11-20T12:00:00Z'),
                   (\(w), '2026-11-21', 'anthropic', 'claude-haiku-4-5', 1, 1, 1, 0, 1, 1000, 200, 0, 1, 0.002, 600, '2026-11-21T09:00:00Z'),
                   (\(c), '2026-11-21', 'anthropic', 'claude-haiku-4-5', 0, 3, 3, 0, 0, 300, 30, 0, 3, 0.0006, 300, '2026-11-21T15:00:00Z'),
                   (\(c), '2026-11-23', 'huggingface', 'meta-llama/Llama-3.1-8B-Instruct', 0, 1, 1, 0, 0, 10, 10, 0, 0, 0, 90, '2026-11-23T08:00:00Z')
            """)
        try await api.pool.execute("""
            INSERT INTO model_usage (agent_id, provider, model_id, outcome, input_tokens, output_tokens, cost, latency_ms, started_at, finished_at)
            VALUES (\(w), 'openai', 'gpt-4o', 'success', 5, 5, 1, 10, now(), now())
            """)
        return (writer, coder)
    }

    @Test func totalsDaysAgentsAndModels() async throws {
        try await Registry.run { api in
            let (writer, coder) = try await Self.seed(api)
            let reply = try await api.get("/api/usage")
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            #expect(JSONSchema.ref("UsageOverview").violations(of: body, components: APISchemas.components).isEmpty)
            #expect(body["window"]?["from"]?.isNull == true)
            let totals = try #require(body["totals"])
            #expect(totals["requests"]?.int == 8)
            #expect(totals["successes"]?.int == 7)
            #expect(totals["errors"]?.int == 1)
            #expect(totals["error_rate"]?.decimal == Decimal(string: "0.125"))
            #expect(totals["fallback_requests"]?.int == 1)
            #expect(totals["fallback_rate"]?.decimal == Decimal(string: "0.125"))
            #expect(totals["input_tokens"]?.int == 2810)
            #expect(totals["output_tokens"]?.int == 390)
            #expect(totals["total_tokens"]?.int == 3200)
            #expect(totals["cached_input_tokens"]?.int == 10)
            #expect(totals["cost"]?.decimal == Decimal(string: "0.0071"), "exact sum of known costs")
            #expect(totals["unpriced_requests"]?.int == 1)
            #expect(totals["last_used_at"]?.string == "2026-11-23T08:00:00.000Z")

            let days = try #require(body["days"]?.array)
            #expect(days.compactMap { $0["day"]?.string } == ["2026-11-20", "2026-11-21", "2026-11-23"], "days without usage are left out")
            #expect(days.compactMap { $0["requests"]?.int } == [3, 4, 1])
            #expect(days[0]["cost"]?.decimal == Decimal(string: "0.0045"))
            #expect(days[2]["cost"]?.isNull == true, "a day with only unpriced attempts has an unknown cost, not 0")

            let agents = try #require(body["agents"]?.array)
            // Both made 4 requests: most requested first, then by name.
            #expect(agents.compactMap { $0["agent_id"]?.string } == [coder, writer])
            #expect(agents.compactMap { $0["agent_name"]?.string } == ["Coder", "Writer"])
            #expect(agents[1]["cost"]?.decimal == Decimal(string: "0.0065"))
            #expect(agents[1]["fallback_rate"]?.decimal == Decimal(string: "0.25"))
            #expect(agents[0]["cost"]?.decimal == Decimal(string: "0.0006"), "unpriced attempts add nothing")
            #expect(body["agent_count"]?.int == 2)

            let models = try #require(body["models"]?.array)
            #expect(models.compactMap { $0["model_id"]?.string } == ["claude-haiku-4-5", "gpt-4o", "meta-llama/Llama-3.1-8B-Instruct"])
            #expect(models[0]["requests"]?.int == 4)
            #expect(models[0]["provider"]?.string == "anthropic")
            #expect(body["model_count"]?.int == 3)
        }
    }

    /// The same counters as each agent's model-usage: the two endpoints cannot disagree.
    @Test func agreesWithEachAgentsModelUsage() async throws {
        try await Registry.run { api in
            let (writer, coder) = try await Self.seed(api)
            for window in ["", "?from=2026-11-21&to=2026-11-22", "?to=2026-11-20"] {
                let overview = try await api.get("/api/usage\(window)").json()
                var requests = 0
                var cost = Decimal(0)
                for agent in [writer, coder] {
                    let usage = try await api.get("/api/agents/\(agent)/model-usage\(window)").json()
                    let entry = overview["agents"]?.array?.first { $0["agent_id"]?.string == agent }
                    #expect(entry?["requests"]?.int ?? 0 == usage["usage_stats"]?["total_requests"]?.int, "\(window) \(agent)")
                    #expect(entry?["cost"]?.decimal == usage["usage_stats"]?["total_cost"]?.decimal, "\(window) \(agent)")
                    requests += usage["usage_stats"]?["total_requests"]?.int ?? 0
                    cost += usage["usage_stats"]?["total_cost"]?.decimal ?? 0
                }
                #expect(overview["totals"]?["requests"]?.int == requests, "\(window)")
                #expect(overview["totals"]?["cost"]?.decimal ?? 0 == cost, "\(window)")
            }
        }
    }

    @Test func windowAgentFilterAndLimit() async throws {
        try await Registry.run { api in
            let (writer, coder) = try await Self.seed(api)
            let day = try await api.get("/api/usage?from=2026-11-21&to=2026-11-21").json()
            #expect(day["window"]?["from"]?.string == "2026-11-21")
            #expect(day["totals"]?["requests"]?.int == 4)
            #expect(day["days"]?.array?.count == 1)

            let one = try await api.get("/api/usage?agent_id=\(coder)").json()
            #expect(one["totals"]?["requests"]?.int == 4)
            #expect(one["agents"]?.array?.compactMap { $0["agent_id"]?.string } == [coder])
            let both = try await api.get("/api/usage?agent_id=\(coder)&agent_id=\(writer)").json()
            #expect(both["totals"]?["requests"]?.int == 8)

            let limited = try await api.get("/api/usage?limit=1").json()
            #expect(limited["agents"]?.array?.count == 1)
            #expect(limited["agent_count"]?.int == 2, "the count says how many there are beyond the limit")
            #expect(limited["models"]?.array?.count == 1)
            #expect(limited["model_count"]?.int == 3)

            let reversed = try await api.get("/api/usage?from=2026-11-22&to=2026-11-21")
            #expect(reversed.status == .ok, "from after to is a window without days")
            #expect(try reversed.json()["totals"]?["requests"]?.int == 0)
            #expect(try reversed.json()["window"]?["from"]?.string == "2026-11-22")

            let empty = try await api.get("/api/usage?from=2030-01-01").json()
            #expect(empty["totals"]?["requests"]?.int == 0)
            #expect(empty["totals"]?["cost"]?.isNull == true)
            #expect(empty["totals"]?["error_rate"]?.isNull == true)
            #expect(empty["days"]?.array == [])
            #expect(empty["agent_count"]?.int == 0)
        }
    }

    @Test(arguments: [
        "from=2026-13-01", "to=yesterday", "to=", "from=2026-02-30", "agent_id=nope", "agent_id=\(UUID().uuidString)&agent_id=", "agent_id=a,b",
        "limit=0", "limit=1001", "limit=x",
    ])
    func rejectsBadParameters(_ parameters: String) async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/usage?\(parameters)")
            #expect(reply.status == .badRequest, "\(parameters): \(reply)")
            #expect(JSONSchema.ref("Error").violations(of: try reply.json(), components: APISchemas.components).isEmpty)
        }
    }

    @Test func tooManyAgentIDsAreRefused() async throws {
        try await Registry.run { api in
            let ids = (0...UsageRoutes.maximumAgentIDs).map { _ in "agent_id=" + UUID().uuidString.lowercased() }.joined(separator: "&")
            let reply = try await api.get("/api/usage?\(ids)")
            #expect(reply.status == .badRequest)
        }
    }

    @Test func needsTheToken() async throws {
        try await Registry.run(token: "t0ken") { api in
            let anonymous = try await api.send(.get, "/api/usage", authorization: .some(nil))
            #expect(anonymous.status == .unauthorized)
            let authorized = try await api.get("/api/usage")
            #expect(authorized.status == .ok)
        }
    }
}
