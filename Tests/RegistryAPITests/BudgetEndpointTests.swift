import Foundation
import HTTPTypes
import JSON
import Postgres
@testable import RegistryAPI
import Storage
import Testing

/// `/api/budgets` (issue 23): create, read with the current period's spend, change, delete, the
/// roles and tenants that may, validation, the audit trail, and the enqueue-time refusal on
/// `/api/jobs` and both `/v1` formats.
@Suite struct BudgetEndpointTests {
    static let admin = TwoTenants.admin

    static func create(_ api: Registry, _ json: String, key: String = admin) async throws -> Reply {
        try await api.send(.post, "/api/budgets", json: json, authorization: .some("Bearer \(key)"))
    }

    @Test func createReadChangeDelete() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let operatorKey = tenants.a.keys[.operator]!
            let created = try await Self.create(api, """
                {"scope": "agent", "scope_id": "\(tenants.a.agentID)", "period": "day", "time_zone": "Europe/Paris",
                 "limit_usd": "12.50", "on_exhausted": "downgrade", "downgrade_threshold": 0.9, "alert_thresholds": [0.8, 0.5]}
                """, key: operatorKey)
            #expect(created.status == .created, "\(created)")
            let body = try created.json()
            let id = try #require(body["id"]?.string)
            #expect(body["limit_usd"]?.string == "12.5")
            #expect(body["spent_usd"]?.string == "0")
            #expect(body["reserved_usd"]?.string == "0")
            #expect(body["remaining_usd"]?.string == "12.5")
            #expect(body["tenant_id"]?.string == tenants.a.tenantID)
            #expect(body["alert_thresholds"] == .array([.string("0.5"), .string("0.8")]))
            #expect(body["downgrade_threshold"]?.string == "0.9")
            #expect(body["period_start"]?.string != nil && body["period_end"]?.string != nil)

            // Spend shows up as the worker leaves it (here written as budget_settle_calls would).
            try await api.pool.execute("""
                INSERT INTO budget_periods (budget_id, period_start, period_end, spent_usd, reserved_usd)
                SELECT \(UUID(uuidString: id)!), period_start, period_end, 2.25, 0.75
                  FROM budget_period_bounds('day', 'Europe/Paris', now())
                """)
            let read = try await api.send(.get, "/api/budgets/\(id)", authorization: .some("Bearer \(tenants.a.keys[.viewer]!)"))
            #expect(read.status == .ok)
            #expect(try read.json()["spent_usd"]?.string == "2.25")
            #expect(try read.json()["remaining_usd"]?.string == "9.50")
            #expect(try read.json()["alerts"] == .array([]))

            let patched = try await api.send(
                .patch, "/api/budgets/\(id)", json: #"{"limit_usd": 20, "on_exhausted": "fail", "downgrade_threshold": null}"#,
                authorization: .some("Bearer \(operatorKey)"))
            #expect(patched.status == .ok, "\(patched)")
            #expect(try patched.json()["limit_usd"]?.string == "20")
            #expect(try patched.json()["downgrade_threshold"] == .null)

            let listed = try await api.send(
                .get, "/api/budgets?scope=agent&scope_id=\(tenants.a.agentID)", authorization: .some("Bearer \(operatorKey)"))
            #expect(try listed.json()["budgets"]?.array?.compactMap { $0["id"]?.string }.contains(id) == true)
            // Tenant b sees none of a's budgets.
            let other = try await api.send(.get, "/api/budgets", authorization: .some("Bearer \(tenants.b.keys[.operator]!)"))
            #expect(try other.json()["budgets"]?.array?.compactMap { $0["id"]?.string }.contains(id) == false)
            #expect(try await api.send(.get, "/api/budgets/\(id)", authorization: .some("Bearer \(tenants.b.keys[.admin]!)")).status == .ok)

            // Every change is in the audit trail, with the key that made it.
            let trail = try await api.pool.query("""
                SELECT action FROM config_changes WHERE entity = 'budget' AND entity_id = \(id) ORDER BY id
                """).rows.map { try $0.decode(at: 0, as: String.self) }
            #expect(trail == ["create", "update"])
            // And through the API, in its own schema (entity "budget" is one of its values).
            let changes = try await api.send(.get, "/api/changes?entity=budget&entity_id=\(id)", authorization: .some("Bearer \(Self.admin)"))
            #expect(changes.status == .ok, "\(changes)")
            #expect(try changes.json()["changes"]?.array?.compactMap { $0["entity"]?.string }.allSatisfy { $0 == "budget" } == true)
            #expect(try changes.json()["changes"]?.array?.count == 2)

