import Foundation
@testable import Gateway
import Postgres
import TestSupport
import Testing

/// Budgets by reservation (issue 23, migration 0033): each call reserves its maximum cost against
/// every budget of its job before it is sent, in the same statement as its ledger row, and its
/// settlement charges the exact cost; refusals fail, defer or downgrade the job.
@Suite("Gateway: budgets")
struct BudgetTests {
    static let tenant = "00000000-0000-4000-8000-000000000001"

    /// A job whose request names its own max_tokens (the stub's reply to "hello" is 6 tokens, so
    /// max_tokens 6 makes the reservation the exact output cost plus the input bound).
    @discardableResult
    static func enqueue(_ h: GatewayHarness, agent: UUID, maxTokens: Int = 6, text: String = "hello") async throws -> Int64 {
        let request = #"{"messages":[{"role":"user","content":"\#(text)"}],"max_tokens":\#(maxTokens)}"#
        return try await h.pool.query("""
            INSERT INTO llm_jobs (agent_id, request) VALUES (\(agent), \(PostgresJSONText(request))) RETURNING id
            """).rows[0].decode(at: 0)
    }

    @discardableResult
    static func addBudget(
        _ h: GatewayHarness, agent: UUID, limit: String, onExhausted: String = "fail", threshold: String? = nil,
        period: String = "day", alerts: String = "{0.5,0.8,1.0}"
    ) async throws -> UUID {
        try await h.pool.query("""
            INSERT INTO budgets (tenant_id, scope, scope_id, period, limit_usd, on_exhausted, downgrade_threshold, alert_thresholds)
            VALUES (\(tenant)::uuid, 'agent', \(agent), \(period), \(limit)::numeric, \(onExhausted), \(threshold)::numeric,
                    \(alerts)::numeric[])
            RETURNING id
            """).rows[0].decode(at: 0)
    }

    static func decimal(_ h: GatewayHarness, _ sql: SQL) async throws -> Decimal {
        let text: String = try await h.pool.query(sql).rows[0].decode(at: 0)
        return try #require(Decimal(string: text))
    }

