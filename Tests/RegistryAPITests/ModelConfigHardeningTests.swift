import Foundation
import Postgres
import Testing
@testable import RegistryAPI

/// Legacy clients keep their configuration, every model of a chain is checked, a retire cannot
/// slip between check and write, and "today" comes from the injected clock.
@Suite struct ModelConfigHardeningTests {
    @Test func aLegacyPatchMergesIntoTheStoredConfiguration() async throws {
        // Models without a deprecation date: no lifecycle warning on any test day.
        try await Registry.run { api in
            let id = try await api.createAgent("""
                {"name": "N", "agent_type": "chat", "model_config": {"model_id": "gpt-6-luna", "temperature": 0.4, "top_p": 0.9,
                 "frequency_penalty": 0.5, "presence_penalty": 0.25, "fallback_model_ids": ["gpt-5.6-sol", "gpt-5.6-luna"]}}
                """)
            let reply = try await api.patch("/api/agents/\(id)", #"{"temperature": 0.3}"#)
            #expect(reply.status == .ok, "\(reply)")
            let config = try #require(try reply.json()["model_config"])
            #expect(config["temperature"]?.double == 0.3)
            #expect(config["fallback_model_ids"]?.array == [.string("gpt-5.6-sol"), .string("gpt-5.6-luna")], "fallbacks survive")
            #expect(config["top_p"]?.double == 0.9)
            #expect(config["frequency_penalty"]?.double == 0.5)
            #expect(config["presence_penalty"]?.double == 0.25)
            #expect(try reply.json()["warnings"]?.array == [])
            // A new legacy primary keeps the chain (without itself).
            let switched = try await api.patch("/api/agents/\(id)", #"{"preferred_model": "gpt-5.6-luna", "max_tokens": 500}"#).json()
            #expect(switched["model_config"]?["model_id"]?.string == "gpt-5.6-luna")
            #expect(switched["model_config"]?["fallback_model_ids"]?.array == [.string("gpt-5.6-sol")])
            #expect(switched["model_config"]?["max_tokens"]?.int == 500)
            #expect(switched["model_config"]?["top_p"]?.double == 0.9)
            #expect(switched["preferred_model"]?.string == "gpt-5.6-luna", "legacy columns mirror the config")
        }
    }

    @Test func aClampedLegacyTemperatureComesBackAsAWarning() async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/agents", #"{"name": "C", "agent_type": "chat", "preferred_model": "claude-sonnet-4-5", "temperature": 1.4}"#)
            #expect(reply.status == .created, "\(reply)")
            #expect(try reply.json()["model_config"]?["temperature"]?.double == 1)
            let warnings = reply.warnings
            #expect(warnings.filter { $0.field == "temperature" }.map(\.message) == [
                "temperature 1.4 is outside the range of model 'claude-sonnet-4-5'; stored as 1",
            ], "\(warnings)")
            // max_tokens 0 (legacy "default") becomes null, said so.
            let id = try #require(try reply.json()["id"]?.string)
            let zero = try await api.patch("/api/agents/\(id)", #"{"max_tokens": 0}"#)
            #expect(try zero.json()["model_config"]?["max_tokens"]?.isNull == true)
            #expect(zero.warnings.filter { $0.field == "max_tokens" }.count == 1, "\(zero.warnings)")
            // Beyond the model's limit is still refused, never clamped.
            let tooMany = try await api.patch("/api/agents/\(id)", #"{"max_tokens": 10000000}"#)
            #expect(tooMany.status == .badRequest)
            #expect(tooMany.errorFields == ["max_tokens"])
        }
    }

