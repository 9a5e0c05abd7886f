import Foundation
import JSON
import Postgres
import Storage
import Support

/// Every statement the worker runs. All batched: one claim, one heartbeat, one rescue and one
/// completion transaction per batch, whatever the batch size.
struct GatewayStore: Sendable {
    let pool: PostgresPool
    let workerID: String
    /// Random per process, written on every ledger row: two lives of one `--worker-id` are told apart.
    var leaseToken = UUID()

    // MARK: Claim

    /// Claims up to `limit` ready jobs in one statement (the single-table layout of 0006/0013).
    /// A queued row whose attempts are used up is never claimed (the attempt check would fail
    /// the whole statement); completion and rescue never leave one behind.
    func claim(limit: Int, lease: Duration) async throws -> [ClaimedJob] {
        let sql: SQL = """
            WITH c AS (
                SELECT id FROM llm_jobs
                 WHERE status = 'queued' AND run_at <= now() AND attempt < max_attempts
                 ORDER BY priority DESC, run_at, id
                 LIMIT \(limit)
                   FOR UPDATE SKIP LOCKED)
            UPDATE llm_jobs j
               SET status = 'running', attempt = j.attempt + 1, lease_owner = \(workerID),
                   lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                   started_at = now(), updated_at = now()
              FROM c
             WHERE j.id = c.id
            RETURNING j.id, j.agent_id, j.execution_id, j.step, j.request::text, j.attempt, j.max_attempts,
                      j.error::text, j.cancel_requested_at IS NOT NULL
            """
        return try await pool.query(sql).rows.map(ClaimedJob.init(row:))
    }

    /// Registers this worker as idle, so the next insert of a ready job NOTIFYs `llm_jobs_new`.
    func registerIdle() async throws {
        try await pool.execute("""
            INSERT INTO llm_gateway_waiters (worker_id) VALUES (\(workerID))
            ON CONFLICT (worker_id) DO UPDATE SET since = now()
            """)
    }

    func unregisterIdle() async throws {
        try await pool.execute("DELETE FROM llm_gateway_waiters WHERE worker_id = \(workerID)")
    }

    /// Rows of killed workers only cost an occasional needless NOTIFY; drop those older than a minute.
    func removeStaleWaiters() async throws {
        try await pool.execute("DELETE FROM llm_gateway_waiters WHERE since < now() - interval '1 minute'")
    }

    // MARK: Ledger

    /// Writes one `llm_job_calls` row per entry (before the calls are sent) and returns each
    /// attempt's `call_seq`: the next after the attempt's last (an attempt number given back by a
    /// release and claimed again continues its sequence). A job whose row is gone gets none.
    /// Entries with a reservation go through `budget_open_calls` (0033): reserved against every
    /// budget of their job, or refused, in one statement under the budgets' locks.
    func openCalls(_ entries: [CallLedger.Entry]) async throws -> [AttemptKey: CallLedger.Opened] {
        guard !entries.isEmpty else { return [:] }
        let plain = entries.filter { $0.reservation == nil }
        let governed = entries.filter { $0.reservation != nil }
        var results: [AttemptKey: CallLedger.Opened] = [:]
        if !plain.isEmpty {
            let opened = try await openPlainCalls(plain)
            for (key, sequence) in opened { results[key] = .opened(callSeq: sequence, reserved: false) }
            if opened.count < plain.count, try await budgetsExist() {
                // A budget was created since this worker last looked: the calls not written go
                // through the reservation (the runner retries them governed).
                for entry in plain where opened[entry.attempt] == nil { results[entry.attempt] = .budgetsAppeared }
            }
        }
        if !governed.isEmpty {
            for (key, result) in try await openGovernedCalls(governed) { results[key] = result }
        }
        return results
    }

    /// The ungoverned ledger insert; writes nothing once any budget exists (so no call escapes a
    /// budget created a moment ago whose notification this worker has not processed yet).
    private func openPlainCalls(_ entries: [CallLedger.Entry]) async throws -> [AttemptKey: Int] {
        let sorted = entries.sorted { $0.attempt < $1.attempt }
        let sql: SQL = """
            INSERT INTO llm_job_calls (job_id, attempt, call_seq, worker_id, lease_token, provider, model_id, fallback_depth)
            SELECT i.job_id, i.attempt,
                   coalesce((SELECT max(c.call_seq) FROM llm_job_calls c WHERE c.job_id = i.job_id AND c.attempt = i.attempt), 0) + 1,
                   \(workerID), \(leaseToken), i.provider, i.model_id, i.fallback_depth
              FROM unnest(\(sorted.map { String($0.attempt.id) })::bigint[], \(sorted.map { String($0.attempt.attempt) })::integer[],
                          \(sorted.map(\.provider))::text[], \(sorted.map(\.modelID))::text[],
                          \(sorted.map { String($0.fallbackDepth) })::integer[])
                   AS i(job_id, attempt, provider, model_id, fallback_depth)
             WHERE EXISTS (SELECT 1 FROM llm_jobs j WHERE j.id = i.job_id)
               AND NOT EXISTS (SELECT 1 FROM budgets)
            RETURNING job_id, attempt, call_seq
            """
        var sequences: [AttemptKey: Int] = [:]
        for row in try await pool.query(sql).rows {
            sequences[AttemptKey(id: try row.decode(at: 0), attempt: try row.decode(at: 1))] = try row.decode(at: 2)
        }
        return sequences
    }

