import Catalog
import CurlHTTP
import Foundation
import Providers
import Testing

@Suite("Anthropic request translation")
struct AnthropicTranslationTests {
    @Test("system messages are hoisted to `system`, joined in order, wherever they appear")
    func systemHoisting() throws {
        let request = ChatRequest(messages: [
            .system("You are terse."), .user("Hi"), .system("Answer in French."), .assistant("Bonjour"), .user("Ça va?"),
        ])
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        try expectJSON(body.json, equals: """
            {"model":"claude-sonnet-4-5","max_tokens":4096,
             "system":"You are terse.\\n\\nAnswer in French.",
             "messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Bonjour"},{"role":"user","content":"Ça va?"}]}
            """)
        #expect(body.warnings.isEmpty)
    }

    @Test("consecutive messages of the same role are merged into one turn")
    func mergesConsecutiveRoles() throws {
        let request = ChatRequest(messages: [.user("First."), .user("Second."), .assistant("A"), .assistant("B")])
        let body = try anthropic.makeBody(for: request, model: "claude-haiku-4-5", options: .init())
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","content":[{"type":"text","text":"First."},{"type":"text","text":"Second."}]},
             {"role":"assistant","content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]}]
            """)
    }

    @Test("max_tokens is always sent: the request's, else the model default passed in, else 4096", arguments: [
        (Int?.some(100), Int?.some(8192), 100), (nil, 8192, 8192), (nil, nil, 4096),
    ])
    func maxTokens(requested: Int?, modelDefault: Int?, expected: Int) throws {
        let request = ChatRequest(messages: [.user("Hi")], maxTokens: requested)
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init(defaultMaxTokens: modelDefault))
        #expect(body.json["max_tokens"] == .int(expected))
    }

    @Test("sampling parameters: stop → stop_sequences, user → metadata.user_id")
    func parameters() throws {
        let request = ChatRequest(messages: [.user("Hi")], stop: ["###"], temperature: 0.3, topP: 0.8, maxTokens: 50, user: "agent-7")
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        try expectJSON(body.json, equals: """
            {"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"Hi"}],
             "stop_sequences":["###"],"temperature":0.3,"top_p":0.8,"metadata":{"user_id":"agent-7"}}
            """)
    }

    @Test("temperature outside 0–1 is rejected before any call, as a provider-specific problem", arguments: [1.2, -0.1, 2.0])
    func temperatureRange(temperature: Double) {
        let request = ChatRequest(messages: [.user("Hi")], temperature: temperature)
        let error = providerError { _ = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init()) }
        #expect(error?.errorClass == .unsupportedParameter)
        #expect(error?.detectedLocally == true)
        #expect(error?.allowsFallback == true)
        #expect(error?.isRetryable == false)
    }

    @Test("temperature 0 and 1 are accepted", arguments: [0.0, 1.0])
    func temperatureBounds(temperature: Double) throws {
        let body = try anthropic.makeBody(for: ChatRequest(messages: [.user("Hi")], temperature: temperature), model: "c", options: .init())
        #expect(body.json["temperature"]?.doubleValue == temperature)
    }

    @Test("penalties, seed and JSON response format are dropped with recorded warnings")
    func droppedWithWarnings() throws {
        let request = ChatRequest(
            messages: [.user("Hi")], frequencyPenalty: 0.5, presencePenalty: 0.2, responseFormat: .jsonObject, seed: 3)
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        #expect(body.json["frequency_penalty"] == nil)
        #expect(body.json["presence_penalty"] == nil)
        #expect(body.json["seed"] == nil)
        #expect(body.json["response_format"] == nil)
        #expect(body.warnings.count == 4)
        #expect(body.warnings.contains { $0.contains("frequency_penalty") })
        #expect(body.warnings.contains { $0.contains("presence_penalty") })
        #expect(body.warnings.contains { $0.contains("seed") })
        #expect(body.warnings.contains { $0.contains("response_format") })
    }

    @Test("tools become name/description/input_schema", arguments: [
        (nil as ToolChoice?, nil as Bool?, nil as String?),
        (.auto, nil, #"{"type":"auto"}"#),
        (ToolChoice.none, nil, #"{"type":"none"}"#),
        (.required, nil, #"{"type":"any"}"#),
        (.tool(name: "get_weather"), nil, #"{"type":"tool","name":"get_weather"}"#),
        (.required, false, #"{"type":"any","disable_parallel_tool_use":true}"#),
        (nil, false, #"{"type":"auto","disable_parallel_tool_use":true}"#),
        (nil, true, nil),
    ])
    func tools(choice: ToolChoice?, parallel: Bool?, expected: String?) throws {
        let request = ChatRequest(messages: [.user("Weather?")], tools: [weatherTool], toolChoice: choice, parallelToolCalls: parallel)
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        try expectJSON(#require(body.json["tools"]), equals: """
            [{"name":"get_weather","description":"Current weather for a city",
              "input_schema":{"type":"object","properties":{"city":{"type":"string"},
                "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}]
            """)
        if let expected {
            try expectJSON(#require(body.json["tool_choice"]), equals: expected)
        } else {
            #expect(body.json["tool_choice"] == nil)
        }
    }

    @Test("tool calls become tool_use blocks with object input; tool results become one user turn of tool_result blocks")
    func toolRoundTrip() throws {
        let request = ChatRequest(messages: [
            .system("Use tools."),
            .user("Weather in Paris and Rome?"),
            .assistant("Checking both.", toolCalls: [
                ToolCall(id: "toolu_1", name: "get_weather", arguments: #"{"city":"Paris","unit":"celsius"}"#),
                ToolCall(id: "toolu_2", name: "get_weather", arguments: ""),
            ]),
            .tool(callID: "toolu_1", content: "18C sunny"),
            .tool(callID: "toolu_2", content: "24C clear"),
            .user("Which is warmer?"),
        ], tools: [weatherTool])
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","content":"Weather in Paris and Rome?"},
             {"role":"assistant","content":[
               {"type":"text","text":"Checking both."},
               {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","unit":"celsius"}},
               {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{}}]},
             {"role":"user","content":[
               {"type":"tool_result","tool_use_id":"toolu_1","content":"18C sunny"},
               {"type":"tool_result","tool_use_id":"toolu_2","content":"24C clear"},
               {"type":"text","text":"Which is warmer?"}]}]
            """)
        #expect(body.json["system"] == "Use tools.")
    }

    @Test("tool results are moved ahead of text in a merged user turn")
    func toolResultsFirst() throws {
        let request = ChatRequest(messages: [
            .user("Go."),
            .assistant(nil, toolCalls: [ToolCall(id: "t1", name: "f", arguments: "{}")]),
            .user("(note)"),
            .tool(callID: "t1", content: "done"),
        ])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        let last = try #require(body.json["messages"]?.arrayValue?.last)
        try expectJSON(last, equals: """
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"done"},{"type":"text","text":"(note)"}]}
            """)
    }

    @Test("tool call arguments that are not a JSON object are rejected locally")
    func badArguments() {
        let request = ChatRequest(messages: [
            .user("Go."), .assistant(nil, toolCalls: [ToolCall(id: "t1", name: "f", arguments: "[1,2]")]),
        ])
        let error = providerError { _ = try anthropic.makeBody(for: request, model: "c", options: .init()) }
        #expect(error?.errorClass == .invalidRequest)
        #expect(error?.detectedLocally == true)
    }

    @Test("images: data URLs become base64 sources, web URLs url sources; text in tool results with images becomes blocks")
    func images() throws {
        let request = ChatRequest(messages: [
            .user([.text("Compare"), .image(url: "data:image/png;base64,iVBORw0KGgo=", detail: .high), .image(url: "https://example.com/b.jpg")]),
        ])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","content":[
              {"type":"text","text":"Compare"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
              {"type":"image","source":{"type":"url","url":"https://example.com/b.jpg"}}]}]
            """)
    }

    @Test("a data URL that is not base64 is rejected locally")
    func nonBase64Image() {
        let request = ChatRequest(messages: [.user([.image(url: "data:text/plain,hello")])])
        let error = providerError { _ = try anthropic.makeBody(for: request, model: "c", options: .init()) }
        #expect(error?.errorClass == .unsupportedParameter)
    }

    @Test("the HTTP request: /v1/messages, x-api-key, anthropic-version, no Authorization")
    func httpRequest() throws {
        let prepared = try anthropic.prepare(ChatRequest(messages: [.user("Hi")]), model: "claude-sonnet-4-5", apiKey: APIKey("sk-ant-secret"))
        let request = prepared.httpRequest
        #expect(request.url == "https://api.anthropic.com/v1/messages")
        #expect(request.headers.contains { $0.name == "x-api-key" && $0.value == "sk-ant-secret" })
        #expect(request.headers.contains { $0.name == "anthropic-version" && $0.value == "2023-06-01" })
        #expect(!request.headers.contains { $0.name.lowercased() == "authorization" })
        #expect(request.timeout == .seconds(120))
    }
}
