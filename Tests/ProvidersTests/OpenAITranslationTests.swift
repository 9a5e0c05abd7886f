import Catalog
import CurlHTTP
import Foundation
import Providers
import Testing

@Suite("OpenAI request translation")
struct OpenAITranslationTests {
    @Test("a plain conversation keeps roles and sends only what was set")
    func plainConversation() throws {
        let request = ChatRequest(messages: [.system("Be brief."), .user("Hello")])
        let body = try openAI.makeBody(for: request, model: "gpt-4o-mini", options: .init())
        try expectJSON(body.json, equals: """
            {"model":"gpt-4o-mini","messages":[
              {"role":"system","content":"Be brief."},
              {"role":"user","content":"Hello"}]}
            """)
        #expect(body.warnings.isEmpty)
    }

    @Test("every sampling parameter is passed through under its OpenAI name")
    func allParameters() throws {
        let request = ChatRequest(
            messages: [.user("Hi")], stop: ["END", "\n\n"], temperature: 1.5, topP: 0.9, maxTokens: 256,
            frequencyPenalty: 0.5, presencePenalty: -0.25, responseFormat: .jsonObject, user: "agent-7", seed: 11)
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        try expectJSON(body.json, equals: """
            {"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],
             "stop":["END","\\n\\n"],"temperature":1.5,"top_p":0.9,"max_completion_tokens":256,
             "frequency_penalty":0.5,"presence_penalty":-0.25,"response_format":{"type":"json_object"},
             "user":"agent-7","seed":11}
            """)
    }

    @Test("OpenAI-compatible servers get max_tokens instead of max_completion_tokens")
    func compatibleMaxTokens() throws {
        let request = ChatRequest(messages: [.user("Hi")], maxTokens: 64)
        let body = try compatible.makeBody(for: request, model: "meta-llama/Llama-3.1-8B-Instruct", options: .init())
        try expectJSON(body.json, equals: """
            {"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"Hi"}],"max_tokens":64}
            """)
    }

    @Test("reasoning models (o-series, gpt-5): max_completion_tokens, no sampling parameters they refuse", arguments: [
        ("o3", true), ("o4-mini", true), ("o1", true), ("gpt-5", false), ("gpt-5-mini", false), ("openai/gpt-5-nano", false),
    ])
    func reasoningModels(model: String, refusesParallel: Bool) throws {
        let request = ChatRequest(
            messages: [.user("Hi")], tools: [weatherTool], parallelToolCalls: false, stop: ["END"], temperature: 0.2,
            topP: 0.9, maxTokens: 256, frequencyPenalty: 0.5, presencePenalty: 0.1)
        for adapter in [openAI, compatible] {
            let body = try adapter.makeBody(for: request, model: model, options: .init())
            #expect(body.json["max_completion_tokens"] == 256)
            #expect(body.json["max_tokens"] == nil)
            for dropped in ["temperature", "top_p", "frequency_penalty", "presence_penalty", "stop"] {
                #expect(body.json[dropped] == nil, "\(model) \(dropped)")
            }
            #expect((body.json["parallel_tool_calls"] == nil) == refusesParallel)
            #expect(body.warnings.count == (refusesParallel ? 6 : 5))
        }
        // temperature 1, the only value they take, is kept.
        let one = try openAI.makeBody(for: ChatRequest(messages: [.user("Hi")], temperature: 1), model: model, options: .init())
        #expect(one.json["temperature"] == 1)
    }

    @Test("gpt-5-chat and gpt-4o are not reasoning models")
    func notReasoning() throws {
        for model in ["gpt-5-chat-latest", "gpt-4o", "omni-moderation"] {
            let body = try openAI.makeBody(for: ChatRequest(messages: [.user("Hi")], temperature: 0.2), model: model, options: .init())
            #expect(body.json["temperature"] == 0.2, "\(model)")
        }
    }