    /// `budget_open_calls`: each call reserved and recorded, or refused by the budget named.
    private func openGovernedCalls(_ entries: [CallLedger.Entry]) async throws -> [AttemptKey: CallLedger.Opened] {
        let sorted = entries.sorted { $0.attempt < $1.attempt }
        var writer = JSONWriter.forJSONB(capacity: 160 * sorted.count)
        writer.beginArray()
        for (index, entry) in sorted.enumerated() {
            writer.beginObject()
            writer.member("k", index)
            writer.member("job_id", Int(entry.attempt.id))
            writer.member("attempt", entry.attempt.attempt)
            writer.member("provider", entry.provider)
            writer.member("model_id", entry.modelID)
            writer.member("fallback_depth", entry.fallbackDepth)
            writer.member("amount", entry.reservation?.amount)
            writer.member("over_threshold_ok", entry.reservation?.downgraded ?? false)
            writer.member("budget_decision", entry.reservation?.downgraded == true ? "downgrade" : nil)
            writer.endObject()
        }
        writer.endArray()
        let rows = try await pool.query("""
            SELECT k, call_seq, reserved, refused_by, refusal, on_exhausted, remaining_usd::text,
                   CASE WHEN isfinite(period_end) THEN period_end END
              FROM budget_open_calls(\(workerID), \(leaseToken), \(PostgresJSONText(writer.string)))
            """).rows
        var results: [AttemptKey: CallLedger.Opened] = [:]
        for row in rows {
            let entry = sorted[try row.decode(at: 0, as: Int.self)]
            if let sequence: Int = try row.decode(at: 1) {
                results[entry.attempt] = .opened(callSeq: sequence, reserved: try row.decode(at: 2))
            } else {
                let remaining: String? = try row.decode(at: 6)
                results[entry.attempt] = .refused(BudgetRefusal(
                    budgetID: try row.decode(at: 3), reason: BudgetRefusal.Reason(rawValue: try row.decode(at: 4)) ?? .exhausted,
                    onExhausted: BudgetRefusal.Behaviour(rawValue: try row.decode(at: 5)) ?? .fail,
                    remaining: remaining.flatMap { Decimal(string: $0) } ?? 0, periodEnd: try row.decode(at: 7)))
            }
        }
        return results
    }

    func budgetsExist() async throws -> Bool {
        try await pool.query("SELECT EXISTS (SELECT 1 FROM budgets)").rows[0].decode(at: 0)
    }

    // MARK: Heartbeat and rescue

    /// Extends the leases of `attempts` (the ones this process holds: a worker restarted under the
    /// same id must not keep its previous life's jobs alive, and a run whose job was rescued and
    /// claimed again must not extend the new attempt's lease: the attempt is the fencing token);
    /// returns those whose cancel was requested, and those whose lease is lost: the job was
    /// rescued (queued again, or claimed by another attempt), so this run is superseded (F2: the
    /// stale run used to learn nothing).
    func heartbeat(_ attempts: [AttemptKey], lease: Duration) async throws -> (cancelled: [AttemptKey], lost: [AttemptKey]) {
        guard !attempts.isEmpty else { return ([], []) }
        let sorted = attempts.sorted()
        // SKIP LOCKED: a row the completer is finishing right now needs no extension, and a
        // heartbeat that never waits cannot deadlock with the completer (measured: a plain UPDATE
        // of thousands of leases deadlocked with a completion batch under load).
        let sql: SQL = """
            WITH held AS (
                SELECT * FROM unnest(\(sorted.map { String($0.id) })::bigint[], \(sorted.map { String($0.attempt) })::integer[])
                    AS h(id, attempt)
            ), mine AS (
                SELECT j.id FROM llm_jobs j JOIN held h ON h.id = j.id AND h.attempt = j.attempt
                 WHERE j.status = 'running' AND j.lease_owner = \(workerID)
                 ORDER BY j.id
                   FOR UPDATE OF j SKIP LOCKED
            ), beat AS (
                UPDATE llm_jobs j SET lease_expires_at = now() + \(lease.seconds) * interval '1 second'
                  FROM mine WHERE j.id = mine.id
                RETURNING j.id, j.attempt, j.cancel_requested_at)
            SELECT id, attempt, false FROM beat WHERE cancel_requested_at IS NOT NULL
            UNION ALL
            -- Lost: the job is live but not as this attempt of this worker. A finished job is not
            -- (it may be this run's own completion, committed before the worker forgot it).
            SELECT h.id, h.attempt, true FROM held h JOIN llm_jobs j ON j.id = h.id
             WHERE j.status IN ('queued', 'running')
               AND NOT (j.status = 'running' AND j.lease_owner = \(workerID) AND j.attempt = h.attempt)
            """
        var cancelled: [AttemptKey] = []
        var lost: [AttemptKey] = []
        for row in try await pool.query(sql).rows {
            let key = AttemptKey(id: try row.decode(at: 0), attempt: try row.decode(at: 1))
            if try row.decode(at: 2, as: Bool.self) { lost.append(key) } else { cancelled.append(key) }
        }
        return (cancelled, lost)
    }

