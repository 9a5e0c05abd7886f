import Catalog
import CurlHTTP
import Foundation
import Providers
import ProviderStub
import Support
import Testing

@Suite("End to end through CurlHTTP against provider-stub")
struct EndToEndTests {
    static let hello = ChatRequest(messages: [.system("Be kind."), .user("Hello there")])

    @Test("OpenAI style: the key is sent as Bearer and the reply is parsed")
    func openAISuccess() async throws {
        try await withStub(ProviderStubConfiguration(expectedAPIKey: "sk-stub-test-key")) { stub in
            let result = try await stub.client().complete(Self.hello, model: "gpt-4o-mini", provider: stub.provider(.openai))
            #expect(result.text == "Stub reply to: Hello there")
            #expect(result.finishReason == .stop)
            #expect(result.model == "gpt-4o-mini")
            #expect(result.responseID?.hasPrefix("chatcmpl-") == true)
            #expect(result.requestID?.hasPrefix("req_") == true)
            let usage = try #require(result.usage)
            #expect(usage.inputTokens > 0)
            #expect(usage.outputTokens == ("Stub reply to: Hello there".utf8.count + 3) / 4)
            #expect(usage.cachedInputTokens == 0)
            let stats = try await stub.stats()
            #expect(stats.requests(model: "gpt-4o-mini", outcome: "ok") == 1)
        }
    }

    @Test("Anthropic style: x-api-key and anthropic-version are sent, the system prompt hoisted")
    func anthropicSuccess() async throws {
        try await withStub(ProviderStubConfiguration(expectedAPIKey: "sk-stub-test-key")) { stub in
            let result = try await stub.client().complete(
                Self.hello, model: "claude-sonnet-4-5", provider: stub.provider(.anthropic))
            #expect(result.text == "Stub reply to: Hello there")
            #expect(result.finishReason == .stop)
            #expect(result.providerFinishReason == "end_turn")
            #expect(result.responseID?.hasPrefix("msg_") == true)
            #expect(result.usage?.cachedInputTokens == 0)
            #expect(result.usage?.cacheCreationInputTokens == 0)
        }
    }

    @Test("OpenAI-compatible provider without a key; a reply without usage is unknown usage")
    func compatibleWithoutKey() async throws {
        try await withStub { stub in
            let local = stub.provider(.openai, name: "ollama", keyVariable: nil)
            let result = try await stub.client(environment: [:]).complete(Self.hello, model: "stub-no-usage", provider: local)
            #expect(result.text == "Stub reply to: Hello there")
            #expect(result.usage == nil)
        }
    }

    @Test("prompt cache and reasoning tokens reach the neutral usage", arguments: [APIStyle.openai, .anthropic])
    func cacheAndReasoning(style: APIStyle) async throws {
        try await withStub { stub in
            let result = try await stub.client().complete(Self.hello, model: "stub-cache-reasoning", provider: stub.provider(style))
            let usage = try #require(result.usage)
            #expect(usage.cachedInputTokens == usage.inputTokens / 2)
            if style == .openai {
                #expect(usage.reasoningTokens == (usage.outputTokens / 3) * 2)
            }
        }
    }

    @Test("tool call round trip: the model calls the tool, then answers from its result", arguments: [APIStyle.openai, .anthropic])
    func toolRoundTrip(style: APIStyle) async throws {
        try await withStub { stub in
            let client = stub.client()
            let provider = stub.provider(style)
            var request = ChatRequest(messages: [.user("What is the weather in Paris? Use get_weather.")], tools: [weatherTool])
            let first = try await client.complete(request, model: "stub-model", provider: provider)
            #expect(first.finishReason == .toolCalls)
            let call = try #require(first.toolCalls.first)
            #expect(call.name == "get_weather")
            #expect(JSONValue.parse(call.arguments) == ["city": "stub-city"])

            request.messages.append(.assistant(first.text, toolCalls: first.toolCalls))
            request.messages.append(.tool(callID: call.id, content: "18C and sunny"))
            // The stub checks that the tool result answers the previous turn's call id.
            let second = try await client.complete(request, model: "stub-model", provider: provider)
            #expect(second.toolCalls.isEmpty)
            #expect(second.text == "Tool results received: 18C and sunny")
            #expect(second.finishReason == .stop)
        }
    }

