import Foundation
@testable import Gateway
import Logging
import Postgres
import Synchronization
import Testing

/// Retention (docs/gateway.md "Retention") on a real database whose jobs and usage a real worker wrote.
@Suite("Retention: pruning finished jobs and old usage partitions")
struct RetentionTests {
    static let logger = Logger(label: "retention-tests")

    /// Snapshot of the counters' rollup, to compare before and after pruning.
    static func rollup(_ h: GatewayHarness) async throws -> String {
        try await h.pool.query("""
            SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY day, agent_id, provider, model_id), '[]')::text
              FROM usage_daily_rollup r
            """).rows[0].decode(at: 0)
    }

    static func ids(_ h: GatewayHarness, _ sql: SQL) async throws -> [Int64] {
        try await h.pool.query(sql).rows.map { try $0.decode(at: 0) }
    }

    @Test("Old finished jobs go in batches of the primary key; recent, unfinished and running-execution jobs stay; stragglers go once they qualify")
    func prunesFinishedJobs() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-retention", provider: "openai")
            try await h.addModel("stub-retention-error-400", provider: "openai")
            let agent = try await h.addAgent("keeper", model: "gpt-retention")
            let failing = try await h.addAgent("failing", model: "stub-retention-error-400")
            let execution = try await h.addExecution("long workflow")
            let future = "2999-01-01T00:00:00Z"
            // Lowest ids: jobs that will sit in the old id range unfinished.
            let queuedOld = try await h.enqueue(agent: agent, text: "not yet", runAt: future)
            let runningOld = try await h.enqueue(agent: agent, text: "running elsewhere", runAt: future)
            let inExecution = try await h.enqueue(agent: agent, text: "step 1", execution: execution)
            let executionPending = try await h.enqueue(agent: agent, text: "step 2", execution: execution, runAt: future)
            var old: [Int64] = []
            for index in 0..<20 { old.append(try await h.enqueue(agent: index % 4 == 0 ? failing : agent, text: "old \(index)")) }
            var recent: [Int64] = []
            for index in 0..<3 { recent.append(try await h.enqueue(agent: agent, text: "recent \(index)")) }
            try await h.withWorker { _ in
                try await h.waitUntil("24 jobs finished") {
                    try await h.count("SELECT count(*) FROM llm_jobs WHERE finished_at IS NOT NULL") == 24
                }
            }
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'failed'") == 5)
            // Everything but the recent jobs was created (and finished) ten days ago.
            try await h.pool.execute("""
                UPDATE llm_jobs SET created_at = now() - interval '10 days',
                       finished_at = CASE WHEN finished_at IS NOT NULL THEN now() - interval '10 days' END
                 WHERE NOT (id = ANY(\(recent.map(String.init))::bigint[]))
                """)
            try await h.pool.execute("""
                UPDATE llm_jobs SET status = 'running', attempt = 1, lease_owner = 'another-worker',
                       lease_expires_at = now() + interval '1 hour', started_at = now()
                 WHERE id = \(runningOld)
                """)
            let usageRows = try await h.count("SELECT count(*) FROM model_usage")
            let rollupBefore = try await Self.rollup(h)

            let batches = Collected<Int>()
            let retention = Retention(pool: h.pool, policy: RetentionPolicy(jobs: .seconds(7 * 86_400), usage: nil, batchSize: 5), logger: Self.logger)
            let report = try await retention.runOnce { progress in
                batches.append(progress.jobsDeleted)
            }
            #expect(!report.skipped)
            #expect(report.jobsDeleted == 20)
            #expect(report.stragglersDeleted == 0)
            // 24 old ids in windows of 5: the fifth window holds the first recent job and stops the walk.
            let running = batches.all
            let perBatch = zip(running, [0] + running).map { $0 - $1 }
            #expect(perBatch.count == report.jobBatches)
            #expect(report.jobBatches >= 5)
            #expect(perBatch.allSatisfy { $0 <= 5 })
            #expect(try await Self.ids(h, "SELECT id FROM llm_jobs WHERE id = ANY(\(old.map(String.init))::bigint[])").isEmpty)
            let kept = Set(try await Self.ids(h, "SELECT id FROM llm_jobs"))
            #expect(kept == Set([queuedOld, runningOld, inExecution, executionPending] + recent))
            let cursor: Int64 = try await h.pool.query("SELECT next_id FROM retention_cursor WHERE name = 'llm_jobs'").rows[0].decode(at: 0)
            #expect(cursor > (old.max() ?? 0) - 5 && cursor <= (recent.min() ?? 0))
            // Usage rows and counters are not the jobs' retention's business.
            #expect(try await h.count("SELECT count(*) FROM model_usage") == usageRows)
            #expect(try await Self.rollup(h) == rollupBefore)

