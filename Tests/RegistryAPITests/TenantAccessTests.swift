import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSON
import Logging
import Postgres
@testable import RegistryAPI
import Storage
import Synchronization
import Testing
import TestSupport

/// Two tenants, each with a key of every role, and one agent, job, execution and key to aim at.
struct TwoTenants: Sendable {
    struct Side: Sendable {
        var tenantID: String
        /// role → key
        var keys: [APIKeyRole: String]
        var agentID: String
        var jobID: String
        var executionID: String
        /// A viewer key's id, for the routes that name a key.
        var targetKeyID: String
        /// A rate limit of the agent (issue 23), for the routes that name one.
        var rateLimitID: String
        /// A budget on the side's agent.
        var budgetID: String
    }

    var a: Side
    var b: Side

    static let admin = String(repeating: "a", count: 40)

    /// Builds both tenants through the API with the admin token.
    static func make(_ api: Registry) async throws -> TwoTenants {
        TwoTenants(a: try await side("team-a", api), b: try await side("team-b", api))
    }

    static func side(_ name: String, _ api: Registry) async throws -> Side {
        let tenant = try await api.send(.post, "/api/tenants", json: #"{"name": "\#(name)"}"#, authorization: .some("Bearer \(admin)"))
        guard tenant.status == .created, let tenantID = try tenant.json()["id"]?.string else { throw HarnessError.unexpected("tenant: \(tenant)") }
        var keys: [APIKeyRole: String] = [:]
        for role in APIKeyRole.allCases {
            keys[role] = try await createKey(api, tenantID: tenantID, role: role, by: admin)
        }
        let agent = try await api.send(
            .post, "/api/agents", json: #"{"name": "\#(name)-agent", "agent_type": "chat", "tenant_id": "\#(tenantID)"}"#,
            authorization: .some("Bearer \(admin)"))
        guard agent.status == .created, let agentID = try agent.json()["id"]?.string else { throw HarnessError.unexpected("agent: \(agent)") }
        let inference = "Bearer \(keys[.inference]!)"
        let job = try await api.send(
            .post, "/api/jobs", json: #"{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "secret of \#(name)"}]}"#,
            authorization: .some(inference))
        guard job.status == .created, let jobID = try job.json()["id"]?.int else { throw HarnessError.unexpected("job: \(job)") }
        let execution = try await api.send(
            .post, "/api/executions",
            json: #"{"workflow_name": "w-\#(name)", "steps": [{"step": "s", "agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}]}"#,
            authorization: .some(inference))
        guard execution.status == .created, let executionID = try execution.json()["id"]?.string else {
            throw HarnessError.unexpected("execution: \(execution)")
        }
        let target = try await api.send(
            .post, "/api/keys", json: #"{"tenant_id": "\#(tenantID)", "role": "viewer", "name": "target"}"#, authorization: .some("Bearer \(admin)"))
        guard let targetKeyID = try target.json()["id"]?.string else { throw HarnessError.unexpected("target key: \(target)") }
        let limit = try await api.send(
            .post, "/api/rate-limits", json: #"{"scope": "agent", "scope_id": "\#(agentID)", "requests_per_minute": 1000000}"#,
            authorization: .some("Bearer \(admin)"))
        guard let rateLimitID = try limit.json()["id"]?.string else { throw HarnessError.unexpected("rate limit: \(limit)") }
        let budget = try await api.send(
            .post, "/api/budgets", json: #"{"scope": "agent", "scope_id": "\#(agentID)", "limit_usd": "100", "period": "month"}"#,
            authorization: .some("Bearer \(admin)"))
        guard budget.status == .created, let budgetID = try budget.json()["id"]?.string else { throw HarnessError.unexpected("budget: \(budget)") }
        return Side(
            tenantID: tenantID, keys: keys, agentID: agentID, jobID: String(jobID), executionID: executionID, targetKeyID: targetKeyID,
            rateLimitID: rateLimitID, budgetID: budgetID)
    }

    static func createKey(_ api: Registry, tenantID: String, role: APIKeyRole, by creator: String, extra: String = "") async throws -> String {
        let reply = try await api.send(
            .post, "/api/keys", json: #"{"tenant_id": "\#(tenantID)", "role": "\#(role.rawValue)"\#(extra)}"#,
            authorization: .some("Bearer \(creator)"))
        guard reply.status == .created, let key = try reply.json()["key"]?.string else { throw HarnessError.unexpected("key: \(reply)") }
        return key
    }
}

@Suite struct TenantAccessTests {
    /// The decision for every route, written here independently of the route table: a route added
    /// without a line here fails `everyRouteHasADecision`, and a route whose declared access
    /// differs fails the matrix.
    static let expected: [String: (role: APIKeyRole?, owned: OwnedResource?)] = [
        "listAgents": (.viewer, nil), "createAgent": (.operator, nil), "getAgent": (.viewer, .agent),
        "updateAgent": (.operator, .agent), "deleteAgent": (.operator, .agent), "getAgentModelConfig": (.viewer, .agent),
        "putAgentModelConfig": (.operator, .agent), "getAgentModelUsage": (.viewer, .agent),
        "getAgentRecommendations": (.viewer, .agent), "listConfigChanges": (.viewer, nil), "listAgentConfigChanges": (.viewer, .agent),
        "createExecution": (.inference, nil), "listExecutions": (.viewer, nil), "getExecution": (.viewer, .execution),
        "createJob": (.inference, nil), "createJobs": (.inference, nil), "listJobs": (.viewer, nil), "getJob": (.viewer, .job),
        "cancelJob": (.inference, .job), "listModels": (.viewer, nil), "createModel": (.admin, nil),
        "listModelsByProvider": (.viewer, nil), "compareModels": (.viewer, nil), "estimateCost": (.viewer, nil),
        "recommendModels": (.viewer, nil), "importCatalog": (.admin, nil), "getModel": (.viewer, nil),
        "updateModel": (.admin, nil), "retireModel": (.admin, nil), "listProviders": (.viewer, nil),
        "createProvider": (.admin, nil), "getProvider": (.viewer, nil), "updateProvider": (.admin, nil),
        "listTenants": (.viewer, nil), "createTenant": (.admin, nil), "getTenant": (.viewer, .tenant),
        "listKeys": (.operator, nil), "createKey": (.operator, nil), "getKey": (.operator, .apiKey), "revokeKey": (.operator, .apiKey),
        "listRateLimits": (.viewer, nil), "createRateLimit": (.operator, nil), "getRateLimit": (.viewer, .rateLimit),
        "updateRateLimit": (.operator, .rateLimit), "deleteRateLimit": (.operator, .rateLimit), "updateTenant": (.admin, nil),
        "listProviderQuotas": (.viewer, nil), "setProviderQuota": (.admin, nil), "deleteProviderQuota": (.admin, nil),
        "listBudgets": (.viewer, nil), "createBudget": (.operator, nil), "getBudget": (.viewer, .budget),
        "updateBudget": (.operator, .budget), "deleteBudget": (.operator, .budget),
        "getUsageOverview": (.viewer, nil), "v1ChatCompletions": (.inference, nil), "v1Messages": (.inference, nil), "v1Models": (.viewer, nil),
        "v1RetrieveModel": (.viewer, nil), "v1CountTokens": (.inference, nil), "v1Responses": (.inference, nil),
        "health": (nil, nil), "readiness": (nil, nil), "metrics": (nil, nil), "openAPI": (nil, nil), "webUI": (nil, nil),
        "webUIAsset": (nil, nil),
        // Authenticated by the job's own stream secret (workers hold no key), not by a role.
        "pushJobStream": (nil, nil),
    ]

    static func routeTable(pool: PostgresPool) -> [APIRoute] {
        let services = RegistryServices(
            pool: pool, migrations: [], logger: Logger(label: "matrix"), completions: JobCompletionHub(pool: pool, logger: Logger(label: "matrix")))
        return registryRoutes(configuration: RegistryConfiguration(), services: services)
    }

    @Test func everyRouteHasADecision() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            for route in Self.routeTable(pool: pool) {
                let id = route.operationID.hasPrefix("webUIAsset_") ? "webUIAsset" : route.operationID
                guard let decision = Self.expected[id] else {
                    Issue.record("\(route.method) \(route.path) (\(route.operationID)) has no access decision in TenantAccessTests.expected")
                    continue
                }
                #expect(route.access.role == decision.role, "\(route.operationID)")
                #expect(route.access.owned == decision.owned, "\(route.operationID)")
            }
        }
    }