            #expect(try await api.send(.delete, "/api/budgets/\(id)", authorization: .some("Bearer \(operatorKey)")).status == .noContent)
            #expect(try await api.send(.get, "/api/budgets/\(id)", authorization: .some("Bearer \(operatorKey)")).status == .notFound)
        }
    }

    @Test func validationAndPermissions() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let operatorKey = tenants.a.keys[.operator]!
            func expectInvalid(_ json: String, field: String) async throws {
                let reply = try await Self.create(api, json, key: operatorKey)
                #expect(reply.status == .badRequest, "\(json): \(reply)")
                let fields = try reply.json()["error"]?["details"]?.array?.compactMap { $0["field"]?.string } ?? []
                #expect(fields.contains(field), "\(json): \(reply)")
            }
            let agent = tenants.a.agentID
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)"}"#, field: "limit_usd")
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)", "limit_usd": "-1"}"#, field: "limit_usd")
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)", "limit_usd": "1e200"}"#, field: "limit_usd")
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)", "limit_usd": 5, "time_zone": "Mars/Olympus"}"#, field: "time_zone")
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)", "limit_usd": 5, "period": "hour"}"#, field: "period")
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)", "limit_usd": 5, "downgrade_threshold": 0.9}"#, field: "downgrade_threshold")
            try await expectInvalid(#"{"scope": "agent", "scope_id": "\#(agent)", "limit_usd": 5, "alert_thresholds": [0, 0.5]}"#, field: "alert_thresholds[0]")
            try await expectInvalid(#"{"scope": "agent", "limit_usd": 5}"#, field: "scope_id")
            // Another tenant's agent, key or tenant reads as missing.
            let foreign = try await Self.create(api, #"{"scope": "agent", "scope_id": "\#(tenants.b.agentID)", "limit_usd": 5}"#, key: operatorKey)
            #expect(foreign.status == .notFound)
            let foreignTenant = try await Self.create(api, #"{"scope": "tenant", "scope_id": "\#(tenants.b.tenantID)", "limit_usd": 5}"#, key: operatorKey)
            #expect(foreignTenant.status == .notFound)
            // Global budgets are an admin's, and only an admin sees them.
            let global = try await Self.create(api, #"{"scope": "global", "limit_usd": 1000}"#, key: operatorKey)
            #expect(global.status == .forbidden)
            let made = try await Self.create(api, #"{"scope": "global", "limit_usd": 1000}"#)
            #expect(made.status == .created, "\(made)")
            let globalID = try #require(try made.json()["id"]?.string)
            #expect(try await api.send(.get, "/api/budgets/\(globalID)", authorization: .some("Bearer \(operatorKey)")).status == .notFound)
            #expect(try await api.send(.delete, "/api/budgets/\(globalID)", authorization: .some("Bearer \(operatorKey)")).status == .notFound)
            // Inference keys cannot create budgets.
            #expect(try await Self.create(api, #"{"scope": "tenant", "scope_id": "\#(tenants.a.tenantID)", "limit_usd": 5}"#,
                                          key: tenants.a.keys[.inference]!).status == .forbidden)
        }
    }

    @Test func spentBudgetRefusesAtEnqueue() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let inference = tenants.a.keys[.inference]!
            let keyID = try #require(try await api.pool.query("""
                SELECT id FROM api_keys WHERE tenant_id = \(UUID(uuidString: tenants.a.tenantID)!) AND role = 'inference'
                """).rows.first?.decode(at: 0, as: UUID.self))
            // The key's jobs record the key.
            let job = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.a.agentID)", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(inference)"))
            #expect(job.status == .created)
            let jobID = try #require(try job.json()["id"]?.int)
            #expect(try await api.pool.query("SELECT api_key_id FROM llm_jobs WHERE id = \(jobID)").rows[0].decode(at: 0, as: UUID?.self) == keyID)

            // A key budget of 0: spent (0) has reached the limit.
            let budget = try await Self.create(api, #"{"scope": "api_key", "scope_id": "\#(keyID.uuidString.lowercased())", "limit_usd": 0}"#)
            let budgetID = try #require(try budget.json()["id"]?.string)
            let refused = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.a.agentID)", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(inference)"))
            #expect(refused.status == .tooManyRequests, "\(refused)")
            #expect(try refused.json()["error"]?["code"]?.string == "budget_exceeded")
            #expect(refused.text.contains(budgetID))
            #expect(refused.headers[.retryAfter] == nil)

            // /v1 in both formats: the format's 429, and x-should-retry: false so the SDKs do not loop.
            try await api.pool.execute("UPDATE agents SET name = 'budgeted' WHERE id = \(UUID(uuidString: tenants.a.agentID)!)")
            let chat = try await api.send(
                .post, "/v1/chat/completions", json: #"{"model": "agent:budgeted", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(inference)"))
            #expect(chat.status == .tooManyRequests, "\(chat)")
            #expect(chat.headers[HTTPField.Name("x-should-retry")!] == "false")
            #expect(try chat.json()["error"]?["type"]?.string == "rate_limit_error")
            #expect(try chat.json()["error"]?["code"]?.string == "budget_exceeded")
            let messages = try await api.send(
                .post, "/v1/messages",
                json: #"{"model": "agent:budgeted", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}"#,
                headers: [HTTPField.Name("x-api-key")!: inference], authorization: .some(nil))
            #expect(messages.status == .tooManyRequests, "\(messages)")
            #expect(messages.headers[HTTPField.Name("x-should-retry")!] == "false")
            #expect(try messages.json()["type"]?.string == "error")
            #expect(try messages.json()["error"]?["type"]?.string == "rate_limit_error")

            // Another key of the tenant is not limited by it; nor is a budget with room.
            let other = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.a.agentID)", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(tenants.a.keys[.operator]!)"))
            #expect(other.status == .created)
            #expect(try await api.send(.patch, "/api/budgets/\(budgetID)", json: #"{"limit_usd": 1}"#).status == .ok)
            let again = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.a.agentID)", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(inference)"))
            #expect(again.status == .created)
        }
    }

    @Test func gaugesForTheAdminScrapeOnly() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let made = try await Self.create(api, #"{"scope": "global", "limit_usd": "7.5", "period": "week"}"#)
            let id = try #require(try made.json()["id"]?.string)
            let scraped = try await api.send(.get, "/metrics", authorization: .some("Bearer \(Self.admin)"))
            #expect(scraped.text.contains(#"switchboard_budget_limit_usd{budget_id="\#(id)",scope="global",scope_id="",tenant_id="",period="week"} 7.5"#))
            #expect(scraped.text.contains(#"switchboard_budget_spent_usd{budget_id="\#(id)""#))
            #expect(scraped.text.contains(#"switchboard_budget_reserved_usd{budget_id="\#(id)""#))
            let anonymous = try await api.send(.get, "/metrics", authorization: .some(nil))
            #expect(anonymous.status == .ok)
            #expect(!anonymous.text.contains("switchboard_budget"))
        }
    }

    @Test func aSpentDeferBudgetQueuesJobsButRefusesWaitingCallers() async throws {
        try await Registry.run(adminToken: Self.admin) { api in
            let tenants = try await TwoTenants.make(api)
            let inference = tenants.a.keys[.inference]!
            #expect(try await Self.create(api, #"{"scope": "agent", "scope_id": "\#(tenants.a.agentID)", "limit_usd": 0, "on_exhausted": "defer"}"#).status == .created)
            // A job waits for the next period: accepted.
            let job = try await api.send(
                .post, "/api/jobs", json: #"{"agent_id": "\#(tenants.a.agentID)", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(inference)"))
            #expect(job.status == .created, "\(job)")
            // A /v1 caller cannot wait that long: refused at once.
            try await api.pool.execute("UPDATE agents SET name = 'deferring' WHERE id = \(UUID(uuidString: tenants.a.agentID)!)")
            let chat = try await api.send(
                .post, "/v1/chat/completions", json: #"{"model": "agent:deferring", "messages": [{"role": "user", "content": "hi"}]}"#,
                authorization: .some("Bearer \(inference)"))
            #expect(chat.status == .tooManyRequests, "\(chat)")
            #expect(try chat.json()["error"]?["code"]?.string == "budget_exceeded")
        }
    }
}
