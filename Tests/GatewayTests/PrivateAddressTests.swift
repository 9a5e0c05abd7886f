import Catalog
import Foundation
@testable import Gateway
import Postgres
import Testing

/// SSRF end to end (review finding P2-7): a provider row pointed (by API or SQL) at a name that
/// resolves to loopback is not connected to unless the operator listed the host; the job's attempt
/// says why, and the worker keeps running.
@Suite("Gateway: provider hosts resolving to private addresses need the operator's allow-list")
struct PrivateAddressTests {
    @Test("A keyless provider on localhost (resolving to loopback, not allow-listed) fails the attempt with a clear error")
    func loopbackNameIsRefused() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-local")
            let agent = try await h.addAgent("local", model: "gpt-local")
            let port = try #require(URL(string: h.stubURL)?.port)
            // No key, so the key-host binding has nothing to say: only the address check stands.
            try await h.pool.execute(
                "UPDATE llm_providers SET base_url = \("http://localhost:\(port)"), api_key_env = NULL WHERE name = 'openai'")
            try await h.withWorker(h.configuration(workerID: "w-ssrf")) { _ in
                let id = try await h.enqueue(agent: agent)
                try await h.waitForAllJobs()
                let row = try await h.job(id)
                #expect(row.status == "failed")
                let text = try await h.pool.query("SELECT error::text AS e FROM llm_jobs WHERE id = \(id)").rows[0].decode("e", as: String.self)
                #expect(text.contains("provider_misconfigured"), "\(text)")
                #expect(text.contains("refused to connect to 'localhost'") && text.contains("SWITCHBOARD_ALLOWED_PRIVATE_HOSTS"), "\(text)")
            }
            #expect(h.stats().requests(model: "gpt-local") == 0, "nothing reached the stub")
        }
    }

    @Test("The same provider is called once the operator lists the host")
    func listedHostIsCalled() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-local")
            let agent = try await h.addAgent("local", model: "gpt-local")
            let port = try #require(URL(string: h.stubURL)?.port)
            try await h.pool.execute(
                "UPDATE llm_providers SET base_url = \("http://localhost:\(port)"), api_key_env = NULL WHERE name = 'openai'")
            var configuration = h.configuration(workerID: "w-ssrf-listed")
            configuration.environment["SWITCHBOARD_ALLOWED_PRIVATE_HOSTS"] = "localhost"
            try await h.withWorker(configuration) { _ in
                let id = try await h.enqueue(agent: agent)
                try await h.waitForAllJobs()
                #expect(try await h.job(id).status == "succeeded")
            }
            #expect(h.stats().requests(model: "gpt-local") == 1)
        }
    }
}
