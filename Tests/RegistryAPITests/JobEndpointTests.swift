import Foundation
import Postgres
import Testing
@testable import RegistryAPI

/// `POST/GET /api/jobs`, batch, list, cancel (the long-poll is in JobLongPollTests).
@Suite struct JobEndpointTests {
    static let hello = #""messages": [{"role": "user", "content": "hi"}]"#

    func count(_ api: Registry, _ condition: SQL = "TRUE") async throws -> Int {
        try await api.pool.query("SELECT count(*) AS n FROM llm_jobs WHERE \(condition)").rows.first?.decode("n", as: Int.self) ?? -1
    }

    @Test func aNULInAMessageIsAClearErrorNotA500() async throws {
        // PostgreSQL's jsonb cannot store \u0000: the request is refused naming the problem,
        // and nothing is enqueued.
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "N", "agent_type": "chat"}"#)
            let reply = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "a\u0000b"}]}"#)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(try await count(api) == 0)
        }
    }

    @Test func aNULInAQueryParameterIsA400NotA500() async throws {
        // Found by the API fuzzer (tests/integration/test_fuzz_api.py): text parameters with a NUL
        // byte are refused by the Postgres layer before sending; that is the client's input.
        try await Registry.run { api in
            let reply = try await api.get("/api/changes?entity_id=a%00b")
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorCode == "validation_failed" && reply.text.contains("NUL"), "\(reply)")
        }
    }

    @Test func createsAJobStoringTheNeutralChatRequest() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "J", "agent_type": "chat"}"#)
            let reply = try await api.post("/api/jobs", """
                {"agent_id": "\(agent)", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                 "temperature": 0.2, "stop": "END", "max_completion_tokens": 50,
                 "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}],
                 "tool_choice": "auto", "response_format": {"type": "json_object"}}
                """)
            #expect(reply.status == .created, "\(reply)")
            let job = try reply.json()
            #expect(job["status"]?.string == "queued")
            #expect(job["attempt"]?.int == 0)
            #expect(job["max_attempts"]?.int == 3)
            #expect(job["priority"]?.int == 0)
            #expect(job["agent_id"]?.string == agent)
            #expect(job["result"]?.isNull == true)
            // Stored as the ChatRequest encodes it: one stop array, max_tokens, the text part as a string.
            let request = try #require(job["request"])
            #expect(request["stop"]?.array == [.string("END")])
            #expect(request["max_tokens"]?.int == 50)
            #expect(request["max_completion_tokens"] == nil)
            #expect(request["messages"]?[1]?["content"]?.string == "hi")
            #expect(request["tools"]?[0]?["function"]?["name"]?.string == "lookup")
            let id = try #require(job["id"]?.int)
            let stored = try await api.pool.query("SELECT request->>'temperature' AS t, request->'stop'->>0 AS s FROM llm_jobs WHERE id = \(id)").rows
            #expect(try stored.first?.decode("t", as: String.self) == "0.2")
            #expect(try stored.first?.decode("s", as: String.self) == "END")

            // Scheduling fields are stored as sent.
            let scheduled = try await api.post("/api/jobs", """
                {"agent_id": "\(agent)", \(Self.hello), "priority": 7, "run_at": "2030-01-02T03:04:05+01:00", "max_attempts": 5, "step": "draft"}
                """)
            #expect(scheduled.status == .created, "\(scheduled)")
            let scheduledID = try #require(try scheduled.json()["id"]?.int)
            let row = try #require(try await api.pool.query("""
                SELECT priority, max_attempts, step, run_at = '2030-01-02T02:04:05Z'::timestamptz AS on_time FROM llm_jobs WHERE id = \(scheduledID)
                """).rows.first)
            #expect(try row.decode("priority", as: Int.self) == 7)
            #expect(try row.decode("max_attempts", as: Int.self) == 5)
            #expect(try row.decode("step", as: String.self) == "draft")
            #expect(try row.decode("on_time", as: Bool.self))

            let fetched = try await api.get("/api/jobs/\(scheduledID)")
            #expect(fetched.status == .ok)
            #expect(try fetched.json()["run_at"]?.string == "2030-01-02T02:04:05.000Z")
            #expect(try fetched.json()["attempts"]?.array == [])
            #expect(try await api.get("/api/jobs/999999").status == .notFound)
            #expect(try await api.get("/api/jobs/abc").status == .notFound)
        }
    }

    @Test func rejectsInvalidJobsNamingTheField() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "V", "agent_type": "chat"}"#)
            let archived = try await api.createAgent(#"{"name": "Old", "agent_type": "chat", "status": "archived"}"#)
            let cases: [(String, String, Int, String?)] = [
                (#"{"agent_id": "\#(agent)", "messages": []}"#, "messages", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)"}"#, "messages", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "model": "gpt-4o"}"#, "model", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", "messages": [{"role": "robot", "content": "hi"}]}"#, "messages[0].role", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi", "extra": 1}]}"#, "messages[0].extra", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}"#, "messages[0].content[0].type", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "max_attempts": 0}"#, "max_attempts", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "max_attempts": 21}"#, "max_attempts", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "run_at": "tomorrow"}"#, "run_at", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "temperature": 3}"#, "temperature", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "idempotency_key": ""}"#, "idempotency_key", 400, "validation_failed"),
                (#"{"agent_id": "not-a-uuid", \#(Self.hello)}"#, "agent_id", 400, "validation_failed"),
                (#"{"agent_id": "\#(UUID().uuidString)", \#(Self.hello)}"#, "agent_id", 400, "validation_failed"),
                (#"{"agent_id": "\#(agent)", \#(Self.hello), "execution_id": "\#(UUID().uuidString)"}"#, "execution_id", 400, "validation_failed"),
                (#"{"agent_id": "\#(archived)", \#(Self.hello)}"#, "agent_id", 409, "not_accepting_jobs"),
                (#"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}"#, "body", 400, "invalid_json"),
            ]
            for (body, field, status, code) in cases {
                let reply = try await api.post("/api/jobs", body)
                #expect(reply.status.code == status, "\(body): \(reply)")
                #expect(reply.errorCode == code, "\(body): \(reply)")
                #expect(reply.errorFields.contains(field), "\(body): \(reply.errorFields)")
            }
            #expect(try await count(api) == 0)
        }
    }

    @Test func aRepeatedIdempotencyKeyAnswersTheExistingJob() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "I", "agent_type": "chat"}"#)
            let body = #"{"agent_id": "\#(agent)", \#(Self.hello), "idempotency_key": "order-42"}"#
            let first = try await api.post("/api/jobs", body)
            #expect(first.status == .created, "\(first)")
            let again = try await api.post("/api/jobs", body)
            #expect(again.status == .ok, "\(again)")
            #expect(try again.json()["id"] == first.json()["id"])
            #expect(try await count(api, "idempotency_key = 'order-42'") == 1)

            let different = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "other"}], "idempotency_key": "order-42"}"#)
            #expect(different.status == .conflict, "\(different)")
            #expect(different.errorCode == "idempotency_conflict")
            #expect(different.errorFields == ["idempotency_key"])
            #expect(try await count(api) == 1)
        }
    }

    @Test func aBatchIsOneStatementInInputOrder() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "B", "agent_type": "chat"}"#)
            #expect(try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", \#(Self.hello), "idempotency_key": "k-1"}"#).status == .created)

            // Count INSERT statements on llm_jobs (a test fixture beside the product's own trigger).
            try await api.pool.execute("CREATE TABLE insert_statements (at timestamptz NOT NULL DEFAULT now())")
            try await api.pool.execute("""
                CREATE FUNCTION count_insert_statement() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO insert_statements DEFAULT VALUES; RETURN NULL; END; $$
                """)
            try await api.pool.execute("""
                CREATE TRIGGER count_insert_statement AFTER INSERT ON llm_jobs
                    FOR EACH STATEMENT EXECUTE FUNCTION count_insert_statement()
                """)

            var jobs = (0..<50).map { index in #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "n\#(index)"}], "priority": \#(index)}"# }
            jobs.insert(#"{"agent_id": "\#(agent)", \#(Self.hello), "idempotency_key": "k-1"}"#, at: 10)
            jobs.append(#"{"agent_id": "\#(agent)", \#(Self.hello), "idempotency_key": "k-2"}"#)
            let reply = try await api.post("/api/jobs/batch", #"{"jobs": [\#(jobs.joined(separator: ","))]}"#)
            #expect(reply.status == .created, "\(reply)")
            let body = try reply.json()
            #expect(body["created"]?.int == 51)
            #expect(body["existing"]?.int == 1)
            let answered = try #require(body["jobs"]?.array)
            #expect(answered.count == 52)
            #expect(answered[10]["created"]?.bool == false)
            #expect(answered[10]["idempotency_key"]?.string == "k-1")
            #expect(answered[0]["priority"]?.int == 0 && answered[11]["priority"]?.int == 10 && answered[50]["priority"]?.int == 49)
            #expect(answered[51]["idempotency_key"]?.string == "k-2")
            #expect(answered[0]["request"] == nil, "batch answers carry no bodies")
            #expect(try await count(api) == 52)
            // Input order = id order for the new jobs.
            let ids = answered.filter { $0["created"]?.bool == true }.compactMap { $0["id"]?.int }
            #expect(ids == ids.sorted())

            let statements = try await api.pool.query("SELECT count(*) AS n FROM insert_statements").rows.first?.decode("n", as: Int.self)
            #expect(statements == 1, "52 jobs, one INSERT statement")
        }
    }

    @Test func batchValidationIsAllOrNothing() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "BV", "agent_type": "chat"}"#)
            let ok = #"{"agent_id": "\#(agent)", \#(Self.hello)}"#
            #expect(try await api.post("/api/jobs/batch", #"{"jobs": []}"#).errorFields == ["jobs"])
            let bad = try await api.post("/api/jobs/batch", #"{"jobs": [\#(ok), {"agent_id": "\#(agent)", "messages": []}]}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.errorFields == ["jobs[1].messages"])
            let duplicate = try await api.post("/api/jobs/batch", """
                {"jobs": [{"agent_id": "\(agent)", \(Self.hello), "idempotency_key": "d"}, {"agent_id": "\(agent)", \(Self.hello), "idempotency_key": "d"}]}
                """)
            #expect(duplicate.errorFields == ["jobs[1].idempotency_key"])
            let tooMany = try await api.post("/api/jobs/batch", #"{"jobs": [\#(Array(repeating: ok, count: 1001).joined(separator: ","))]}"#)
            #expect(tooMany.status == .badRequest)
            #expect(tooMany.errorFields == ["jobs"])
            // A conflicting key rolls the whole batch back.
            #expect(try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", \#(Self.hello), "idempotency_key": "x"}"#).status == .created)
            let conflict = try await api.post("/api/jobs/batch", """
                {"jobs": [\(ok), {"agent_id": "\(agent)", "messages": [{"role": "user", "content": "changed"}], "idempotency_key": "x"}]}
                """)
            #expect(conflict.status == .conflict, "\(conflict)")
            #expect(conflict.errorFields == ["jobs[1].idempotency_key"])
            #expect(try await count(api) == 1)
        }
    }

    @Test func cancelsQueuedAndRunningJobsAndRefusesFinishedOnes() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "C", "agent_type": "chat"}"#)
            func enqueue() async throws -> Int64 {
                let reply = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", \#(Self.hello)}"#)
                return Int64(try #require(try reply.json()["id"]?.int))
            }
            let recorder = NotificationRecorder(configuration: api.pool.configuration, channels: ["llm_jobs_cancel"])
            try await recorder.start()
            defer { recorder.stop() }

            let queued = try await enqueue()
            let cancelled = try await api.post("/api/jobs/\(queued)/cancel", "")
            #expect(cancelled.status == .ok, "\(cancelled)")
            #expect(try cancelled.json()["status"]?.string == "cancelled")
            #expect(try cancelled.json()["finished_at"]?.string != nil)

            let running = try await enqueue()
            try await Worker.claim(api.pool, running)
            let requested = try await api.post("/api/jobs/\(running)/cancel", "")
            #expect(requested.status == .accepted, "\(requested)")
            #expect(try requested.json()["status"]?.string == "running")
            #expect(try requested.json()["cancel_requested_at"]?.string != nil)
            #expect(try await recorder.payloads("llm_jobs_cancel", atLeast: 1) == [String(running)])

            let finished = try await enqueue()
            try await Worker.claim(api.pool, finished)
            try await Worker.succeed(api.pool, [finished])
            for id in [finished, queued] {
                let refused = try await api.post("/api/jobs/\(id)/cancel", "")
                #expect(refused.status == .conflict, "\(refused)")
                #expect(refused.errorCode == "job_finished")
                #expect(refused.errorDetails.first?.message == (id == finished ? "succeeded" : "cancelled"))
            }
            #expect(try await api.post("/api/jobs/424242/cancel", "").status == .notFound)
        }
    }

    @Test func listsNewestFirstInPages() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "L", "agent_type": "chat"}"#)
            let other = try await api.createAgent(#"{"name": "L2", "agent_type": "chat"}"#)
            var ids: [Int] = []
            for index in 0..<5 {
                let reply = try await api.post("/api/jobs", #"{"agent_id": "\#(index == 4 ? other : agent)", \#(Self.hello)}"#)
                ids.append(try #require(try reply.json()["id"]?.int))
            }
            var seen: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                let reply = try await api.get("/api/jobs?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(reply.status == .ok, "\(reply)")
                let body = try reply.json()
                let jobs = try #require(body["jobs"]?.array)
                #expect(jobs.allSatisfy { $0["request"] == nil })
                seen += jobs.compactMap { $0["id"]?.int }
                cursor = body["next_cursor"]?.string
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ids.reversed())
            #expect(pages == 3)

            let mine = try await api.get("/api/jobs?agent_id=\(agent)&include=result").json()
            #expect(mine["count"]?.int == 4)
            #expect(mine["jobs"]?[0]?["request"]?["messages"] != nil)
            #expect(try await api.get("/api/jobs?status=queued").json()["count"]?.int == 5)
            #expect(try await api.get("/api/jobs?status=succeeded").json()["count"]?.int == 0)
            for bad in ["status=done", "agent_id=x", "limit=201", "limit=0", "cursor=abc", "include=all"] {
                #expect(try await api.get("/api/jobs?\(bad)").status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func aJobShowsItsProviderAttempts() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "A", "agent_type": "chat"}"#)
            let reply = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", \#(Self.hello)}"#)
            let id = Int64(try #require(try reply.json()["id"]?.int))
            try await Worker.claim(api.pool, id)
            let agentID = try #require(UUID(uuidString: agent))
            try await api.pool.execute("""
                INSERT INTO model_usage (job_id, agent_id, provider, model_id, fallback_depth, attempt, outcome, error_class, http_status,
                                         input_tokens, output_tokens, cost, latency_ms, worker_id, started_at, finished_at)
                VALUES (\(id), \(agentID), 'openai', 'gpt-4o', 0, 1, 'error', 'rate_limited', 429, NULL, NULL, NULL, 40, 'w1',
                        now() - interval '2 seconds', now() - interval '2 seconds'),
                       (\(id), \(agentID), 'anthropic', 'claude-haiku-4-5', 1, 1, 'success', NULL, 200, 12, 7, 0.000047, 900, 'w1',
                        now() - interval '1 second', now())
                """)
            // A call of an attempt that had lost its lease: recorded, and marked as the duplicate it is.
            try await api.pool.execute("""
                INSERT INTO model_usage (job_id, agent_id, provider, model_id, fallback_depth, attempt, outcome, http_status,
                                         input_tokens, output_tokens, cost, latency_ms, worker_id, started_at, finished_at, superseded)
                VALUES (\(id), \(agentID), 'openai', 'gpt-4o', 0, 1, 'success', 200, 12, 7, 0.0001, 950, 'w0',
                        now() - interval '3 seconds', now() - interval '3 seconds', true)
                """)
            try await Worker.succeed(api.pool, [id], result: Worker.result(model: "claude-haiku-4-5", provider: "anthropic", cost: "0.000047"))
            let job = try await api.get("/api/jobs/\(id)").json()
            #expect(job["status"]?.string == "succeeded")
            #expect(job["result"]?["model"]?.string == "claude-haiku-4-5")
            #expect(job["result"]?["cost"]?.decimal == Decimal(string: "0.000047"))
            var attempts = try #require(job["attempts"]?.array)
            #expect(attempts.compactMap { $0["model"]?.string } == ["gpt-4o", "gpt-4o", "claude-haiku-4-5"])
            #expect(attempts.compactMap { $0["superseded"]?.bool } == [true, false, false])
            let duplicate = attempts.removeFirst()
            #expect(duplicate["worker_id"]?.string == "w0")
            #expect(attempts[0]["error_class"]?.string == "rate_limited")
            #expect(attempts[0]["http_status"]?.int == 429)
            #expect(attempts[0]["cost"]?.isNull == true)
            #expect(attempts[1]["fallback_depth"]?.int == 1)
            #expect(attempts[1]["cost"]?.decimal == Decimal(string: "0.000047"))
            #expect(attempts[1]["input_tokens"]?.int == 12)
        }
    }
}
