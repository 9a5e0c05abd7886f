import Catalog
import Foundation
@testable import Gateway
import Postgres
import Testing

/// Review finding P0-1 end to end: a provider row changed by SQL (or the API) to send its key
/// somewhere else, or to send another variable's secret, gets no key from the worker and no call is
/// made; the job's error names the binding an operator would have to add.
@Suite("Gateway: provider keys only reach their bound hosts")
struct KeyHostBindingTests {
    @Test("A provider repointed to an unbound host, or naming an unbound key variable, is never called with a key")
    func repointedProviderGetsNoKey() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-moved")
            try await h.addModel("claude-borrowed", provider: "anthropic")
            let moved = try await h.addAgent("moved", model: "gpt-moved")
            let borrowed = try await h.addAgent("borrowed", model: "claude-borrowed")
            // The same stub under a name the key is not bound to (loopback, so plain http passes the
            // older base_url rule): only the binding stands between the key and this host.
            let port = try #require(URL(string: h.stubURL)?.port)
            try await h.pool.execute("UPDATE llm_providers SET base_url = \("http://localhost:\(port)") WHERE name = 'openai'")
            // Another secret of the worker's environment, bound nowhere, on a provider at the bound host.
            try await h.pool.execute("UPDATE llm_providers SET api_key_env = 'WORKER_SECRET_TOKEN' WHERE name = 'anthropic'")
            let configuration = GatewayConfiguration(
                workerID: "w-keys", concurrency: 8, batchSize: 8, leaseDuration: .seconds(30),
                pollInterval: .milliseconds(200), gracePeriod: .seconds(5),
                environment: GatewayHarness.keyEnvironment.merging(["WORKER_SECRET_TOKEN": "do-not-send"]) { own, _ in own })
            try await h.withWorker(configuration) { _ in
                let first = try await h.enqueue(agent: moved)
                let second = try await h.enqueue(agent: borrowed)
                try await h.waitForAllJobs()
                for (id, variable, host) in [(first, "STUB_KEY", "localhost"), (second, "WORKER_SECRET_TOKEN", "127.0.0.1")] {
                    let row = try await h.job(id)
                    #expect(row.status == "failed")
                    #expect(row.error?["code"]?.string == "no_usable_model")
                    let skip = row.error?["skipped"]?[0]
                    #expect(skip?["reason"]?.string == "key_not_bound")
                    let detail = skip?["detail"]?.string ?? ""
                    #expect(detail.contains("\(variable) is bound to") && detail.contains("not to '\(host)'"), "\(detail)")
                    #expect(detail.contains("SWITCHBOARD_KEY_HOSTS=\(variable)=\(host)"))
                    let text = try await h.pool.query("SELECT error::text AS e FROM llm_jobs WHERE id = \(id)").rows[0].decode("e", as: String.self)
                    #expect(!text.contains("do-not-send") && !text.contains("sk-stub"), "no secret in the error")
                }
            }
            #expect(h.stats().requests(model: "gpt-moved") == 0, "nothing reached the repointed host")
            #expect(h.stats().requests(model: "claude-borrowed") == 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 0, "no attempt was made")
        }
    }
}
