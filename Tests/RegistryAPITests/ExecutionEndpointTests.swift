import Foundation
import Postgres
import Testing
@testable import RegistryAPI

@Suite struct ExecutionEndpointTests {
    /// Metadata is stored with its numbers' exact text; a number the answers could not carry
    /// exactly (Decimal's range) is refused up front instead of coming back as 0.
    @Test func metadataNumbersAreExactOrRefused() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "M", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#)
            let steps = #"[{"step": "s", "agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}]}]"#
            let refused = try await api.post("/api/executions", #"{"workflow_name": "w", "metadata": {"budget": 1e400}, "steps": \#(steps)}"#)
            #expect(refused.status == .badRequest, "\(refused)")
            #expect(refused.errorFields == ["metadata"])
            #expect(try await api.pool.query("SELECT count(*) AS n FROM workflow_executions").rows.first?.decode("n", as: Int.self) == 0)

            let stored = try await api.post("/api/executions", #"{"workflow_name": "w", "metadata": {"rate": 0.0000025, "n": 12345678901234567890123}, "steps": \#(steps)}"#)
            #expect(stored.status == .created, "\(stored)")
            let id = try #require(try stored.json()["id"]?.string)
            let read = try await api.get("/api/executions/\(id)").json()
            #expect(read["metadata"]?["rate"]?.decimal == Decimal(string: "0.0000025"))
            #expect(read["metadata"]?["n"]?.decimal == Decimal(string: "12345678901234567890123"))
        }
    }