    /// Requeues (or fails, or cancels) up to `limit` jobs whose lease expired, whoever held them.
    /// The attempt was counted at claim; a job out of attempts fails with `lease_expired`.
    ///
    /// F3: only leases expired for longer than `grace` (a heartbeat a little late is not a dead
    /// worker), and only once the server has been up for `uptime` (after a Postgres restart every
    /// lease has lapsed server-side; every worker gets one full lease to renew its own first, or
    /// the first rescuer would requeue the whole fleet's in-flight work).
    func rescueExpired(limit: Int, grace: Duration = .zero, uptime: Duration = .zero) async throws -> (requeued: Int, finished: Int) {
        try await pool.withTransaction { connection in
            let sql: SQL = """
                WITH expired AS (
                    SELECT id FROM llm_jobs
                     WHERE status = 'running' AND lease_expires_at < now() - \(grace.seconds) * interval '1 second'
                       AND pg_postmaster_start_time() < now() - \(uptime.seconds) * interval '1 second'
                     ORDER BY lease_expires_at
                     LIMIT \(limit)
                       FOR UPDATE SKIP LOCKED)
                UPDATE llm_jobs j
                   SET status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                                     WHEN j.attempt >= j.max_attempts THEN 'failed'
                                     ELSE 'queued' END,
                       finished_at = CASE WHEN j.cancel_requested_at IS NOT NULL OR j.attempt >= j.max_attempts
                                          THEN now() END,
                       error = CASE WHEN j.cancel_requested_at IS NOT NULL THEN j.error ELSE jsonb_build_object(
                                   'code', CASE WHEN j.attempt >= j.max_attempts THEN 'lease_expired'
                                                ELSE coalesce(j.error->>'code', 'lease_expired') END,
                                   'message', 'the lease of worker ' || coalesce(j.lease_owner, '?')
                                              || ' expired during job attempt ' || j.attempt || ' of ' || j.max_attempts,
                                   'attempts', coalesce(j.error->'attempts', '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
                                       'job_attempt', j.attempt, 'model', NULL, 'provider', NULL, 'fallback_depth', NULL,
                                       'outcome', 'error', 'error_class', 'lease_expired', 'http_status', NULL,
                                       'message', 'lease of worker ' || coalesce(j.lease_owner, '?') || ' expired',
                                       'latency_ms', NULL, 'started_at', j.started_at)),
                                   'skipped', coalesce(j.error->'skipped', '[]'::jsonb)) END,
                       run_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                  FROM expired e
                 WHERE j.id = e.id
                RETURNING j.id, j.execution_id::text, j.status, j.attempt
                """
            let rows = try await connection.query(sql).rows
            try await settleOrphans(rows.map { AttemptKey(id: try $0.decode(at: 0), attempt: try $0.decode(at: 3)) }, on: connection)
            var finishedIDs: [String] = []
            var executions: [String] = []
            var requeued = 0
            for row in rows {
                let status: String = try row.decode(at: 2)
                if status == "queued" {
                    requeued += 1
                } else {
                    finishedIDs.append(String(try row.decode(at: 0, as: Int64.self)))
                    if let execution: String = try row.decode(at: 1) { executions.append(execution) }
                }
            }
            try await notifyDone(finishedIDs, on: connection)
            try await finaliseExecutions(executions, on: connection)
            if requeued > 0 {
                try await connection.query(
                    "SELECT pg_notify('llm_jobs_new', '') WHERE EXISTS (SELECT 1 FROM llm_gateway_waiters)")
            }
            return (requeued, finishedIDs.count)
        }
    }

