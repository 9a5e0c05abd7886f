import Foundation
import Postgres
import Testing
@testable import RegistryAPI

/// `/api/agents` over HTTP: CRUD, the legacy-field path, model-config validation, usage and
/// recommendations.
@Suite struct AgentEndpointTests {
    @Test func createsGetsListsUpdatesAndDeletesAnAgent() async throws {
        try await Registry.run { api in
            let created = try await api.post("/api/agents", """
                {"name": "Researcher", "agent_type": "researcher", "description": "Reads papers", "skills": ["summarize", "search"],
                 "model_config": {"model_id": "claude-opus-4-5", "temperature": 0.3, "max_tokens": 4000, "fallback_model_ids": ["gpt-4.1"]}}
                """)
            #expect(created.status == .created, "\(created)")
            let agent = try created.json()
            let id = try #require(agent["id"]?.string)
            #expect(id == id.lowercased(), "UUIDs are written in lowercase")
            #expect(agent["model_config_source"]?.string == "stored")
            #expect(agent["model_config"]?["provider"]?.string == "anthropic", "provider filled in from the catalog")
            #expect(agent["model_config"]?.keys.sorted() == [
                "fallback_model_ids", "frequency_penalty", "max_tokens", "model_id", "presence_penalty", "provider", "temperature", "top_p",
            ])
            #expect(agent["preferred_model"]?.string == "claude-opus-4-5", "legacy columns mirror the primary model")
            #expect(agent["warnings"]?.array?.isEmpty == true)

            let fetched = try await api.get("/api/agents/\(id)")
            #expect(fetched.status == .ok)
            #expect(try fetched.json()["skills"]?.array == [.string("summarize"), .string("search")])

            _ = try await api.createAgent(#"{"name": "Another", "agent_type": "coder"}"#)
            let list = try await api.get("/api/agents").json()
            #expect(list["agents"]?.array?.compactMap { $0["name"]?.string } == ["Another", "Researcher"])
            #expect(try await api.get("/api/agents?agent_type=coder").json()["count"]?.int == 1)
            #expect(try await api.get("/api/agents?model_id=gpt-4.1").json()["count"]?.int == 1, "fallbacks count")
            #expect(try await api.get("/api/agents?status=archived").json()["count"]?.int == 0)

            let updated = try await api.patch("/api/agents/\(id)", #"{"description": null, "status": "inactive", "skills": ["search"]}"#)
            #expect(updated.status == .ok, "\(updated)")
            #expect(try updated.json()["description"]?.isNull == true)
            #expect(try updated.json()["status"]?.string == "inactive")
            #expect(try updated.json()["model_config"]?["model_id"]?.string == "claude-opus-4-5", "config untouched")

            #expect(try await api.delete("/api/agents/\(id)").status == .noContent)
            #expect(try await api.get("/api/agents/\(id)").status == .notFound)
            #expect(try await api.delete("/api/agents/\(id)").status == .notFound)
        }
    }