    @Test func aRetiredLegacyModelMapsToItsSuccessorWithAWarning() async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/agents", #"{"name": "O", "agent_type": "chat", "preferred_model": "claude-3-opus-20240229"}"#)
            #expect(reply.status == .created, "\(reply)")
            #expect(try reply.json()["model_config"]?["model_id"]?.string == "claude-opus-4-5")
            #expect(try reply.json()["model_config"]?["provider"]?.string == "anthropic")
            #expect(reply.warnings.map(\.field) == ["preferred_model"])
            #expect(reply.warnings.first?.message.contains("'claude-3-opus-20240229' is retired; the agent now uses its successor 'claude-opus-4-5'") == true)
            // A retired model without a successor is still an error naming the field.
            try await api.pool.execute("UPDATE llm_models SET successor_model_id = NULL WHERE model_id = 'claude-3-opus-20240229'")
            let none = try await api.post("/api/agents", #"{"name": "P", "agent_type": "chat", "preferred_model": "claude-3-opus-20240229"}"#)
            #expect(none.status == .badRequest)
            #expect(none.errorFields == ["preferred_model"])
        }
    }

    @Test func everyFallbackIsCheckedAgainstItsOwnLimits() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "F", "agent_type": "chat"}"#)
            try await api.pool.execute("UPDATE llm_providers SET enabled = false WHERE name = 'huggingface'")
            let reply = try await api.put("/api/agents/\(id)/model-config", """
                {"model_id": "gpt-4o", "temperature": 1.5, "max_tokens": 16000, "frequency_penalty": 0.5,
                 "fallback_model_ids": ["claude-haiku-4-5", "meta-llama/Llama-3.1-8B-Instruct"]}
                """)
            #expect(reply.status == .ok, "\(reply)")
            let warnings = reply.warnings
            #expect(warnings.contains { $0.field == "temperature" && $0.message.contains("fallback 'claude-haiku-4-5' (fallback_model_ids[0]) accepts temperature 0–1") })
            #expect(warnings.contains { $0.field == "frequency_penalty" && $0.message.contains("fallback 'claude-haiku-4-5'") })
            #expect(warnings.contains { $0.field == "fallback_model_ids[1]" && $0.message.contains("provider 'huggingface' is disabled") })
            #expect(warnings.contains { $0.field == "max_tokens" && $0.message.contains("fallback 'meta-llama/Llama-3.1-8B-Instruct'") }, "\(warnings)")
            // The primary's own limits stay errors.
            let primary = try await api.put("/api/agents/\(id)/model-config", #"{"model_id": "claude-haiku-4-5", "temperature": 1.5, "fallback_model_ids": ["gpt-4o"]}"#)
            #expect(primary.status == .badRequest)
            #expect(primary.errorFields == ["temperature"])
            // Six fallbacks are refused by the schema, before any lookup.
            let six = try await api.put("/api/agents/\(id)/model-config", #"{"model_id": "gpt-4o", "fallback_model_ids": ["a", "b", "c", "d", "e", "f"]}"#)
            #expect(six.errorFields == ["fallback_model_ids"])
            #expect(six.errorDetails.first?.message.contains("at most 5 items") == true)
        }
    }

    /// PUT model-config holds its chain's models FOR SHARE: a retire that already locked the
    /// model makes the PUT wait, and the PUT then sees the model retired instead of writing a
    /// configuration that names a retired model.
    @Test func aConcurrentRetireCannotSlipBetweenCheckAndWrite() async throws {
        try await Registry.run { api in
            let id = try await api.createAgent(#"{"name": "R", "agent_type": "chat"}"#)
            let blocker = try await api.pool.withConnection { connection in
                try await connection.execute("BEGIN")
                try await connection.query("SELECT model_id FROM llm_models WHERE model_id = 'gpt-4.1' FOR UPDATE")
                let put = Task { try await api.put("/api/agents/\(id)/model-config", #"{"model_id": "gpt-4.1"}"#) }
                // Wait (bounded) until the PUT is blocked on the row lock.
                var waiting = false
                for _ in 0..<600 where !waiting {
                    waiting = try await api.pool.query("""
                        SELECT count(*) AS waiting FROM pg_stat_activity
                         WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR SHARE%'
                        """).rows.first?.decode("waiting", as: Int.self) ?? 0 > 0
                    if !waiting { try await Task.sleep(for: .milliseconds(50)) }
                }
                try await connection.execute("UPDATE llm_models SET status = 'retired' WHERE model_id = 'gpt-4.1'")
                try await connection.execute("COMMIT")
                return (waiting, try await put.value)
            }
            #expect(blocker.0, "the PUT waited for the retire's lock")
            let reply = blocker.1
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorFields == ["model_id"])
            #expect(try await api.get("/api/agents/\(id)").json()["model_config"]?["model_id"]?.string == "gpt-4o-mini")
        }
    }

    /// "Today" is the injected clock: gpt-4.1's seeded deprecation date (2027-01-14) decides the
    /// warning, not the machine's date. Both days are pinned here (gpt-4o shares the date).
    @Test func deprecationIsJudgedOnTheInjectedClock() async throws {
        let body = #"{"name": "D", "agent_type": "chat", "model_config": {"model_id": "claude-opus-4-5", "fallback_model_ids": ["gpt-4.1"]}}"#
        let before = Date(timeIntervalSince1970: 1_799_841_600)  // 2027-01-13T12:00:00Z
        try await Registry.run(now: before) { api in
            let reply = try await api.post("/api/agents", body)
            #expect(reply.warnings.isEmpty, "\(reply)")
            #expect(try await api.get("/api/models/gpt-4.1").json()["effective_status"]?.string == "active")
        }
        let later = Date(timeIntervalSince1970: 1_801_094_400)  // 2027-01-28
        try await Registry.run(now: later) { api in
            let reply = try await api.post("/api/agents", body)
            #expect(reply.warnings.contains { $0.field == "model_config.fallback_model_ids[0]" && $0.message.contains("'gpt-4.1' is deprecated (since 2027-01-14)") },
                    "\(reply)")
            #expect(try await api.get("/api/models/gpt-4.1").json()["effective_status"]?.string == "deprecated")
        }
    }
}

extension Reply {
    /// `warnings` of an agent or model-config reply.
    var warnings: [(field: String, message: String)] {
        ((try? json())?["warnings"]?.array ?? []).map { ($0["field"]?.string ?? "", $0["message"]?.string ?? "") }
    }
}