    /// The open ledger rows of `attempts` become settled as `unknown`: calls sent by an attempt
    /// that lost its lease (its worker may be dead) or that a shutdown aborted. A later
    /// completion carrying their answer may still replace `unknown`, once (see 0031).
    func settleOrphans(_ attempts: [AttemptKey], superseded: Bool = true, on connection: PostgresConnection) async throws {
        guard !attempts.isEmpty else { return }
        let sorted = attempts.sorted()
        let reserved = try await connection.query("""
            UPDATE llm_job_calls c SET settled_at = now(), outcome = 'unknown', superseded = \(superseded)
              FROM unnest(\(sorted.map { String($0.id) })::bigint[], \(sorted.map { String($0.attempt) })::integer[]) AS a(id, attempt)
             WHERE c.job_id = a.id AND c.attempt = a.attempt AND c.settled_at IS NULL
            RETURNING c.job_id, c.attempt, c.reserved_usd IS NOT NULL
            """).rows
        // An unknown outcome is charged its whole reservation until a late answer reconciles it.
        var governed: Set<AttemptKey> = []
        for row in reserved where try row.decode(at: 2, as: Bool.self) {
            governed.insert(AttemptKey(id: try row.decode(at: 0), attempt: try row.decode(at: 1)))
        }
        try await settleBudgets(Array(governed), on: connection)
    }

    /// `budget_settle_calls`: moves the reservations of these attempts' settled calls to spent
    /// (exact cost, 0, or the reservation when unknown), in the budgets' lock order.
    func settleBudgets(_ attempts: [AttemptKey], on connection: PostgresConnection) async throws {
        guard !attempts.isEmpty else { return }
        let sorted = attempts.sorted()
        try await connection.execute("""
            SELECT budget_settle_calls(\(sorted.map { String($0.id) })::bigint[], \(sorted.map { String($0.attempt) })::integer[])
            """)
    }

    // MARK: Completion

    /// Writes a batch of outcomes in one transaction: job rows (guarded by lease and attempt),
    /// one usage row per call, the sharded counter upserts (pre-aggregated, in key order), the
    /// long-poll wake-up when someone waits, and the finalisation of finished executions.
    /// Returns how many job rows were updated (the rest had lost their lease).
    func complete(_ batch: CompletionBatch) async throws -> Int {
        // The transaction's id and session are read first: when the link breaks during the batch
        // (above all during COMMIT) the worker cannot tell whether it committed, and writing it
        // again would record its calls and counters twice. `CommitOutcomeUnknown` carries what
        // `transactionCommitted` needs to find out.
        var transaction: (id: String, backendPID: Int32)?
        do {
            return try await pool.withTransaction { connection in
                let row = try await connection.query("SELECT pg_current_xact_id()::text, pg_backend_pid()").rows[0]
                transaction = (try row.decode(at: 0), try row.decode(at: 1))
                return try await completeInTransaction(batch, on: connection)
            }
        } catch let error as PostgresError where !error.isDataError {
            // A server's error answer means the transaction rolled back; only a lost link (or the
            // server going away) leaves the outcome unknown.
            guard let transaction, error.kind != .server || error.sqlState?.hasPrefix("57P") == true
                || error.sqlState?.hasPrefix("08") == true
            else { throw error }
            throw CommitOutcomeUnknown(transactionID: transaction.id, backendPID: transaction.backendPID, underlying: error)
        }
    }

    /// Fails one job `completion_rejected` with nothing of its outcome but the database's error
    /// (the completer's last resort, F8), under the same lease guard as a completion.
    func deadLetter(_ job: ClaimedJob, error: PostgresError) async throws {
        let message = "the database refused this attempt's outcome, even without its provider values (SQLSTATE "
            + "\(error.sqlState ?? "?")): " + String(error.description.prefix(300))
        let document = ErrorHistory(json: nil).document(code: "completion_rejected", message: message, job: job, calls: [], skipped: [])
        try await pool.withTransaction { connection in
            let rows = try await connection.query("""
                UPDATE llm_jobs SET status = 'failed', result = NULL, error = \(PostgresJSONText(document)), finished_at = now(),
                       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                 WHERE id = \(job.id) AND attempt = \(job.attempt) AND status = 'running' AND lease_owner = \(workerID)
                RETURNING execution_id::text
                """).rows
            guard let row = rows.first else { return }
            try await notifyDone([String(job.id)], on: connection)
            if let execution: String = try row.decode(at: 0) { try await finaliseExecutions([execution], on: connection) }
        }
    }

