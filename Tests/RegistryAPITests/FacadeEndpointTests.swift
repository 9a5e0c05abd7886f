import Foundation
import HTTPTypes
import JSON
import Postgres
@testable import RegistryAPI
import Storage
import Testing

/// `/v1` over HTTP against a real database: calls become jobs through the jobs API's enqueue path,
/// wait on the shared listener, and answer in the caller's format. The worker's part (claim,
/// complete, notify) is played as the gateway contract specifies (`Worker`).
@Suite struct FacadeEndpointTests {
    static let token = "v1-test-token"

    static func headers(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { if let name = HTTPField.Name(name) { fields[name] = value } }
        return fields
    }

    /// Sends a `/v1` call in the background, plays the worker for the job it creates, and returns
    /// the reply and the job's stored request.
    static func call(
        _ api: Registry, _ path: String, _ body: String, headers: [(String, String)] = [],
        complete: @escaping @Sendable (PostgresPool, Int64) async throws -> Void = { pool, id in
            try await Worker.claim(pool, id)
            try await Worker.succeed(pool, [id])
        }
    ) async throws -> (reply: Reply, jobID: Int64, request: JSONValue) {
        let before = try await maxJobID(api.pool)
        let reply = Task { try await api.send(.post, path, json: body, headers: Self.headers(headers)) }
        var jobID: Int64?
        for _ in 0..<400 {
            let rows = try await api.pool.query("SELECT id FROM llm_jobs WHERE id > \(before) ORDER BY id LIMIT 1").rows
            if let id: Int64 = try rows.first?.decode("id") {
                jobID = id
                break
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        let id = try #require(jobID, "no job was enqueued")
        try await Worker.waitForWaiters(api.pool, count: 1)
        try await complete(api.pool, id)
        let request = try await api.pool.query("SELECT request::text AS r FROM llm_jobs WHERE id = \(id)").rows.first?.decode("r", as: String.self)
        return (try await reply.value, id, try JSONParser.parse(Array((request ?? "null").utf8)))
    }

    static func maxJobID(_ pool: PostgresPool) async throws -> Int64 {
        try await pool.query("SELECT coalesce(max(id), 0) AS m FROM llm_jobs").rows.first?.decode("m", as: Int64.self) ?? 0
    }

    static func createPlanner(_ api: Registry, name: String = "planner") async throws -> String {
        try await api.createAgent(#"{"name": "\#(name)", "agent_type": "planner", "model_config": {"model_id": "gpt-4o", "max_tokens": 500, "fallback_model_ids": ["claude-haiku-4-5"]}}"#)
    }

    @Test func chatCompletionForAnAgentByName() async throws {
        try await Registry.run(token: Self.token) { api in
            let agentID = try await Self.createPlanner(api)
            let (reply, jobID, request) = try await Self.call(api, "/v1/chat/completions", """
                {"model": "agent:planner", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4000, "temperature": 0.3}
                """, complete: { pool, id in
                    try await Worker.claim(pool, id)
                    try await Worker.succeed(pool, [id], result: Worker.result(
                        model: "claude-haiku-4-5", provider: "anthropic", cost: "0.0042",
                        warnings: #"["seed is not supported by Anthropic; dropped", "temperature 3 is outside 0–1, \"clamped\""]"#, attempts: 2))
                })
            #expect(reply.status == .ok, "\(reply)")
            #expect(reply.headers[FacadeHeaders.jobID] == String(jobID))
            #expect(reply.headers[FacadeHeaders.cost] == "0.0042")
            #expect(reply.headers[FacadeHeaders.fallbackDepth] == "0")
            #expect(reply.headers[FacadeHeaders.attempts] == "2")
            // Each warning a JSON string, ASCII only, so commas and quotes inside one do not split it.
            #expect(reply.headers[FacadeHeaders.warnings] == #""seed is not supported by Anthropic; dropped", "temperature 3 is outside 0\u20131, \"clamped\"""#)
            let body = try reply.json()
            #expect(body["model"]?.string == "claude-haiku-4-5")
            #expect(body["choices"]?[0]?["message"]?["content"]?.string == "hello")
            #expect(body["usage"]?["prompt_tokens"]?.int == 10)
            // The job: the agent's, the caller's temperature, max_tokens capped at the agent's 500.
            let job = try await api.get("/api/jobs/\(jobID)").json()
            #expect(job["agent_id"]?.string == agentID)
            #expect(request["max_tokens"]?.int == 500)
            #expect(request["temperature"]?.double == 0.3)
            #expect(request["model"] == nil)
        }
    }

    @Test func anthropicMessagesByAgentIDWithXAPIKeyAndStream() async throws {
        try await Registry.run(token: Self.token) { api in
            let agentID = try await Self.createPlanner(api)
            let (reply, jobID, request) = try await Self.call(api, "/v1/messages", """
                {"model": "agent:\(agentID)", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "hi"}]}
                """, headers: [("x-api-key", Self.token), ("anthropic-version", "2023-06-01")])
            #expect(reply.status == .ok, "\(reply)")
            #expect(reply.headers[.contentType] == "text/event-stream")
            #expect(reply.headers[FacadeHeaders.jobID] == String(jobID))
            #expect(reply.text.hasPrefix("event: message_start\ndata: "))
            #expect(reply.text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
            #expect(request["max_tokens"]?.int == 100)
        }
    }

    @Test func plainModelIDRunsOnThatModelAloneUnderTheDirectAgent() async throws {
        try await Registry.run(token: Self.token) { api in
            let (reply, jobID, request) = try await Self.call(api, "/v1/chat/completions", """
                {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
                """, headers: [("Authorization", "Bearer \(Self.token)")])
            #expect(reply.status == .ok, "\(reply)")
            #expect(request["model"]?.string == "gpt-4o-mini")
            #expect(request["temperature"] != nil)  // the catalog's default temperature
            let job = try await api.get("/api/jobs/\(jobID)").json()
            #expect(job["agent_id"]?.string == AgentRepository.directAgentID.jsonString)
            // The direct agent is not offered as a model.
            let models = try await api.send(.get, "/v1/models").json()
            let ids = (models["data"]?.array ?? []).compactMap { $0["id"]?.string }
            #expect(!ids.contains { $0.hasPrefix("agent:direct") })
        }
    }

    @Test func idempotencyKeyReuseAnswersTheSameJob() async throws {
        try await Registry.run(token: Self.token) { api in
            _ = try await Self.createPlanner(api)
            let body = #"{"model": "agent:planner", "messages": [{"role": "user", "content": "once"}]}"#
            let first = try await Self.call(api, "/v1/chat/completions", body, headers: [("Idempotency-Key", "v1-key-1")])
            #expect(first.reply.status == .ok)
            // The job is finished: the same key answers at once from it, without a new job.
            let again = try await api.send(.post, "/v1/chat/completions", json: body, headers: Self.headers([("Idempotency-Key", "v1-key-1")]))
            #expect(again.status == .ok)
            #expect(again.headers[FacadeHeaders.jobID] == String(first.jobID))
            #expect(try await Self.maxJobID(api.pool) == first.jobID)
            let different = try await api.send(
                .post, "/v1/chat/completions", json: #"{"model": "agent:planner", "messages": [{"role": "user", "content": "other"}]}"#,
                headers: Self.headers([("Idempotency-Key", "v1-key-1")]))
            #expect(different.status == .conflict)
            #expect(try different.json()["error"]?["code"]?.string == "idempotency_conflict")
            // The SDKs would otherwise retry a 409 into the same conflict.
            #expect(different.headers[FacadeHeaders.shouldRetry] == "false")
        }
    }

    @Test func failedJobAnswersInTheCallersErrorShape() async throws {
        try await Registry.run(token: Self.token) { api in
            _ = try await Self.createPlanner(api)
            let (reply, jobID, _) = try await Self.call(api, "/v1/messages", """
                {"model": "agent:planner", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
                """, complete: { pool, id in
                    try await Worker.claim(pool, id)
                    try await pool.execute("""
                        UPDATE llm_jobs SET status = 'failed', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                               error = '{"code": "rate_limited", "message": "every model rate-limited", "attempts": [], "skipped": []}'::jsonb
                         WHERE id = \(id)
                        """)
                    try await pool.execute("SELECT pg_notify('llm_jobs_done', \(String(id)))")
                })
            #expect(reply.status == .tooManyRequests, "\(reply)")
            #expect(reply.headers[FacadeHeaders.jobID] == String(jobID))
            let body = try reply.json()
            #expect(body["type"]?.string == "error")
            #expect(body["error"]?["type"]?.string == "rate_limit_error")
        }
    }

    @Test func unknownModelsAreTheFormatsNotFound() async throws {
        try await Registry.run(token: Self.token) { api in
            let archived = try await api.createAgent(#"{"name": "old", "agent_type": "x"}"#)
            #expect(try await api.patch("/api/agents/\(archived)", #"{"status": "archived"}"#).status == .ok)
            let cases: [(String, String)] = [
                ("/v1/chat/completions", #"{"model": "agent:nobody", "messages": [{"role": "user", "content": "x"}]}"#),
                ("/v1/chat/completions", #"{"model": "agent:6f1c2b9e-8d6a-4c1e-9a7b-1f2e3d4c5b6a", "messages": [{"role": "user", "content": "x"}]}"#),
                ("/v1/chat/completions", #"{"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}"#),
                ("/v1/chat/completions", #"{"model": "agent:old", "messages": [{"role": "user", "content": "x"}]}"#),
            ]
            for (path, body) in cases {
                let reply = try await api.send(.post, path, json: body)
                #expect(reply.status == .notFound, "\(body): \(reply)")
                #expect(try reply.json()["error"]?["code"]?.string == "model_not_found", "\(reply)")
            }
            let anthropic = try await api.send(.post, "/v1/messages", json: #"{"model": "agent:nobody", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}"#)
            #expect(anthropic.status == .notFound)
            #expect(try anthropic.json()["error"]?["type"]?.string == "not_found_error")
            #expect(try await Self.maxJobID(api.pool) == 0)
        }
    }

    @Test func authenticationAndMediaTypeErrorsUseTheFormatsShapes() async throws {
        try await Registry.run(token: Self.token, readToken: "read-only") { api in
            let body = #"{"model": "agent:nobody", "messages": [{"role": "user", "content": "x"}]}"#
            let wrong = try await api.send(.post, "/v1/chat/completions", json: body, authorization: .some("Bearer nope"))
            #expect(wrong.status == .unauthorized)
            #expect(try wrong.json()["error"]?["type"]?.string == "authentication_error")
            #expect(try wrong.json()["error"]?["code"]?.string == "invalid_api_key")
            let missing = try await api.send(
                .post, "/v1/messages", json: #"{"model": "m", "max_tokens": 1, "messages": []}"#, authorization: .some(nil))
            #expect(missing.status == .unauthorized)
            #expect(try missing.json()["type"]?.string == "error")
            #expect(try missing.json()["error"]?["type"]?.string == "authentication_error")
            // x-api-key is accepted: the call gets past auth to the unknown agent.
            let apiKey = try await api.send(
                .post, "/v1/chat/completions", json: body, headers: Self.headers([("x-api-key", Self.token)]), authorization: .some(nil))
            #expect(apiKey.status == .notFound)
            // The read-only token lists models but cannot call.
            let read = try await api.send(.post, "/v1/chat/completions", json: body, authorization: .some("Bearer read-only"))
            #expect(read.status == .forbidden)
            #expect(try await api.send(.get, "/v1/models", authorization: .some("Bearer read-only")).status == .ok)
            let form = try await api.send(.post, "/v1/chat/completions", json: body, headers: Self.headers([("Content-Type", "text/plain")]))
            #expect(form.status == .unsupportedMediaType)
            #expect(try form.json()["error"]?["type"]?.string == "invalid_request_error")
            let badJSON = try await api.send(.post, "/v1/messages", json: "{nope")
            #expect(badJSON.status == .badRequest)
            #expect(try badJSON.json()["error"]?["type"]?.string == "invalid_request_error")
            let method = try await api.send(.delete, "/v1/chat/completions")
            #expect(method.status == .methodNotAllowed)
            #expect(method.headers[.allow] == "POST")
            #expect(try method.json()["error"]?["message"]?.string != nil)
        }
    }

    @Test func modelsListsAgentsAndCatalogModelsForBothSDKs() async throws {
        try await Registry.run(token: Self.token) { api in
            _ = try await Self.createPlanner(api)
            let twinA = try await api.createAgent(#"{"name": "twin", "agent_type": "x"}"#)
            let twinB = try await api.createAgent(#"{"name": "twin", "agent_type": "x"}"#)
            let reply = try await api.send(.get, "/v1/models")
            #expect(reply.status == .ok)
            let body = try reply.json()
            #expect(body["object"]?.string == "list")
            let ids = (body["data"]?.array ?? []).compactMap { $0["id"]?.string }
            #expect(ids.contains("agent:planner"))
            #expect(ids.contains("agent:\(twinA)") && ids.contains("agent:\(twinB)") && !ids.contains("agent:twin"))
            #expect(ids.contains("gpt-4o") && ids.contains("claude-haiku-4-5"))
            let violations = JSONSchema.ref("V1ModelList").violations(of: body, components: APISchemas.components)
            #expect(violations.isEmpty, "\(violations)")
            // Two active agents share the name: agent:twin is ambiguous.
            let ambiguous = try await api.send(.post, "/v1/chat/completions", json: #"{"model": "agent:twin", "messages": [{"role": "user", "content": "x"}]}"#)
            #expect(ambiguous.status == .badRequest)
            #expect(try ambiguous.json()["error"]?["code"]?.string == "model_ambiguous")
        }
    }

    @Test func oneModelIsRetrievedByItsListedID() async throws {
        try await Registry.run(token: Self.token) { api in
            _ = try await Self.createPlanner(api)
            for id in ["agent:planner", "gpt-4o"] {
                let reply = try await api.send(.get, "/v1/models/\(id)")
                #expect(reply.status == .ok, "\(id): \(reply)")
                let body = try reply.json()
                #expect(body["id"]?.string == id && body["object"]?.string == "model")
                let violations = JSONSchema.ref("V1Model").violations(of: try JSONParser.parse(Array(reply.text.utf8)), components: APISchemas.components)
                #expect(violations.isEmpty, "\(violations)")
            }
            let missing = try await api.send(.get, "/v1/models/agent:nobody")
            #expect(missing.status == .notFound)
            #expect(try missing.json()["error"]?["code"]?.string == "model_not_found")
            let anthropic = try await api.send(.get, "/v1/models/no-such-model", headers: Self.headers([("anthropic-version", "2023-06-01")]))
            #expect(try anthropic.json()["type"]?.string == "error")
        }
    }

    @Test func countTokensEstimatesWithoutAJob() async throws {
        try await Registry.run(token: Self.token) { api in
            _ = try await Self.createPlanner(api)
            let before = try await Self.maxJobID(api.pool)
            let short = try await api.send(.post, "/v1/messages/count_tokens", json: #"{"model": "agent:planner", "messages": [{"role": "user", "content": "hi"}]}"#)
            #expect(short.status == .ok, "\(short)")
            let long = try await api.send(
                .post, "/v1/messages/count_tokens",
                json: #"{"model": "agent:planner", "system": "\#(String(repeating: "word ", count: 400))", "messages": [{"role": "user", "content": "hi"}]}"#)
            let shortCount = try #require(try short.json()["input_tokens"]?.int)
            let longCount = try #require(try long.json()["input_tokens"]?.int)
            // 2,000 bytes of system text at 4 bytes a token, plus its message's framing.
            #expect(longCount - shortCount == 504)
            #expect(try await Self.maxJobID(api.pool) == before)
            let unknown = try await api.send(.post, "/v1/messages/count_tokens", json: #"{"model": "agent:nobody", "messages": [{"role": "user", "content": "hi"}]}"#)
            #expect(unknown.status == .notFound)
            #expect(try unknown.json()["type"]?.string == "error")
        }
    }

    @Test func corsIsOffByDefaultAndAllowListedWhenConfigured() async throws {
        let preflight = Self.headers([
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os"),
        ])
        try await Registry.run(token: Self.token) { api in
            let reply = try await api.send(.options, "/v1/chat/completions", headers: preflight, authorization: .some(nil))
            #expect(reply.headers[FacadeCORS.allowOrigin] == nil)
        }
        try await Registry.run(token: Self.token, corsOrigins: ["https://app.example.com"]) { api in
            let allowed = try await api.send(.options, "/v1/chat/completions", headers: preflight, authorization: .some(nil))
            #expect(allowed.status == .noContent)
            #expect(allowed.headers[FacadeCORS.allowOrigin] == "https://app.example.com")
            #expect(allowed.headers[FacadeCORS.allowHeaders] == "authorization, content-type, x-stainless-os")
            var other = preflight
            other[FacadeCORS.origin] = "https://evil.example.com"
            let refused = try await api.send(.options, "/v1/chat/completions", headers: other, authorization: .some(nil))
            #expect(refused.headers[FacadeCORS.allowOrigin] == nil)
            // The answers themselves, errors included, are readable by the allowed page.
            let models = try await api.send(.get, "/v1/models", headers: Self.headers([("Origin", "https://app.example.com")]))
            #expect(models.status == .ok && models.headers[FacadeCORS.allowOrigin] == "https://app.example.com")
            #expect(models.headers[FacadeCORS.exposeHeaders]?.contains("x-switchboard-job-id") == true)
            let unauthorized = try await api.send(
                .get, "/v1/models", headers: Self.headers([("Origin", "https://app.example.com")]), authorization: .some("Bearer wrong"))
            #expect(unauthorized.status == .unauthorized && unauthorized.headers[FacadeCORS.allowOrigin] == "https://app.example.com")
            // Never the /api routes.
            let api_ = try await api.send(.get, "/api/agents", headers: Self.headers([("Origin", "https://app.example.com")]))
            #expect(api_.headers[FacadeCORS.allowOrigin] == nil)
        }
    }
}