    @Test func createsOneJobPerStepAndReportsUsageLiveThenStored() async throws {
        try await Registry.run { api in
            let writer = try await api.createAgent(#"{"name": "Writer", "agent_type": "writer", "model_config": {"model_id": "gpt-4o"}}"#)
            let critic = try await api.createAgent(#"{"name": "Critic", "agent_type": "chat", "model_config": {"model_id": "claude-haiku-4-5"}}"#)
            let reply = try await api.post("/api/executions", """
                {"workflow_name": "release-notes", "metadata": {"ticket": "SB-9"},
                 "steps": [{"step": "draft", "agent_id": "\(writer)", "messages": [{"role": "user", "content": "draft"}], "max_tokens": 500},
                           {"step": "review", "agent_id": "\(critic)", "messages": [{"role": "user", "content": "review"}], "priority": 3}]}
                """)
            #expect(reply.status == .created, "\(reply)")
            let created = try reply.json()
            let id = try #require(created["id"]?.string)
            #expect(created["status"]?.string == "running")
            #expect(created["metadata"]?["ticket"]?.string == "SB-9")
            let steps = try #require(created["steps"]?.array)
            #expect(steps.compactMap { $0["step"]?.string } == ["draft", "review"])
            #expect(created["models_used"] == .object([]))
            #expect(created["total_cost"]?.isNull == true)
            let jobIDs = steps.compactMap { $0["job_id"]?.int }.map(Int64.init)
            let executionID = try #require(UUID(uuidString: id))
            let rows = try await api.pool.query("""
                SELECT count(*) AS n, count(*) FILTER (WHERE priority = 3) AS p FROM llm_jobs WHERE execution_id = \(executionID)
                """).rows
            #expect(try rows.first?.decode("n", as: Int.self) == 2)
            #expect(try rows.first?.decode("p", as: Int.self) == 1)

            // The worker ran both steps: counters (two shards for the writer), results.
            let writerID = try #require(UUID(uuidString: writer))
            let criticID = try #require(UUID(uuidString: critic))
            try await api.pool.execute("""
                INSERT INTO execution_usage (execution_id, agent_id, provider, model_id, shard, requests, successes, errors,
                                             input_tokens, output_tokens, cached_input_tokens, priced_requests, cost, last_used_at)
                VALUES (\(executionID), \(writerID), 'openai', 'gpt-4o', 0, 2, 1, 1, 100, 40, 0, 1, 0.0011, now()),
                       (\(executionID), \(writerID), 'openai', 'gpt-4o', 5, 1, 1, 0, 50, 10, 20, 1, 0.00025, now()),
                       (\(executionID), \(criticID), 'anthropic', 'claude-haiku-4-5', 2, 1, 1, 0, 30, 5, 0, 0, 0, now())
                """)
            for jobID in jobIDs { try await Worker.claim(api.pool, jobID) }
            try await Worker.succeed(api.pool, [jobIDs[0]])
            try await Worker.succeed(api.pool, [jobIDs[1]], result: Worker.result(model: "claude-haiku-4-5", provider: "anthropic", cost: "null"))

            let live = try await api.get("/api/executions/\(id)").json()
            #expect(live["status"]?.string == "running")
            #expect(live["steps"]?.array?.compactMap { $0["model"]?.string } == ["gpt-4o", "claude-haiku-4-5"])
            let gpt = live["models_used"]?[writer]?["gpt-4o"]
            #expect(gpt?["requests"]?.int == 3)
            #expect(gpt?["errors"]?.int == 1)
            #expect(gpt?["input_tokens"]?.int == 150)
            #expect(gpt?["cost"]?.decimal == Decimal(string: "0.00135"))
            #expect(live["models_used"]?[critic]?["claude-haiku-4-5"]?["cost"]?.isNull == true)
            #expect(live["models_used"]?[critic]?["claude-haiku-4-5"]?["unpriced_requests"]?.int == 1)
            #expect(live["total_cost"]?.decimal == Decimal(string: "0.00135"))
            #expect(gpt?["unpriced_requests"]?.int == 1)
            #expect(live["unpriced_requests"]?.int == 2)
            #expect(live["tokens"]?["total_tokens"]?.int == 235)
            #expect(live["job_counts"]?["succeeded"]?.int == 2)

            // Finished: the stored column is the source (the counters may be gone).
            let modelsUsed = """
                {"\(writer)": {"gpt-4o": {"requests": 3, "successes": 2, "errors": 1, "input_tokens": 150,
                 "output_tokens": 50, "cached_input_tokens": 20, "cost": 0.00135, "unpriced_requests": 1}},
                 "\(critic)": {"claude-haiku-4-5": {"requests": 1, "successes": 1, "errors": 0, "input_tokens": 30,
                 "output_tokens": 5, "cached_input_tokens": 0, "cost": null, "unpriced_requests": 1}}}
                """
            try await api.pool.execute("""
                UPDATE workflow_executions SET status = 'succeeded', finished_at = now(), models_used = \(PostgresJSONText(modelsUsed))
                 WHERE id = \(executionID)
                """)
            try await api.pool.execute("DELETE FROM execution_usage WHERE execution_id = \(executionID)")
            let stored = try await api.get("/api/executions/\(id)").json()
            #expect(stored["status"]?.string == "succeeded")
            #expect(stored["models_used"] == live["models_used"])
            #expect(stored["total_cost"]?.decimal == Decimal(string: "0.00135"))
            #expect(stored["tokens"] == live["tokens"])

            let list = try await api.get("/api/executions?status=succeeded").json()
            #expect(list["executions"]?.array?.compactMap { $0["id"]?.string } == [id])
            #expect(try await api.get("/api/executions/\(UUID().uuidString)").status == .notFound)
            #expect(try await api.get("/api/executions?status=done").status == .badRequest)
        }
    }

    @Test func anInvalidStepCreatesNothing() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "E", "agent_type": "chat"}"#)
            let ok = #"{"step": "a", "agent_id": "\#(agent)", "messages": [{"role": "user", "content": "x"}]}"#
            let cases: [(String, [String])] = [
                (#"{"workflow_name": "w", "steps": []}"#, ["steps"]),
                (#"{"workflow_name": "", "steps": [\#(ok)]}"#, ["workflow_name"]),
                (#"{"workflow_name": "w", "steps": [\#(ok), {"step": "b", "agent_id": "\#(UUID().uuidString)", "messages": [{"role": "user", "content": "x"}]}]}"#, ["steps[1].agent_id"]),
                (#"{"workflow_name": "w", "steps": [{"step": "b", "agent_id": "\#(agent)", "messages": []}]}"#, ["steps[0].messages"]),
                (#"{"workflow_name": "w", "steps": [{"step": "b", "agent_id": "\#(agent)", "messages": [{"role": "user", "content": "x"}], "idempotency_key": "k"}]}"#, ["steps[0].idempotency_key"]),
            ]
            for (body, fields) in cases {
                let reply = try await api.post("/api/executions", body)
                #expect(reply.status == .badRequest, "\(body): \(reply)")
                #expect(reply.errorFields == fields, "\(body)")
            }
            let counts = try await api.pool.query("""
                SELECT (SELECT count(*) FROM workflow_executions) AS e, (SELECT count(*) FROM llm_jobs) AS j
                """).rows.first
            #expect(try counts?.decode("e", as: Int.self) == 0)
            #expect(try counts?.decode("j", as: Int.self) == 0)
        }
    }

    @Test func listsExecutionsNewestFirstInPages() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "P", "agent_type": "chat"}"#)
            var ids: [String] = []
            for index in 0..<3 {
                let reply = try await api.post("/api/executions", """
                    {"workflow_name": "w\(index)", "steps": [{"step": "s", "agent_id": "\(agent)", "messages": [{"role": "user", "content": "x"}]}]}
                    """)
                ids.append(try #require(try reply.json()["id"]?.string))
            }
            let first = try await api.get("/api/executions?limit=2").json()
            #expect(first["executions"]?.array?.compactMap { $0["id"]?.string } == [ids[2], ids[1]])
            let cursor = try #require(first["next_cursor"]?.string)
            let second = try await api.get("/api/executions?limit=2&cursor=\(cursor)").json()
            #expect(second["executions"]?.array?.compactMap { $0["id"]?.string } == [ids[0]])
            #expect(second["next_cursor"]?.isNull == true)
            #expect(try await api.get("/api/executions?cursor=nope").status == .badRequest)
            // The jobs of one execution, through the jobs list.
            let jobs = try await api.get("/api/jobs?execution_id=\(ids[1])").json()
            #expect(jobs["count"]?.int == 1)
        }
    }

    /// Cancelling the last open job of an execution finishes it (no worker will).
    @Test func cancellingTheLastQueuedJobFinishesTheExecution() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "K", "agent_type": "chat"}"#)
            let created = try await api.post("/api/executions", """
                {"workflow_name": "w", "steps": [{"step": "one", "agent_id": "\(agent)", "messages": [{"role": "user", "content": "x"}]},
                                                 {"step": "two", "agent_id": "\(agent)", "messages": [{"role": "user", "content": "y"}]}]}
                """).json()
            let id = try #require(created["id"]?.string)
            let jobs = (created["steps"]?.array ?? []).compactMap { $0["job_id"]?.int }
            #expect(jobs.count == 2)
            try await Worker.claim(api.pool, Int64(jobs[0]))
            try await Worker.succeed(api.pool, [Int64(jobs[0])])
            #expect(try await api.get("/api/executions/\(id)").json()["status"]?.string == "running")
            #expect(try await api.post("/api/jobs/\(jobs[1])/cancel", "").status == .ok)
            let finished = try await api.get("/api/executions/\(id)").json()
            #expect(finished["status"]?.string == "cancelled")
            #expect(finished["finished_at"]?.string != nil)
            // Jobs cannot join a finished execution.
            let late = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", "execution_id": "\#(id)", "messages": [{"role": "user", "content": "z"}]}"#)
            #expect(late.status == .conflict, "\(late)")
        }
    }
}