    @Test("tool_choice required forces a call; a named tool is called even though OpenAI says stop", arguments: [APIStyle.openai, .anthropic])
    func forcedToolChoice(style: APIStyle) async throws {
        try await withStub { stub in
            let time = ToolDefinition(name: "get_time", parameters: ["type": "object", "properties": ["zone": ["type": "string", "enum": ["UTC", "CET"]]]])
            let request = ChatRequest(messages: [.user("Hi")], tools: [weatherTool, time], toolChoice: .tool(name: "get_time"))
            let result = try await stub.client().complete(request, model: "m", provider: stub.provider(style))
            #expect(result.toolCalls.map(\.name) == ["get_time"])
            #expect(JSONValue.parse(result.toolCalls[0].arguments) == ["zone": "UTC"])
            #expect(result.finishReason == .toolCalls)

            // `required` with a message that names no tool: the model must still call one.
            let required = ChatRequest(messages: [.user("Hi")], tools: [weatherTool, time], toolChoice: .required)
            let forced = try await stub.client().complete(required, model: "m", provider: stub.provider(style))
            #expect(forced.toolCalls.map(\.name) == ["get_weather"])
            #expect(forced.finishReason == .toolCalls)
            let free = ChatRequest(messages: [.user("Hi")], tools: [weatherTool, time], toolChoice: .auto)
            #expect(try await stub.client().complete(free, model: "m", provider: stub.provider(style)).toolCalls.isEmpty)
        }
    }

    @Test("a JSON-schema request falls back to Claude and still gets JSON")
    func jsonOutputThroughAnthropic() async throws {
        try await withStub { stub in
            let schema: JSONValue = ["type": "object", "properties": ["city": ["type": "string"], "days": ["type": "integer"]], "required": ["city", "days"]]
            let request = ChatRequest(messages: [.user("Plan a trip")], responseFormat: .jsonSchema(name: "trip", schema: schema, strict: true))
            let result = try await stub.client().complete(request, model: "claude-sonnet-4-5", provider: stub.provider(.anthropic))
            let text = try #require(result.text)
            #expect(text == #"{"city":"stub-city","days":1}"#)
            #expect(result.toolCalls.isEmpty)
            #expect(result.finishReason == .stop)
        }
    }

