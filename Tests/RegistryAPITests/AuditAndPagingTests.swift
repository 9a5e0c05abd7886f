import Foundation
import HTTPTypes
import JSON
import Postgres
@testable import RegistryAPI
import Testing

/// Exact or refused numbers, the config_changes audit trail, bounded inputs, paging, 405.
@Suite struct AuditAndPagingTests {
    // MARK: - Exact or refused

    @Test func anOverlargePriceIsRefusedOnCreateAndPatchNeverStoredAsZero() async throws {
        try await Registry.run { api in
            for price in ["1e200", "-1e-200", "1e-200", "\"1e200\"", "12345678901234567890123456789012345678901", "1e400"] {
                let created = try await api.post("/api/models", """
                    {"provider": "openai", "model_id": "m-\(UUID().uuidString.prefix(8))", "display_name": "M", "input_cost_per_1k": \(price)}
                    """)
                #expect(created.status == .badRequest, "POST \(price): \(created)")
                #expect(created.errorFields == ["input_cost_per_1k"], "\(created)")
                let patched = try await api.patch("/api/models/gpt-4o", #"{"input_cost_per_1k": \#(price)}"#)
                #expect(patched.status == .badRequest, "PATCH \(price): \(patched)")
                #expect(patched.errorFields == ["input_cost_per_1k"])
            }
            #expect(try await api.get("/api/models/gpt-4o").json()["input_cost_per_1k"]?.decimal == Decimal(string: "0.0025"))
            // Other numbers too: a field-level 400, not "not valid JSON" on `body`.
            let maxCost = try await api.post("/api/models/recommend", #"{"max_cost": 1e200}"#)
            #expect(maxCost.errorFields == ["max_cost"], "\(maxCost)")
            let temperature = try await api.post("/api/agents", #"{"name": "T", "agent_type": "t", "temperature": 1e999}"#)
            #expect(temperature.errorFields == ["temperature"], "\(temperature)")
        }
    }

    @Test func pricesMayBeSentAsDecimalStringsAndStayExact() async throws {
        try await Registry.run { api in
            let patched = try await api.patch("/api/models/gpt-4o", #"{"input_cost_per_1k": "0.00012345678901234567890123456789"}"#)
            #expect(patched.status == .ok, "\(patched)")
            let text = try await api.pool.query("SELECT input_cost_per_1k::text AS price FROM llm_models WHERE model_id = 'gpt-4o'")
                .rows.first?.decode("price", as: String.self)
            #expect(text == "0.00012345678901234567890123456789")
            #expect(try await api.patch("/api/models/gpt-4o", #"{"input_cost_per_1k": "cheap"}"#).errorFields == ["input_cost_per_1k"])
            let document = try await api.get("/openapi.json").json()
            let price = document["components"]?["schemas"]?["ModelCreate"]?["properties"]?["input_cost_per_1k"]
            #expect(price?["format"]?.string == "decimal")
            #expect(price?["type"]?.array == [.string("string"), .string("number"), .string("null")])
        }
    }

    // MARK: - Bounded inputs

    @Test func stringsAndArraysAreBounded() async throws {
        try await Registry.run { api in
            let long = String(repeating: "n", count: 201)
            let reply = try await api.post("/api/agents", #"{"name": "\#(long)", "agent_type": "a", "skills": [\#(Array(repeating: "\"s\"", count: 51).joined(separator: ","))]}"#)
            #expect(reply.status == .badRequest)
            #expect(reply.errorFields == ["name", "skills"], "\(reply)")
            // Every string and array in the document has a bound.
            let document = try await api.get("/openapi.json").json()
            var unbounded: [String] = []
            Self.visit(document["components"]?["schemas"] ?? .null, path: "") { path, schema in
                let types = schema["type"]?.array?.compactMap(\.string) ?? [schema["type"]?.string].compactMap { $0 }
                if types.contains("string"), schema["enum"] == nil, schema["maxLength"] == nil, schema["format"]?.string != "decimal" {
                    unbounded.append(path)
                }
                if types.contains("array"), schema["maxItems"] == nil { unbounded.append(path) }
            }
            #expect(unbounded.isEmpty, "\(unbounded)")
        }
    }

    static func visit(_ value: JSONValue, path: String, _ body: (String, JSONValue) -> Void) {
        switch value {
        case .object(let members):
            if members.contains(where: { $0.key == "type" }) { body(path, value) }
            for member in members { visit(member.value, path: "\(path)/\(member.key)", body) }
        case .array(let items):
            for (index, item) in items.enumerated() { visit(item, path: "\(path)[\(index)]", body) }
        default:
            break
        }
    }

    // MARK: - Paging

    @Test func modelsArePagedWithACursorAndATotal() async throws {
        try await Registry.run { api in
            let all = try await api.get("/api/models?limit=500").json()
            let total = try #require(all["total"]?.int)
            let everyID = all["models"]?.array?.compactMap { $0["model_id"]?.string } ?? []
            #expect(everyID.count == total && total > 20)
            #expect(all["next_cursor"]?.isNull == true)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.get("/api/models?limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")).json()
                #expect(page["total"]?.int == total)
                seen += page["models"]?.array?.compactMap { $0["model_id"]?.string } ?? []
                #expect(page["count"]?.int ?? 0 <= 7)
                cursor = page["next_cursor"]?.string
            } while cursor != nil && seen.count <= total
            #expect(seen == everyID, "pages walk the catalog in order, once")
            // Filters run in SQL, and the total follows them.
            let anthropic = try await api.get("/api/models?provider=anthropic&limit=2").json()
            let anthropicAll = try await api.get("/api/models?provider=anthropic&limit=500").json()
            #expect(anthropic["total"]?.int == anthropicAll["models"]?.array?.count)
            #expect(anthropic["models"]?.array?.count == 2)
            let deprecated = try await api.get("/api/models?status=deprecated&limit=500").json()
            #expect(deprecated["models"]?.array?.allSatisfy { $0["effective_status"]?.string == "deprecated" } == true)
            #expect((deprecated["total"]?.int ?? 0) > 0)
            #expect(try await api.get("/api/models?cursor=garbage").errorFields == ["cursor"])
            #expect(try await api.get("/api/models?limit=501").errorFields == ["limit"])
        }
    }

    @Test func theAgentListHasATotal() async throws {
        try await Registry.run { api in
            for index in 0..<5 { _ = try await api.createAgent(#"{"name": "A\#(index)", "agent_type": "chat"}"#) }
            let page = try await api.get("/api/agents?limit=2&offset=2").json()
            #expect(page["count"]?.int == 2)
            #expect(page["total"]?.int == 5)
            #expect(page["agents"]?.array?.compactMap { $0["name"]?.string } == ["A2", "A3"])
        }
    }

    // MARK: - Audit trail

    @Test func everyWriteLeavesAnAuditRow() async throws {
        try await Registry.run(token: "w-token", providerPolicy: .groqBound) { api in
            func send(_ method: HTTPRequest.Method, _ path: String, _ body: String?, id: String) async throws -> Reply {
                try await api.send(method, path, json: body, headers: [RequestIDMiddleware.header: id])
            }
            let created = try await send(.post, "/api/agents", #"{"name": "Audited", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#, id: "req-1")
            #expect(created.headers[RequestIDMiddleware.header] == "req-1")
            let agentID = try #require(try created.json()["id"]?.string)
            _ = try await send(.put, "/api/agents/\(agentID)/model-config", #"{"model_id": "gpt-4.1", "fallback_model_ids": ["gpt-4o"]}"#, id: "req-2")
            _ = try await send(.patch, "/api/agents/\(agentID)", #"{"temperature": 0.2}"#, id: "req-3")
            _ = try await send(.patch, "/api/agents/\(agentID)", #"{"description": "not config"}"#, id: "req-4")
            _ = try await send(.post, "/api/models", ModelEndpointTests.newModel, id: "req-5")
            _ = try await send(.patch, "/api/models/gpt-4o-mini", #"{"description": "d"}"#, id: "req-6")
            _ = try await send(.post, "/api/models/Qwen/Qwen2.5-72B-Instruct/retire", nil, id: "req-7")
            _ = try await send(.post, "/api/providers", #"{"name": "groq", "api_style": "openai", "base_url": "https://api.groq.com/openai", "api_key_env": "GROQ_API_KEY"}"#, id: "req-8")
            _ = try await send(.patch, "/api/providers/groq", #"{"base_url": "https://api.groq.com/v2"}"#, id: "req-9")
            #expect(try await send(.delete, "/api/agents/\(agentID)", nil, id: "req-10").status == .noContent)

            // Rows the migrations themselves wrote (0018, token_kind 'migration') are not this test's.
            let rows = try await api.pool.query("""
                SELECT entity, entity_id, action, changed_fields, token_kind, client_request_id, request_id FROM config_changes
                 WHERE token_kind <> 'migration' ORDER BY id
                """).rows.map { row in
                // The server's own id is always there, beside the one the client chose.
                let server = try row.decode("request_id", as: String?.self) ?? ""
                return "\(try row.decode("entity", as: String.self)) \(try row.decode("action", as: String.self)) "
                    + "\(try row.decode("client_request_id", as: String?.self) ?? "-") \(try row.decode("token_kind", as: String.self))"
                    + (server.isEmpty || server.hasPrefix("req-") ? " no-server-id" : "")
            }
            #expect(rows == [
                "agent create req-1 write_token", "agent update req-2 write_token", "agent update req-3 write_token",
                "model create req-5 write_token", "model update req-6 write_token", "model update req-7 write_token",
                "provider create req-8 write_token", "provider update req-9 write_token", "agent delete req-10 write_token",
            ], "\(rows)")

            // Who changed this agent's model, and when: one SQL query.
            let history = try await api.pool.query("""
                SELECT before -> 'model_config' ->> 'model_id' AS from_model, after -> 'model_config' ->> 'model_id' AS to_model,
                       client_request_id, changed_at
                  FROM config_changes
                 WHERE entity = 'agent' AND entity_id = \(agentID) AND 'model_config' = ANY (changed_fields)
                 ORDER BY id
                """).rows
            // create, PUT, legacy PATCH (temperature inside model_config), delete
            #expect(try history.map { try $0.decode("from_model", as: String?.self) } == [nil, "gpt-4o", "gpt-4.1", "gpt-4.1"])
            #expect(try history.map { try $0.decode("to_model", as: String?.self) } == ["gpt-4o", "gpt-4.1", "gpt-4.1", nil])
            #expect(try history.map { try $0.decode("client_request_id", as: String?.self) } == ["req-1", "req-2", "req-3", "req-10"])

            // Through the API, per agent (its trail outlives it) and by entity, paged.
            let trail = try await api.get("/api/agents/\(agentID)/changes").json()
            #expect(trail["changes"]?.array?.compactMap { $0["action"]?.string } == ["delete", "update", "update", "create"])
            let put = try #require(trail["changes"]?[2])
            #expect(put["before"]?["model_config"]?["model_id"]?.string == "gpt-4o")
            #expect(put["after"]?["model_config"]?["fallback_model_ids"]?.array == [.string("gpt-4o")])
            #expect(put["changed_fields"]?.array?.contains(.string("model_config")) == true)
            let providers = try await api.get("/api/changes?entity=provider").json()
            let providerChange = try #require(providers["changes"]?[0])
            #expect(providerChange["changed_fields"]?.array == [.string("base_url")])
            #expect(providerChange["before"]?["base_url"]?.string == "https://api.groq.com/openai")
            let first = try await api.get("/api/changes?limit=4").json()
            let cursor = try #require(first["next_cursor"]?.string)
            let second = try await api.get("/api/changes?limit=4&cursor=\(cursor)").json()
            let ids = (first["changes"]?.array ?? []) + (second["changes"]?.array ?? [])
            #expect(Set(ids.compactMap { $0["id"]?.int }).count == 8)
            #expect(try await api.get("/api/changes?entity=jobs").errorFields == ["entity"])
        }
    }

    @Test func writesWithoutTheAPIAreRecordedAsDatabase() async throws {
        try await Registry.run(token: nil) { api in
            try await api.pool.execute("UPDATE llm_providers SET enabled = false WHERE name = 'huggingface'")
            let id = try await api.createAgent(#"{"name": "U", "agent_type": "chat"}"#)
            try await api.pool.execute("UPDATE agents SET model_usage_stats = '{\"x\": {\"requests\": 1}}' WHERE id = \(UUID(uuidString: id) ?? UUID())")
            let rows = try await api.pool.query("SELECT entity, token_kind FROM config_changes WHERE token_kind <> 'migration' ORDER BY id").rows.map {
                "\(try $0.decode("entity", as: String.self)) \(try $0.decode("token_kind", as: String.self))"
            }
            // The usage counters the gateway writes are not configuration.
            #expect(rows == ["provider database", "agent unauthenticated"])
        }
    }

    // MARK: - Protocol

    @Test func aWrongMethodIs405WithAllow() async throws {
        try await Registry.run { api in
            let reply = try await api.send(.delete, "/api/models")
            #expect(reply.status == .methodNotAllowed)
            #expect(reply.headers[.allow] == "GET, POST")
            #expect(reply.errorCode == "method_not_allowed")
            let retire = try await api.send(.get, "/api/models/gpt-4o/retire")
            #expect(retire.status == .methodNotAllowed)
            #expect(retire.headers[.allow] == "POST")
            #expect(try await api.send(.post, "/healthz").headers[.allow] == "GET")
        }
    }

    @Test func errorsNameNoConstraintsOrPaths() async throws {
        try await Registry.run { api in
            // A provider name that only the database's uniqueness check catches (two creates racing is the
            // real case; here the second create is simply refused the same way).
            _ = try await api.post("/api/providers", #"{"name": "dup", "api_style": "openai", "base_url": "https://a.example"}"#)
            let again = try await api.post("/api/providers", #"{"name": "dup", "api_style": "openai", "base_url": "https://a.example"}"#)
            #expect(again.status == .conflict)
            #expect(!again.text.contains("pkey") && !again.text.contains("_check"))
            let document = try await api.get("/openapi.json").json()
            #expect(document["components"]?["responses"]?["ServiceUnavailable"] != nil)
            #expect(document["paths"]?["/api/models"]?["get"]?["responses"]?["503"] != nil)
        }
    }

    @Test func recommendationsSkipDisabledProvidersAndCollapseSnapshots() async throws {
        try await Registry.run { api in
            _ = try await api.post("/api/models", """
                {"provider": "openai", "model_id": "gpt-4o-2099-01-01", "display_name": "GPT-4o snapshot", "context_window": 128000,
                 "input_cost_per_1k": 0.0001, "output_cost_per_1k": 0.0001, "capabilities": ["chat"], "recommended_for": ["chat"]}
                """)
            let before = try await api.post("/api/models/recommend?limit=50", #"{"task_type": "chat"}"#).json()
            let ids = before["recommendations"]?.array?.compactMap { $0["model"]?["model_id"]?.string } ?? []
            #expect(!ids.contains("gpt-4o-2099-01-01"), "the snapshot collapses into gpt-4o")
            #expect(ids.contains { $0.hasPrefix("claude") })
            try await api.pool.execute("UPDATE llm_providers SET enabled = false WHERE name = 'anthropic'")
            let after = try await api.post("/api/models/recommend?limit=50", #"{"task_type": "chat"}"#).json()
            let afterIDs = after["recommendations"]?.array?.compactMap { $0["model"]?["model_id"]?.string } ?? []
            #expect(!afterIDs.isEmpty && !afterIDs.contains { $0.hasPrefix("claude") }, "\(afterIDs)")
        }
    }
}

extension AuditAndPagingTests {
    @Test func queryParametersAreBoundedToo() async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models?q=" + String(repeating: "a", count: 257))
            #expect(reply.status == .badRequest)
            #expect(reply.errorFields == ["q"])
            #expect(try await api.get("/api/models?q=" + String(repeating: "a", count: 256)).status == .ok)
        }
    }

    /// Review #13: an agent written by pre-Switchboard code (no model_config) is found by model.
    @Test func legacyRowsAreFoundByModelAndReadWithTheCatalogsProvider() async throws {
        try await Registry.run { api in
            let rows = try await api.pool.query("""
                INSERT INTO agents (name, agent_type, preferred_model) VALUES ('Old HF', 'chat', 'meta-llama/Llama-3.1-8B-Instruct')
                RETURNING id
                """).rows
            let id = try #require(rows.first).decode("id", as: UUID.self).uuidString.lowercased()
            let list = try await api.get("/api/agents?model_id=meta-llama/Llama-3.1-8B-Instruct").json()
            #expect(list["agents"]?.array?.compactMap { $0["id"]?.string } == [id])
            let config = try await api.get("/api/agents/\(id)/model-config").json()
            #expect(config["model_config"]?["provider"]?.string == "huggingface")
            #expect(config["warnings"]?.array?.contains { $0["field"]?.string == "provider" } == false, "\(config)")
        }
    }
}