    @Test("A budget that fits 10.5 calls pays exactly 10 of 30 concurrent jobs; the rest fail budget_exceeded naming it")
    func exactUnderConcurrency() async throws {
        try await GatewayHarness.run { h in
            // Output dearer than input: the reservation (input bound + max_tokens) is close to the cost.
            try await h.addModel("gpt-budget", provider: "openai", input: "0.0001", output: "0.01")
            let agent = try await h.addAgent("budgeted", model: "gpt-budget")
            // One call's exact cost, measured before any budget exists.
            let probe = try await Self.enqueue(h, agent: agent)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            let cost = try await Self.decimal(h, "SELECT cost::text FROM model_usage WHERE job_id = \(probe)")
            #expect(cost > 0)
            let limit = cost * Decimal(string: "10.5")!
            let budget = try await Self.addBudget(h, agent: agent, limit: "\(limit)")

            for _ in 0..<30 { try await Self.enqueue(h, agent: agent) }
            try await h.withWorker(h.configuration(concurrency: 32)) { _ in try await h.waitForAllJobs() }

            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE id <> \(probe) AND status = 'succeeded'") == 10)
            #expect(try await h.count("""
                SELECT count(*) FROM llm_jobs WHERE status = 'failed' AND error->>'code' = 'budget_exceeded'
                   AND error->>'budget_id' = \(budget.uuidString.lowercased())
                """) == 20)
            let spent = try await Self.decimal(h, "SELECT spent_usd::text FROM budget_periods WHERE budget_id = \(budget)")
            let reserved = try await Self.decimal(h, "SELECT reserved_usd::text FROM budget_periods WHERE budget_id = \(budget)")
            let usage = try await Self.decimal(h, "SELECT sum(cost)::text FROM model_usage WHERE job_id <> \(probe)")
            #expect(spent == usage)
            #expect(spent == cost * 10)
            #expect(reserved == 0)
            #expect(spent <= limit)
            // A refused call was never sent: 11 calls reached the provider (the probe and 10).
            #expect(h.stats().requests(model: "gpt-budget") == 11)
            // Every paid call was sent with an explicit max_tokens and holds its reservation's row.
            #expect(try await h.count("""
                SELECT count(*) FROM llm_job_calls WHERE job_id <> \(probe) AND reserved_usd IS NOT NULL
                   AND charged_usd = cost_usd AND hold_budget_ids = ARRAY[\(budget)]::uuid[]
                """) == 10)
            // 50 %, 80 % and 100 % (10/10.5 = 95 %: not reached) → two alerts, once each.
            #expect(try await h.count("SELECT count(*) FROM budget_alerts WHERE budget_id = \(budget)") == 2)
        }
    }

    @Test("downgrade: past its threshold an agent continues on the cheaper model of its chain, and the usage row says so")
    func downgradeToTheCheaperModel() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-dear", provider: "openai", input: "0.0001", output: "0.01")
            try await h.addModel("gpt-cheap", provider: "openai", input: "0.00001", output: "0.0006")
            let agent = try await h.addAgent("thrifty", model: "gpt-dear", fallbacks: ["gpt-cheap"])
            // Room for a few dear calls before 50 %, then the cheap one.
            let probe = try await Self.enqueue(h, agent: agent)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            let dear = try await Self.decimal(h, "SELECT cost::text FROM model_usage WHERE job_id = \(probe)")
            let budget = try await Self.addBudget(h, agent: agent, limit: "\(dear * 10)", onExhausted: "downgrade", threshold: "0.5")
            for _ in 0..<12 { try await Self.enqueue(h, agent: agent) }
            // One at a time, so the threshold is crossed at a known call.
            try await h.withWorker(h.configuration(concurrency: 1)) { _ in try await h.waitForAllJobs() }

            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == 13)
            let dearCalls = try await h.count("SELECT count(*) FROM model_usage WHERE job_id <> \(probe) AND model_id = 'gpt-dear'")
            #expect(dearCalls >= 3 && dearCalls <= 5)
            #expect(try await h.count("""
                SELECT count(*) FROM model_usage WHERE model_id = 'gpt-cheap' AND budget_decision = 'downgrade'
                """) == 12 - dearCalls)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE model_id = 'gpt-cheap' AND budget_decision IS NULL") == 0)
            let spent = try await Self.decimal(h, "SELECT spent_usd::text FROM budget_periods WHERE budget_id = \(budget)")
            #expect(spent <= dear * 10)
        }
    }

    @Test("defer: an exhausted budget puts the job back in the queue until its period ends, without spending an attempt")
    func deferUntilTheNextPeriod() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-defer", provider: "openai")
            let agent = try await h.addAgent("patient", model: "gpt-defer")
            let budget = try await Self.addBudget(h, agent: agent, limit: "0", onExhausted: "defer")
            let id = try await Self.enqueue(h, agent: agent)
            try await h.withWorker { _ in
                try await h.waitUntil(seconds: 30, "job deferred") {
                    try await h.count("SELECT count(*) FROM llm_jobs WHERE id = \(id) AND status = 'queued' AND error IS NOT NULL") == 1
                }
            }
            let row = try await h.job(id)
            #expect(row.attempt == 0)
            #expect(row.error?["code"]?.string == "budget_exceeded")
            #expect(row.error?["budget_id"]?.string == budget.uuidString.lowercased())
            // It runs when the budget's day ends (UTC midnight; the worker's clock turns that into a
            // delay, so within a few seconds of it), not before.
            #expect(try await h.count("""
                SELECT count(*) FROM llm_jobs, budget_period_bounds('day', 'UTC', now()) b
                 WHERE id = \(id) AND run_at BETWEEN b.period_end - interval '5 seconds' AND b.period_end + interval '5 seconds'
                """) == 1)
            #expect(h.stats().requests(model: "gpt-defer") == 0)
        }
    }

    @Test("A model without a price is refused price_unknown when a budget applies, and runs when none does")
    func priceUnknown() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-unpriced", provider: "openai", input: nil, output: nil)
            let governed = try await h.addAgent("governed", model: "gpt-unpriced")
            let free = try await h.addAgent("free", model: "gpt-unpriced")
            try await Self.addBudget(h, agent: governed, limit: "100")
            let refused = try await Self.enqueue(h, agent: governed)
            let ran = try await Self.enqueue(h, agent: free)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            #expect(try await h.job(refused).error?["code"]?.string == "price_unknown")
            #expect(try await h.job(ran).status == "succeeded")
            #expect(h.stats().requests(model: "gpt-unpriced") == 1)
        }
    }

    @Test("A call the rescuer settles as unknown is charged its whole reservation; its late answer reconciles it to the cost")
    func orphanChargedThenReconciled() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("orphan", model: "gpt-lease")
            let budget = try await Self.addBudget(h, agent: agent, limit: "1")
            let id = try await Self.enqueue(h, agent: agent)
            let a = GatewayStore(pool: h.pool, workerID: "a")
            let job = try #require(try await a.claim(limit: 1, lease: .seconds(30)).first)
            var entry = CallLedger.Entry(attempt: job.key, provider: "openai", modelID: "gpt-lease", fallbackDepth: 0)
            entry.reservation = .init(amount: Decimal(string: "0.25"), downgraded: false)
            #expect(try await a.openCalls([entry])[job.key] == .opened(callSeq: 1, reserved: true))
            #expect(try await Self.decimal(h, "SELECT reserved_usd::text FROM budget_periods WHERE budget_id = \(budget)") == Decimal(string: "0.25"))

            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(id)")
            #expect(try await GatewayStore(pool: h.pool, workerID: "b").rescueExpired(limit: 10).requeued == 1)
            #expect(try await Self.decimal(h, "SELECT spent_usd::text FROM budget_periods WHERE budget_id = \(budget)") == Decimal(string: "0.25"))
            #expect(try await Self.decimal(h, "SELECT reserved_usd::text FROM budget_periods WHERE budget_id = \(budget)") == 0)

            var late = LeaseTests.outcome(job)
            late.calls[0].reserved = true
            #expect(try await a.complete(CompletionBatch([late])) == 0)
            #expect(try await a.complete(CompletionBatch([late])) == 0)
            #expect(try await Self.decimal(h, "SELECT spent_usd::text FROM budget_periods WHERE budget_id = \(budget)") == Decimal(string: "0.000075"))
        }
    }

    @Test("Periods: day, ISO week and month in the budget's time zone; a new period starts from zero")
    func periodsAndRollover() async throws {
        try await GatewayHarness.run { h in
            func bounds(_ period: String, _ zone: String, _ at: String) async throws -> (String, String) {
                let row = try await h.pool.query("""
                    SELECT to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                           to_char(period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
                      FROM budget_period_bounds(\(period), \(zone), \(at)::timestamptz)
                    """).rows[0]
                return (try row.decode(at: 0), try row.decode(at: 1))
            }
            #expect(try await bounds("day", "UTC", "2026-03-10 23:59:59Z") == ("2026-03-10 00:00", "2026-03-11 00:00"))
            #expect(try await bounds("day", "America/New_York", "2026-03-10 03:00Z") == ("2026-03-09 04:00", "2026-03-10 04:00"))
            // The day clocks change (2026-03-08 in New York) is 23 hours long.
            #expect(try await bounds("day", "America/New_York", "2026-03-08 12:00Z") == ("2026-03-08 05:00", "2026-03-09 04:00"))
            #expect(try await bounds("week", "UTC", "2026-03-12 10:00Z") == ("2026-03-09 00:00", "2026-03-16 00:00"))
            #expect(try await bounds("month", "Asia/Tokyo", "2026-02-28 16:00Z") == ("2026-02-28 15:00", "2026-03-31 15:00"))

            try await h.addModel("gpt-roll", provider: "openai")
            let agent = try await h.addAgent("rolling", model: "gpt-roll")
            let budget = try await Self.addBudget(h, agent: agent, limit: "1")
            let id = try await Self.enqueue(h, agent: agent)
            func reserve(at: String, amount: String) async throws -> Int? {
                let calls = #"[{"k":0,"job_id":\#(id),"attempt":1,"provider":"openai","model_id":"gpt-roll","amount":"\#(amount)"}]"#
                return try await h.pool.query("""
                    SELECT call_seq FROM budget_open_calls('w', gen_random_uuid(), \(PostgresJSONText(calls)), \(at)::timestamptz)
                    """).rows[0].decode(at: 0)
            }
            #expect(try await reserve(at: "2026-03-10 23:59:59Z", amount: "0.9") == 1)
            #expect(try await reserve(at: "2026-03-10 23:59:59Z", amount: "0.2") == nil)  // over the day's limit
            #expect(try await reserve(at: "2026-03-11 00:00:00Z", amount: "0.9") == 2)  // the next day starts at 0
            #expect(try await h.count("SELECT count(*) FROM budget_periods WHERE budget_id = \(budget)") == 2)
        }
    }
}
