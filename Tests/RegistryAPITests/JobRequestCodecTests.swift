import ChatModel
import Foundation
import JSON
import Postgres
@testable import RegistryAPI
import Testing

/// `POST /api/jobs` reads the chat request with the worker's codec (`ChatRequest+JSON.swift`), so
/// a job the API accepts is one the worker can run. Until 2026-12 the API validated with a second,
/// Codable implementation, which refused requests the worker reads (an assistant tool-call turn
/// without `content`) and stored numbers of tool schemas as binary doubles.
@Suite struct JobRequestCodecTests {
    /// Valid requests in the shapes clients send: OpenAI SDK bodies and hand-written JSON.
    static let requests: [String] = [
        #"{"messages": [{"role": "user", "content": "hi"}]}"#,
        #"{"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}]}]}"#,
        // An assistant turn with tool calls and no `content` member at all.
        #"{"messages": [{"role": "user", "content": "weather?"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]}"#,
        #"{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "name": "flat", "arguments": "{}"}]}, {"role": "tool", "tool_call_id": "c1", "name": "flat", "content": "ok"}]}"#,
        #"{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {"z": {"type": "integer", "maximum": 12345678901234567890}, "a": {"type": "number", "minimum": 1.10}}, "required": ["z"]}}}], "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": false}"#,
        #"{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "g"}}], "tool_choice": "required"}"#,
        #"{"messages": [{"role": "user", "content": "x"}], "stop": ["END", "--"], "temperature": 0.7, "top_p": 0.9, "max_completion_tokens": 64, "frequency_penalty": -0.5, "presence_penalty": 1.5, "seed": 42, "user": "u-1"}"#,
        #"{"messages": [{"role": "user", "content": "x"}], "stop": "END", "max_tokens": 1}"#,
        #"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}}}}"#,
        #"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}, "temperature": null, "seed": null}"#,
        #"{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}], "response_format": {"type": "text"}}"#,
    ]

    @Test func everyRequestTheAPIAcceptsRoundTripsThroughTheWorkersParser() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "Codec", "agent_type": "chat"}"#)
            for body in Self.requests {
                guard case .object(let members) = try JSONParser.parse(body) else { Issue.record("not an object: \(body)"); continue }
                let job = JSONValue.object([("agent_id", .string(agent))] + members)
                let reply = try await api.post("/api/jobs", job.encodedString())
                #expect(reply.status == .created, "\(body): \(reply)")
                guard let id = try reply.json()["id"]?.intValue else { continue }
                let stored = try #require(try await api.pool.query("SELECT request::text AS r FROM llm_jobs WHERE id = \(id)").rows.first)
                    .decode("r", as: String.self)
                // What JobRunner does with the row, compared with what the client meant.
                let read = try ChatRequest(jsonBytes: Array(stored.utf8))
                #expect(read == (try ChatRequest(jsonBytes: Array(body.utf8))), "\(body)\nstored: \(stored)")
            }
        }
    }

    @Test func numbersInToolSchemasAreStoredAsSent() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "Exact", "agent_type": "chat"}"#)
            let reply = try await api.post("/api/jobs", """
                {"agent_id": "\(agent)", "messages": [{"role": "user", "content": "x"}],
                 "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 12345678901234567890, "multipleOf": 1.10}}}}}]}
                """)
            #expect(reply.status == .created, "\(reply)")
            let id = try #require(try reply.json()["id"]?.intValue)
            let stored = try #require(try await api.pool.query("SELECT request::text AS r FROM llm_jobs WHERE id = \(id)").rows.first)
                .decode("r", as: String.self)
            let n = try JSONParser.parse(stored)["tools"]?[0]?["function"]?["parameters"]?["properties"]?["n"]
            #expect(n?["maximum"].map { $0 == .number("12345678901234567890") && $0.encodedString() == "12345678901234567890" } == true, "\(stored)")
            #expect(n?["multipleOf"]?.encodedString() == "1.10", "\(stored)")
        }
    }

    @Test func aFieldOfTheWrongTypeIsRefusedNamingItsPath() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "Wrong", "agent_type": "chat"}"#)
            let cases: [(body: String, field: String)] = [
                (#""messages": [{"role": "robot", "content": "x"}]"#, "messages[0].role"),
                (#""messages": [{"role": "user", "content": [{"type": "audio"}]}]"#, "messages[0].content[0].type"),
                (#""messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "description": 5}}]"#, "tools[0].function.description"),
                (#""messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "n", "strict": "yes"}}"#, "response_format.json_schema.strict"),
                (#""messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes""#, "tool_choice"),
            ]
            for (body, field) in cases {
                let reply = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", \#(body)}"#)
                #expect(reply.status == .badRequest, "\(body): \(reply)")
                #expect(reply.errorFields.contains(field), "\(body): \(reply)")
            }
        }
    }
}