            // Again: nothing more to do, and the walk does not restart from the beginning.
            let again = try await retention.runOnce()
            #expect(again.jobsDeleted == 0)
            #expect(again.jobBatches == 1)

            // The old queued job is cancelled long ago: a straggler below the cursor, swept.
            try await h.pool.execute("""
                UPDATE llm_jobs SET status = 'cancelled', finished_at = now() - interval '8 days' WHERE id = \(queuedOld)
                """)
            let swept = try await retention.runOnce()
            #expect(swept.jobsDeleted == 1)
            #expect(swept.stragglersDeleted == 1)
            // The execution finishes (its last job cancelled long ago): both of its jobs may go now.
            try await h.pool.execute("""
                UPDATE llm_jobs SET status = 'cancelled', finished_at = now() - interval '8 days' WHERE id = \(executionPending)
                """)
            try await h.pool.execute("UPDATE workflow_executions SET status = 'cancelled', finished_at = now() WHERE id = \(execution)")
            let finished = try await retention.runOnce()
            #expect(finished.stragglersDeleted == 2)
            #expect(Set(try await Self.ids(h, "SELECT id FROM llm_jobs")) == Set([runningOld] + recent))
            #expect(try await h.count("SELECT count(*) FROM workflow_executions") == 1)
            #expect(try await Self.rollup(h) == rollupBefore)
        }
    }

    @Test("Whole old model_usage day partitions are dropped, newer ones kept; the counters' rollup is unchanged")
    func dropsOldPartitions() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-partitions", provider: "openai")
            let agent = try await h.addAgent("historian", model: "gpt-partitions")
            for index in 0..<4 { try await h.enqueue(agent: agent, text: "today \(index)") }
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 4)

            // History as the gateway would have left it: day partitions with raw rows 40, 31 and 29
            // days ago, their counters, and one stray row in the default partition (100 days ago).
            var names: [Int: String] = [:]
            for daysAgo in [40, 31, 29] {
                let name: String = try await h.pool.query("""
                    SELECT 'model_usage_' || to_char((now() AT TIME ZONE 'UTC')::date - \(daysAgo)::integer, 'YYYYMMDD')
                    """).rows[0].decode(at: 0)
                names[daysAgo] = name
                try await h.pool.execute(.unsafeSQL("""
                    CREATE TABLE \(name) PARTITION OF model_usage FOR VALUES
                      FROM ((((now() AT TIME ZONE 'UTC')::date - \(daysAgo))::timestamp AT TIME ZONE 'UTC'))
                        TO ((((now() AT TIME ZONE 'UTC')::date - \(daysAgo - 1))::timestamp AT TIME ZONE 'UTC'))
                    """))
            }
            for daysAgo in [40, 31, 29, 100] {
                try await h.pool.execute("""
                    INSERT INTO model_usage (job_id, agent_id, provider, model_id, fallback_depth, attempt, outcome,
                                             input_tokens, output_tokens, cost, latency_ms, worker_id,
                                             started_at, finished_at, created_at)
                    SELECT job_id, agent_id, provider, model_id, fallback_depth, attempt, outcome,
                           input_tokens, output_tokens, cost, latency_ms, worker_id,
                           started_at - \(daysAgo) * interval '1 day', finished_at - \(daysAgo) * interval '1 day',
                           created_at - \(daysAgo) * interval '1 day'
                      FROM model_usage WHERE created_at > now() - interval '1 day'
                    """)
                try await h.pool.execute("""
                    INSERT INTO agent_usage_daily (agent_id, day, provider, model_id, shard, requests, successes, errors,
                                                   input_tokens, output_tokens, priced_requests, cost, latency_ms_sum, last_used_at)
                    SELECT agent_id, day - \(daysAgo)::integer, provider, model_id, shard, requests, successes, errors,
                           input_tokens, output_tokens, priced_requests, cost, latency_ms_sum, last_used_at - \(daysAgo) * interval '1 day'
                      FROM agent_usage_daily WHERE day = (now() AT TIME ZONE 'UTC')::date
                    """)
            }
            #expect(try await h.count("SELECT count(*) FROM model_usage_default") == 4)
            #expect(try await h.count("SELECT count(DISTINCT day) FROM usage_daily") == 5)
            let rollupBefore = try await Self.rollup(h)
            #expect(try await h.count("SELECT count(DISTINCT day) FROM usage_daily_rollup") == 5)

            let report = try await Retention(
                pool: h.pool, policy: RetentionPolicy(jobs: nil, usage: .seconds(30 * 86_400)), logger: Self.logger
            ).runOnce()
            #expect(report.partitionsDropped == [names[40], names[31]].compactMap { $0 })
            #expect(report.defaultPartitionRowsDeleted == 4)
            #expect(report.jobsDeleted == 0 && report.jobBatches == 0)
            for (daysAgo, name) in names {
                let exists: Bool = try await h.pool.query("SELECT to_regclass(\(name)) IS NOT NULL").rows[0].decode(at: 0)
                #expect(exists == (daysAgo == 29), "\(name)")
            }
            // Raw rows: today and 29 days ago remain; the rollup still has every day, unchanged.
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 8)
            #expect(try await h.count("SELECT count(DISTINCT day) FROM usage_daily") == 2)
            #expect(try await Self.rollup(h) == rollupBefore)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs") == 4)
            // Today's and the coming days' partitions are still there (and re-ensured each round).
            #expect(try await h.count("""
                SELECT count(*) FROM pg_inherits WHERE inhparent = 'model_usage'::regclass
                """) == 1 + 9 + 1)  // day -29, yesterday … today + 7, default
        }
    }

    @Test("Two gateways never prune at once: while one holds the lock, the other skips its round")
    func oneAtATime() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lock", provider: "openai")
            let agent = try await h.addAgent("locksmith", model: "gpt-lock")
            for index in 0..<12 { try await h.enqueue(agent: agent, text: "job \(index)") }
            try await h.enqueue(agent: agent, text: "recent")
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            try await h.pool.execute("""
                UPDATE llm_jobs SET created_at = now() - interval '10 days', finished_at = now() - interval '10 days'
                 WHERE id < (SELECT max(id) FROM llm_jobs)
                """)
            let policy = RetentionPolicy(jobs: .seconds(86_400), usage: .seconds(30 * 86_400), batchSize: 4)

            // Another gateway's session holds the lock: this round does nothing.
            let other = PostgresPool(configuration: h.database, maxConnections: 1)
            defer { other.shutdown() }
            let skipped = try await other.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(Retention.advisoryLockKey))")
                let report = try await Retention(pool: h.pool, policy: policy, logger: Self.logger).runOnce()
                try await connection.query("SELECT pg_advisory_unlock(\(Retention.advisoryLockKey))")
                return report
            }
            #expect(skipped.skipped)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs") == 13)

            // During a round, every other round started meanwhile skips.
            let otherRounds = Collected<Retention.Report>()
            let second = Retention(pool: other, policy: policy, logger: Self.logger)
            let report = try await Retention(pool: h.pool, policy: policy, logger: Self.logger).runOnce { _ in
                let concurrent = try await second.runOnce()
                otherRounds.append(concurrent)
            }
            #expect(!report.skipped)
            #expect(report.jobsDeleted == 12)
            let rounds = otherRounds.all
            #expect(rounds.count == report.jobBatches && rounds.count >= 3)
            #expect(rounds.allSatisfy { $0.skipped && $0.jobsDeleted == 0 })
            // Released afterwards: the other gateway's next round runs.
            #expect(try await second.runOnce().skipped == false)
        }
    }

    @Test("llm-gateway run prunes on its schedule (two processes, --retention-interval 1s); a bad retention flag is refused")
    func gatewayProcessesPrune() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-scheduled", provider: "openai")
            let agent = try await h.addAgent("scheduled", model: "gpt-scheduled")
            try await WorkerProcessTests.insertJobs(h, agent: agent, count: 30)
            let arguments = ["--retention-jobs", "1d", "--retention-usage", "30d", "--retention-interval", "1s"]
            let workers = try ["r1", "r2"].map { try WorkerProcessTests.GatewayProcess(h: h, workerID: $0, arguments: arguments) }
            try await h.waitForAllJobs()
            try await h.pool.execute("""
                UPDATE llm_jobs SET created_at = now() - interval '3 days', finished_at = now() - interval '3 days'
                 WHERE id <= (SELECT min(id) + 19 FROM llm_jobs)
                """)
            try await h.waitUntil(seconds: 60, "the gateways pruned the 20 old jobs") {
                try await h.count("SELECT count(*) FROM llm_jobs") == 10
            }
            for worker in workers { worker.signal(SIGTERM) }
            for worker in workers { #expect(try await worker.waitForExit() == 0) }
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE created_at > now() - interval '1 day'") == 10)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 30)
            #expect(try await h.count("SELECT sum(requests) FROM agent_usage_daily") == 30)

            let refused = try WorkerProcessTests.GatewayProcess(h: h, workerID: "bad", arguments: ["--retention-usage", "1d"])
            #expect(try await refused.waitForExit() != 0)
            let log = try String(contentsOf: refused.log, encoding: .utf8)
            #expect(log.contains("--retention-usage must be 0 (keep) or at least 2d"))
            let typo = try WorkerProcessTests.GatewayProcess(h: h, workerID: "typo", arguments: ["--retention-jobs", "7 days"])
            #expect(try await typo.waitForExit() != 0)
            #expect(try String(contentsOf: typo.log, encoding: .utf8).contains("is not a duration"))
        }
    }

    @Test("Retention durations: 0 or off disables, s/m/h/d units, anything else is refused")
    func durations() throws {
        #expect(try RetentionPolicy.parseDuration("7d") == .seconds(7 * 86_400))
        #expect(try RetentionPolicy.parseDuration("36h") == .seconds(36 * 3600))
        #expect(try RetentionPolicy.parseDuration("90m") == .seconds(5400))
        #expect(try RetentionPolicy.parseDuration("45s") == .seconds(45))
        #expect(try RetentionPolicy.parseDuration("120") == .seconds(120))
        #expect(try RetentionPolicy.parseDuration("0") == nil)
        #expect(try RetentionPolicy.parseDuration("0d") == nil)
        #expect(try RetentionPolicy.parseDuration("off") == nil)
        for bad in ["", "d", "-1d", "7w", "1.5h", "7 d", "99999999999999999999d"] {
            #expect(throws: RetentionPolicy.InvalidDuration.self, "\(bad)") { try RetentionPolicy.parseDuration(bad) }
        }
        let defaults = RetentionPolicy()
        #expect(defaults.jobs == .seconds(7 * 86_400) && defaults.usage == .seconds(30 * 86_400) && defaults.interval == .seconds(3600))
        #expect(defaults.isEnabled)
        #expect(!RetentionPolicy(interval: nil).isEnabled)
        #expect(!RetentionPolicy(jobs: nil, usage: nil).isEnabled)
        #expect(RetentionPolicy.describe(.seconds(7 * 86_400)) == "7d" && RetentionPolicy.describe(nil) == "off")
    }
}

/// Values gathered from concurrent callbacks.
final class Collected<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])

    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}
