import Catalog
import CurlHTTP
import Foundation
@testable import Providers
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

    @Test("sampling parameters: stop → stop_sequences, user → metadata.user_id; top_p only without temperature")
    func parameters() throws {
        let request = ChatRequest(messages: [.user("Hi")], stop: ["###"], temperature: 0.3, maxTokens: 50, user: "agent-7")
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        try expectJSON(body.json, equals: """
            {"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"Hi"}],
             "stop_sequences":["###"],"temperature":0.3,"metadata":{"user_id":"agent-7"}}
            """)
        #expect(body.warnings.isEmpty)
        let topPOnly = try anthropic.makeBody(for: ChatRequest(messages: [.user("Hi")], topP: 0.8), model: "c", options: .init())
        #expect(topPOnly.json["top_p"] == 0.8)
    }

    @Test("temperature and top_p together: temperature wins, top_p dropped with a warning (Sonnet 4.5 refuses both)")
    func temperatureWithTopP() throws {
        let request = ChatRequest(messages: [.user("Hi")], temperature: 0.3, topP: 0.8)
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        #expect(body.json["temperature"] == 0.3)
        #expect(body.json["top_p"] == nil)
        #expect(body.warnings == ["temperature and top_p cannot both be sent to Anthropic; top_p dropped"])
    }

    @Test("blank stop sequences are dropped with a warning")
    func blankStops() throws {
        let request = ChatRequest(messages: [.user("Hi")], stop: ["END", "\n\n", "", " \t"])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        #expect(body.json["stop_sequences"] == ["END"])
        #expect(body.warnings.count == 1)
        let onlyBlank = try anthropic.makeBody(for: ChatRequest(messages: [.user("Hi")], stop: ["\n"]), model: "c", options: .init())
        #expect(onlyBlank.json["stop_sequences"] == nil)
    }

    @Test("empty turns are dropped, and the neighbours merged; the conversation starts with a user turn")
    func emptyTurns() throws {
        let request = ChatRequest(messages: [
            .assistant("Hello, how can I help?"), .user(""), .assistant(""), .user("Weather?"), .user("   "), .assistant("Sunny. "),
        ])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","content":"(continue)"},
             {"role":"assistant","content":"Hello, how can I help?"},
             {"role":"user","content":"Weather?"},
             {"role":"assistant","content":"Sunny."}]
            """)
        #expect(body.warnings.contains { $0.contains("empty messages") })
        #expect(body.warnings.contains { $0.contains("start with a user message") })

        let systemOnly = try anthropic.makeBody(for: ChatRequest(messages: [.system("Be brief.")]), model: "c", options: .init())
        try expectJSON(#require(systemOnly.json["messages"]), equals: #"[{"role":"user","content":"(continue)"}]"#)
    }

    @Test("an email or phone number is not sent as metadata.user_id", arguments: [
        ("jane.doe@example.com", false), ("+1 (555) 010-9999", false), ("agent-7", true), ("user_42", true), ("team@ops", true),
    ])
    func userID(user: String, sent: Bool) throws {
        let body = try anthropic.makeBody(for: ChatRequest(messages: [.user("Hi")], user: user), model: "c", options: .init())
        #expect((body.json["metadata"]?["user_id"] == .string(user)) == sent)
        #expect(body.warnings.isEmpty == sent)
    }

    @Test("tool ids are mapped to ^[a-zA-Z0-9_-]+$ and made unique; results follow their call")
    func toolIDs() throws {
        let request = ChatRequest(messages: [
            .user("Go."),
            .assistant(nil, toolCalls: [ToolCall(id: "functions.get_weather:0", name: "get_weather", arguments: "{}")]),
            .tool(callID: "functions.get_weather:0", content: "sunny"),
            .assistant(nil, toolCalls: [ToolCall(id: "call_0", name: "f", arguments: "{}")]),
            .tool(callID: "call_0", content: "one"),
            .assistant(nil, toolCalls: [ToolCall(id: "call_0", name: "f", arguments: "{}")]),
            .tool(callID: "call_0", content: "two"),
        ])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        let messages = try #require(body.json["messages"]?.arrayValue)
        #expect(messages.count == 7)
        #expect(messages[1]["content"]?.arrayValue?.first?["id"] == "functions_get_weather_0")
        #expect(messages[2]["content"]?.arrayValue?.first?["tool_use_id"] == "functions_get_weather_0")
        #expect(messages[3]["content"]?.arrayValue?.first?["id"] == "call_0")
        #expect(messages[4]["content"]?.arrayValue?.first?["tool_use_id"] == "call_0")
        #expect(messages[5]["content"]?.arrayValue?.first?["id"] == "call_0_2")
        #expect(messages[6]["content"]?.arrayValue?.first?["tool_use_id"] == "call_0_2")
        #expect(body.warnings.contains { $0.contains("tool call ids") })
    }

    @Test("max_tokens by default fits the context window and not the catalog's maximum")
    func maxTokensFitsContext() throws {
        let options = ChatCallOptions(defaultMaxTokens: 64_000, contextWindow: 200_000, maxOutputTokens: 64_000)
        let short = try anthropic.makeBody(for: ChatRequest(messages: [.user("Hi")]), model: "c", options: options)
        #expect(short.json["max_tokens"] == .int(ChatCallOptions.defaultOutputTokens))

        // About 198,000 input tokens by the estimate: only the rest of the window is left.
        let long = ChatRequest(messages: [.user(String(repeating: "x", count: 594_000))])
        let body = try anthropic.makeBody(for: long, model: "c", options: options)
        let sent = try #require(body.json["max_tokens"]?.intValue)
        #expect(sent + AnthropicMessagesAdapter.estimatedInputTokens(long) <= 200_000)
        #expect(sent < ChatCallOptions.defaultOutputTokens)

        // An explicit max_tokens that overflows the window is reduced, with a warning.
        let explicit = try anthropic.makeBody(for: ChatRequest(messages: long.messages, maxTokens: 64_000), model: "c", options: options)
        #expect(explicit.json["max_tokens"]?.intValue == sent)
        #expect(explicit.warnings.contains { $0.contains("context window") })
    }

    @Test("the timeout grows with max_tokens (long non-streaming answers), up to ten minutes")
    func timeoutFitsOutput() throws {
        let provider = Provider(name: "anthropic", apiStyle: .anthropic, baseURL: "https://api.anthropic.com", apiKeyEnv: nil, requestTimeoutSeconds: 120)
        let adapter = AnthropicMessagesAdapter(provider: provider)
        let small = try adapter.prepare(ChatRequest(messages: [.user("Hi")], maxTokens: 100), model: "c", apiKey: nil)
        #expect(small.httpRequest.timeout == .seconds(120))
        let large = try adapter.prepare(ChatRequest(messages: [.user("Hi")], maxTokens: 32_000), model: "c", apiKey: nil)
        #expect(large.httpRequest.timeout == .seconds(600))
        let explicit = try adapter.prepare(
            ChatRequest(messages: [.user("Hi")], maxTokens: 32_000), model: "c", apiKey: nil, options: .init(timeout: .seconds(30)))
        #expect(explicit.httpRequest.timeout == .seconds(30))
        // The gateway's per-call timeout (60 s) is stretched too, or a long answer never arrives (F4).
        let gateway = try adapter.prepare(
            ChatRequest(messages: [.user("Hi")], maxTokens: 8_000), model: "c", apiKey: nil, options: .init(timeout: .seconds(60)))
        #expect(gateway.httpRequest.timeout == .milliseconds(285_000))
        let openAIProvider = Provider(name: "openai", apiStyle: .openai, baseURL: "https://api.openai.com/v1", apiKeyEnv: nil, requestTimeoutSeconds: 120)
        let openAIAdapter = OpenAIChatAdapter(provider: openAIProvider, dialect: .openAI)
        let openAILong = try openAIAdapter.prepare(
            ChatRequest(messages: [.user("Hi")], maxTokens: 8_000), model: "gpt-4o", apiKey: nil, options: .init(timeout: .seconds(60)))
        #expect(openAILong.httpRequest.timeout == .milliseconds(285_000))
        // No max_tokens: the output is unbounded and the usual timeout finds a hung provider as fast as before.
        let openAIUnbounded = try openAIAdapter.prepare(
            ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", apiKey: nil, options: .init(timeout: .seconds(60)))
        #expect(openAIUnbounded.httpRequest.timeout == .seconds(60))
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

    @Test("JSON output is asked for with one forced tool whose schema is the requested one")
    func jsonOutputEmulation() throws {
        let schema = try json(#"{"type":"object","properties":{"reasoning":{"type":"string"},"answer":{"type":"boolean"}},"required":["reasoning","answer"]}"#)
        let request = ChatRequest(messages: [.user("Is 17 prime?")], responseFormat: .jsonSchema(name: "verdict", schema: schema, strict: true))
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        let text = String(decoding: body.bytes, as: UTF8.self)
        #expect(text.contains(#""tools":[{"name":"switchboard_json_response","description":"Give the answer as this JSON object.","input_schema":{"type":"object","properties":{"reasoning":{"type":"string"},"answer":{"type":"boolean"}},"required":["reasoning","answer"]}}],"tool_choice":{"type":"tool","name":"switchboard_json_response"}"#))
        #expect(body.warnings.count == 1)

        // The forced tool's input comes back as the reply text, members in the model's order.
        let reply = """
            {"id":"msg_1","type":"message","role":"assistant","model":"c","stop_reason":"tool_use","stop_sequence":null,
             "content":[{"type":"tool_use","id":"toolu_1","name":"switchboard_json_response","input":{"reasoning":"no divisors","answer":true}}],
             "usage":{"input_tokens":10,"output_tokens":5}}
            """
        let parsed = try anthropic.parse(response(200, reply), apiKey: nil)
        #expect(parsed.text == #"{"reasoning":"no divisors","answer":true}"#)
        #expect(parsed.toolCalls.isEmpty)
        #expect(parsed.finishReason == .stop)

        // With the caller's own tools it cannot be forced: dropped with a warning.
        let withTools = try anthropic.makeBody(
            for: ChatRequest(messages: [.user("Hi")], tools: [weatherTool], responseFormat: .jsonObject), model: "c", options: .init())
        #expect(withTools.json["tools"]?.arrayValue?.count == 1)
        #expect(withTools.warnings.contains { $0.contains("cannot be combined with tools") })
    }

    @Test("penalties, seed and a JSON response format with tools are dropped with recorded warnings")
    func droppedWithWarnings() throws {
        let request = ChatRequest(
            messages: [.user("Hi")], tools: [weatherTool], frequencyPenalty: 0.5, presencePenalty: 0.2, responseFormat: .jsonObject, seed: 3)
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

    @Test("stored tool arguments that are not a JSON object keep the conversation sendable", arguments: [
        ("[1,2]", #"{"_raw":"[1,2]"}"#, true),
        (#"{"city":"Par"#, #"{"_raw":"{\"city\":\"Par"}"#, true),
        ("null", "{}", false),
        ("", "{}", false),
        (#"{"b":1,"a":2}"#, #"{"b":1,"a":2}"#, false),
    ])
    func badArguments(arguments: String, expectedInput: String, warned: Bool) throws {
        let request = ChatRequest(messages: [
            .user("Go."), .assistant(nil, toolCalls: [ToolCall(id: "t1", name: "f", arguments: arguments)]),
        ])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        let input = try #require(body.json["messages"]?.arrayValue?.last?["content"]?.arrayValue?.first?["input"])
        #expect(input.encodedString() == expectedInput)
        #expect(body.warnings.contains { $0.contains("not a JSON object") } == warned)
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

    @Test("data URL media types: parameters are stripped, types Anthropic does not take are refused locally")
    func mediaTypes() throws {
        let request = ChatRequest(messages: [.user([.image(url: "data:image/PNG;name=x.png;base64,iVBORw0KGgo=")])])
        let body = try anthropic.makeBody(for: request, model: "c", options: .init())
        #expect(body.json["messages"]?.arrayValue?.first?["content"]?.arrayValue?.first?["source"]?["media_type"] == "image/png")
        let bmp = ChatRequest(messages: [.user([.image(url: "data:image/bmp;base64,Qk0=")])])
        let error = providerError { _ = try anthropic.makeBody(for: bmp, model: "c", options: .init()) }
        #expect(error?.errorClass == .unsupportedParameter)
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
        // max_tokens 4096 needs more than the provider's 120 s: 60 s + an hour per 128k tokens.
        #expect(request.timeout == .milliseconds(175_200))
    }
}
