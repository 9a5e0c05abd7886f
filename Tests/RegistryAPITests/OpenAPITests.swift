import JSON
import Catalog
import Foundation
import Hummingbird
import Logging
import Postgres
import Testing
@testable import RegistryAPI
import Storage
import TestSupport

/// `/openapi.json` must describe exactly the routes the router serves, and the shapes it answers.
@Suite struct OpenAPITests {
    /// Fails when a route is registered without documentation or documented without being served.
    @Test func documentAndRouterAgree() async throws {
        try await Registry.run { api in
            let document = try await api.get("/openapi.json").json()
            #expect(document["openapi"]?.string == "3.1.0")
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            var documented: Set<String> = []
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                for (method, operation) in operations {
                    // `{name}` becomes the router's capture, except catch-all parameters (x-catch-all).
                    #expect((operation["parameters"]?.array ?? []).allSatisfy { $0["allowReserved"] == nil || $0["in"]?.string == "query" },
                            "allowReserved is for query parameters only: \(method) \(path)")
                    let catchAll = Set((operation["parameters"]?.array ?? []).filter { $0["x-catch-all"]?.bool == true }
                        .compactMap { $0["name"]?.string })
                    let routerPath = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
                        let name = segment.dropFirst().dropLast()
                        return segment.hasPrefix("{") && catchAll.contains(String(name)) ? "**" : String(segment)
                    }.joined(separator: "/")
                    documented.insert("\(method.uppercased()) \(routerPath)")
                    // Every path parameter of the template is declared.
                    let declared = Set((operation["parameters"]?.array ?? []).filter { $0["in"]?.string == "path" }.compactMap { $0["name"]?.string })
                    let inTemplate = Set(path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
                    #expect(declared == inTemplate, "\(method) \(path)")
                }
            }
            let router = buildRouter(configuration: RegistryConfiguration(), pool: api.pool, logger: Logger(label: "openapi-test"))
            let allServed = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
            // Other methods on a documented path are registered too, to answer 405 with Allow.
            let documentedPaths = Set(documented.map { $0.split(separator: " ", maxSplits: 1)[1] })
            let methodNotAllowed = allServed.subtracting(documented)
            #expect(methodNotAllowed.allSatisfy { documentedPaths.contains($0.split(separator: " ", maxSplits: 1)[1]) }, "\(methodNotAllowed)")
            let served = allServed.subtracting(methodNotAllowed)
            #expect(served == documented, "served but undocumented: \(served.subtracting(documented)); documented but not served: \(documented.subtracting(served))")
            #expect(served.count >= 26)
        }
    }

    @Test func everyOperationDocumentsItsErrorsAndAuth() async throws {
        try await Registry.run { api in
            let document = try await api.get("/openapi.json").json()
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths in /openapi.json")
                return
            }
            var operationIDs: Set<String> = []
            for (path, item) in paths {
                for (method, operation) in (item.keys.map { ($0, item[$0] ?? .null) }) {
                    let id = try #require(operation["operationId"]?.string)
                    #expect(operationIDs.insert(id).inserted, "duplicate operationId \(id)")
                    let responses = operation["responses"]?.keys ?? []
                    #expect(responses.contains("500"), "\(method) \(path)")
                    if path.hasPrefix("/api/") {
                        #expect(responses.contains("401"), "\(method) \(path)")
                        #expect(operation["security"] != nil, "\(method) \(path)")
                    }
                    if operation["requestBody"] != nil {
                        #expect(responses.contains("400") && responses.contains("413"), "\(method) \(path)")
                    }
                    if path.contains("{") { #expect(responses.contains("404"), "\(method) \(path)") }
                    // A query value the route cannot read is a 400 (found by the API fuzzer on retire's `force`).
                    let parameters = operation["parameters"]?.array ?? []
                    if parameters.contains(where: { $0["in"]?.string == "query" }) {
                        #expect(responses.contains("400"), "\(method) \(path)")
                    }
                }
            }
            // Every $ref points at a schema or response that exists.
            let schemas = Set(document["components"]?["schemas"]?.keys ?? [])
            let responses = Set(document["components"]?["responses"]?.keys ?? [])
            for reference in Self.references(in: document) {
                if reference.hasPrefix("#/components/schemas/") {
                    #expect(schemas.contains(String(reference.dropFirst("#/components/schemas/".count))), "\(reference)")
                } else {
                    #expect(responses.contains(String(reference.dropFirst("#/components/responses/".count))), "\(reference)")
                }
            }
        }
    }

    /// The request schemas are the Catalog types' accepted keys, no more and no fewer.
    @Test func requestSchemasMatchTheDomainTypes() {
        let components = APISchemas.components
        #expect(Set(JSONSchema.ref("ModelConfigurationInput").propertyNames(in: components))
            == ModelConfiguration.acceptedJSONKeys)
        #expect(Set(JSONSchema.ref("RecommendationRequest").propertyNames(in: components))
            == RecommendationRequirements.acceptedJSONKeys)
        #expect(Set(JSONSchema.ref("Model").propertyNames(in: components))
            == Set(LLMModel.CodingKeys.allCases.map { $0.rawValue }).union(["effective_status", "locally_edited_fields"]))
    }

    /// Real responses have the documented shapes (the documents' response schemas are closed
    /// objects, so an undocumented field fails here too).
    @Test func responsesMatchTheirDocumentedSchemas() async throws {
        try await Registry.run(providerPolicy: .groqBound) { api in
            let agentID = try await api.createAgent(#"{"name": "S", "agent_type": "coder", "model_config": {"model_id": "gpt-4o", "fallback_model_ids": ["claude-haiku-4-5"]}}"#)
            try await api.pool.execute("""
                INSERT INTO model_usage (agent_id, provider, model_id, outcome, input_tokens, output_tokens, cost, latency_ms, started_at, finished_at)
                VALUES (\(UUID(uuidString: agentID) ?? UUID()), 'openai', 'gpt-4o', 'success', 10, 5, 0.0001, 100, now(), now())
                """)
            let job = try await api.post("/api/jobs", #"{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}], "idempotency_key": "o-1"}"#)
            let jobID = try #require(try job.json()["id"]?.int)
            let finished = try await api.post("/api/jobs", #"{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}"#)
            let finishedID = Int64(try #require(try finished.json()["id"]?.int))
            try await Worker.claim(api.pool, finishedID)
            try await api.pool.execute("""
                INSERT INTO model_usage (job_id, agent_id, provider, model_id, outcome, error_class, http_status, latency_ms, started_at, finished_at)
                VALUES (\(finishedID), \(UUID(uuidString: agentID) ?? UUID()), 'openai', 'gpt-4o', 'error', 'server_error', 500, 30, now(), now())
                """)
            try await api.pool.execute("""
                UPDATE llm_jobs SET status = 'failed', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                       error = '{"code": "max_attempts_exceeded", "message": "every model failed",
                                 "attempts": [{"job_attempt": 1, "model": "gpt-4o", "provider": "openai", "fallback_depth": 0, "outcome": "error",
                                               "error_class": "server_error", "http_status": 500, "message": "boom", "latency_ms": 30,
                                               "started_at": "2026-11-30T00:00:00Z"}],
                                 "skipped": [{"model": "claude-haiku-4-5", "provider": "anthropic", "reason": "missing_credentials"}]}'::jsonb
                 WHERE id = \(finishedID)
                """)
            let succeeded = try await api.post("/api/jobs", #"{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}"#)
            let succeededID = Int64(try #require(try succeeded.json()["id"]?.int))
            try await Worker.claim(api.pool, succeededID)
            try await Worker.succeed(api.pool, [succeededID])
            let execution = try await api.post("/api/executions", #"{"workflow_name": "w", "steps": [{"step": "s", "agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}]}"#)
            let executionID = try #require(try execution.json()["id"]?.string)
            let cases: [(String, String, String?, String)] = [
                ("GET", "/api/models", nil, "ModelList"),
                ("GET", "/api/models/meta-llama/Llama-3.1-8B-Instruct", nil, "Model"),
                ("GET", "/api/models/providers", nil, "ProvidersView"),
                ("GET", "/api/models/compare?ids=gpt-4o,o3", nil, "Comparison"),
                ("POST", "/api/models/estimate-cost", #"{"model_id": "gpt-4o", "input_tokens": 5, "output_tokens": 5}"#, "CostEstimate"),
                ("POST", "/api/models/recommend", #"{"task_type": "chat"}"#, "RecommendationList"),
                ("POST", "/api/models", ModelEndpointTests.newModel, "Model"),
                ("PATCH", "/api/models/gpt-4o", #"{"description": "x"}"#, "Model"),
                ("POST", "/api/models/Qwen/Qwen2.5-72B-Instruct/retire", nil, "RetireResult"),
                ("GET", "/api/providers", nil, "ProviderList"),
                ("GET", "/api/providers/openai", nil, "Provider"),
                ("PATCH", "/api/providers/openai", #"{"request_timeout_seconds": 60}"#, "Provider"),
                ("POST", "/api/providers", #"{"name": "groq", "api_style": "openai", "base_url": "https://api.groq.com/openai", "api_key_env": "GROQ_API_KEY"}"#, "Provider"),
                ("GET", "/api/agents", nil, "AgentList"),
                ("GET", "/api/agents/\(agentID)", nil, "Agent"),
                ("PATCH", "/api/agents/\(agentID)", #"{"skills": ["python"]}"#, "Agent"),
                ("GET", "/api/agents/\(agentID)/model-config", nil, "AgentModelConfig"),
                ("PUT", "/api/agents/\(agentID)/model-config", #"{"model_id": "gpt-4.1"}"#, "AgentModelConfig"),
                ("GET", "/api/agents/\(agentID)/model-usage", nil, "AgentModelUsage"),
                ("GET", "/api/agents/\(agentID)/recommendations", nil, "AgentRecommendations"),
                ("POST", "/api/models/import", #"{"gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06}}"#, "ImportReport"),
                ("GET", "/api/changes", nil, "ConfigChangeList"),
                ("GET", "/api/changes?entity=agent&limit=1", nil, "ConfigChangeList"),
                ("GET", "/api/agents/\(agentID)/changes", nil, "ConfigChangeList"),
                ("POST", "/api/jobs", #"{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}], "idempotency_key": "o-1"}"#, "Job"),
                ("POST", "/api/jobs/batch", #"{"jobs": [{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}]}"#, "JobBatch"),
                ("GET", "/api/jobs/\(jobID)", nil, "Job"),
                ("GET", "/api/jobs/\(finishedID)?wait=1", nil, "Job"),
                ("GET", "/api/jobs/\(succeededID)", nil, "Job"),
                ("GET", "/api/jobs", nil, "JobList"),
                ("GET", "/api/jobs?include=result&limit=2", nil, "JobList"),
                ("POST", "/api/executions", #"{"workflow_name": "w2", "metadata": {"a": 1}, "steps": [{"step": "s", "agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}]}"#, "Execution"),
                ("GET", "/api/executions/\(executionID)", nil, "Execution"),
                ("GET", "/api/executions", nil, "ExecutionList"),
                ("GET", "/api/agents/\(agentID)/model-usage?from=2026-01-01", nil, "AgentModelUsage"),
                ("POST", "/api/jobs/\(jobID)/cancel", nil, "Job"),
                ("POST", "/api/jobs/\(jobID)/cancel", nil, "Error"),
                ("POST", "/api/jobs", #"{"agent_id": "\#(agentID)", "messages": []}"#, "Error"),
                ("GET", "/healthz", nil, "Health"),
                ("GET", "/readyz", nil, "Readiness"),
                ("GET", "/api/models/nope", nil, "Error"),
                ("POST", "/api/agents", #"{"name": 1}"#, "Error"),
            ]
            for (method, path, body, schema) in cases {
                let reply = try await api.send(.init(method) ?? .get, path, json: body)
                #expect(reply.status.code < 500, "\(method) \(path): \(reply)")
                let violations = JSONSchema.ref(schema).violations(of: try reply.json(), components: APISchemas.components)
                #expect(violations.isEmpty, "\(method) \(path) vs \(schema): \(violations)")
            }
        }
    }

    static func references(in value: JSONValue) -> [String] {
        switch value {
        case .object(let members):
            return members.flatMap { member -> [String] in
                if member.key == "$ref", case .string(let target) = member.value { return [target] }
                return references(in: member.value)
            }
        case .array(let items): return items.flatMap(references(in:))
        default: return []
        }
    }
}