    @Test("the catalog's temperature range and refused parameters are applied, with warnings")
    func catalogFacts() throws {
        let options = ChatCallOptions(temperatureRange: 1...1, isReasoningModel: false, unsupportedParameters: ["seed", "user"])
        let request = ChatRequest(messages: [.user("Hi")], temperature: 0.2, user: "u", seed: 3)
        let body = try compatible.makeBody(for: request, model: "some-model", options: options)
        #expect(body.json["temperature"] == nil)
        #expect(body.json["seed"] == nil)
        #expect(body.json["user"] == nil)
        #expect(body.warnings.count == 3)
        // From the catalog row: gpt-5's 1…1 range and its reasoning capability.
        let gpt5 = LLMModel(provider: "openai", modelID: "gpt-5", displayName: "GPT-5", capabilities: ["chat", "reasoning"],
                            contextWindow: 272_000, maxOutputTokens: 128_000, minTemperature: 1, maxTemperature: 1)
        let fromCatalog = ChatCallOptions(model: gpt5)
        #expect(fromCatalog.temperatureRange == 1...1)
        #expect(fromCatalog.isReasoningModel == true)
        #expect(fromCatalog.contextWindow == 272_000)
    }

    @Test("images in system and tool messages, and tool_choice without tools, are dropped with warnings")
    func silentDropsAreWarned() throws {
        let request = ChatRequest(
            messages: [ChatMessage(role: .system, content: [.text("Look"), .image(url: "https://x/y.png")]), .user("Hi")],
            toolChoice: .required)
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        #expect(body.json["tool_choice"] == nil)
        #expect(body.warnings.count == 2)
    }

