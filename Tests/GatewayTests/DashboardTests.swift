import Foundation
@testable import Gateway
import JSON
import Postgres
import Testing

/// The dashboard views (0017) and every panel of the Grafana dashboard, run as the read-only
/// dashboard role over usage that a real worker wrote while running real jobs against
/// provider-stub: successes on two providers, retried 500s with a fallback, an invalid request.
@Suite("Dashboards: Grafana panels and views over usage written by the gateway")
struct DashboardTests {
    struct Seeded {
        var writer: UUID
        var resilient: UUID
        var strict: UUID
        /// Exact cost per model, from the jobs' reported tokens and the catalog prices.
        var costByModel: [String: Decimal]
        var inputTokens: Int
        var outputTokens: Int
    }

    /// 3 jobs on gpt-dash; 2 jobs whose primary answers 500 (1 call + 2 retries each) and that
    /// succeed on claude-dash (fallback depth 1); 1 job failing with a 400. Requests (attempts):
    /// 3 + 2 × 4 + 1 = 12, errors 6 + 1 = 7, fallbacks 2.
    static func seed(_ h: GatewayHarness) async throws -> Seeded {
        try await h.addModel("gpt-dash", provider: "openai", input: "0.0025", output: "0.01")
        try await h.addModel("stub-dash-error-500", provider: "openai")
        try await h.addModel("claude-dash", provider: "anthropic", input: "0.003", output: "0.015")
        try await h.addModel("stub-dash-strict-error-400", provider: "openai")
        let writer = try await h.addAgent("dash-writer", model: "gpt-dash")
        let resilient = try await h.addAgent("dash-resilient", model: "stub-dash-error-500", fallbacks: ["claude-dash"])
        let strict = try await h.addAgent("dash-strict", model: "stub-dash-strict-error-400")
        var jobs: [Int64] = []
        for text in ["one", "two words", "three words here"] { jobs.append(try await h.enqueue(agent: writer, text: text)) }
        for text in ["please", "please again"] { jobs.append(try await h.enqueue(agent: resilient, text: text)) }
        jobs.append(try await h.enqueue(agent: strict))
        var configuration = h.configuration()
        configuration.cooldownThreshold = 100
        try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }

        // The catalog prices above, per 1K tokens.
        let prices: [String: (input: Decimal, output: Decimal)] = [
            "gpt-dash": (Decimal(25) / 10_000, Decimal(1) / 100),
            "claude-dash": (Decimal(3) / 1000, Decimal(15) / 1000),
        ]
        var seeded = Seeded(writer: writer, resilient: resilient, strict: strict, costByModel: [:], inputTokens: 0, outputTokens: 0)
        for id in jobs {
            let row = try await h.job(id)
            guard row.status == "succeeded" else { continue }
            let model = try #require(row.result?["model"]?.string)
            let input = try #require(row.result?["usage"]?["input_tokens"]?.int)
            let output = try #require(row.result?["usage"]?["output_tokens"]?.int)
            let price = try #require(prices[model])
            seeded.costByModel[model, default: 0] += Decimal(input) * price.input / 1000 + Decimal(output) * price.output / 1000
            seeded.inputTokens += input
            seeded.outputTokens += output
        }
        #expect(try await h.job(jobs[5]).status == "failed")
        #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == 5)
        return seeded
    }

    @Test("Every panel's SQL, run as the read-only role, shows exactly the seeded usage")
    func panelsShowSeededUsage() async throws {
        try await GatewayHarness.run { h in
            let seeded = try await Self.seed(h)
            // Queue: two jobs ready for an hour and half an hour, one scheduled an hour ahead (no worker runs now).
            for (text, shift) in [("ready for an hour", "-1 hour"), ("ready for half an hour", "-30 minutes"), ("later", "1 hour")] {
                let id = try await h.enqueue(agent: seeded.writer, text: text)
                try await h.pool.execute("UPDATE llm_jobs SET run_at = now() + \(shift)::interval WHERE id = \(id)")
            }
            let usage = try await RawUsage.load(h.pool)
            #expect(usage.requestsByModel == ["gpt-dash": 3, "stub-dash-error-500": 6, "claude-dash": 2, "stub-dash-strict-error-400": 1])

            try await DashboardSupport.withLoginRole(database: h.database, admin: h.pool) { login in
                let reader = PostgresPool(configuration: login, maxConnections: 1)
                defer { reader.shutdown() }

                let today: Date = try await h.pool.query("SELECT date_trunc('day', now(), 'UTC')").rows[0].decode(at: 0)
                let from = today.addingTimeInterval(-6 * 86_400)
                let to = today.addingTimeInterval(86_400 - 1)
                var panels = PanelRows(today: today)
                for panel in try DashboardSupport.panels() {
                    let sql = try DashboardSupport.expandMacros(panel.rawSQL, from: from, to: to)
                    panels.results[panel.title] = try await DashboardSupport.run(sql, on: reader)
                }
                try Self.checkTotalsAndQueue(&panels, seeded)
                try Self.checkDailySeries(&panels, seeded)
                try Self.checkAgentPanels(&panels, seeded)
                try Self.checkLatencyAndModelPanels(&panels, seeded, usage)
                #expect(panels.results.isEmpty, "panels without checks: \(panels.results.keys.sorted())")

                // Outside the range: nothing (a day-7 window ending before today).
                let summaryPanel = try #require(try DashboardSupport.panels().first { $0.title == "Cost in range (USD)" })
                let before = try await DashboardSupport.run(
                    try DashboardSupport.expandMacros(summaryPanel.rawSQL, from: from.addingTimeInterval(-30 * 86_400), to: from),
                    on: reader)
                #expect(before.first?["requests"]?.isNull == true)
            }
        }
    }

    /// `model_usage` as the worker wrote it, summed per model: what the latency and usage panels
    /// must agree with.
    struct RawUsage {
        var successLatencies: [String: [Int]] = [:]
        var errorsByModel: [String: Int] = [:]
        var latencySumByModel: [String: Int] = [:]
        var requestsByModel: [String: Int] = [:]

        static func load(_ pool: PostgresPool) async throws -> RawUsage {
            var usage = RawUsage()
            for row in try await pool.query("SELECT model_id, outcome, latency_ms FROM model_usage").rows {
                let model: String = try row.decode(at: 0)
                let latency: Int = try row.decode(at: 2)
                usage.requestsByModel[model, default: 0] += 1
                usage.latencySumByModel[model, default: 0] += latency
                if try row.decode(at: 1, as: String.self) == "success" {
                    usage.successLatencies[model, default: []].append(latency)
                } else {
                    usage.errorsByModel[model, default: 0] += 1
                }
            }
            return usage
        }
    }

    /// Each panel's rows by title; a panel is taken out when checked, so the rest are the unchecked ones.
    struct PanelRows {
        var results: [String: [JSONValue]] = [:]
        /// The day the seeded usage was written, as the series panels' buckets show it.
        var todayText: String

        init(today: Date) {
            todayText = ISO8601DateFormatter().string(from: today)
        }

        mutating func take(_ title: String) throws -> [JSONValue] {
            let panelRows = results.removeValue(forKey: title)
            return try #require(panelRows, "no panel \(title)")
        }

        func isToday(_ value: JSONValue?) -> Bool {
            // to_jsonb writes a timestamptz as 2026-11-30T00:00:00+00:00 (the session's offset).
            guard let text = value?.stringValue, let date = ISO8601DateFormatter().date(from: text) else { return false }
            return ISO8601DateFormatter().string(from: date) == todayText
        }
    }

    private static func int(_ value: JSONValue?) -> Int? { value?.intValue }
    private static func dec(_ value: JSONValue?) -> Decimal? { DashboardSupport.decimal(value) }
    /// The views round latencies to 0.1 ms.
    private static func near(_ value: JSONValue?, _ expected: Double?) -> Bool {
        guard let expected, let actual = value?.doubleValue else { return value?.isNull ?? true && expected == nil }
        return abs(actual - expected) <= 0.051
    }

    private static func checkTotalsAndQueue(_ panels: inout PanelRows, _ seeded: Seeded) throws {
        let summary = try panels.take("Cost in range (USD)")
        #expect(summary.count == 1)
        #expect(dec(summary.first?["cost"]) == seeded.costByModel.values.reduce(0, +))
        #expect(int(summary.first?["requests"]) == 12)
        #expect(int(summary.first?["errors"]) == 7)
        #expect(int(summary.first?["fallbacks"]) == 2)

        let queue = try panels.take("Queue now")
        #expect(int(queue.first?["queued"]) == 3)
        #expect(int(queue.first?["ready"]) == 2)
        #expect(int(queue.first?["running"]) == 0)
        #expect(int(queue.first?["expired_leases"]) == 0)
        let age = queue.first?["oldest ready age (s)"]?.doubleValue ?? 0
        #expect(age >= 3600 && age < 3600 + 600)
    }

    private static func checkDailySeries(_ panels: inout PanelRows, _ seeded: Seeded) throws {
        let costSeries = try panels.take("Cost per day by provider (USD)")
        #expect(costSeries.map { $0["metric"]?.stringValue } == ["anthropic", "openai"])
        #expect(costSeries.allSatisfy { panels.isToday($0["time"]) })
        #expect(dec(costSeries.first?["value"]) == seeded.costByModel["claude-dash"])
        #expect(dec(costSeries.last?["value"]) == seeded.costByModel["gpt-dash"])

        let tokens = try panels.take("Tokens per day")
        #expect(tokens.count == 1)
        #expect(panels.isToday(tokens.first?["time"]))
        #expect(int(tokens.first?["input tokens"]) == seeded.inputTokens)
        #expect(int(tokens.first?["output tokens"]) == seeded.outputTokens)
        #expect(int(tokens.first?["cached input tokens"]) == 0)

        let requests = try panels.take("Requests, errors and fallbacks per day")
        #expect(requests.count == 1)
        #expect(int(requests.first?["requests"]) == 12)
        #expect(int(requests.first?["errors"]) == 7)
        #expect(int(requests.first?["fallbacks"]) == 2)

        let rates = try panels.take("Fallback and error rate per day")
        #expect(rates.count == 1)
        #expect(dec(rates.first?["fallback rate"]) == Decimal(1667) / 10_000)  // 2 / 12
        #expect(dec(rates.first?["error rate"]) == Decimal(5833) / 10_000)  // 7 / 12
    }

    private static func checkAgentPanels(_ panels: inout PanelRows, _ seeded: Seeded) throws {
        let byAgent = try panels.take("Fallback rate by agent")
        #expect(byAgent.map { $0["agent"]?.stringValue } == ["dash-resilient", "dash-strict", "dash-writer"])
        #expect(byAgent.map { int($0["requests"]) } == [8, 1, 3])
        #expect(byAgent.map { int($0["fallbacks"]) } == [2, 0, 0])
        #expect(byAgent.map { dec($0["fallback rate"]) } == [Decimal(25) / 100, 0, 0])
        #expect(byAgent.map { int($0["errors"]) } == [6, 1, 0])

        let expensive = try panels.take("Most expensive agents")
        let writerCost = try #require(seeded.costByModel["gpt-dash"])
        let resilientCost = try #require(seeded.costByModel["claude-dash"])
        let expectedOrder = writerCost >= resilientCost
            ? ["dash-writer", "dash-resilient", "dash-strict"] : ["dash-resilient", "dash-writer", "dash-strict"]
        #expect(expensive.map { $0["agent"]?.stringValue } == expectedOrder)
        let costs = Dictionary(uniqueKeysWithValues: expensive.map { ($0["agent"]?.stringValue ?? "", $0["cost (USD)"]) })
        #expect(dec(costs["dash-writer"] ?? nil) == writerCost)
        #expect(dec(costs["dash-resilient"] ?? nil) == resilientCost)
        #expect(costs["dash-strict"]??.isNull == true)  // one failed call: no known cost
        #expect(expensive.allSatisfy { int($0["unpriced calls"]) == 0 })
    }

    private static func checkLatencyAndModelPanels(_ panels: inout PanelRows, _ seeded: Seeded, _ usage: RawUsage) throws {
        let latencies = usage.successLatencies
        let p95 = try panels.take("p95 latency per model (successful calls, last 7 days)")
        #expect(p95.map { $0["metric"]?.stringValue } == ["anthropic/claude-dash", "openai/gpt-dash"])
        #expect(near(p95.first?["value"], DashboardSupport.percentile(0.95, latencies["claude-dash"] ?? [])))
        #expect(near(p95.last?["value"], DashboardSupport.percentile(0.95, latencies["gpt-dash"] ?? [])))

        let latencyTable = try panels.take("Latency percentiles per model (successful calls, ms)")
        #expect(latencyTable.map { $0["model_id"]?.stringValue } == ["claude-dash", "gpt-dash", "stub-dash-error-500", "stub-dash-strict-error-400"])
        for row in latencyTable {
            let model = row["model_id"]?.stringValue ?? ""
            let values = latencies[model] ?? []
            #expect(int(row["successes"]) == values.count)
            #expect(int(row["errors"]) == usage.errorsByModel[model] ?? 0)
            #expect(near(row["p50"], DashboardSupport.percentile(0.5, values)), "p50 of \(model)")
            #expect(near(row["p95"], DashboardSupport.percentile(0.95, values)), "p95 of \(model)")
            #expect(near(row["p99"], DashboardSupport.percentile(0.99, values)), "p99 of \(model)")
            #expect(int(row["max"]) == values.max())
        }

        let byModel = try panels.take("Usage by model")
        #expect(byModel.count == 4)
        for row in byModel {
            let model = row["model_id"]?.stringValue ?? ""
            #expect(int(row["requests"]) == usage.requestsByModel[model], "requests of \(model)")
            #expect(int(row["errors"]) == usage.errorsByModel[model] ?? 0, "errors of \(model)")
            #expect(dec(row["cost (USD)"]) == seeded.costByModel[model], "cost of \(model)")
            let requests = usage.requestsByModel[model] ?? 1
            let mean = Double(usage.latencySumByModel[model] ?? 0) / Double(requests)
            #expect(near(row["avg latency (ms)"], mean), "avg latency of \(model)")
        }
    }

    @Test("Every panel and query uses the provisioned datasource; the provider loads the dashboards folder")
    func provisioningIsConsistent() throws {
        let root = DashboardSupport.dashboardFile.deletingLastPathComponent().deletingLastPathComponent()
        let datasource = try String(contentsOf: root.appendingPathComponent("provisioning/datasources/switchboard.yml"), encoding: .utf8)
        let provider = try String(contentsOf: root.appendingPathComponent("provisioning/dashboards/switchboard.yml"), encoding: .utf8)
        #expect(datasource.contains("uid: switchboard-postgres"))
        #expect(datasource.contains("type: grafana-postgresql-datasource"))
        #expect(datasource.contains("user: grafana_reader"))
        #expect(datasource.contains("password: ${GRAFANA_DB_PASSWORD}"))
        #expect(provider.contains("path: /var/lib/grafana/dashboards"))

        let text = try String(contentsOf: DashboardSupport.dashboardFile, encoding: .utf8)
        let document = try #require(JSONValue.parse(text))
        #expect(document["uid"]?.stringValue == "switchboard-usage")
        #expect(document["timezone"]?.stringValue == "utc")  // the views' days are UTC days
        let panels = try #require(document["panels"]?.arrayValue)
        #expect(panels.count == 11)
        var ids = Set<Int>()
        for panel in panels {
            let title = panel["title"]?.stringValue ?? "?"
            let (isNew, _) = ids.insert(panel["id"]?.intValue ?? -1)
            #expect(isNew, "duplicate panel id: \(title)")
            for source in [panel["datasource"]] + (panel["targets"]?.arrayValue ?? []).map({ $0["datasource"] }) {
                #expect(source?["uid"]?.stringValue == "switchboard-postgres", "\(title)")
                #expect(source?["type"]?.stringValue == "grafana-postgresql-datasource", "\(title)")
            }
            let format = panel["targets"]?.arrayValue?.first?["format"]?.stringValue
            #expect(format == (panel["type"]?.stringValue == "timeseries" ? "time_series" : "table"), "\(title)")
        }
    }

    @Test("The views agree with the raw rows; the read-only role reads the views and nothing else")
    func viewsAndReadOnlyRole() async throws {
        try await GatewayHarness.run { h in
            let seeded = try await Self.seed(h)
            // The rollup (counters) equals the raw-row view per agent/provider/model.
            let mismatches = try await h.count("""
                SELECT count(*) FROM (
                    SELECT day, agent_id, provider, model_id, requests, successes, errors, fallback_requests,
                           input_tokens, output_tokens, cost FROM usage_daily_rollup
                    EXCEPT
                    SELECT day, agent_id, provider, model_id, requests, successes, errors, fallback_requests,
                           coalesce(input_tokens, 0), coalesce(output_tokens, 0), cost FROM usage_daily) d
                """)
            #expect(mismatches == 0)
            #expect(try await h.count("SELECT count(*) FROM usage_daily_rollup") == 4)
            #expect(try await h.count("SELECT count(*) FROM usage_daily") == 4)
            #expect(try await h.count("""
                SELECT count(*) FROM usage_daily_rollup
                 WHERE bucket_start = date_trunc('day', now(), 'UTC') AND day = (now() AT TIME ZONE 'UTC')::date
                """) == 4)
            let ranking = try await h.pool.query("SELECT agent_name, cost::text, requests FROM most_expensive_agents").rows
            #expect(ranking.count == 3)
            #expect(try ranking.last?.decode(at: 0, as: String.self) == "dash-strict")
            #expect(try ranking.last?.decode(at: 1, as: String?.self) == nil)
            let fallback = try await h.pool.query("""
                SELECT fallback_rate::text, requests FROM fallback_rate_daily WHERE agent_id = \(seeded.resilient)
                """).rows
            #expect(try fallback.first?.decode(at: 0, as: String.self) == "0.2500")
            #expect(try fallback.first?.decode(at: 1, as: Int.self) == 8)

            try await DashboardSupport.withLoginRole(database: h.database, admin: h.pool) { login in
                let reader = PostgresPool(configuration: login, maxConnections: 1)
                defer { reader.shutdown() }
                let timeout: String = try await reader.query("SHOW statement_timeout").rows[0].decode(at: 0)
                #expect(timeout == "10s")
                for view in ["usage_daily_rollup", "fallback_rate_daily", "most_expensive_agents", "model_latency_daily",
                             "llm_queue_status", "usage_daily", "usage_by_agent_model", "agent_usage_stats"] {
                    _ = try await reader.query(.unsafeSQL("SELECT * FROM \(view) LIMIT 1"))
                }
                // docs/dashboards.md's queries for Metabase users run as the role too (views only, valid SQL).
                let queries = try DashboardSupport.readmeQueries()
                #expect(queries.count == 8)
                for query in queries {
                    _ = try await reader.query(.unsafeSQL(query))
                }
                // Prompts and results (llm_jobs), configuration, the audit trail, raw rows and counters: denied.
                for table in ["llm_jobs", "agents", "llm_providers", "llm_models", "config_changes", "workflow_executions",
                              "model_usage", "agent_usage_daily", "execution_usage", "schema_migrations", "retention_cursor"] {
                    let error = await #expect(throws: PostgresError.self, "\(table) must not be readable") {
                        try await reader.query(.unsafeSQL("SELECT 1 FROM \(table) LIMIT 1"))
                    }
                    #expect(error?.sqlState == "42501", "\(table): \(String(describing: error))")
                }
                for statement in [
                    "DELETE FROM agent_usage_daily",
                    "UPDATE llm_jobs SET priority = 1",
                    "CREATE TABLE dashboard_scratch (id int)",
                ] {
                    await #expect(throws: PostgresError.self, "\(statement) must fail") {
                        try await reader.query(.unsafeSQL(statement))
                    }
                }
                // A slow query is cut off by the role's statement_timeout (here lowered for the test).
                try await h.pool.execute(.unsafeSQL("ALTER ROLE \(try #require(URLComponents(string: login.connectionString)?.user)) SET statement_timeout = '200ms'"))
                let slow = PostgresPool(configuration: login, maxConnections: 1)
                defer { slow.shutdown() }
                let cancelled = await #expect(throws: PostgresError.self) {
                    try await slow.query("SELECT count(*) FROM usage_daily_rollup, pg_sleep(5)")
                }
                #expect(cancelled?.sqlState == "57014")
            }
        }
    }
}
