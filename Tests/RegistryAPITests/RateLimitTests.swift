import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSON
import Logging
import Postgres
@testable import RegistryAPI
import Storage
import Testing
import TestSupport

/// Rate limits (issue 23): requests and tokens per window of a key or an agent, a tenant's
/// queued-jobs cap, shared by every registry through Postgres; 429 with Retry-After in the API's
/// shape and in both `/v1` formats.
@Suite struct RateLimitTests {
    static let admin = String(repeating: "r", count: 40)

    /// Two registries (two routers, two pools) on one database; the second keeps its rate-limit
    /// cache with a LISTEN connection, as `model-registry serve` does.
    static func twoRegistries(_ body: @escaping @Sendable (Registry, Registry, RateLimitCache) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let first = PostgresPool(configuration: configuration, maxConnections: 4)
            let second = PostgresPool(configuration: configuration, maxConnections: 4)
            defer {
                first.shutdown()
                second.shutdown()
            }
            try await Migrator(pool: first, migrations: Registry.migrations).migrate()
            let logger = Logger(label: "rate-limit-tests")
            let settings = RegistryConfiguration(migrations: Registry.migrations, clock: { Registry.fixedNow }, adminToken: admin)
            let cache = RateLimitCache()
            let catalogCache = CatalogCache()
            let listening = Task {
                try await CatalogCacheListener(cache: catalogCache, configuration: configuration, logger: logger, rateLimits: cache).run()
            }
            defer { listening.cancel() }
            for _ in 0..<200 where !catalogCache.isListening { try await Task.sleep(for: .milliseconds(25)) }
            let one = Application(router: buildRouter(configuration: settings, pool: first, logger: logger), logger: logger)
            let two = Application(
                router: buildRouter(
                    configuration: settings, pool: second, logger: logger, completions: nil, catalogCache: catalogCache, rateLimitCache: cache),
                logger: logger)
            try await one.test(.router) { c1 in
                try await two.test(.router) { c2 in
                    try await body(Registry(client: c1, pool: first, token: admin), Registry(client: c2, pool: second, token: admin), cache)
                }
            }
        }
    }

    static func job(_ agent: String) -> String {
        #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}]}"#
    }

    static func createLimit(_ api: Registry, _ json: String) async throws -> String {
        let reply = try await api.post("/api/rate-limits", json)
        guard reply.status == .created, let id = try reply.json()["id"]?.string else { throw HarnessError.unexpected("limit: \(reply)") }
        return id
    }

    /// Runs `body` until one run falls inside one window of `seconds` (by the database's clock), so
    /// that a window ending mid-run (rare with long windows) cannot decide the outcome; the
    /// counters are reset between runs.
    static func inOneWindow(_ pool: PostgresPool, seconds: Int, _ body: () async throws -> Void) async throws {
        for _ in 0..<3 {
            try await pool.execute("DELETE FROM rate_limit_counters")
            let before: Date = try await pool.query("SELECT rate_window_start(now(), \(seconds)::integer) AS w").rows[0].decode("w")
            try await body()
            let after: Date = try await pool.query("SELECT rate_window_start(now(), \(seconds)::integer) AS w").rows[0].decode("w")
            if before == after { return }
        }
        Issue.record("three runs in a row crossed a window boundary")
    }

    @Test func requestsPerMinuteHoldAcrossTwoRegistries() async throws {
        try await Self.twoRegistries { one, two, cache in
            let agent = try await one.createAgent(#"{"name": "limited", "agent_type": "chat"}"#)
            // The second registry has looked and found no limit (its cache is loaded).
            #expect(try await two.post("/api/jobs", Self.job(agent)).status == .created)
            #expect(cache.lookup([]) != nil)
            let limitID = try await Self.createLimit(
                one, #"{"scope": "agent", "scope_id": "\#(agent)", "requests_per_minute": 7, "window_seconds": 3600}"#)
            // The NOTIFY reaches the second registry's cache: it asks the database again.
            try await waitUntil(seconds: 10, "the second registry's cache forgets") { cache.lookup([]) == nil }
            try await Self.inOneWindow(one.pool, seconds: 3600) {
                // 20 requests at once, alternating between the registries: exactly 7 pass.
                let statuses = try await withThrowingTaskGroup(of: Reply.self) { group in
                    for index in 0..<20 {
                        let api = index % 2 == 0 ? one : two
                        group.addTask { try await api.post("/api/jobs", Self.job(agent)) }
                    }
                    var replies: [Reply] = []
                    for try await reply in group { replies.append(reply) }
                    return replies
                }
                #expect(statuses.filter { $0.status == .created }.count == 7)
                let refused = statuses.filter { $0.status == .tooManyRequests }
                #expect(refused.count == 13, "\(statuses.filter { $0.status != .created && $0.status != .tooManyRequests }.first.map { "\($0) \($0.headers)" } ?? "")")
                for reply in refused {
                    #expect(reply.errorCode == "rate_limited")
                    #expect(reply.errorFields.contains("requests_per_minute"))
                    let retry = Int(reply.headers[.retryAfter] ?? "") ?? 0
                    #expect((1...3600).contains(retry), "\(reply.headers)")
                }
                let limit = try await one.get("/api/rate-limits/\(limitID)").json()
                #expect(limit["window"]?["requests"]?.int == 7)
            }
            // A batch counts each job; all or nothing.
            #expect(try await one.patch("/api/rate-limits/\(limitID)", #"{"requests_per_minute": 3}"#).status == .ok)
            try await Self.inOneWindow(one.pool, seconds: 3600) {
                let batch = #"{"jobs": [\#(Self.job(agent)), \#(Self.job(agent))]}"#
                #expect(try await one.post("/api/jobs/batch", batch).status == .created)
                let before = try await one.pool.query("SELECT count(*) AS n FROM llm_jobs").rows[0].decode("n", as: Int.self)
                let refused = try await two.post("/api/jobs/batch", batch)
                #expect(refused.status == .tooManyRequests, "\(refused)")
                let after = try await one.pool.query("SELECT count(*) AS n FROM llm_jobs").rows[0].decode("n", as: Int.self)
                #expect(after == before)
                // One more fits.
                let keyed = #"{"agent_id": "\#(agent)", "idempotency_key": "k-1", "messages": [{"role": "user", "content": "hi"}]}"#
                #expect(try await two.post("/api/jobs", keyed).status == .created)
                #expect(try await one.post("/api/jobs", Self.job(agent)).status == .tooManyRequests)
                // A retry of the request that created its job gets the job back, not a 429.
                let replay = try await one.post("/api/jobs", keyed)
                #expect(replay.status == .ok, "\(replay)")
            }
            // Executions' steps count too.
            try await Self.inOneWindow(one.pool, seconds: 3600) {
                let steps = #"{"workflow_name": "w", "steps": [{"step": "a", "agent_id": "\#(agent)", "messages": [{"role": "user", "content": "x"}]}, {"step": "b", "agent_id": "\#(agent)", "messages": [{"role": "user", "content": "y"}]}]}"#
                let first = try await one.post("/api/executions", steps)
                #expect(first.status == .created, "\(first)")
                let second = try await two.post("/api/executions", steps)
                #expect(second.status == .tooManyRequests, "\(second)")
            }
            // Removed: nothing is limited any more, on either registry.
            #expect(try await one.delete("/api/rate-limits/\(limitID)").status == .noContent)
            try await waitUntil(seconds: 10, "the second registry admits again") {
                try await two.post("/api/jobs", Self.job(agent)).status == .created
            }
        }
    }

    @Test func tokensOfFinishedCallsFillTheWindow() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let agent = try await api.createAgent(#"{"name": "tokens", "agent_type": "chat"}"#)
            let limitID = try await Self.createLimit(
                api, #"{"scope": "agent", "scope_id": "\#(agent)", "tokens_per_minute": 1000, "window_seconds": 3600}"#)
            try await Self.inOneWindow(api.pool, seconds: 3600) {
                #expect(try await api.post("/api/jobs", Self.job(agent)).status == .created)
                // The gateway's usage rows for the agent's calls (as its completion writes them).
                let usage: SQL = """
                    INSERT INTO model_usage (agent_id, provider, model_id, outcome, error_class, input_tokens, output_tokens, started_at, finished_at)
                    VALUES (\(UUID(uuidString: agent)!), 'openai', 'gpt-4o', 'success', NULL, 400, 199, now(), now()),
                           (\(UUID(uuidString: agent)!), 'openai', 'gpt-4o', 'error', 'timeout', NULL, NULL, now(), now())
                    """
                try await api.pool.execute(usage)
                #expect(try await api.post("/api/jobs", Self.job(agent)).status == .created)  // 599 < 1000
                #expect(try await api.get("/api/rate-limits/\(limitID)").json()["window"]?["tokens"]?.int == 599)
                try await api.pool.execute(usage)
                #expect(try await api.get("/api/rate-limits/\(limitID)").json()["window"]?["tokens"]?.int == 1198)
                let refused = try await api.post("/api/jobs", Self.job(agent))
                #expect(refused.status == .tooManyRequests, "\(refused)")
                #expect(refused.errorFields.contains("tokens_per_minute"))
                #expect(refused.headers[.retryAfter] != nil)
                #expect(try await api.get("/api/rate-limits/\(limitID)").json()["window"]?["requests"]?.int == 2)
            }
            // Another agent is not limited.
            let other = try await api.createAgent(#"{"name": "free", "agent_type": "chat"}"#)
            #expect(try await api.post("/api/jobs", Self.job(other)).status == .created)
        }
    }

    @Test func tenantQueuedJobsCapHoldsUnderConcurrency() async throws {
        try await Self.twoRegistries { one, two, _ in
            let tenant = try await one.post("/api/tenants", #"{"name": "capped"}"#).json()["id"]?.string ?? ""
            let agent = try await one.createAgent(#"{"name": "capped-agent", "agent_type": "chat", "tenant_id": "\#(tenant)"}"#)
            let set = try await one.patch("/api/tenants/\(tenant)", #"{"max_queued_jobs": 5}"#)
            #expect(set.status == .ok, "\(set)")
            #expect(try set.json()["max_queued_jobs"]?.int == 5)
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for index in 0..<16 {
                    let api = index % 2 == 0 ? one : two
                    group.addTask { try await api.post("/api/jobs", Self.job(agent)) }
                }
                var replies: [Reply] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
            #expect(replies.filter { $0.status == .created }.count == 5)
            let refused = replies.filter { $0.status == .tooManyRequests }
            #expect(refused.count == 11)
            #expect(refused.allSatisfy { $0.errorCode == "rate_limited" && $0.errorFields.contains("max_queued_jobs") })
            #expect(refused.allSatisfy { $0.headers[.retryAfter] == "1" })
            // A batch that would pass the cap is refused whole.
            #expect(try await one.patch("/api/tenants/\(tenant)", #"{"max_queued_jobs": 6}"#).status == .ok)
            let batch = try await two.post("/api/jobs/batch", #"{"jobs": [\#(Self.job(agent)), \#(Self.job(agent))]}"#)
            #expect(batch.status == .tooManyRequests, "\(batch)")
            #expect(try await one.pool.query("SELECT count(*) AS n FROM llm_jobs WHERE tenant_id = \(UUID(uuidString: tenant)!)").rows[0]
                .decode("n", as: Int.self) == 5)
            // A job that leaves the queue makes room; the default tenant was never capped.
            try await one.pool.execute("UPDATE llm_jobs SET status = 'cancelled', finished_at = now() WHERE id = (SELECT min(id) FROM llm_jobs)")
            #expect(try await two.post("/api/jobs/batch", #"{"jobs": [\#(Self.job(agent)), \#(Self.job(agent))]}"#).status == .created)
            let free = try await one.createAgent(#"{"name": "free", "agent_type": "chat"}"#)
            #expect(try await one.post("/api/jobs", Self.job(free)).status == .created)
            // null removes the cap.
            #expect(try await one.patch("/api/tenants/\(tenant)", #"{"max_queued_jobs": null}"#).status == .ok)
            #expect(try await one.post("/api/jobs", Self.job(agent)).status == .created)
        }
    }

    /// An inference key of a new tenant; returns (tenant id, key, key id).
    static func tenantKey(_ api: Registry, _ name: String) async throws -> (tenant: String, key: String, keyID: String) {
        let tenant = try await api.post("/api/tenants", #"{"name": "\#(name)"}"#).json()["id"]?.string ?? ""
        let created = try await api.post("/api/keys", #"{"tenant_id": "\#(tenant)", "role": "inference"}"#).json()
        return (tenant, created["key"]?.string ?? "", created["id"]?.string ?? "")
    }

    @Test func concurrentJobsPerKeyHoldAcrossTwoRegistries() async throws {
        try await Self.twoRegistries { one, two, _ in
            let (tenant, key, keyID) = try await Self.tenantKey(one, "busy")
            let agent = try await one.createAgent(#"{"name": "busy-agent", "agent_type": "chat", "tenant_id": "\#(tenant)"}"#)
            let limitID = try await Self.createLimit(one, #"{"scope": "api_key", "scope_id": "\#(keyID)", "max_concurrent_jobs": 4}"#)
            let bearer = "Bearer \(key)"
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for index in 0..<12 {
                    let api = index % 2 == 0 ? one : two
                    group.addTask { try await api.send(.post, "/api/jobs", json: Self.job(agent), authorization: .some(bearer)) }
                }
                var replies: [Reply] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
            #expect(replies.filter { $0.status == .created }.count == 4)
            let refused = replies.filter { $0.status == .tooManyRequests }
            #expect(refused.count == 8)
            #expect(refused.allSatisfy { $0.errorFields.contains("max_concurrent_jobs") && $0.headers[.retryAfter] == "1" })
            #expect(refused.first?.text.contains(limitID) == false)  // the cap is named by field, not leaked as SQL detail
            // A retry of a request that created its job gets the job back at the cap.
            let keyed = #"{"agent_id": "\#(agent)", "idempotency_key": "busy-1", "messages": [{"role": "user", "content": "hi"}]}"#
            try await one.pool.execute("UPDATE rate_limits SET max_concurrent_jobs = 5 WHERE id = \(UUID(uuidString: limitID)!)")
            #expect(try await one.send(.post, "/api/jobs", json: keyed, authorization: .some(bearer)).status == .created)
            let replay = try await two.send(.post, "/api/jobs", json: keyed, authorization: .some(bearer))
            #expect(replay.status == .ok, "\(replay)")
            #expect(try await two.send(.post, "/api/jobs", json: Self.job(agent), authorization: .some(bearer)).status == .tooManyRequests)
            // Running jobs still count; a finished one frees its place.
            try await one.pool.execute("""
                UPDATE llm_jobs SET status = 'running', attempt = 1, lease_owner = 'w', lease_expires_at = now() + interval '1 minute'
                 WHERE id = (SELECT min(id) FROM llm_jobs WHERE api_key_id = \(UUID(uuidString: keyID)!))
                """)
            #expect(try await two.send(.post, "/api/jobs", json: Self.job(agent), authorization: .some(bearer)).status == .tooManyRequests)
            try await one.pool.execute("""
                UPDATE llm_jobs SET status = 'succeeded', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = (SELECT min(id) FROM llm_jobs WHERE api_key_id = \(UUID(uuidString: keyID)!))
                """)
            #expect(try await two.send(.post, "/api/jobs", json: Self.job(agent), authorization: .some(bearer)).status == .created)
            // The admin token (no key) and other keys are not capped by it.
            #expect(try await one.post("/api/jobs", Self.job(agent)).status == .created)
            #expect(try await one.post("/api/rate-limits", #"{"scope": "agent", "scope_id": "\#(agent)", "max_concurrent_jobs": 1}"#).status == .badRequest)
        }
    }

    @Test func aKeysRequestsAndTokensAreLimitedWhicheverAgentItUses() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let (tenant, key, keyID) = try await Self.tenantKey(api, "metered")
            let first = try await api.createAgent(#"{"name": "m-1", "agent_type": "chat", "tenant_id": "\#(tenant)"}"#)
            let second = try await api.createAgent(#"{"name": "m-2", "agent_type": "chat", "tenant_id": "\#(tenant)"}"#)
            let limitID = try await Self.createLimit(
                api, #"{"scope": "api_key", "scope_id": "\#(keyID)", "requests_per_minute": 3, "tokens_per_minute": 500, "window_seconds": 3600}"#)
            let bearer = "Bearer \(key)"
            try await Self.inOneWindow(api.pool, seconds: 3600) {
                let created = try await api.send(.post, "/api/jobs", json: Self.job(first), authorization: .some(bearer))
                #expect(created.status == .created)
                #expect(try await api.send(.post, "/api/jobs", json: Self.job(second), authorization: .some(bearer)).status == .created)
                // The finished call of the key's job counts against the key (the job names its key).
                let jobID = try #require(try created.json()["id"]?.int)
                try await api.pool.execute("""
                    INSERT INTO model_usage (job_id, agent_id, provider, model_id, outcome, input_tokens, output_tokens, started_at, finished_at)
                    VALUES (\(Int64(jobID)), \(UUID(uuidString: first)!), 'openai', 'gpt-4o', 'success', 300, 200, now(), now())
                    """)
                #expect(try await api.get("/api/rate-limits/\(limitID)").json()["window"]?["tokens"]?.int == 500)
                let refused = try await api.send(.post, "/api/jobs", json: Self.job(second), authorization: .some(bearer))
                #expect(refused.status == .tooManyRequests, "\(refused)")
                #expect(refused.errorFields.contains("tokens_per_minute"))
                #expect(refused.errorDetails.contains { $0.field == "rate_limit_id" && $0.message == limitID })
                // The admin token is another caller: the agents themselves are not limited.
                #expect(try await api.post("/api/jobs", Self.job(second)).status == .created)
            }
        }
    }

    @Test func v1AnswersTheRefusalInEachFormatWithoutARetryHint() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let agent = try await api.createAgent(#"{"name": "chatty", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#)
            _ = try await Self.createLimit(api, #"{"scope": "agent", "scope_id": "\#(agent)", "requests_per_minute": 1, "window_seconds": 3600}"#)
            try await Self.inOneWindow(api.pool, seconds: 3600) {
                #expect(try await api.post("/api/jobs", Self.job(agent)).status == .created)
                let jobs = try await api.pool.query("SELECT count(*) AS n FROM llm_jobs").rows[0].decode("n", as: Int.self)
                let openAI = try await api.post(
                    "/v1/chat/completions", #"{"model": "agent:chatty", "messages": [{"role": "user", "content": "hi"}]}"#)
                #expect(openAI.status == .tooManyRequests, "\(openAI)")
                let error = try openAI.json()["error"]
                #expect(error?["type"]?.string == "rate_limit_error")
                #expect(error?["code"]?.string == "rate_limited")
                #expect(error?["message"]?.string?.contains("requests_per_minute 1") == true)
                #expect(openAI.headers[HTTPField.Name("x-should-retry")!] == "false")
                #expect(Int(openAI.headers[.retryAfter] ?? "").map { (1...3600).contains($0) } == true)
                let anthropic = try await api.send(
                    .post, "/v1/messages", json: #"{"model": "agent:chatty", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}"#,
                    headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"])
                #expect(anthropic.status == .tooManyRequests, "\(anthropic)")
                let body = try anthropic.json()
                #expect(body["type"]?.string == "error")
                #expect(body["error"]?["type"]?.string == "rate_limit_error")
                #expect(anthropic.headers[HTTPField.Name("x-should-retry")!] == "false")
                #expect(anthropic.headers[.retryAfter] != nil)
                // Refused calls made no job.
                #expect(try await api.pool.query("SELECT count(*) AS n FROM llm_jobs").rows[0].decode("n", as: Int.self) == jobs)
            }
        }
    }

    @Test func operatorsLimitTheirOwnTenantsKeysAndAgents() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let operatorA = "Bearer \(tenants.a.keys[.operator]!)"
            let created = try await api.send(
                .post, "/api/rate-limits",
                json: #"{"scope": "api_key", "scope_id": "\#(tenants.a.targetKeyID)", "requests_per_minute": 600, "tokens_per_minute": 100000, "max_concurrent_jobs": 50}"#,
                authorization: .some(operatorA))
            #expect(created.status == .created, "\(created)")
            let body = try created.json()
            let id = try #require(body["id"]?.string)
            #expect(body["scope"]?.string == "api_key")
            #expect(body["tenant_id"]?.string == tenants.a.tenantID)
            #expect(body["requests_per_minute"]?.int == 600)
            #expect(body["tokens_per_minute"]?.int == 100000)
            #expect(body["max_concurrent_jobs"]?.int == 50)
            #expect(body["window_seconds"]?.int == 60)
            // One per key.
            let again = try await api.send(
                .post, "/api/rate-limits", json: #"{"scope": "api_key", "scope_id": "\#(tenants.a.targetKeyID)", "requests_per_minute": 1}"#,
                authorization: .some(operatorA))
            #expect(again.status == .conflict)
            // Another tenant's agent or key reads as missing; so does its limit.
            let foreign = try await api.send(
                .post, "/api/rate-limits", json: #"{"scope": "agent", "scope_id": "\#(tenants.b.agentID)", "requests_per_minute": 1}"#,
                authorization: .some(operatorA))
            #expect(foreign.status == .notFound)
            let operatorB = "Bearer \(tenants.b.keys[.operator]!)"
            #expect(try await api.send(.get, "/api/rate-limits/\(id)", authorization: .some(operatorB)).status == .notFound)
            #expect(try await api.send(.patch, "/api/rate-limits/\(id)", json: "{}", authorization: .some(operatorB)).status == .notFound)
            let listB = try await api.send(.get, "/api/rate-limits", authorization: .some(operatorB)).json()
            #expect(listB["rate_limits"]?.array?.map { $0["id"]?.string } == [tenants.b.rateLimitID])
            // An inference key may not set limits; a viewer reads them.
            let inference = try await api.send(
                .post, "/api/rate-limits", json: #"{"scope": "agent", "scope_id": "\#(tenants.a.agentID)", "requests_per_minute": 1}"#,
                authorization: .some("Bearer \(tenants.a.keys[.inference]!)"))
            #expect(inference.status == .forbidden)
            let viewer = try await api.send(.get, "/api/rate-limits?scope=api_key", authorization: .some("Bearer \(tenants.a.keys[.viewer]!)"))
            #expect(try viewer.json()["rate_limits"]?.array?.map { $0["id"]?.string } == [id])
            // PATCH: null removes one limit, never the last one.
            let patched = try await api.send(
                .patch, "/api/rate-limits/\(id)", json: #"{"tokens_per_minute": null, "requests_per_minute": 10}"#, authorization: .some(operatorA))
            #expect(patched.status == .ok, "\(patched)")
            #expect(try patched.json()["tokens_per_minute"] == .null)
            #expect(try patched.json()["requests_per_minute"]?.int == 10)
            let empty = try await api.send(
                .patch, "/api/rate-limits/\(id)", json: #"{"requests_per_minute": null, "max_concurrent_jobs": null}"#, authorization: .some(operatorA))
            #expect(empty.status == .badRequest)
            let invalid = try await api.send(
                .post, "/api/rate-limits", json: #"{"scope": "agent", "scope_id": "\#(tenants.a.agentID)", "requests_per_minute": 0}"#,
                authorization: .some(operatorA))
            #expect(invalid.status == .badRequest)
            #expect(try await api.send(.delete, "/api/rate-limits/\(id)", authorization: .some(operatorA)).status == .noContent)
            #expect(try await api.send(.get, "/api/rate-limits/\(id)", authorization: .some(operatorA)).status == .notFound)
            // The tenant cap is an admin's.
            #expect(try await api.send(
                .patch, "/api/tenants/\(tenants.a.tenantID)", json: #"{"max_queued_jobs": 3}"#, authorization: .some(operatorA)).status == .forbidden)
        }
    }

    @Test func providerQuotasAreSetPerModelOrProvider() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let set = try await api.put("/api/providers/openai/quotas", #"{"model_id": "gpt-4o", "rpm": 60, "tpm": 150000}"#)
            #expect(set.status == .ok, "\(set)")
            #expect(try set.json()["window_seconds"]?.int == 60)
            let wide = try await api.put("/api/providers/openai/quotas", #"{"rpm": 500, "window_seconds": 10}"#)
            #expect(try wide.json()["model_id"] == .null)
            // Setting again replaces.
            #expect(try await api.put("/api/providers/openai/quotas", #"{"model_id": "gpt-4o", "rpm": 30}"#).json()["tpm"] == .null)
            let list = try await api.get("/api/providers/openai/quotas").json()["quotas"]?.array ?? []
            #expect(list.count == 2)
            #expect(list.first?["model_id"] == .null)
            #expect(try await api.put("/api/providers/openai/quotas", #"{"model_id": "gpt-4o"}"#).status == .badRequest)
            #expect(try await api.put("/api/providers/nope/quotas", #"{"rpm": 1}"#).status == .notFound)
            #expect(try await api.delete("/api/providers/openai/quotas?model_id=gpt-4o").status == .noContent)
            #expect(try await api.delete("/api/providers/openai/quotas?model_id=gpt-4o").status == .notFound)
            #expect(try await api.get("/api/providers/openai/quotas").json()["quotas"]?.array?.count == 1)
        }
    }
}