    @Test(arguments: [
        (#"{"agent_type": "coder"}"#, ["name"]),
        (#"{"name": " ", "agent_type": "coder"}"#, ["name"]),
        (#"{"name": "A", "agent_type": "coder", "status": "sleeping"}"#, ["status"]),
        (#"{"name": "A", "agent_type": "coder", "colour": "blue"}"#, ["colour"]),
        (#"{"name": "A", "agent_type": "coder", "model_config": {"model_id": "gpt-4o", "temprature": 1}}"#, ["model_config.temprature"]),
        (#"{"name": "A", "agent_type": "coder", "model_config": {"model_id": "nope"}}"#, ["model_config.model_id"]),
        (#"{"name": "A", "agent_type": "coder", "model_config": {"model_id": "gpt-4o"}, "preferred_model": "gpt-4"}"#, ["model_config"]),
        (#"{"name": "A", "agent_type": "coder", "preferred_model": "no-such-model"}"#, ["preferred_model"]),
        (#"{"name": "A", "agent_type": "coder", "preferred_model": "gpt-4", "max_tokens": 100000}"#, ["max_tokens"]),
    ])
    func createValidation(body: String, fields: [String]) async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/agents", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorCode == "validation_failed")
            #expect(reply.errorFields == fields, "\(reply)")
        }
    }

    @Test func updateAndListFailures() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "F", "agent_type": "chat"}"#)
            let emptyName = try await api.patch("/api/agents/\(id)", #"{"name": ""}"#)
            #expect(emptyName.status == .badRequest)
            #expect(emptyName.errorFields == ["name"])
            let badConfig = try await api.patch("/api/agents/\(id)", #"{"model_config": {"model_id": "gpt-4o", "top_p": 5}}"#)
            #expect(badConfig.errorFields == ["model_config.top_p"])
            let both = try await api.patch("/api/agents/\(id)", #"{"model_config": {"model_id": "gpt-4o"}, "temperature": 0.1}"#)
            #expect(both.errorFields == ["model_config"])
            #expect(try await api.get("/api/agents/\(id)").json()["name"]?.string == "F", "nothing changed")
            for query in ["status=sleeping", "limit=0", "limit=5000", "offset=-1"] {
                let reply = try await api.get("/api/agents?\(query)")
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.errorCode == "invalid_parameter")
            }
        }
    }

    /// The PRD's legacy fields still create a working agent, with a full model_config.
    @Test(arguments: [
        (#"{"preferred_model": "claude-sonnet-4-5", "temperature": 1.4, "max_tokens": 2000}"#,
         "claude-sonnet-4-5", "anthropic", 1.0, 2000),
        (#"{"preferred_model": "gpt-4o", "temperature": 0.2}"#, "gpt-4o", "openai", 0.2, nil),
        (#"{"preferred_model": "  meta-llama/Llama-3.1-8B-Instruct  "}"#, "meta-llama/Llama-3.1-8B-Instruct", "huggingface", 0.7, nil),
        (#"{"preferred_model": "o3"}"#, "o3", "openai", 1.0, nil),
        (#"{}"#, "gpt-4o-mini", "openai", 0.7, nil),
    ] as [(String, String, String, Double, Int?)])
    func legacyFieldsBecomeAFullModelConfig(fields: String, model: String, provider: String, temperature: Double, maxTokens: Int?) async throws {
        try await Registry.run { api in
            var body = fields
            body.removeLast()
            body += (fields == "{}" ? "" : ", ") + #""name": "Legacy", "agent_type": "assistant"}"#
            let reply = try await api.post("/api/agents", body)
            #expect(reply.status == .created, "\(reply)")
            let config = try #require(try reply.json()["model_config"])
            #expect(config["model_id"]?.string == model)
            #expect(config["provider"]?.string == provider)
            #expect(config["temperature"]?.double == temperature)
            #expect(config["max_tokens"]?.int == maxTokens)
            #expect(config["fallback_model_ids"]?.array == [])
            #expect(config["frequency_penalty"]?.double == 0)
            #expect(config["top_p"]?.isNull == true)
        }
    }

    @Test func legacyFieldsOnUpdateMergeIntoTheConfiguration() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "L", "agent_type": "chat", "preferred_model": "gpt-4o", "temperature": 0.5}"#)
            let reply = try await api.patch("/api/agents/\(id)", #"{"preferred_model": "claude-haiku-4-5"}"#)
            #expect(reply.status == .ok, "\(reply)")
            #expect(try reply.json()["model_config"]?["model_id"]?.string == "claude-haiku-4-5")
            #expect(try reply.json()["model_config"]?["temperature"]?.double == 0.5, "other legacy values carry over")
        }
    }

    /// Rows written by pre-Switchboard code (model_config NULL) read through the legacy mapping.
    @Test func agentsWithoutAStoredConfigReadThroughTheLegacyMapping() async throws {
        try await Registry.run { api in
            let rows = try await api.pool.query("""
                INSERT INTO agents (name, agent_type, preferred_model, temperature) VALUES ('Old', 'chat', 'claude-haiku-4-5', 1.8)
                RETURNING id
                """).rows
            let id = try #require(rows.first).decode("id", as: UUID.self).uuidString.lowercased()
            let agent = try await api.get("/api/agents/\(id)").json()
            #expect(agent["model_config_source"]?.string == "legacy")
            #expect(agent["model_config"]?["provider"]?.string == "anthropic")
            #expect(agent["model_config"]?["temperature"]?.double == 1, "clamped to Anthropic's range as the backfill does")
            let config = try await api.get("/api/agents/\(id)/model-config").json()
            #expect(config["source"]?.string == "legacy")
        }
    }

    // MARK: - model-config

    @Test func putsAndGetsTheModelConfigWithWarnings() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "Coder", "agent_type": "coder"}"#)
            let reply = try await api.put("/api/agents/\(id)/model-config", """
                {"model_id": "claude-opus-4-5", "temperature": 0.2, "max_tokens": 8000, "top_p": 0.9,
                 "frequency_penalty": 0.5, "fallback_model_id": "gpt-4"}
                """)
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            #expect(body["model_config"]?["fallback_model_ids"]?.array == [.string("gpt-4")], "the PRD's single fallback is a one-element chain")
            #expect(body["model_config"]?["provider"]?.string == "anthropic")
            let warnings = body["warnings"]?.array ?? []
            #expect(warnings.compactMap { $0["field"]?.string } == ["frequency_penalty", "fallback_model_ids[0]", "max_tokens"])
            #expect(warnings[1]["message"]?.string?.contains("gpt-5.6-sol") == true, "the deprecated fallback's successor is named")
            #expect(warnings[2]["message"]?.string?.contains("fallback 'gpt-4' (fallback_model_ids[0]) produces at most") == true,
                    "the fallback's own output limit")

            let fetched = try await api.get("/api/agents/\(id)/model-config").json()
            #expect(fetched["source"]?.string == "stored")
            #expect(fetched["model_config"] == body["model_config"])
            #expect(fetched["warnings"]?.array?.count == 3)
            let agent = try await api.get("/api/agents/\(id)").json()
            #expect(agent["preferred_model"]?.string == "claude-opus-4-5")
            #expect(agent["max_tokens"]?.int == 8000)
        }
    }

    /// Issue 3's validation rules, one row per case: the body and the fields the 400 must name.
    @Test(arguments: [
        (#"{"model_id": "no-such-model"}"#, ["model_id"]),
        (#"{"model_id": "gpt-4-turbo-preview"}"#, ["model_id"]),
        (#"{"model_id": "gpt-4o", "provider": "anthropic"}"#, ["provider"]),
        (#"{"model_id": "claude-haiku-4-5", "temperature": 1.5}"#, ["temperature"]),
        (#"{"model_id": "gpt-4o", "temperature": -0.1}"#, ["temperature"]),
        (#"{"model_id": "o3", "temperature": 0.5}"#, ["temperature"]),
        (#"{"model_id": "gpt-4o", "max_tokens": 0}"#, ["max_tokens"]),
        (#"{"model_id": "gpt-4o", "max_tokens": 16385}"#, ["max_tokens"]),
        (#"{"model_id": "gpt-4o", "top_p": 0}"#, ["top_p"]),
        (#"{"model_id": "gpt-4o", "top_p": 1.01}"#, ["top_p"]),
        (#"{"model_id": "gpt-4o", "frequency_penalty": 2.5}"#, ["frequency_penalty"]),
        (#"{"model_id": "gpt-4o", "presence_penalty": -3}"#, ["presence_penalty"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": ["gpt-4o"]}"#, ["fallback_model_ids[0]"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": ["gpt-4.1", "gpt-4.1"]}"#, ["fallback_model_ids[1]"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": ["nope"]}"#, ["fallback_model_ids[0]"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": ["claude-3-opus-20240229"]}"#, ["fallback_model_ids[0]"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": ["gpt-4.1", "gpt-4.1-mini", "o3", "claude-haiku-4-5", "claude-opus-4-5", "gpt-5"]}"#,
         ["fallback_model_ids"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": "gpt-4.1"}"#, ["fallback_model_ids"]),
        (#"{"model_id": "gpt-4o", "fallback_model_ids": [1]}"#, ["fallback_model_ids[0]"]),
        (#"{"model_id": "gpt-4o", "temperature": "warm"}"#, ["temperature"]),
        (#"{"model_id": "gpt-4o", "seed": 7}"#, ["seed"]),
        (#"{"temperature": 0.5}"#, ["model_id"]),
        (#"{"model_id": "gpt-4o", "fallback_model_id": "o3", "fallback_model_ids": ["gpt-4.1"]}"#, ["fallback_model_id"]),
        (#"{"model_id": "no-such-model", "temperature": 9, "top_p": 2, "fallback_model_ids": ["no-such-model"]}"#,
         ["model_id", "temperature", "top_p", "fallback_model_ids[0]"]),
    ])
    func modelConfigValidation(body: String, fields: [String]) async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "V", "agent_type": "chat"}"#)
            let reply = try await api.put("/api/agents/\(id)/model-config", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorCode == "validation_failed")
            #expect(reply.errorFields == fields, "\(reply)")
            #expect(reply.errorDetails.allSatisfy { !$0.message.isEmpty })
            // Nothing was stored.
            #expect(try await api.get("/api/agents/\(id)/model-config").json()["model_config"]?["model_id"]?.string == "gpt-4o-mini")
        }
    }

    @Test func deprecatedPrimaryIsAcceptedWithAWarningNamingTheSuccessor() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "D", "agent_type": "chat"}"#)
            let reply = try await api.put("/api/agents/\(id)/model-config", #"{"model_id": "claude-3-haiku-20240307"}"#)
            #expect(reply.status == .ok, "\(reply)")
            let warning = try #require(try reply.json()["warnings"]?.array?.first)
            #expect(warning["field"]?.string == "model_id")
            #expect(warning["message"]?.string?.contains("claude-haiku-4-5") == true)
        }
    }

    @Test func modelConfigOfAnUnknownAgentIs404() async throws {
        try await Registry.run { api async throws in
            let id = UUID().uuidString
            #expect(try await api.get("/api/agents/\(id)/model-config").status == .notFound)
            #expect(try await api.put("/api/agents/\(id)/model-config", #"{"model_id": "gpt-4o"}"#).status == .notFound)
            #expect(try await api.get("/api/agents/not-a-uuid").status == .notFound)
            #expect(try await api.patch("/api/agents/\(id)", #"{"name": "x"}"#).status == .notFound)
        }
    }

    @Test func deletingAnAgentWithJobsIs409() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "Busy", "agent_type": "chat"}"#)
            try await api.pool.execute("INSERT INTO llm_jobs (agent_id, request) VALUES (\(UUID(uuidString: id) ?? UUID()), '{}'::jsonb)")
            let reply = try await api.delete("/api/agents/\(id)")
            #expect(reply.status == .conflict)
            #expect(try reply.json()["error"]?["message"]?.string?.contains("archived") == true)
        }
    }

    // MARK: - Usage and recommendations

    /// The current model's effective status is judged on the injected clock's day, not the machine's.
    @Test func modelUsageJudgesDeprecationOnTheInjectedClock() async throws {
        let pinned = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
        try await Registry.run(now: pinned) { api in
            let id = try await api.createAgent(#"{"name": "C", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#)
            // Past for the machine, future for the pinned clock.
            try await api.pool.execute("UPDATE llm_models SET deprecation_date = '2026-06-01', status = 'active' WHERE model_id = 'gpt-4o'")
            let before = try await api.get("/api/agents/\(id)/model-usage").json()
            #expect(before["current_model"]?["status"]?.string == "active", "\(before)")
            try await api.pool.execute("UPDATE llm_models SET deprecation_date = '2025-12-31' WHERE model_id = 'gpt-4o'")
            let after = try await api.get("/api/agents/\(id)/model-usage").json()
            #expect(after["current_model"]?["status"]?.string == "deprecated", "\(after)")
        }
    }

    /// The endpoint reads the counters the worker maintains (agent_usage_daily), not raw rows.
    @Test func modelUsageHasThePRDShapeAndAPerModelBreakdown() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "U", "agent_type": "chat", "model_config": {"model_id": "gpt-4o", "fallback_model_ids": ["claude-haiku-4-5"]}}"#)
            let agentID = try #require(UUID(uuidString: id))
            try await api.pool.execute("""
                INSERT INTO agent_usage_daily (agent_id, day, provider, model_id, shard, requests, successes, errors, fallback_requests,
                                               input_tokens, output_tokens, priced_requests, cost, latency_ms_sum, last_used_at)
                VALUES (\(agentID), '2026-11-20', 'openai', 'gpt-4o', 0, 1, 1, 0, 0, 1000, 100, 1, 0.0035, 800, '2026-11-20T10:00:00Z'),
                       (\(agentID), '2026-11-20', 'openai', 'gpt-4o', 3, 1, 0, 1, 0, 0, 0, 0, 0, 50, '2026-11-20T11:00:00Z'),
                       (\(agentID), '2026-11-21', 'anthropic', 'claude-haiku-4-5', 1, 1, 1, 0, 1, 1000, 200, 1, 0.002, 600, '2026-11-21T09:00:00Z'),
                       (\(agentID), '2026-11-22', 'huggingface', 'meta-llama/Llama-3.1-8B-Instruct', 0, 1, 1, 0, 0, 10, 10, 0, 0, 90, '2026-11-22T08:00:00Z')
                """)
            // A raw attempt row alone does not count: the counters are the source.
            try await api.pool.execute("""
                INSERT INTO model_usage (agent_id, provider, model_id, outcome, input_tokens, output_tokens, cost, latency_ms, started_at, finished_at)
                VALUES (\(agentID), 'openai', 'gpt-4o', 'success', 5, 5, 1, 10, now(), now())
                """)
            let reply = try await api.get("/api/agents/\(id)/model-usage")
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            #expect(body["current_model"]?["model_id"]?.string == "gpt-4o")
            #expect(body["current_model"]?["in_catalog"]?.bool == true)
            #expect(body["configuration"]?["fallback_model_ids"]?.array == [.string("claude-haiku-4-5")])
            let stats = try #require(body["usage_stats"])
            #expect(stats["total_tokens"]?.int == 2320)
            #expect(stats["total_cost"]?.decimal == Decimal(string: "0.0055"))
            #expect(stats["total_requests"]?.int == 4)
            #expect(stats["avg_tokens_per_request"]?.decimal == Decimal(580))
            #expect(stats["last_used_at"]?.string == "2026-11-22T08:00:00.000Z")
            #expect(stats["unpriced_requests"]?.int == 2)
            #expect(stats["fallback_requests"]?.int == 1)
            let models = try #require(body["models"]?.array)
            #expect(models.compactMap { $0["model_id"]?.string } == ["gpt-4o", "claude-haiku-4-5", "meta-llama/Llama-3.1-8B-Instruct"])
            #expect(models.compactMap { $0["role"]?.string } == ["primary", "fallback", "not_configured"])
            #expect(models[0]["requests"]?.int == 2)
            #expect(models[0]["errors"]?.int == 1)
            #expect(models[0]["unpriced_requests"]?.int == 1)
            #expect(models[0]["cost"]?.decimal == Decimal(string: "0.0035"))
            #expect(models[0]["avg_latency_ms"]?.decimal == Decimal(425))
            #expect(models[0]["first_used_day"]?.string == "2026-11-20")
            #expect(models[2]["cost"]?.isNull == true, "unknown cost stays null")
            #expect(body["totals"]?["requests"]?.int == 4)
            #expect(body["totals"]?["cost"]?.decimal == Decimal(string: "0.0055"))
            #expect(body["totals"]?["unpriced_requests"]?.int == 2)

            // A window of UTC days, both ends included.
            let day = try await api.get("/api/agents/\(id)/model-usage?from=2026-11-21&to=2026-11-21").json()
            #expect(day["window"]?["from"]?.string == "2026-11-21")
            #expect(day["usage_stats"]?["total_requests"]?.int == 1)
            #expect(day["usage_stats"]?["total_cost"]?.decimal == Decimal(string: "0.002"))
            #expect(day["models"]?.array?.compactMap { $0["model_id"]?.string } == ["claude-haiku-4-5"])
            let unpriced = try await api.get("/api/agents/\(id)/model-usage?from=2026-11-22").json()
            #expect(unpriced["usage_stats"]?["total_requests"]?.int == 1)
            #expect(unpriced["usage_stats"]?["total_cost"]?.isNull == true)
            let before = try await api.get("/api/agents/\(id)/model-usage?to=2026-11-20").json()
            #expect(before["usage_stats"]?["total_requests"]?.int == 2)
            for bad in ["from=2026-13-01", "to=yesterday", "from=2026-11-22&to=2026-11-21"] {
                #expect(try await api.get("/api/agents/\(id)/model-usage?\(bad)").status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func modelUsageOfAnAgentWithoutCallsIsEmpty() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "Idle", "agent_type": "chat"}"#)
            let body = try await api.get("/api/agents/\(id)/model-usage").json()
            #expect(body["models"]?.array == [])
            #expect(body["totals"]?["cost"]?.isNull == true)
            #expect(body["usage_stats"]?["total_requests"]?.int == 0)
            #expect(body["usage_stats"]?["total_tokens"]?.int == 0)
            #expect(body["usage_stats"]?["total_cost"]?.isNull == true)
            #expect(body["usage_stats"]?["avg_tokens_per_request"]?.isNull == true)
            #expect(body["usage_stats"]?["last_used_at"]?.isNull == true)
        }
    }

    @Test func recommendsModelsForTheAgentsTypeAndSkills() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "R", "agent_type": "coder", "skills": ["code review"]}"#)
            let reply = try await api.get("/api/agents/\(id)/recommendations?limit=3")
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            #expect(body["task_types"]?.array?.contains { $0["task_type"]?.string == "coding" } == true)
            let list = try #require(body["recommendations"]?.array)
            #expect(list.count == 3)
            #expect(list.allSatisfy { !($0["reasons"]?.array ?? []).isEmpty })
            #expect(list.allSatisfy { ["active", "beta"].contains($0["model"]?["status"]?.string ?? "") })
            #expect(try await api.get("/api/agents/\(UUID().uuidString)/recommendations").status == .notFound)
            #expect(try await api.get("/api/agents/\(id)/recommendations?limit=0").status == .badRequest)
        }
    }
}