    /// Whether a completion transaction committed. One still in progress belongs to a session the
    /// worker has lost (e.g. a link cut without a FIN, which the server notices only much later):
    /// that session is ended, which rolls the transaction back, and the status read again.
    func transactionCommitted(_ unknown: CommitOutcomeUnknown) async throws -> Bool {
        while true {
            let status: String? = try await pool.query("""
                SELECT pg_xact_status(\(unknown.transactionID)::xid8)
                """).rows[0].decode(at: 0)
            switch status {
            case "committed":
                return true
            case "in progress":
                try await pool.query("""
                    SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                     WHERE pid = \(unknown.backendPID) AND state LIKE 'idle in transaction%'
                    """)
                try await Task.sleep(for: .milliseconds(50))
            default:
                // aborted (or too old to be known, never for a batch just written): write it again.
                return false
            }
        }
    }

    private func completeInTransaction(_ batch: CompletionBatch, on connection: PostgresConnection) async throws -> Int {
        var updated = 0
        var finishedIDs: [String] = []
        var executions: [String] = []
        /// The attempts whose job row this batch wrote: their calls answer the job; the others'
        /// calls are superseded (the attempt had lost its lease).
        var accepted: [AttemptKey] = []
        if !batch.jobsJSON.isEmpty {
            let sql: SQL = """
                WITH input AS (
                    SELECT * FROM jsonb_to_recordset(\(PostgresJSONText(batch.jobsJSON)))
                        AS i(id bigint, attempt integer, status text, result jsonb, error jsonb, delay_ms bigint))
                UPDATE llm_jobs j
                   SET status = CASE WHEN i.status IN ('queued', 'released', 'snoozed') AND j.cancel_requested_at IS NOT NULL
                                     THEN 'cancelled'
                                     WHEN i.status IN ('released', 'snoozed') THEN 'queued'
                                     ELSE i.status END,
                       -- released and snoozed give the attempt back
                       attempt = CASE WHEN i.status IN ('released', 'snoozed') THEN j.attempt - 1 ELSE j.attempt END,
                       result = CASE WHEN i.status = 'released' THEN j.result ELSE i.result END,
                       -- a success clears the history of earlier failed attempts (the result counts them)
                       error = CASE WHEN i.status = 'succeeded' THEN NULL
                                    WHEN i.status = 'released' THEN j.error ELSE coalesce(i.error, j.error) END,
                       run_at = CASE WHEN i.status IN ('queued', 'released', 'snoozed')
                                     THEN now() + i.delay_ms * interval '1 millisecond'
                                     ELSE j.run_at END,
                       started_at = CASE WHEN i.status = 'released' THEN NULL ELSE j.started_at END,
                       finished_at = CASE WHEN i.status IN ('queued', 'released', 'snoozed') AND j.cancel_requested_at IS NULL
                                          THEN NULL ELSE now() END,
                       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                  FROM input i
                 WHERE j.id = i.id AND j.status = 'running' AND j.lease_owner = \(workerID) AND j.attempt = i.attempt
                RETURNING j.id, j.execution_id::text, j.status, i.attempt
                """
            let rows = try await connection.query(sql).rows
            updated = rows.count
            for row in rows {
                accepted.append(AttemptKey(id: try row.decode(at: 0), attempt: try row.decode(at: 3)))
                let status: String = try row.decode(at: 2)
                guard status == "succeeded" || status == "failed" || status == "cancelled" else { continue }
                finishedIDs.append(String(try row.decode(at: 0, as: Int64.self)))
                if let execution: String = try row.decode(at: 1) { executions.append(execution) }
            }
        }
        // Settle the calls in the ledger and record usage only for the calls settled now: a
        // replayed or retried batch, or a call already settled, writes nothing twice.
        var settled: [CompletionBatch.CallKey: Bool] = [:]
        if !batch.usageJSON.isEmpty {
            let acceptedSorted = accepted.sorted()
            let sql: SQL = """
                WITH u AS (
                    SELECT * FROM jsonb_to_recordset(\(PostgresJSONText(batch.usageJSON)))
                        AS u(job_id bigint, execution_id uuid, agent_id uuid, provider text, model_id text,
                             fallback_depth integer, attempt integer, call_seq integer, outcome text, error_class text,
                             http_status integer, input_tokens integer, output_tokens integer, cached_input_tokens integer,
                             cache_creation_input_tokens integer, reasoning_tokens integer, cost numeric,
                             latency_ms integer, provider_request_id text, started_at timestamptz, finished_at timestamptz,
                             usage_invalid boolean, billed_unknown boolean, charge numeric, budget_decision text)
                ), accepted AS (
                    SELECT * FROM unnest(\(acceptedSorted.map { String($0.id) })::bigint[],
                                         \(acceptedSorted.map { String($0.attempt) })::integer[]) AS a(id, attempt)
                ), settled AS (
                    INSERT INTO llm_job_calls AS c (job_id, attempt, call_seq, worker_id, lease_token, provider, model_id,
                                                    fallback_depth, sent_at, settled_at, outcome, superseded, cost_usd)
                    SELECT u.job_id, u.attempt, u.call_seq, \(workerID), \(leaseToken), u.provider, u.model_id,
                           u.fallback_depth, u.started_at, now(), u.outcome,
                           NOT EXISTS (SELECT 1 FROM accepted a WHERE a.id = u.job_id AND a.attempt = u.attempt), u.charge
                      FROM u
                     WHERE EXISTS (SELECT 1 FROM llm_jobs j WHERE j.id = u.job_id)
                     ORDER BY u.job_id, u.attempt, u.call_seq
                    ON CONFLICT (job_id, attempt, call_seq) DO UPDATE
                       SET settled_at = now(), outcome = EXCLUDED.outcome, superseded = EXCLUDED.superseded OR c.superseded,
                           cost_usd = EXCLUDED.cost_usd
                     WHERE c.settled_at IS NULL OR c.outcome = 'unknown'
                    RETURNING c.job_id, c.attempt, c.call_seq, c.superseded)
                INSERT INTO model_usage (job_id, execution_id, agent_id, provider, model_id, fallback_depth, attempt,
                                         outcome, error_class, http_status, input_tokens, output_tokens,
                                         cached_input_tokens, cache_creation_input_tokens, reasoning_tokens, cost,
                                         latency_ms, worker_id, provider_request_id, started_at, finished_at,
                                         usage_invalid, call_seq, superseded, billed_unknown, budget_decision)
                SELECT u.job_id, u.execution_id, u.agent_id, u.provider, u.model_id, u.fallback_depth, u.attempt,
                       u.outcome, u.error_class, u.http_status, u.input_tokens, u.output_tokens,
                       u.cached_input_tokens, u.cache_creation_input_tokens, u.reasoning_tokens, u.cost,
                       u.latency_ms, \(workerID), u.provider_request_id, u.started_at, u.finished_at,
                       coalesce(u.usage_invalid, false), u.call_seq, s.superseded, coalesce(u.billed_unknown, false),
                       u.budget_decision
                  FROM u JOIN settled s ON s.job_id = u.job_id AND s.attempt = u.attempt AND s.call_seq = u.call_seq
                RETURNING job_id, attempt, call_seq, superseded
                """
            for row in try await connection.query(sql).rows {
                let key = CompletionBatch.CallKey(
                    attempt: AttemptKey(id: try row.decode(at: 0), attempt: try row.decode(at: 1)), callSeq: try row.decode(at: 2))
                settled[key] = try row.decode(at: 3)
            }
        }
        // Budgets: the reservations of the calls settled now become their charges (0033).
        try await settleBudgets(batch.reservedAttempts, on: connection)
        // A shutdown release aborted its in-flight call: sent, answer unknown.
        try await settleOrphans(batch.releasedAttempts, superseded: false, on: connection)
        // Counters count exactly the rows just written: precomputed when that is every call of the
        // batch and none is superseded (the normal case), else recounted.
        let counters = settled.count == batch.callCount && !settled.values.contains(true)
            ? (agent: batch.agentCountersJSON, execution: batch.executionCountersJSON)
            : batch.counters(settled: settled)
        if !counters.agent.isEmpty {
            try await connection.execute("""
                INSERT INTO agent_usage_daily AS c
                       (agent_id, day, provider, model_id, shard, requests, successes, errors, fallback_requests,
                        input_tokens, output_tokens, cached_input_tokens, cache_creation_input_tokens,
                        reasoning_tokens, priced_requests, cost, latency_ms_sum, last_used_at,
                        superseded_requests, superseded_cost)
                SELECT d.agent_id, (now() AT TIME ZONE 'UTC')::date, d.provider, d.model_id,
                       (hashtext(\(workerID)) & 15)::smallint, d.requests, d.successes, d.errors,
                       d.fallback_requests, d.input_tokens, d.output_tokens, d.cached_input_tokens,
                       d.cache_creation_input_tokens, d.reasoning_tokens, d.priced_requests, d.cost,
                       d.latency_ms_sum, now(), coalesce(d.superseded_requests, 0), coalesce(d.superseded_cost, 0)
                  FROM jsonb_to_recordset(\(PostgresJSONText(counters.agent))) AS d(\(Self.counterColumns))
                 ORDER BY d.agent_id, d.provider, d.model_id
                ON CONFLICT (agent_id, day, provider, model_id, shard) DO UPDATE SET
                    \(Self.counterUpdates)
                """)
        }
        if !counters.execution.isEmpty {
            try await connection.execute("""
                INSERT INTO execution_usage AS c
                       (execution_id, agent_id, provider, model_id, shard, requests, successes, errors,
                        fallback_requests, input_tokens, output_tokens, cached_input_tokens,
                        cache_creation_input_tokens, reasoning_tokens, priced_requests, cost, latency_ms_sum,
                        last_used_at, superseded_requests, superseded_cost)
                SELECT d.execution_id, d.agent_id, d.provider, d.model_id, (hashtext(\(workerID)) & 15)::smallint,
                       d.requests, d.successes, d.errors, d.fallback_requests, d.input_tokens, d.output_tokens,
                       d.cached_input_tokens, d.cache_creation_input_tokens, d.reasoning_tokens,
                       d.priced_requests, d.cost, d.latency_ms_sum, now(),
                       coalesce(d.superseded_requests, 0), coalesce(d.superseded_cost, 0)
                  FROM jsonb_to_recordset(\(PostgresJSONText(counters.execution)))
                    AS d(execution_id uuid, \(Self.counterColumns))
                 ORDER BY d.execution_id, d.agent_id, d.provider, d.model_id
                ON CONFLICT (execution_id, agent_id, provider, model_id, shard) DO UPDATE SET
                    \(Self.counterUpdates)
                """)
        }
        try await notifyDone(finishedIDs, on: connection)
        try await finaliseExecutions(executions, on: connection)
        return updated
    }