    @Test("stop sequences and max_tokens end the reply as a real model would", arguments: [APIStyle.openai, .anthropic])
    func stopAndLength(style: APIStyle) async throws {
        try await withStub { stub in
            let client = stub.client()
            let stopped = try await client.complete(
                ChatRequest(messages: [.user("Hello there")], stop: ["reply"]), model: "m", provider: stub.provider(style))
            #expect(stopped.text == "Stub ")
            #expect(stopped.finishReason == .stop)
            if style == .anthropic { #expect(stopped.stopSequence == "reply") }

            let truncated = try await client.complete(
                ChatRequest(messages: [.user("Hello there")], maxTokens: 2), model: "m", provider: stub.provider(style))
            #expect(truncated.text == "Stub rep")
            #expect(truncated.finishReason == .length)
            #expect(truncated.usage?.outputTokens == 2)
        }
    }

    @Test("a refusal maps to content_filter (OpenAI sends message.refusal with finish_reason stop)", arguments: [APIStyle.openai, .anthropic])
    func refusal(style: APIStyle) async throws {
        try await withStub { stub in
            let result = try await stub.client().complete(Self.hello, model: "stub-refusal", provider: stub.provider(style))
            #expect(result.finishReason == .contentFilter)
            #expect(result.providerFinishReason == (style == .openai ? "stop" : "refusal"))
            if style == .openai { #expect(result.refusal != nil && result.text == nil) }
        }
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var style: APIStyle
        var model: String
        var expected: ProviderErrorClass
        var status: Int?
        var testDescription: String { "\(style.rawValue) \(model)" }
    }

    static let errorCases: [ErrorCase] = [
        .init(style: .openai, model: "stub-error-429", expected: .rateLimited, status: 429),
        .init(style: .anthropic, model: "stub-error-429", expected: .rateLimited, status: 429),
        .init(style: .openai, model: "stub-error-quota", expected: .quotaExhausted, status: 429),
        .init(style: .anthropic, model: "stub-error-quota", expected: .quotaExhausted, status: 400),
        .init(style: .anthropic, model: "stub-error-529", expected: .overloaded, status: 529),
        .init(style: .openai, model: "stub-error-503", expected: .overloaded, status: 503),
        .init(style: .openai, model: "stub-error-500", expected: .serverError, status: 500),
        .init(style: .anthropic, model: "stub-error-500", expected: .serverError, status: 500),
        .init(style: .openai, model: "stub-error-502", expected: .serverError, status: 502),
        .init(style: .anthropic, model: "stub-error-504", expected: .timeout, status: 504),
        .init(style: .openai, model: "stub-error-401", expected: .auth, status: 401),
        .init(style: .anthropic, model: "stub-error-401", expected: .auth, status: 401),
        .init(style: .anthropic, model: "stub-error-403", expected: .auth, status: 403),
        .init(style: .openai, model: "stub-error-404", expected: .modelNotFound, status: 404),
        .init(style: .anthropic, model: "stub-error-404", expected: .modelNotFound, status: 404),
        .init(style: .openai, model: "stub-error-context", expected: .contextLengthExceeded, status: 400),
        .init(style: .anthropic, model: "stub-error-context", expected: .contextLengthExceeded, status: 400),
        .init(style: .openai, model: "stub-error-filter", expected: .contentFilter, status: 400),
        .init(style: .anthropic, model: "stub-error-filter", expected: .contentFilter, status: 400),
        .init(style: .openai, model: "stub-error-400", expected: .invalidRequest, status: 400),
        .init(style: .anthropic, model: "stub-error-400", expected: .invalidRequest, status: 400),
        .init(style: .openai, model: "stub-malformed", expected: .malformedResponse, status: 200),
        .init(style: .anthropic, model: "stub-malformed", expected: .malformedResponse, status: 200),
    ]

    @Test("each error class, from the provider's own error format", arguments: errorCases)
    func errorClasses(errorCase: ErrorCase) async throws {
        try await withStub { stub in
            let error = await providerError {
                _ = try await stub.client().complete(Self.hello, model: errorCase.model, provider: stub.provider(errorCase.style))
            }
            #expect(error?.errorClass == errorCase.expected)
            #expect(error?.httpStatus == errorCase.status)
            let outcome = errorCase.model == "stub-malformed" ? "malformed" : "error_" + errorCase.model.dropFirst("stub-error-".count)
            let stats = try await stub.stats()
            #expect(stats.requests(model: errorCase.model, outcome: outcome) == 1)
        }
    }

    @Test("Retry-After is surfaced on rate limits and overload", arguments: [
        (APIStyle.openai, "stub-error-429-after-3", Duration.seconds(3)),
        (.anthropic, "stub-error-429-after-2", .seconds(2)),
        (.anthropic, "stub-error-529", .seconds(1)),
        (.openai, "stub-error-503-after-4", .seconds(4)),
    ])
    func retryAfter(style: APIStyle, model: String, expected: Duration) async throws {
        try await withStub { stub in
            let error = await providerError {
                _ = try await stub.client().complete(Self.hello, model: model, provider: stub.provider(style))
            }
            #expect(error?.retryAfter == expected)
            #expect(error?.isRetryable == true)
        }
    }

    @Test("stub-hang ends in a timeout at the provider's request timeout", arguments: [APIStyle.openai, .anthropic])
    func hangTimesOut(style: APIStyle) async throws {
        try await withStub { stub in
            let provider = stub.provider(style, requestTimeout: 0.5)
            let error = await providerError {
                _ = try await stub.client().complete(Self.hello, model: "stub-hang", provider: provider)
            }
            #expect(error?.errorClass == .timeout)
            #expect(error?.isRetryable == true)
            let stats = try await stub.stats()
            #expect(stats.requests(model: "stub-hang", outcome: "hang") == 1)
        }
    }

    @Test("missing credentials: nothing reaches the provider")
    func missingCredentials() async throws {
        try await withStub { stub in
            for style in [APIStyle.openai, .anthropic] {
                let error = await providerError {
                    _ = try await stub.client(environment: [:]).complete(Self.hello, model: "gpt-4o", provider: stub.provider(style))
                }
                #expect(error?.errorClass == .missingCredentials)
            }
            let stats = try await stub.stats()
            #expect(stats.totalRequests == 0)
            #expect(stats.models.isEmpty)
        }
    }

    // The stub, like OpenAI, echoes only a masked key, so this cannot show redaction: `redactsKey`
    // and `transportError` (ProviderClientTests) do.
    @Test("a wrong key is an auth error that allows fallback", arguments: [APIStyle.openai, .anthropic])
    func wrongKey(style: APIStyle) async throws {
        try await withStub(ProviderStubConfiguration(expectedAPIKey: "sk-the-right-key")) { stub in
            let wrongKey = "sk-wrong-key-0123456789"
            let error = await providerError {
                _ = try await stub.client(environment: ["STUB_KEY": wrongKey]).complete(
                    Self.hello, model: "gpt-4o", provider: stub.provider(style))
            }
            #expect(error?.errorClass == .auth)
            #expect(error?.allowsFallback == true)
            let stats = try await stub.stats()
            #expect(stats.requests(model: "gpt-4o", outcome: "auth_error") == 1)
        }
    }

    @Test("a closed port is a connection error")
    func connectionRefused() async throws {
        let closedPort = try await withStub { stub in stub.port }
        let http = try CurlHTTPClient()
        defer { http.shutdown() }
        let provider = Provider(name: "openai", apiStyle: .openai, baseURL: "http://127.0.0.1:\(closedPort)", apiKeyEnv: nil)
        let error = await providerError {
            _ = try await ProviderClient(transport: http, environment: [PrivateAddressPolicy.environmentVariable: "127.0.0.1"])
                .complete(Self.hello, model: "m", provider: provider)
        }
        #expect(error?.errorClass == .connection)
        #expect(error?.isRetryable == true)
    }

    @Test("an error rate applies to its share of requests, reproducibly from the seed")
    func errorRate() async throws {
        func run() async throws -> Int {
            try await withStub(ProviderStubConfiguration(seed: 7)) { stub in
                let client = stub.client()
                var failures = 0
                for _ in 0..<100 {
                    do {
                        _ = try await client.complete(Self.hello, model: "stub-error-500-rate-30", provider: stub.provider(.openai))
                    } catch {
                        #expect((error as? ProviderError)?.errorClass == .serverError)
                        failures += 1
                    }
                }
                let stats = try await stub.stats()
                #expect(stats.requests(model: "stub-error-500-rate-30", outcome: "error_500") == failures)
                #expect(stats.requests(model: "stub-error-500-rate-30", outcome: "ok") == 100 - failures)
                return failures
            }
        }
        let first = try await run()
        #expect((15...45).contains(first))
        #expect(try await run() == first)
    }

    @Test("global flags: every request slowed and failed with the configured status")
    func globalFlags() async throws {
        let configuration = ProviderStubConfiguration(latency: .milliseconds(50), errorRatePercent: 100, errorStatus: 503)
        try await withStub(configuration) { stub in
            let error = await providerError {
                _ = try await stub.client().complete(Self.hello, model: "gpt-4o", provider: stub.provider(.openai))
            }
            #expect(error?.errorClass == .overloaded)
            let stats = try await stub.stats()
            #expect(stats.requests(model: "gpt-4o", outcome: "error_503") == 1)
        }
    }

    @Test("the stub rejects what the real APIs reject, as invalid_request")
    func stubValidation() async throws {
        try await withStub { stub in
            // Anthropic requires a tool_result to answer a tool_use of the previous turn.
            let orphan = ChatRequest(messages: [.user("Hi"), .tool(callID: "toolu_missing", content: "x")])
            let error = await providerError {
                _ = try await stub.client().complete(orphan, model: "claude", provider: stub.provider(.anthropic))
            }
            #expect(error?.errorClass == .invalidRequest)
            #expect(error?.message.contains("tool_use_id") == true)

            let raw = try await stub.http.send(CurlHTTPRequest(
                method: "POST", url: stub.baseURL + "/v1/messages",
                headers: [("content-type", "application/json")],
                body: Data(#"{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#.utf8)))
            #expect(raw.status == 400)
            #expect(raw.bodyText.contains("anthropic-version"))
        }
    }

    @Test("GET /v1/models lists models in either format; POST /stats/reset clears counts")
    func modelsAndReset() async throws {
        try await withStub { stub in
            _ = try await stub.client().complete(Self.hello, model: "gpt-4o", provider: stub.provider(.openai))
            let openAIList = try await stub.http.send(CurlHTTPRequest(url: stub.baseURL + "/v1/models"))
            let ids = JSONValue.parse(openAIList.body)?["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(ids.contains("gpt-4o"))
            let anthropicList = try await stub.http.send(CurlHTTPRequest(
                url: stub.baseURL + "/v1/models", headers: [("anthropic-version", "2023-06-01")]))
            #expect(JSONValue.parse(anthropicList.body)?["has_more"] == false)

            let before = try await stub.stats()
            #expect(before.totalRequests == 1)
            let reset = try await stub.http.send(CurlHTTPRequest(method: "POST", url: stub.baseURL + "/stats/reset"))
            #expect(reset.status == 200)
            let after = try await stub.stats()
            #expect(after.totalRequests == 0)
        }
    }

    @Test("2,000 concurrent requests are all held open at once and answered")
    func concurrency() async throws {
        ProcessLimits.prepareForManyConnections()
        let count = 2_000
        // `stub-gather-2000` holds every request until all 2,000 are in flight together, so the
        // test proves concurrency without depending on timing; the hang duration bounds a failure.
        let model = "stub-gather-\(count)"
        try await withStub(ProviderStubConfiguration(hangDuration: .seconds(120))) { stub in
            let client = stub.client()
            let provider = stub.provider(.openai, requestTimeout: 180)
            let successes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let request = ChatRequest(messages: [.user("request \(index)")])
                        let result = try await client.complete(request, model: model, provider: provider)
                        return result.text == "Stub reply to: request \(index)"
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == count)
            let stats = try await stub.stats()
            #expect(stats.requests(model: model, outcome: "ok") == count)
            #expect(stats.peakInFlight == count)
        }
    }

    @Test("slow requests wait their latency and are not failed by it")
    func latency() async throws {
        try await withStub { stub in
            let started = ContinuousClock.now
            let result = try await stub.client().complete(Self.hello, model: "stub-latency-300ms", provider: stub.provider(.anthropic))
            #expect(result.text == "Stub reply to: Hello there")
            #expect(ContinuousClock.now - started >= .milliseconds(300))
        }
    }
}
