import Foundation
import Logging
@testable import Gateway
import Postgres
import Testing
import TestSupport

/// The lease guard and the rescuer, through the worker's own statements.
@Suite("Gateway: leases")
struct LeaseTests {
    /// A successful call's outcome, timed at the shared test clock (the statements under test take
    /// their own times from the database; the call's timestamps are only stored).
    static func outcome(_ job: ClaimedJob, model: String = "gpt-lease", at now: Date = TestClock.now) -> JobOutcome {
        let call = CallRecord(
            callSeq: 1, provider: "openai", modelID: model, fallbackDepth: 0, success: true, errorClass: nil, httpStatus: 200,
            message: nil, inputTokens: 10, outputTokens: 5, cachedInputTokens: nil, cacheCreationInputTokens: nil,
            reasoningTokens: nil, cost: Decimal(string: "0.0000750"), latencyMilliseconds: 12, providerRequestID: "req_x",
            startedAt: now, finishedAt: now, transient: false)
        return JobOutcome(job: job, disposition: .succeeded(result: #"{"content":"late"}"#), calls: [call])
    }

    @Test("A completion whose lease was lost leaves the job to its new owner but still records the call")
    func lostLeaseIsNotOverwritten() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("leased", model: "gpt-lease")
            let id = try await h.enqueue(agent: agent)
            let a = GatewayStore(pool: h.pool, workerID: "a")
            let b = GatewayStore(pool: h.pool, workerID: "b")
            let claimedByA = try await a.claim(limit: 10, lease: .seconds(30))
            #expect(claimedByA.map(\.id) == [id])
            #expect(claimedByA.first?.attempt == 1)

            // A stalls; its lease runs out; B rescues and claims the job again.
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(id)")
            let rescued = try await b.rescueExpired(limit: 10)
            #expect(rescued.requeued == 1)
            let rescuedRow = try await h.job(id)
            #expect(rescuedRow.status == "queued")
            #expect(rescuedRow.error?["attempts"]?[0]?["error_class"]?.string == "lease_expired")
            // A's heartbeat tells it the lease is lost (F2), before and after B claims the job.
            #expect(try await a.heartbeat([claimedByA[0].key], lease: .seconds(30)).lost == [claimedByA[0].key])
            let claimedByB = try await b.claim(limit: 10, lease: .seconds(30))
            #expect(claimedByB.first?.attempt == 2)
            #expect(try await a.heartbeat([claimedByA[0].key], lease: .seconds(30)).lost == [claimedByA[0].key])
            #expect(try await b.heartbeat([claimedByB[0].key], lease: .seconds(30)).lost.isEmpty)

            // A's late completion changes nothing on the job, but its call is recorded (real spend),
            // flagged superseded and counted apart (issue 22, F2).
            let updated = try await a.complete(CompletionBatch([Self.outcome(claimedByA[0])]))
            #expect(updated == 0)
            let row = try await h.job(id)
            #expect(row.status == "running")
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE id = \(id) AND lease_owner = 'b'") == 1)
            #expect(try await h.count("""
                SELECT count(*) FROM model_usage WHERE job_id = \(id) AND worker_id = 'a' AND attempt = 1 AND superseded
                """) == 1)
            #expect(try await h.count("SELECT coalesce(sum(superseded_requests), 0)::int FROM agent_usage_daily") == 1)
            // The dashboards' figure for duplicate provider calls.
            #expect(try await h.count("SELECT coalesce(sum(superseded_requests), 0)::int FROM usage_daily_rollup") == 1)
            // Delivered again (a retried batch): nothing is recorded twice.
            #expect(try await a.complete(CompletionBatch([Self.outcome(claimedByA[0])])) == 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND attempt = 1") == 1)

            // B's completion lands, not superseded.
            #expect(try await b.complete(CompletionBatch([Self.outcome(claimedByB[0])])) == 1)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND attempt = 2 AND NOT superseded") == 1)
            #expect(try await h.job(id).status == "succeeded")
            #expect(try await h.job(id).error == nil)
            try await expectCountersAgree(h)
        }
    }

    @Test("An expired lease on the last attempt fails the job with lease_expired; heartbeats keep leases alive")
    func rescueFailsAtMaxAttempts() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("leased", model: "gpt-lease")
            let execution = try await h.addExecution()
            let last = try await h.enqueue(agent: agent, execution: execution, maxAttempts: 1)
            let alive = try await h.enqueue(agent: agent, maxAttempts: 1)
            let a = GatewayStore(pool: h.pool, workerID: "a")
            let claimed = try await a.claim(limit: 10, lease: .seconds(1))
            #expect(claimed.count == 2)
            let lastKey = AttemptKey(id: last, attempt: 1), aliveKey = AttemptKey(id: alive, attempt: 1)
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(last)")
            // The heartbeat extends only what is still running under a's name.
            #expect(try await a.heartbeat([lastKey, aliveKey], lease: .seconds(60)).cancelled.isEmpty)
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(last)")
            let rescued = try await GatewayStore(pool: h.pool, workerID: "b").rescueExpired(limit: 10)
            #expect(rescued.finished == 1)
            let row = try await h.job(last)
            #expect(row.status == "failed")
            #expect(row.error?["code"]?.string == "lease_expired")
            #expect(try await h.job(alive).status == "running")
            // The execution's only job ended: the rescuer finalised it.
            #expect(try await h.count("SELECT count(*) FROM workflow_executions WHERE id = \(execution) AND status = 'failed'") == 1)
            // A cancel request is reported by the heartbeat.
            try await h.pool.execute("UPDATE llm_jobs SET cancel_requested_at = now() WHERE id = \(alive)")
            #expect(try await a.heartbeat([aliveKey], lease: .seconds(60)).cancelled == [aliveKey])
            // Only the attempt the worker claimed: the same job under another attempt is not
            // extended, and that attempt is reported lost.
            let other = AttemptKey(id: alive, attempt: 2)
            let beat = try await a.heartbeat([other], lease: .seconds(60))
            #expect(beat.cancelled.isEmpty && beat.lost == [other])
            // The failed job (rescued at its last attempt) is finished, not "lost".
            #expect(try await a.heartbeat([lastKey], lease: .seconds(60)).lost.isEmpty)
            // Only the listed jobs are extended: a job of a previous life under the same id is not.
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(alive)")
            #expect(try await a.heartbeat([], lease: .seconds(60)).cancelled.isEmpty)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE id = \(alive) AND lease_expires_at < now()") == 1)
        }
    }
}

extension LeaseTests {
    @Test("F3: the rescuer waits a grace period past expiry, and a full lease after a server restart")
    func rescueGraceAndUptime() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("graced", model: "gpt-lease")
            let id = try await h.enqueue(agent: agent)
            let a = GatewayStore(pool: h.pool, workerID: "a")
            let b = GatewayStore(pool: h.pool, workerID: "b")
            #expect(try await a.claim(limit: 1, lease: .seconds(30)).count == 1)
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '2 seconds' WHERE id = \(id)")
            // Two seconds late is within a one-minute grace: a slow heartbeat, not a dead worker.
            #expect(try await b.rescueExpired(limit: 10, grace: .seconds(60)).requeued == 0)
            // A server up for less than the lease (as right after a restart) rescues nothing:
            // the leases' owners get one lease to renew them first.
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 hour' WHERE id = \(id)")
            #expect(try await b.rescueExpired(limit: 10, grace: .seconds(1), uptime: .seconds(3_000_000_000)).requeued == 0)
            #expect(try await h.job(id).status == "running")
            #expect(try await b.rescueExpired(limit: 10, grace: .seconds(1), uptime: .seconds(1)).requeued == 1)
        }
    }
}

@Suite("Gateway: completer")
struct CompleterTests {
    @Test("F5: an outcome the database rejects does not block its batch and is written again without the bad fields")
    func poisonOutcomeIsIsolated() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("poisoned", model: "gpt-lease")
            let good = try await h.enqueue(agent: agent)
            let bad = try await h.enqueue(agent: agent)
            let store = GatewayStore(pool: h.pool, workerID: "c")
            let claimed = try await store.claim(limit: 10, lease: .seconds(30))
            #expect(claimed.count == 2)
            var logger = Logger(label: "completer-test")
            logger.logLevel = .critical
            let completer = Completer(store: store, batchSize: 8, delay: .milliseconds(20), metrics: GatewayMetrics(), logger: logger)
            let running = Task { await completer.run() }
            for job in claimed {
                var outcome = LeaseTests.outcome(job)
                // model_usage_input_tokens_check rejects a negative token count (an adapter never
                // passes one on; this is whatever else a row can be refused for).
                if job.id == bad { outcome.calls[0].inputTokens = -1 }
                completer.submit(outcome)
            }
            completer.finish()
            await running.value
            #expect(try await h.job(good).status == "succeeded")
            // Not dropped (its lease would expire and the provider be called again): failed once,
            // with its call recorded and flagged.
            let row = try await h.job(bad)
            #expect(row.status == "failed")
            #expect(row.error?["code"]?.string == "completion_rejected")
            #expect(row.error?["attempts"]?[0]?["model"]?.string == "gpt-lease")
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 2)
            #expect(try await h.count("""
                SELECT count(*) FROM model_usage WHERE job_id = \(bad) AND usage_invalid AND input_tokens IS NULL AND cost IS NULL
                """) == 1)
            try await expectCountersAgree(h)
        }
    }

    @Test("F8: a batch the database refuses for good (not a data error) is split and the bad job dead-lettered; the rest is written")
    func permanentFailureIsDeadLettered() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("zombie", model: "gpt-lease")
            let good = try await h.enqueue(agent: agent)
            let bad = try await h.enqueue(agent: agent)
            // Whatever the server refuses with a class no retry can fix (54000: e.g. a jsonb over 255 MB).
            try await h.pool.execute("CREATE TABLE refused_jobs (id bigint)")
            try await h.pool.execute("INSERT INTO refused_jobs VALUES (\(bad))")
            try await h.pool.execute("""
                CREATE FUNCTION refuse_usage() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.job_id IN (SELECT id FROM refused_jobs) THEN RAISE EXCEPTION 'too big' USING ERRCODE = '54000'; END IF;
                    RETURN NEW;
                END $$
                """)
            try await h.pool.execute("CREATE TRIGGER refuse_usage BEFORE INSERT ON model_usage FOR EACH ROW EXECUTE FUNCTION refuse_usage()")
            let store = GatewayStore(pool: h.pool, workerID: "z")
            let claimed = try await store.claim(limit: 10, lease: .seconds(30))
            #expect(claimed.count == 2)
            var logger = Logger(label: "completer-test")
            logger.logLevel = .critical
            let completer = Completer(store: store, batchSize: 8, delay: .milliseconds(20), metrics: GatewayMetrics(), logger: logger)
            let running = Task { await completer.run() }
            for job in claimed { completer.submit(LeaseTests.outcome(job)) }
            completer.finish()
            // Before: retried without end, the good job never written (a zombie batch).
            try await h.waitUntil(seconds: 20, "both jobs written") {
                try await h.count("SELECT count(*) FROM llm_jobs WHERE status <> 'running'") == 2
            }
            await running.value
            #expect(try await h.job(good).status == "succeeded")
            let row = try await h.job(bad)
            #expect(row.status == "failed")
            #expect(row.error?["code"]?.string == "completion_rejected")
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(good)") == 1)
            try await expectCountersAgree(h)
        }
    }
}