    private static let counterColumns: SQL = """
        agent_id uuid, provider text, model_id text, requests bigint, successes bigint, errors bigint,
        fallback_requests bigint, input_tokens bigint, output_tokens bigint, cached_input_tokens bigint,
        cache_creation_input_tokens bigint, reasoning_tokens bigint, priced_requests bigint, cost numeric,
        latency_ms_sum bigint, superseded_requests bigint, superseded_cost numeric
        """

    private static let counterUpdates: SQL = """
        requests = c.requests + EXCLUDED.requests,
        successes = c.successes + EXCLUDED.successes,
        errors = c.errors + EXCLUDED.errors,
        fallback_requests = c.fallback_requests + EXCLUDED.fallback_requests,
        input_tokens = c.input_tokens + EXCLUDED.input_tokens,
        output_tokens = c.output_tokens + EXCLUDED.output_tokens,
        cached_input_tokens = c.cached_input_tokens + EXCLUDED.cached_input_tokens,
        cache_creation_input_tokens = c.cache_creation_input_tokens + EXCLUDED.cache_creation_input_tokens,
        reasoning_tokens = c.reasoning_tokens + EXCLUDED.reasoning_tokens,
        priced_requests = c.priced_requests + EXCLUDED.priced_requests,
        cost = c.cost + EXCLUDED.cost,
        latency_ms_sum = c.latency_ms_sum + EXCLUDED.latency_ms_sum,
        superseded_requests = c.superseded_requests + EXCLUDED.superseded_requests,
        superseded_cost = c.superseded_cost + EXCLUDED.superseded_cost,
        last_used_at = greatest(c.last_used_at, EXCLUDED.last_used_at)
        """