    /// The path with `{…}` filled in from one side's rows (global rows for models and providers).
    static func concrete(_ route: APIRoute, _ side: TwoTenants.Side) -> String {
        var path = route.path
        let id: String
        switch route.access.owned {
        case .agent?: id = side.agentID
        case .job?: id = side.jobID
        case .execution?: id = side.executionID
        case .apiKey?: id = side.targetKeyID
        case .tenant?: id = side.tenantID
        case .rateLimit?: id = side.rateLimitID
        case .budget?: id = side.budgetID
        case nil: id = side.agentID
        }
        path = path.replacingOccurrences(of: "{id}", with: id)
        path = path.replacingOccurrences(of: "{model_id}", with: "gpt-4o")
        path = path.replacingOccurrences(of: "{name}", with: "openai")
        return path
    }

    /// Every route × every role × own and other tenant → the expected status: below the route's
    /// role 403; at or above it anything but 401/403 on one's own rows and 404 on the other
    /// tenant's; without a key 401.
    @Test func routeByRoleMatrix() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let routes = Self.routeTable(pool: api.pool).filter { $0.access.role != nil }
            #expect(routes.count > 40)
            for route in routes {
                let needed = route.access.role!
                let body: String? = [.post, .put, .patch].contains(route.method) ? "{}" : nil
                let anonymous = try await api.send(route.method, Self.concrete(route, tenants.a), json: body, authorization: .some(nil))
                #expect(anonymous.status == .unauthorized, "\(route.operationID) without a key: \(anonymous)")
                for role in APIKeyRole.allCases where role != .admin {
                    let key = "Bearer \(tenants.a.keys[role]!)"
                    let own = try await api.send(route.method, Self.concrete(route, tenants.a), json: body, authorization: .some(key))
                    if role < needed {
                        #expect(own.status == .forbidden, "\(route.operationID) as \(role): \(own)")
                        continue
                    }
                    #expect(own.status != .forbidden && own.status != .unauthorized, "\(route.operationID) as \(role): \(own)")
                    if route.access.owned != nil {
                        let other = try await api.send(route.method, Self.concrete(route, tenants.b), json: body, authorization: .some(key))
                        #expect(other.status == .notFound, "\(route.operationID) as \(role) on the other tenant: \(other)")
                    }
                }
                // An admin key reaches both tenants.
                let admin = "Bearer \(tenants.a.keys[.admin]!)"
                for side in [tenants.a, tenants.b] {
                    let reply = try await api.send(route.method, Self.concrete(route, side), json: body, authorization: .some(admin))
                    #expect(reply.status != .forbidden && reply.status != .unauthorized, "\(route.operationID) as admin: \(reply)")
                }
            }
        }
    }

    /// P0-1: neither an inference nor an operator key can point a provider elsewhere or create one
    /// naming a key variable, whatever header carries the key.
    @Test func onlyAdminsChangeProviders() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenants = try await TwoTenants.make(api)
            for role in [APIKeyRole.inference, .operator, .viewer] {
                let key = tenants.a.keys[role]!
                for headers: HTTPFields in [[.authorization: "Bearer \(key)"], [HTTPField.Name("x-api-key")!: key]] {
                    let repoint = try await api.send(
                        .patch, "/api/providers/openai", json: #"{"base_url": "https://attacker.example"}"#, headers: headers,
                        authorization: .some(nil))
                    #expect(repoint.status == .forbidden, "\(role): \(repoint)")
                    let create = try await api.send(
                        .post, "/api/providers",
                        json: #"{"name": "x", "api_style": "openai", "base_url": "https://attacker.example", "api_key_env": "ANTHROPIC_API_KEY"}"#,
                        headers: headers, authorization: .some(nil))
                    #expect(create.status == .forbidden, "\(role): \(create)")
                    let model = try await api.send(
                        .post, "/api/models", json: #"{"model_id": "x-1", "provider": "openai", "display_name": "x"}"#, headers: headers,
                        authorization: .some(nil))
                    #expect(model.status == .forbidden, "\(role): \(model)")
                }
            }
            let provider = try await api.get("/api/providers/openai").json()
            #expect(provider["base_url"]?.string == "https://api.openai.com")
            #expect(try await api.pool.query("SELECT count(*) AS n FROM llm_providers WHERE name = 'x'").rows.first?.decode("n", as: Int.self) == 0)
        }
    }

    /// A key of tenant A cannot see, count, cancel or wait on anything of tenant B.
    @Test func tenantsSeeOnlyTheirOwn() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let a = "Bearer \(tenants.a.keys[.operator]!)"
            func ids(_ path: String, _ field: String) async throws -> [String] {
                let reply = try await api.send(.get, path, authorization: .some(a))
                #expect(reply.status == .ok, "\(path): \(reply)")
                return try reply.json()[field]?.array?.compactMap { $0["id"]?.string ?? $0["id"]?.int.map(String.init) } ?? []
            }
            #expect(try await ids("/api/agents", "agents") == [tenants.a.agentID])
            let jobs = try await ids("/api/jobs", "jobs")
            #expect(jobs.count == 2 && jobs.contains(tenants.a.jobID) && !jobs.contains(tenants.b.jobID), "\(jobs)")
            #expect(try await !ids("/api/jobs?include=result", "jobs").contains(tenants.b.jobID))
            #expect(try await ids("/api/executions", "executions") == [tenants.a.executionID])
            #expect(try await ids("/api/tenants", "tenants") == [tenants.a.tenantID])
            let keys = try await ids("/api/keys", "keys")
            #expect(keys.count == 5 && keys.contains(tenants.a.targetKeyID) && !keys.contains(tenants.b.targetKeyID))
            // Filters naming the other tenant's rows find nothing.
            #expect(try await ids("/api/jobs?agent_id=\(tenants.b.agentID)", "jobs").isEmpty)
            #expect(try await ids("/api/keys?tenant_id=\(tenants.b.tenantID)", "keys").isEmpty)
            // /v1/models lists only the tenant's agents.
            let models = try await api.send(.get, "/v1/models", authorization: .some(a)).json()["data"]?.array?.compactMap { $0["id"]?.string } ?? []
            #expect(models.contains("agent:team-a-agent") && !models.contains("agent:team-b-agent"))
            // By id: 404, the same answer as an id that does not exist.
            let theirs = try await api.send(.get, "/api/jobs/\(tenants.b.jobID)?wait=1", authorization: .some(a))
            let none = try await api.send(.get, "/api/jobs/999999", authorization: .some(a))
            #expect(theirs.status == .notFound && none.status == .notFound)
            #expect(try theirs.json()["error"]?["message"]?.string == "job \(tenants.b.jobID) does not exist")
            #expect(try await api.send(.post, "/api/jobs/\(tenants.b.jobID)/cancel", json: "{}", authorization: .some(a)).status == .notFound)
            // A job for the other tenant's agent reads as an agent that does not exist.
            let foreign = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.b.agentID)", "messages": [{"role": "user", "content": "x"}]}"#,
                authorization: .some(a))
            #expect(foreign.status == .badRequest && foreign.errorFields == ["agent_id"], "\(foreign)")
            // /v1 by agent name or id.
            for model in ["agent:team-b-agent", "agent:\(tenants.b.agentID)"] {
                let call = try await api.send(
                    .post, "/v1/chat/completions", json: #"{"model": "\#(model)", "messages": [{"role": "user", "content": "x"}]}"#,
                    authorization: .some(a))
                #expect(call.status == .notFound, "\(model): \(call)")
            }
            // Usage counts only the tenant's agents.
            try await api.pool.execute("""
                INSERT INTO agent_usage_daily (day, agent_id, provider, model_id, shard, requests, successes, priced_requests, cost,
                                               latency_ms_sum, last_used_at)
                VALUES ('2026-11-20', \(UUID(uuidString: tenants.b.agentID)!), 'openai', 'gpt-4o', 0, 7, 7, 7, 1, 70, now())
                """)
            let usage = try await api.send(.get, "/api/usage?from=2026-11-01&to=2026-11-30", authorization: .some(a)).json()
            #expect(usage["totals"]?["requests"]?.int == 0, "\(usage)")
            let all = try await api.send(.get, "/api/usage?from=2026-11-01&to=2026-11-30", authorization: .some("Bearer \(TwoTenants.admin)")).json()
            #expect(all["totals"]?["requests"]?.int == 7)
            // The SQL views carry the tenant.
            let row = try await api.pool.query("SELECT tenant_id FROM usage_daily_rollup WHERE agent_id = \(UUID(uuidString: tenants.b.agentID)!)").rows.first
            #expect(try row?.decode("tenant_id", as: UUID.self) == UUID(uuidString: tenants.b.tenantID))
            let job = try await api.pool.query("SELECT tenant_id FROM llm_jobs WHERE id = \(Int64(tenants.b.jobID)!)").rows.first
            #expect(try job?.decode("tenant_id", as: UUID.self) == UUID(uuidString: tenants.b.tenantID))
        }
    }

    @Test func viewersReadMetadataAndBodiesOnlyWithPermission() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let viewer = "Bearer \(tenants.a.keys[.viewer]!)"
            let job = try await api.send(.get, "/api/jobs/\(tenants.a.jobID)", authorization: .some(viewer)).json()
            #expect(job["status"]?.string == "queued" && job["request"] == nil, "\(job)")
            let listed = try await api.send(.get, "/api/jobs?include=result", authorization: .some(viewer))
            #expect(listed.status == .forbidden && listed.errorCode == "bodies_not_allowed")
            let reader = try await TwoTenants.createKey(
                api, tenantID: tenants.a.tenantID, role: .viewer, by: tenants.a.keys[.operator]!, extra: #", "read_bodies": true"#)
            let full = try await api.send(.get, "/api/jobs/\(tenants.a.jobID)", authorization: .some("Bearer \(reader)")).json()
            #expect(full["request"]?["messages"]?[0]?["content"]?.string == "secret of team-a")
            let inference = try await api.send(.get, "/api/jobs?include=result", authorization: .some("Bearer \(tenants.a.keys[.inference]!)"))
            #expect(inference.status == .ok)
        }
    }

    @Test func keysAreShownOnceStoredHashedAndManagedBelowOnesRole() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let operatorKey = "Bearer \(tenants.a.keys[.operator]!)"
            let created = try await api.send(
                .post, "/api/keys", json: #"{"role": "inference", "name": "ci", "allowed_agents": ["\#(tenants.a.agentID)"]}"#,
                authorization: .some(operatorKey))
            #expect(created.status == .created, "\(created)")
            let body = try created.json()
            let key = try #require(body["key"]?.string)
            #expect(key.hasPrefix("sb_") && key.count == 46 && body["prefix"]?.string == String(key.prefix(11)))
            #expect(body["tenant_id"]?.string == tenants.a.tenantID)
            // Never again: not in the list, not in the database.
            let listed = try await api.send(.get, "/api/keys/\(body["id"]!.string!)", authorization: .some(operatorKey))
            let listedKey = try listed.json()["key"]
            #expect(listed.status == .ok && listedKey == nil)
            let stored = try await api.pool.query("SELECT count(*) AS n FROM api_keys WHERE position(\(key) IN encode(secret_hash, 'escape')) > 0 OR name = \(key)").rows.first
            #expect(try stored?.decode("n", as: Int.self) == 0)
            // An operator may not mint an operator or an admin, nor a key of another tenant.
            for role in ["operator", "admin"] {
                let refused = try await api.send(.post, "/api/keys", json: #"{"role": "\#(role)"}"#, authorization: .some(operatorKey))
                #expect(refused.status == .forbidden && refused.errorCode == "role_too_high", "\(refused)")
            }
            let elsewhere = try await api.send(
                .post, "/api/keys", json: #"{"role": "viewer", "tenant_id": "\#(tenants.b.tenantID)"}"#, authorization: .some(operatorKey))
            #expect(elsewhere.status == .notFound, "\(elsewhere)")
            let notOurs = try await api.send(
                .post, "/api/keys", json: #"{"role": "viewer", "allowed_agents": ["\#(tenants.b.agentID)"]}"#, authorization: .some(operatorKey))
            #expect(notOurs.status == .badRequest && notOurs.errorFields == ["allowed_agents[0]"], "\(notOurs)")
            // The limited key works for its agent and only for it.
            let limited = "Bearer \(key)"
            let other = try await api.send(
                .post, "/api/agents", json: #"{"name": "other", "agent_type": "chat"}"#, authorization: .some(operatorKey))
            let otherID = try #require(try other.json()["id"]?.string)
            let refusedJob = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(otherID)", "messages": [{"role": "user", "content": "x"}]}"#,
                authorization: .some(limited))
            #expect(refusedJob.status == .forbidden && refusedJob.errorCode == "agent_not_allowed", "\(refusedJob)")
            let job = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.a.agentID)", "messages": [{"role": "user", "content": "x"}]}"#,
                authorization: .some(limited))
            #expect(job.status == .created)
            // Revoked: refused at once on this registry (the cache never outlives a second).
            let revoked = try await api.send(.delete, "/api/keys/\(body["id"]!.string!)", authorization: .some(operatorKey))
            let revokedAt = try revoked.json()["revoked_at"]?.string
            #expect(revoked.status == .ok && revokedAt != nil)
            // An operator cannot revoke an operator key (its own role).
            let peer = try await api.pool.query("SELECT id FROM api_keys WHERE tenant_id = \(UUID(uuidString: tenants.a.tenantID)!) AND role = 'operator'").rows.first
            let peerID = try #require(try peer?.decode("id", as: UUID.self))
            let peerRevoke = try await api.send(.delete, "/api/keys/\(peerID.uuidString.lowercased())", authorization: .some(operatorKey))
            #expect(peerRevoke.status == .forbidden)
            // The audit trail names the key and the tenant.
            let audit = try await api.pool.query("""
                SELECT key_id, tenant_id, token_kind FROM config_changes WHERE entity = 'api_key' AND entity_id = \(body["id"]!.string!) ORDER BY id
                """).rows
            #expect(audit.count == 2)
            for row in audit {
                #expect(try row.decode("key_id", as: UUID?.self) == peerID)
                #expect(try row.decode("tenant_id", as: UUID?.self) == UUID(uuidString: tenants.a.tenantID))
                #expect(try row.decode("token_kind", as: String.self) == "api_key")
            }
        }
    }

    /// Revocation reaches a second registry within a second: the key cache keeps a lookup at most
    /// `keyCacheMaxAge`. The second registry's monotonic clock is moved by hand, so the test does
    /// not sleep or depend on timing.
    @Test func revocationReachesASecondRegistryWithinTheCacheAge() async throws {
        let offset = Mutex(Duration.zero)
        let start = ContinuousClock.now
        let access = AccessConfiguration(monotonicNow: { start + offset.withLock { $0 } })
        try await Registry.run(adminToken: TwoTenants.admin, access: access) { first in
            let tenant = try await first.send(.post, "/api/tenants", json: #"{"name": "t"}"#).json()["id"]!.string!
            let key = try await TwoTenants.createKey(first, tenantID: tenant, role: .viewer, by: TwoTenants.admin)
            let keyID = try await first.send(.get, "/api/keys").json()["keys"]!.array!.first { $0["role"]?.string == "viewer" }!["id"]!.string!
            // A second registry process on the same database.
            let second = buildRouter(
                configuration: RegistryConfiguration(migrations: Registry.migrations, adminToken: TwoTenants.admin, access: access),
                pool: first.pool, logger: Logger(label: "second"))
            try await Application(router: second, logger: Logger(label: "second")).test(.router) { client in
                let other = Registry(client: client, pool: first.pool, token: key)
                #expect(try await other.get("/api/agents").status == .ok)
                _ = try await first.delete("/api/keys/\(keyID)")
                // Within the cache age the second registry may still answer from its cache…
                offset.withLock { $0 = .milliseconds(999) }
                _ = try await other.get("/api/agents")
                // …and never after it.
                offset.withLock { $0 = .seconds(1) }
                #expect(try await other.get("/api/agents").status == .unauthorized)
            }
        }
    }

    @Test func expiredKeysAndUnknownKeysAre401() async throws {
        try await Registry.run(adminToken: TwoTenants.admin) { api in
            let tenant = try await api.send(.post, "/api/tenants", json: #"{"name": "t"}"#).json()["id"]!.string!
            let past = try await api.send(
                .post, "/api/keys", json: #"{"tenant_id": "\#(tenant)", "role": "viewer", "expires_at": "2020-01-01T00:00:00Z"}"#)
            #expect(past.status == .badRequest && past.errorFields == ["expires_at"])
            let key = try await TwoTenants.createKey(api, tenantID: tenant, role: .viewer, by: TwoTenants.admin)
            // Expiry is judged by the registry's clock (the test clock here).
            try await api.pool.execute("UPDATE api_keys SET expires_at = \(Registry.fixedNow.addingTimeInterval(-1))")
            // The lookup above is cached for up to a second; the expiry is checked on every use.
            #expect(try await api.send(.get, "/api/agents", authorization: .some("Bearer \(key)")).status == .unauthorized)
            let unknown = "sb_" + String(repeating: "x", count: 43)
            #expect(try await api.send(.get, "/api/agents", authorization: .some("Bearer \(unknown)")).status == .unauthorized)
            let v1 = try await api.send(.get, "/v1/models", authorization: .some("Bearer \(unknown)"))
            let v1Type = try v1.json()["error"]?["type"]?.string
            #expect(v1.status == .unauthorized && v1Type != nil)
        }
    }

    @Test func theOldTokensAreAdminAndDefaultTenantViewer() async throws {
        try await Registry.run(token: "legacy-write", readToken: "legacy-read") { api in
            let created = try await api.send(.post, "/api/tenants", json: #"{"name": "x"}"#)
            #expect(created.status == .created)
            let viewer = try await api.send(.get, "/api/tenants", authorization: .some("Bearer legacy-read")).json()
            #expect(viewer["tenants"]?.array?.compactMap { $0["name"]?.string } == ["default"])
            let agent = try await api.createAgent(#"{"name": "A", "agent_type": "chat"}"#)
            let read = try await api.send(.get, "/api/agents/\(agent)", authorization: .some("Bearer legacy-read")).json()
            #expect(read["tenant_id"]?.string == TenantRecord.defaultID.uuidString.lowercased())
        }
    }

    /// Without any credential the server answers loopback Host names only (DNS rebinding). The
    /// router test client always says `localhost`; the refusal of other names over a real socket
    /// is in tests/integration/test_access.py.
    @Test func openModeAcceptsOnlyLoopbackAuthorities() async throws {
        for authority in ["localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:80", "[::1]:8080", "[::1]", "app.localhost:3000"] {
            #expect(LoopbackHostMiddleware.isLoopback(authority: authority), "\(authority)")
        }
        for authority in ["rebind.evil.example:8080", "10.0.0.5", "127.0.0.1.evil.example", "[::2]:80", "", "localhost.evil.example"] {
            #expect(!LoopbackHostMiddleware.isLoopback(authority: authority), "\(authority)")
        }
        #expect(!LoopbackHostMiddleware.isLoopback(authority: nil))
        try await Registry.run(token: nil) { api in
            #expect(try await api.get("/api/agents").status == .ok)
            let origin = try await api.send(.get, "/api/providers", headers: [.origin: "http://evil.example"])
            #expect(origin.status == .misdirectedRequest && origin.errorCode == "host_not_allowed", "\(origin)")
            #expect(try await api.send(.get, "/api/providers", headers: [.origin: "http://localhost:5173"]).status == .ok)
        }
    }

    @Test func failedAuthenticationsAreThrottledPerAddress() async throws {
        let throttle = FailedAuthThrottle(perMinute: 3)
        let start = ContinuousClock.now
        for _ in 0..<3 { throttle.recordFailure("10.0.0.1", now: start) }
        #expect(throttle.blockedFor("10.0.0.1", now: start) == 20)
        #expect(throttle.blockedFor("10.0.0.2", now: start) == nil)
        #expect(throttle.blockedFor("10.0.0.1", now: start + .seconds(20)) == nil)
        // Through the authenticator: a blocked address gets 429 before any lookup.
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let authenticator = Authenticator(
                tokens: APITokens(write: nil, admin: TwoTenants.admin), keys: APIKeyRepository(pool: pool),
                throttle: FailedAuthThrottle(perMinute: 2), monotonicNow: { start }, wallClock: { TestClock.now })
            #expect(try await authenticator.authenticate("wrong", client: "10.0.0.9") == .rejected(reason: "not a Switchboard key or configured token"))
            _ = try await authenticator.authenticate("wrong", client: "10.0.0.9")
            #expect(try await authenticator.authenticate("wrong", client: "10.0.0.9") == .throttled(retryAfterSeconds: 30))
            // A configured token is compared in memory and still works from that address.
            if case .authenticated(let principal) = try await authenticator.authenticate(TwoTenants.admin, client: "10.0.0.9") {
                #expect(principal.role == .admin)
            } else {
                Issue.record("the admin token was refused")
            }
        }
    }

    @Test func logLinesNameTheKeyAndTenant() async throws {
        let lines = HardeningUnitTests.Lines()
        let logger = Logger(label: "model-registry") { label in
            JSONLogHandler(label: label) { line in lines.value.withLock { $0.append(line) } }
        }
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { pool.shutdown() }
            _ = try await Migrator(pool: pool, migrations: Registry.migrations).migrate()
            let (record, key) = try await APIKeyRepository(pool: pool).create(.init(tenantID: TenantRecord.defaultID, role: .inference), actor: .cli)
            let router = buildRouter(
                configuration: RegistryConfiguration(migrations: Registry.migrations, adminToken: TwoTenants.admin), pool: pool, logger: logger)
            try await Application(router: router, logger: logger).test(.router) { client in
                let api = Registry(client: client, pool: pool, token: key)
                let reply = try await api.send(.patch, "/api/providers/openai", json: "{}")
                #expect(reply.status == .forbidden)
            }
            let refusal = try #require(lines.value.withLock { $0 }.first { $0.contains("registry.auth.forbidden") })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(refusal.utf8)) as? [String: Any])
            #expect(object["auth.key_id"] as? String == record.id.uuidString.lowercased())
            #expect(object["tenant.id"] as? String == TenantRecord.defaultID.uuidString.lowercased())
            #expect(object["auth.credential"] as? String == "api_key")
            #expect((object["request.id"] as? String)?.isEmpty == false)
        }
    }

    @Test func waitsPerKeyAreCapped() async throws {
        let limiter = WaitLimiter(limit: 1)
        let principal = Principal.environmentToken(.adminToken, role: .admin)
        let gate = AsyncStream<Void>.makeStream()
        let holder = Task { try await limiter.withWait(for: principal) { for await _ in gate.stream {} } }
        try await waitUntil(seconds: 10, "the first wait is admitted") {
            let othersAdmitted = (try? await limiter.withWait(for: Principal.environmentToken(.readToken, role: .viewer)) { true }) == true
            let sameRefused = await Self.refused(limiter, principal)
            return othersAdmitted && sameRefused
        }
        gate.continuation.finish()
        try await holder.value
        #expect(try await limiter.withWait(for: principal) { 1 } == 1)
    }

    static func refused(_ limiter: WaitLimiter, _ principal: Principal) async -> Bool {
        do {
            _ = try await limiter.withWait(for: principal) { 0 }
            return false
        } catch let error as APIError {
            return error.code == "too_many_waits"
        } catch {
            return false
        }
    }
}