    @Test("a JSON schema reaches the provider with its properties in the order written")
    func schemaOrder() throws {
        let schema = try json(#"{"type":"object","properties":{"reasoning":{"type":"string"},"answer":{"type":"string"}},"required":["reasoning","answer"],"additionalProperties":false}"#)
        let request = ChatRequest(
            messages: [.user("Hi")], tools: [ToolDefinition(name: "t", parameters: schema)],
            responseFormat: .jsonSchema(name: "a", schema: schema, strict: true))
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        let text = String(decoding: body.bytes, as: UTF8.self)
        let expected = #"{"type":"object","properties":{"reasoning":{"type":"string"},"answer":{"type":"string"}},"required":["reasoning","answer"],"additionalProperties":false}"#
        #expect(text.contains(#""parameters":"# + expected))
        #expect(text.contains(#""schema":"# + expected))
        // And through the stored job form (ChatRequest JSON), too.
        let stored = try ChatRequest(jsonBytes: request.jsonBytes())
        let again = try openAI.makeBody(for: stored, model: "gpt-4o", options: .init())
        #expect(again.bytes == body.bytes)
    }

    @Test("JSON schema response format")
    func jsonSchema() throws {
        let schema: JSONValue = ["type": "object", "properties": ["answer": ["type": "string"]], "required": ["answer"]]
        let request = ChatRequest(messages: [.user("Hi")], responseFormat: .jsonSchema(name: "answer", schema: schema, strict: true))
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        try expectJSON(#require(body.json["response_format"]), equals: """
            {"type":"json_schema","json_schema":{"name":"answer","strict":true,
             "schema":{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}}}
            """)
    }

    @Test("tools and each tool_choice form", arguments: [
        (ToolChoice.auto, #""auto""#),
        (.none, #""none""#),
        (.required, #""required""#),
        (.tool(name: "get_weather"), #"{"type":"function","function":{"name":"get_weather"}}"#),
    ])
    func toolChoice(choice: ToolChoice, expected: String) throws {
        let request = ChatRequest(messages: [.user("Weather in Paris?")], tools: [weatherTool], toolChoice: choice, parallelToolCalls: false)
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        try expectJSON(#require(body.json["tools"]), equals: """
            [{"type":"function","function":{"name":"get_weather","description":"Current weather for a city",
              "parameters":{"type":"object","properties":{"city":{"type":"string"},
                "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}]
            """)
        try expectJSON(#require(body.json["tool_choice"]), equals: expected)
        #expect(body.json["parallel_tool_calls"] == .bool(false))
    }

    @Test("tool_choice and parallel_tool_calls are left out when no tools are offered")
    func toolChoiceWithoutTools() throws {
        let request = ChatRequest(messages: [.user("Hi")], toolChoice: .required, parallelToolCalls: true)
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        #expect(body.json["tool_choice"] == nil)
        #expect(body.json["parallel_tool_calls"] == nil)
        #expect(body.json["tools"] == nil)
    }

    @Test("a tool-calling round trip: assistant tool_calls with null content, then tool results")
    func toolHistory() throws {
        let request = ChatRequest(messages: [
            .user("Weather in Paris and Rome?"),
            .assistant(nil, toolCalls: [
                ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                ToolCall(id: "call_2", name: "get_weather", arguments: #"{"city":"Rome"}"#),
            ]),
            .tool(callID: "call_1", content: "18C sunny"),
            .tool(callID: "call_2", content: "24C clear"),
        ], tools: [weatherTool])
        let body = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","content":"Weather in Paris and Rome?"},
             {"role":"assistant","content":null,"tool_calls":[
               {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
               {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Rome\\"}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"18C sunny"},
             {"role":"tool","tool_call_id":"call_2","content":"24C clear"}]
            """)
    }

    @Test("images become image_url parts next to text parts; names pass through")
    func images() throws {
        var message = ChatMessage.user([
            .text("What is this?"),
            .image(url: "https://example.com/cat.png", detail: .low),
            .image(url: "data:image/png;base64,iVBORw0KGgo="),
        ])
        message.name = "alice"
        let body = try openAI.makeBody(for: ChatRequest(messages: [message]), model: "gpt-4o", options: .init())
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","name":"alice","content":[
              {"type":"text","text":"What is this?"},
              {"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"low"}},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]
            """)
    }

    @Test("the HTTP request: URL, bearer key, JSON content type, provider timeouts")
    func httpRequest() throws {
        let prepared = try openAI.prepare(ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", apiKey: APIKey("sk-test-123"))
        let request = prepared.httpRequest
        #expect(request.method == "POST")
        #expect(request.url == "https://api.openai.com/v1/chat/completions")
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "Bearer sk-test-123" })
        #expect(request.headers.contains { $0.name == "Content-Type" && $0.value == "application/json" })
        #expect(request.timeout == .seconds(60))
        #expect(request.connectTimeout == .seconds(5))
        let sent = try #require(request.body.flatMap { JSONValue.parse($0) })
        #expect(sent["model"] == "gpt-4o")
    }

    @Test("a provider without a key variable sends no Authorization header")
    func noKey() throws {
        let ollama = Provider(name: "ollama", apiStyle: .openai, baseURL: "http://127.0.0.1:11434/", apiKeyEnv: nil)
        let adapter = ChatAdapters.adapter(for: ollama)
        let prepared = try adapter.prepare(ChatRequest(messages: [.user("Hi")]), model: "llama3.2", apiKey: nil)
        #expect(!prepared.httpRequest.headers.contains { $0.name.lowercased() == "authorization" })
        #expect(prepared.httpRequest.url == "http://127.0.0.1:11434/v1/chat/completions")
    }

    @Test("base URLs that already end in /v1 are not doubled", arguments: [
        ("https://router.huggingface.co", "https://router.huggingface.co/v1/chat/completions"),
        ("https://router.huggingface.co/v1", "https://router.huggingface.co/v1/chat/completions"),
        ("https://router.huggingface.co/v1/", "https://router.huggingface.co/v1/chat/completions"),
        ("http://localhost:8000/", "http://localhost:8000/v1/chat/completions"),
        // A base with its own path includes the version, as in the OpenAI SDKs.
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"),
        ("https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1/chat/completions"),
        ("https://api.together.xyz/v1", "https://api.together.xyz/v1/chat/completions"),
    ])
    func urlJoining(base: String, expected: String) {
        let provider = Provider(name: "vllm", apiStyle: .openai, baseURL: base, apiKeyEnv: nil)
        #expect(OpenAIChatAdapter(provider: provider, dialect: .compatible).endpointURL == expected)
    }

    @Test("adapter selection follows api_style, and api.openai.com or the name openai selects the OpenAI dialect")
    func adapterSelection() throws {
        #expect(ChatAdapters.adapter(for: anthropicProvider) is AnthropicMessagesAdapter)
        let official = try #require(ChatAdapters.adapter(for: openAIProvider) as? OpenAIChatAdapter)
        #expect(official.dialect == .openAI)
        let localOpenAI = Provider(name: "openai", apiStyle: .openai, baseURL: "http://127.0.0.1:9999", apiKeyEnv: "K")
        #expect((ChatAdapters.adapter(for: localOpenAI) as? OpenAIChatAdapter)?.dialect == .openAI)
        let hf = try #require(ChatAdapters.adapter(for: huggingFaceProvider) as? OpenAIChatAdapter)
        #expect(hf.dialect == .compatible)
    }
}
