import Foundation
@testable import Gateway
import Postgres
import Testing

/// `request.model` (written by the registry's `/v1` calls that name a catalog model): the job runs
/// on that model alone, whatever its agent's chain says.
@Suite("Gateway: request.model")
struct ModelOverrideTests {
    @Test("A job whose request names a model runs on it alone, without the agent's chain")
    func modelOverrideRunsThatModelOnly() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-agent-primary", provider: "openai")
            try await h.addModel("claude-direct", provider: "anthropic")
            try await h.addModel("stub-error-500-direct", provider: "openai")
            try await h.addModel("gpt-agent-fallback", provider: "openai")
            let agent = try await h.addAgent("owner", model: "gpt-agent-primary", fallbacks: ["gpt-agent-fallback"])
            func enqueue(_ request: String) async throws -> Int64 {
                try await h.pool.query("""
                    INSERT INTO llm_jobs (agent_id, request, max_attempts) VALUES (\(agent), \(PostgresJSONText(request)), 1) RETURNING id
                    """).rows[0].decode(at: 0)
            }
            let direct = try await enqueue(#"{"messages": [{"role": "user", "content": "hi"}], "model": "claude-direct"}"#)
            // A failing direct model does not fall back to the agent's chain.
            let failing = try await enqueue(#"{"messages": [{"role": "user", "content": "hi"}], "model": "stub-error-500-direct"}"#)
            let plain = try await enqueue(#"{"messages": [{"role": "user", "content": "hi"}]}"#)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            #expect(try await h.job(direct).result?["model"]?.string == "claude-direct")
            #expect(try await h.job(direct).result?["provider"]?.string == "anthropic")
            #expect(try await h.job(failing).status == "failed")
            #expect(h.stats().requests(model: "gpt-agent-fallback") == 0)
            #expect(try await h.job(plain).result?["model"]?.string == "gpt-agent-primary")
        }
    }
}
