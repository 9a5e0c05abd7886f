import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSON
import Logging
import NIOCore
import Postgres
import RegistryAPI
import Testing

/// The product path end to end: a client uses only the registry's HTTP API (create agents,
/// submit an execution, long-poll its jobs, read the execution and the agent's usage) while a
/// real worker runs the jobs against provider-stub over HTTP. Nothing is written by SQL here.
@Suite("Registry API → llm-gateway → provider-stub, end to end")
struct RegistryToWorkerTests {
    @Test("An execution submitted over the API is run by the worker; long-poll, models_used and usage agree")
    func executionThroughTheAPI() async throws {
        try await GatewayHarness.run { harness in
            let logger = Logger(label: "e2e-tests")
            let completions = JobCompletionHub(pool: harness.pool, logger: logger)
            defer { completions.shutdown() }
            let router = buildRouter(
                configuration: RegistryConfiguration(apiToken: "e2e-token", migrations: GatewayHarness.migrations),
                pool: harness.pool, logger: logger, completions: completions)
            let app = Application(router: router, logger: logger)
            try await app.test(.router) { client in
                let api = API(client: client)
                // Two agents on two providers (seed catalog models, providers pointed at the stub).
                let writer = try await api.id(api.send(.post, "/api/agents", #"""
                    {"name": "writer", "agent_type": "chat",
                     "model_config": {"model_id": "gpt-4o-mini", "temperature": 0.2}}
                    """#))
                let reviewer = try await api.id(api.send(.post, "/api/agents", #"""
                    {"name": "reviewer", "agent_type": "chat",
                     "model_config": {"model_id": "claude-haiku-4-5", "fallback_model_ids": ["gpt-4o-mini"]}}
                    """#))
                let created = try await api.send(.post, "/api/executions", """
                    {"workflow_name": "draft-and-review", "steps": [
                      {"step": "draft", "agent_id": "\(writer)", "messages": [{"role": "user", "content": "Write a haiku"}]},
                      {"step": "review", "agent_id": "\(reviewer)", "messages": [{"role": "user", "content": "Review it"}]}]}
                    """)
                #expect(created.status == .created, "\(created.text)")
                let execution = try created.json()
                let executionID = try #require(execution["id"]?.stringValue)
                let jobIDs = (execution["steps"]?.arrayValue ?? []).compactMap { $0["job_id"]?.intValue }
                #expect(jobIDs.count == 2)

                try await harness.withWorker { _ in
                    for (jobID, model) in zip(jobIDs, ["gpt-4o-mini", "claude-haiku-4-5"]) {
                        let reply = try await api.send(.get, "/api/jobs/\(jobID)?wait=30")
                        let job = try reply.json()
                        #expect(job["status"]?.stringValue == "succeeded", "\(reply.text)")
                        #expect(job["result"]?["model"]?.stringValue == model)
                        #expect(job["result"]?["content"]?.stringValue?.hasPrefix("Stub reply to:") == true)
                        #expect(job["result"]?["fallback_depth"]?.intValue == 0)
                    }
                }

                // The execution is finished by the worker's completer, with models_used and an
                // exact total that equals the sum of the usage rows.
                let read = try await api.send(.get, "/api/executions/\(executionID)").json()
                #expect(read["status"]?.stringValue == "succeeded")
                #expect(read["models_used"]?[writer]?["gpt-4o-mini"]?["requests"]?.intValue == 1)
                #expect(read["models_used"]?[reviewer]?["claude-haiku-4-5"]?["requests"]?.intValue == 1)
                let usageTotal: Decimal = try await harness.pool.query(
                    "SELECT sum(cost) AS c FROM model_usage WHERE execution_id = \(try #require(UUID(uuidString: executionID)))"
                ).rows[0].decode("c")
                #expect(usageTotal > 0)
                #expect(read["total_cost"]?.scalarText.flatMap { Decimal(string: $0) } == usageTotal)

                // The agent's usage, in the PRD's shape, from the counters the worker wrote.
                let usage = try await api.send(.get, "/api/agents/\(writer)/model-usage").json()
                #expect(usage["usage_stats"]?["total_requests"]?.intValue == 1)
            }
        }
    }
}

/// A tiny client for the router under test, with the bearer token and JSON content type a
/// well-behaved API client sends.
private struct API {
    let client: any TestClientProtocol

    struct Reply {
        var status: HTTPResponse.Status
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> JSONValue { try JSONParser.parse(body) }
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, _ json: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [.authorization: "Bearer e2e-token"]
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(
            uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }
        ) { response in
            Reply(status: response.status, body: Array(response.body.readableBytesView))
        }
    }

    func id(_ reply: Reply) throws -> String {
        guard reply.status == .created, let id = try reply.json()["id"]?.stringValue else {
            throw E2EError(message: "expected 201 with an id, got \(reply.status): \(reply.text)")
        }
        return id
    }

    struct E2EError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