    /// `pg_notify('llm_jobs_done', '<id>,<id>,…')` in payloads under 7,000 bytes, only when a
    /// long-poller waits on one of the jobs.
    private func notifyDone(_ ids: [String], on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        var payloads: [String] = []
        var current = ""
        for id in ids {
            if !current.isEmpty && current.utf8.count + id.utf8.count + 1 > 7000 {
                payloads.append(current)
                current = ""
            }
            current += current.isEmpty ? id : "," + id
        }
        if !current.isEmpty { payloads.append(current) }
        try await connection.query("""
            SELECT pg_notify('llm_jobs_done', p) FROM unnest(\(payloads)) AS p
             WHERE EXISTS (SELECT 1 FROM llm_job_waiters WHERE job_id = ANY(\(ids)::bigint[]))
            """)
    }

    /// Finishes the executions among `ids` whose jobs are all terminal (one place for the rule:
    /// `ExecutionRepository.finishCompleted`, which the API's cancel uses too).
    func finaliseExecutions(_ ids: [String], on connection: PostgresConnection) async throws {
        try await ExecutionRepository.finishCompleted(ids.compactMap(UUID.init(uuidString:)), on: connection)
    }

    // MARK: Cooldowns, partitions, settings, queue depth

    /// Cools a model down for every worker and tells them (they reload their cooldowns).
    func coolDown(_ key: CooldownKey, for duration: Duration, errorClass: String, reason: String) async throws {
        try await pool.query("""
            WITH up AS (
                INSERT INTO llm_model_cooldowns (provider, model_id, until, error_class, reason, worker_id, updated_at)
                VALUES (\(key.provider), \(key.modelID), now() + \(duration.seconds) * interval '1 second',
                        \(errorClass), \(reason), \(workerID), now())
                ON CONFLICT (provider, model_id) DO UPDATE
                   SET until = greatest(llm_model_cooldowns.until, EXCLUDED.until), error_class = EXCLUDED.error_class,
                       reason = EXCLUDED.reason, worker_id = EXCLUDED.worker_id, updated_at = now(),
                       probe_until = NULL, probe_worker = NULL
                RETURNING 1)
            SELECT pg_notify('switchboard_config', '{"table":"llm_model_cooldowns"}') FROM up
            """)
    }

    /// What a worker may do with a model whose cooldown has ended (half-open, F10).
    enum CooldownProbe: Equatable {
        /// This worker makes the one probe call.
        case mine
        /// The row is gone: the model is healthy again.
        case ended
        /// Cooling down again, or another worker probes: skip the model until then.
        case busy(until: Date)
    }

    /// Takes the probe of an ended cooldown for `seconds` (the probe call's timeout), or says who
    /// has it. The CTE's outer query sees the row as it was before the UPDATE.
    func takeCooldownProbe(_ key: CooldownKey, seconds: Double) async throws -> CooldownProbe {
        let rows = try await pool.query("""
            WITH probe AS (
                UPDATE llm_model_cooldowns SET probe_until = now() + \(seconds) * interval '1 second', probe_worker = \(workerID)
                 WHERE provider = \(key.provider) AND model_id = \(key.modelID)
                   AND until <= now() AND (probe_until IS NULL OR probe_until <= now())
                RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM probe), greatest(c.until, c.probe_until)
              FROM (SELECT 1) AS one LEFT JOIN llm_model_cooldowns c ON c.provider = \(key.provider) AND c.model_id = \(key.modelID)
            """).rows
        guard let row = rows.first else { return .ended }
        if try row.decode(at: 0, as: Bool.self) { return .mine }
        guard let until = try row.decode(at: 1, as: Date?.self) else { return .ended }
        // A row whose cooldown and probe both just ended (and that another worker is about to
        // probe or delete): skip for a second rather than join the probe.
        return .busy(until: max(until, Date().addingTimeInterval(1)))
    }

    /// A successful probe: the model is healthy, every worker calls it again.
    func endCooldown(_ key: CooldownKey) async throws {
        try await pool.query("""
            WITH gone AS (
                DELETE FROM llm_model_cooldowns WHERE provider = \(key.provider) AND model_id = \(key.modelID) AND until <= now()
                RETURNING 1)
            SELECT pg_notify('switchboard_config', '{"table":"llm_model_cooldowns"}') FROM gone
            """)
    }

    func ensurePartitions() async throws -> Int {
        try await pool.query("SELECT model_usage_ensure_partitions(7)").rows.first?.decode(at: 0) ?? 0
    }

    /// `autovacuum` and `autovacuum_naptime` as the server runs them.
    func autovacuumSettings() async throws -> (enabled: Bool, naptimeSeconds: Double) {
        let row = try await pool.query("""
            SELECT current_setting('autovacuum') = 'on',
                   extract(epoch FROM current_setting('autovacuum_naptime')::interval)::float8
            """).rows.first
        return (try row?.decode(at: 0) ?? false, try row?.decode(at: 1) ?? 60)
    }

    /// Ready jobs, counted up to 100,000 (a bounded index scan, never the whole backlog).
    func readyJobCount() async throws -> Int {
        try await pool.query("""
            SELECT count(*) FROM (SELECT 1 FROM llm_jobs WHERE status = 'queued' AND run_at <= now() LIMIT 100001) s
            """).rows.first?.decode(at: 0) ?? 0
    }
}

/// A completion transaction failed after it began (the link broke, the server restarted), so it
/// may or may not have committed; `GatewayStore.transactionCommitted` tells which.
struct CommitOutcomeUnknown: Error, CustomStringConvertible {
    var transactionID: String
    var backendPID: Int32
    var underlying: PostgresError

    var description: String { "\(underlying) (transaction \(transactionID): outcome unknown)" }
}
