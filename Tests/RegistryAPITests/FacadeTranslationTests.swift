import Catalog
import ChatModel
import Foundation
import JSON
@testable import RegistryAPI
import Testing

/// The `/v1` facade's translation, without a server: request → job request, job result → each
/// format, SSE framing, error shapes.
@Suite struct FacadeTranslationTests {
    static func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    static func openAI(_ text: String) throws -> Result<FacadeCall, FacadeError> {
        let document = try parse(text)
        do throws(FacadeError) { return .success(try OpenAIChatFacade.parse(document)) } catch { return .failure(error) }
    }

    static func anthropic(_ text: String) throws -> Result<FacadeCall, FacadeError> {
        let document = try parse(text)
        do throws(FacadeError) { return .success(try AnthropicMessagesFacade.parse(document)) } catch { return .failure(error) }
    }

    static let result = FacadeResult(
        content: "Hello there", toolCalls: [.init(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)],
        finishReason: "tool_calls", model: "claude-haiku-4-5", provider: "anthropic", fallbackDepth: 1,
        usage: .init(inputTokens: 100, outputTokens: 20, cachedInputTokens: 30, cacheCreationInputTokens: 10, reasoningTokens: 0),
        costText: "0.000123")

    // MARK: - Requests

    @Test func targetsAreAgentsByNameOrIdOrCatalogModels() {
        #expect(FacadeTarget("agent:planner") == .agentName("planner"))
        #expect(FacadeTarget("agent:6f1c2b9e-8d6a-4c1e-9a7b-1f2e3d4c5b6a") == .agentID(UUID(uuidString: "6f1c2b9e-8d6a-4c1e-9a7b-1f2e3d4c5b6a")!))
        #expect(FacadeTarget("gpt-4o") == .model("gpt-4o"))
        #expect(FacadeTarget("meta-llama/Llama-3.1-8B-Instruct") == .model("meta-llama/Llama-3.1-8B-Instruct"))
    }

    @Test func openAIRequestBecomesTheNeutralRequest() throws {
        let call = try Self.openAI("""
            {"model": "agent:planner", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
             "temperature": 0.2, "max_tokens": 50, "stop": "END", "stream": true, "stream_options": {"include_usage": true},
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"b": {}, "a": {}}}}}],
             "tool_choice": "required", "n": 1, "store": false}
            """).get()
        #expect(call.model == "agent:planner")
        #expect(call.stream && call.includeUsage)
        #expect(call.request.messages.map(\.role) == [.system, .user])
        #expect(call.request.temperature == 0.2 && call.request.maxTokens == 50 && call.request.stop == ["END"])
        #expect(call.request.toolChoice == .required)
        // Tool schemas keep their member order through the job's request document.
        #expect(call.request.jsonValue["tools"]?.encodedString().contains(#""b":{},"a":{}"#) == true)
    }

    @Test func openAIRequestErrorsNameTheParameter() throws {
        let cases: [(String, String?)] = [
            (#"{"messages": [{"role": "user", "content": "x"}]}"#, "model"),
            (#"{"model": "gpt-4o", "messages": []}"#, "messages"),
            (#"{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "frobnicate": 1}"#, "frobnicate"),
            (#"{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "n": 2}"#, "n"),
            (#"{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 3}"#, "temperature"),
            (#"{"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}"#, "messages[0].role"),
            (#"{"model": 7, "messages": [{"role": "user", "content": "x"}]}"#, "model"),
        ]
        for (body, param) in cases {
            guard case .failure(let error) = try Self.openAI(body) else {
                Issue.record("accepted: \(body)")
                continue
            }
            #expect(error.status == .badRequest, "\(body)")
            #expect(error.param == param, "\(body): \(error)")
        }
    }

    @Test func anthropicRequestBecomesTheNeutralRequest() throws {
        let call = try Self.anthropic("""
            {"model": "agent:planner", "max_tokens": 300, "system": [{"type": "text", "text": "Be brief."}],
             "stop_sequences": ["END"], "temperature": 0.5, "metadata": {"user_id": "u-1"},
             "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
             "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
             "messages": [
               {"role": "user", "content": "Weather in Paris?"},
               {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18 C"}]},
                                            {"type": "text", "text": "And tomorrow?"},
                                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]}
             ]}
            """).get()
        let messages = call.request.messages
        #expect(messages.map(\.role) == [.system, .user, .assistant, .tool, .user])
        #expect(messages[0].text == "Be brief.")
        #expect(messages[2].toolCalls == [ToolCall(id: "toolu_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
        #expect(messages[2].text == "Checking.")
        #expect(messages[3].toolCallID == "toolu_1" && messages[3].text == "18 C")
        #expect(messages[4].content == [.text("And tomorrow?"), .image(url: "data:image/png;base64,iVBOR")])
        #expect(call.request.maxTokens == 300 && call.request.stop == ["END"] && call.request.user == "u-1")
        #expect(call.request.toolChoice == .required && call.request.parallelToolCalls == false)
        #expect(call.request.tools.map(\.name) == ["get_weather"])
    }

    @Test func anthropicRequestErrors() throws {
        let cases = [
            #"{"model": "m", "messages": [{"role": "user", "content": "x"}]}"#,  // no max_tokens
            #"{"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}"#,
            #"{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}"#,
            #"{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "top_k": 0}"#,
            #"{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "thinking": {"type": "enabled"}}"#,
            #"{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]}]}"#,
            #"{"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}"#,
            #"{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web_search_20250305", "name": "web_search"}]}"#,
        ]
        for body in cases {
            guard case .failure(let error) = try Self.anthropic(body) else {
                Issue.record("accepted: \(body)")
                continue
            }
            #expect(error.status == .badRequest, "\(body)")
            #expect(error.body(.anthropic)["error"]?["type"]?.stringValue == "invalid_request_error")
        }
    }

    @Test func overridesFollowTheDocumentedRule() {
        let request = ChatRequest(messages: [.user("x")], temperature: 0.9, maxTokens: 4000)
        let capped = FacadeOverrides.apply(request, agent: ModelConfiguration(modelID: "gpt-4o", temperature: 0.1, maxTokens: 1000))
        #expect(capped.maxTokens == 1000)  // the agent's max_tokens is a ceiling
        #expect(capped.temperature == 0.9)  // the caller's temperature overrides
        let lower = FacadeOverrides.apply(ChatRequest(messages: [.user("x")], maxTokens: 10), agent: ModelConfiguration(modelID: "gpt-4o", maxTokens: 1000))
        #expect(lower.maxTokens == 10)
        let model = LLMModel(provider: "openai", modelID: "gpt-4o", displayName: "GPT-4o", defaultTemperature: 0.3)
        #expect(FacadeOverrides.apply(ChatRequest(messages: [.user("x")]), model: model).temperature == 0.3)
        #expect(FacadeOverrides.apply(request, model: model).temperature == 0.9)
    }

    @Test func openAITakesReasoningCachingStrictToolsAndFiles() throws {
        let call = try Self.openAI("""
            {"model": "gpt-5", "messages": [{"role": "user", "content": [
               {"type": "text", "text": "Summarise"},
               {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}}]}],
             "reasoning_effort": "low", "verbosity": "high", "safety_identifier": "user-42", "prompt_cache_key": "tenant-1", "top_p": 0,
             "tools": [{"type": "function", "function": {"name": "f", "strict": true, "parameters": {"type": "object", "properties": {}}}}]}
            """).get()
        #expect(call.request.reasoning == ReasoningControl(effort: .low))
        #expect(call.request.verbosity == "high" && call.request.promptCacheKey == "tenant-1")
        #expect(call.request.user == "user-42" && call.request.topP == 0)
        #expect(call.request.tools.first?.strict == true)
        #expect(call.request.messages[0].content.last == .file(url: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf"))
        // The job's stored request reads back the same.
        #expect(try ChatRequest(json: call.request.jsonValue) == call.request)
        guard case .failure(let error) = try Self.openAI(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "max"}"#) else {
            Issue.record("an unknown effort was accepted")
            return
        }
        #expect(error.param == "reasoning_effort")
    }

    @Test func anthropicTakesThinkingTopKDocumentsAndCacheControl() throws {
        let call = try Self.anthropic("""
            {"model": "claude-sonnet-4-5", "max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2048}, "top_k": 40,
             "system": [{"type": "text", "text": "Stable prefix", "cache_control": {"type": "ephemeral", "ttl": "1h"}}, {"type": "text", "text": "Today"}],
             "tools": [{"name": "get_weather", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}],
             "messages": [
               {"role": "user", "content": [
                 {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}, "title": "r.pdf"},
                 {"type": "text", "text": "Summarise", "cache_control": {"type": "ephemeral"}}]},
               {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}, {"type": "text", "text": "Sure"}]},
               {"role": "user", "content": "Go on"}]}
            """).get()
        let request = call.request
        #expect(request.reasoning == ReasoningControl(budgetTokens: 2048) && request.topK == 40)
        #expect(request.messages.map(\.role) == [.system, .system, .user, .assistant, .user])
        #expect(request.messages[0].text == "Stable prefix" && request.messages[0].cacheControl == CacheControl(ttl: "1h"))
        #expect(request.messages[1].text == "Today" && request.messages[1].cacheControl == nil)
        #expect(request.messages[2].content.first == .file(url: "data:application/pdf;base64,JVBERi0=", filename: "r.pdf"))
        #expect(request.messages[2].cacheControl == CacheControl())
        #expect(request.messages[3].content == [.text("Sure")])
        #expect(request.tools.first?.cacheControl == CacheControl())
        #expect(try ChatRequest(json: request.jsonValue) == request)
    }

    @Test func responsesInputBecomesTheNeutralRequest() throws {
        let document = try Self.parse("""
            {"model": "agent:planner", "instructions": "Be brief.", "max_output_tokens": 40, "tool_choice": {"type": "function", "name": "f"},
             "tools": [{"type": "function", "name": "f", "strict": true, "parameters": {"type": "object", "properties": {}}}],
             "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true}, "verbosity": "low"},
             "reasoning": {"effort": "high", "summary": "auto"}, "previous_response_id": "resp_sb17",
             "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}, {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}]},
                       {"type": "reasoning", "id": "rs_1", "summary": []},
                       {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                       {"type": "function_call_output", "call_id": "c1", "output": "done"}]}
            """)
        let call: FacadeCall
        do throws(FacadeError) { call = try OpenAIResponsesFacade.parse(document) } catch { Issue.record("\(error)"); return }
        let request = call.request
        #expect(call.openAIObject == .response && call.previousResponseJobID == 17)
        #expect(request.messages.map(\.role) == [.system, .user, .assistant, .tool])
        #expect(request.messages[1].content.last == .file(url: "data:application/pdf;base64,JVBE", filename: "a.pdf"))
        #expect(request.messages[2].toolCalls == [ToolCall(id: "c1", name: "f", arguments: "{}")])
        #expect(request.maxTokens == 40 && request.toolChoice == .tool(name: "f") && request.tools.first?.strict == true)
        #expect(request.responseFormat == .jsonSchema(name: "w", schema: ["type": "object"], strict: true))
        #expect(request.reasoning == ReasoningControl(effort: .high) && request.verbosity == "low")
        for body in [#"{"model": "m", "input": "x", "tools": [{"type": "web_search"}]}"#, #"{"model": "m", "input": "x", "background": true}"#,
                     #"{"model": "m", "input": "x", "previous_response_id": "resp_other"}"#] {
            let parsed = try Self.parse(body)
            do throws(FacadeError) {
                _ = try OpenAIResponsesFacade.parse(parsed)
                Issue.record("accepted: \(body)")
            } catch {
                #expect(error.status == .badRequest, "\(body)")
            }
        }
    }

    @Test func responseObjectShape() throws {
        let body = OpenAIResponsesFacade.response(Self.result, jobID: 8, created: 100)
        #expect(body["id"]?.stringValue == "resp_sb8" && body["object"]?.stringValue == "response" && body["status"]?.stringValue == "completed")
        let output = try #require(body["output"]?.arrayValue)
        #expect(output.map { $0["type"]?.stringValue } == ["message", "function_call"])
        #expect(output[0]["content"]?.arrayValue?.first?["text"]?.stringValue == "Hello there")
        #expect(output[1]["call_id"]?.stringValue == "call_1" && output[1]["arguments"]?.stringValue == #"{"city":"Paris"}"#)
        #expect(body["usage"]?["input_tokens_details"]?["cached_tokens"]?.intValue == 30)
        var truncated = Self.result
        truncated.finishReason = "length"
        let incomplete = OpenAIResponsesFacade.response(truncated, jobID: 8, created: 100)
        #expect(incomplete["status"]?.stringValue == "incomplete" && incomplete["incomplete_details"]?["reason"]?.stringValue == "max_output_tokens")
        let violations = JSONSchema.ref("V1Response").violations(of: body, components: APISchemas.components)
        #expect(violations.isEmpty, "\(violations)")
    }

    // MARK: - Results

    @Test func resultDocumentIsRead() throws {
        let text = """
            {"content": "hi", "tool_calls": [{"id": "c1", "name": "f", "arguments": "{}"}], "finish_reason": "tool_calls", "refusal": null,
             "model": "gpt-4o-mini", "provider": "openai", "fallback_depth": 2,
             "usage": {"input_tokens": 7, "output_tokens": 3, "cached_input_tokens": 0, "cache_creation_input_tokens": 0, "reasoning_tokens": 1},
             "cost": 0.0000045, "provider_request_id": null, "response_id": null, "warnings": [], "attempts": 3}
            """
        let result = try #require(FacadeResult(json: text))
        #expect(result.model == "gpt-4o-mini" && result.fallbackDepth == 2 && result.costText == "0.0000045")
        #expect(result.toolCalls == [.init(id: "c1", name: "f", arguments: "{}")])
        #expect(result.usage?.reasoningTokens == 1)
        #expect(FacadeResult(json: #"{"content": "no model"}"#) == nil)
    }

    @Test func openAICompletionShape() throws {
        let body = OpenAIChatFacade.completion(Self.result, jobID: 42, created: 1_700_000_000)
        #expect(body["id"]?.stringValue == "chatcmpl-sb42")
        #expect(body["object"]?.stringValue == "chat.completion")
        #expect(body["model"]?.stringValue == "claude-haiku-4-5")
        let choice = try #require(body["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"]?.stringValue == "tool_calls")
        #expect(choice["message"]?["content"]?.stringValue == "Hello there")
        let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
        #expect(call["id"]?.stringValue == "call_1" && call["type"]?.stringValue == "function")
        #expect(call["function"]?["arguments"]?.stringValue == #"{"city":"Paris"}"#)
        #expect(body["usage"]?["prompt_tokens"]?.intValue == 100 && body["usage"]?["total_tokens"]?.intValue == 120)
        #expect(body["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == 30)
        let violations = JSONSchema.ref("V1ChatCompletion").violations(of: body, components: APISchemas.components)
        #expect(violations.isEmpty, "\(violations)")
    }

    @Test func anthropicMessageShape() throws {
        let body = AnthropicMessagesFacade.message(Self.result, jobID: 42)
        #expect(body["id"]?.stringValue == "msg_sb42" && body["type"]?.stringValue == "message")
        #expect(body["stop_reason"]?.stringValue == "tool_use")
        let blocks = try #require(body["content"]?.arrayValue)
        #expect(blocks.map { $0["type"]?.stringValue } == ["text", "tool_use"])
        #expect(blocks[1]["input"]?["city"]?.stringValue == "Paris")
        // Anthropic's input_tokens excludes cache reads and writes.
        #expect(body["usage"]?["input_tokens"]?.intValue == 60)
        #expect(body["usage"]?["cache_read_input_tokens"]?.intValue == 30 && body["usage"]?["cache_creation_input_tokens"]?.intValue == 10)
        var plain = Self.result
        plain.toolCalls = []
        plain.finishReason = "length"
        #expect(AnthropicMessagesFacade.message(plain, jobID: 1)["stop_reason"]?.stringValue == "max_tokens")
        plain.finishReason = "stop"
        #expect(AnthropicMessagesFacade.message(plain, jobID: 1)["stop_reason"]?.stringValue == "end_turn")
        let violations = JSONSchema.ref("V1Message").violations(of: body, components: APISchemas.components)
        #expect(violations.isEmpty, "\(violations)")
    }

    @Test func completionLeavesOutMembersItHasNoValueFor() throws {
        // The official schema allows neither `usage: null` nor `system_fingerprint: null`.
        var unknownUsage = Self.result
        unknownUsage.usage = nil
        let body = OpenAIChatFacade.completion(unknownUsage, jobID: 1, created: 1)
        #expect(body["usage"] == nil && body["system_fingerprint"] == nil)
        #expect(OpenAIChatFacade.completion(Self.result, jobID: 1, created: 1)["system_fingerprint"] == nil)
        let chunks = try Self.events(OpenAIChatFacade.stream(unknownUsage, jobID: 1, created: 1, includeUsage: true)).dropLast().map { try Self.parse($0.data) }
        #expect(chunks.allSatisfy { $0["system_fingerprint"] == nil })
        // The include_usage chunk still has its usage, as the SDKs expect.
        #expect(chunks.last?["usage"]?["total_tokens"]?.intValue == 0)
    }

    @Test func refusalIsAnsweredAsOpenAIDoes() throws {
        // The neutral result says content_filter; OpenAI answers a refusal with finish_reason
        // "stop" and message.refusal, which `.parse()` returns instead of raising.
        let refused = FacadeResult(
            content: nil, finishReason: "content_filter", refusal: "I can't help with that.", model: "gpt-4o", provider: "openai",
            usage: Self.result.usage, costText: nil)
        let choice = try #require(OpenAIChatFacade.completion(refused, jobID: 3, created: 1)["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"]?.stringValue == "stop")
        #expect(choice["message"]?["refusal"]?.stringValue == "I can't help with that.")
        #expect(choice["message"]?["content"] == .null)
        let finishes = try Self.events(OpenAIChatFacade.stream(refused, jobID: 3, created: 1, includeUsage: false)).dropLast()
            .compactMap { try Self.parse($0.data)["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }
        #expect(finishes == ["stop"])
        // A filter without a refusal text stays a content filter.
        var filtered = refused
        filtered.refusal = nil
        #expect(OpenAIChatFacade.finishReason(filtered) == "content_filter")
    }

    @Test func anthropicAnswersNameTheStopSequence() throws {
        let text = """
            {"content": "one two", "tool_calls": [], "finish_reason": "stop", "stop_sequence": "THREE", "refusal": null,
             "model": "claude-haiku-4-5", "provider": "anthropic", "fallback_depth": 0, "usage": null, "cost": null, "warnings": [], "attempts": 1}
            """
        let result = try #require(FacadeResult(json: text))
        let body = AnthropicMessagesFacade.message(result, jobID: 5)
        #expect(body["stop_reason"]?.stringValue == "stop_sequence" && body["stop_sequence"]?.stringValue == "THREE")
        let violations = JSONSchema.ref("V1Message").violations(of: body, components: APISchemas.components)
        #expect(violations.isEmpty, "\(violations)")
        let events = try Self.events(AnthropicMessagesFacade.stream(result, jobID: 5)).map { try Self.parse($0.data) }
        let delta = try #require(events.first { $0["type"]?.stringValue == "message_delta" })
        #expect(delta["delta"]?["stop_reason"]?.stringValue == "stop_sequence" && delta["delta"]?["stop_sequence"]?.stringValue == "THREE")
    }

    // MARK: - Streams

    /// Splits an SSE body into events of (event name, data), checking the framing on the way.
    static func events(_ bytes: [UInt8]) throws -> [(event: String?, data: String)] {
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasSuffix("\n\n"))
        return try text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var event: String?
            var data: String?
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) } else if line.hasPrefix("data: ") {
                    #expect(data == nil, "one data line per event")
                    data = String(line.dropFirst(6))
                } else {
                    Issue.record("unexpected line \(line)")
                }
            }
            return (event, try #require(data))
        }
    }

    @Test func openAIStreamIsChunksEndingInDone() throws {
        let events = try Self.events(OpenAIChatFacade.stream(Self.result, jobID: 9, created: 5, includeUsage: true))
        #expect(events.last?.data == "[DONE]")
        #expect(events.allSatisfy { $0.event == nil })
        let chunks = try events.dropLast().map { try Self.parse($0.data) }
        #expect(chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" && $0["id"]?.stringValue == "chatcmpl-sb9" })
        let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
        #expect(deltas.first?["role"]?.stringValue == "assistant")
        #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == "Hello there")
        let calls = deltas.compactMap { $0["tool_calls"]?.arrayValue?.first }
        let call = try #require(calls.first)
        #expect(call["index"]?.intValue == 0 && call["id"]?.stringValue == "call_1" && call["function"]?["name"]?.stringValue == "get_weather")
        let finishes = chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }
        #expect(finishes == ["tool_calls"])
        #expect(chunks.last?["choices"]?.arrayValue?.isEmpty == true && chunks.last?["usage"]?["completion_tokens"]?.intValue == 20)
        let withoutUsage = try Self.events(OpenAIChatFacade.stream(Self.result, jobID: 9, created: 5, includeUsage: false))
        #expect(withoutUsage.count == events.count - 1)
    }

    @Test func anthropicStreamIsTheMessagesEventSequence() throws {
        let events = try Self.events(AnthropicMessagesFacade.stream(Self.result, jobID: 9))
        #expect(events.map(\.event) == [
            "message_start", "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
        ])
        let data = try events.map { try Self.parse($0.data) }
        for (event, document) in zip(events, data) { #expect(document["type"]?.stringValue == event.event) }
        #expect(data[0]["message"]?["content"]?.arrayValue?.isEmpty == true)
        #expect(data[2]["delta"]?["type"]?.stringValue == "text_delta" && data[2]["delta"]?["text"]?.stringValue == "Hello there")
        #expect(data[4]["content_block"]?["type"]?.stringValue == "tool_use" && data[4]["content_block"]?["id"]?.stringValue == "call_1")
        #expect(data[5]["delta"]?["type"]?.stringValue == "input_json_delta")
        let partial = try #require(data[5]["delta"]?["partial_json"]?.stringValue)
        #expect(try Self.parse(partial)["city"]?.stringValue == "Paris")
        #expect(data[5]["index"]?.intValue == 1)
        #expect(data[7]["delta"]?["stop_reason"]?.stringValue == "tool_use" && data[7]["usage"]?["output_tokens"]?.intValue == 20)
    }

    @Test func streamsKeepNewlinesInsideOneDataLine() throws {
        var result = Self.result
        result.content = "line 1\n\nline 2\r\n"
        result.toolCalls = []
        let openAI = try Self.events(OpenAIChatFacade.stream(result, jobID: 1, created: 1, includeUsage: false))
        let text = try openAI.dropLast().compactMap { try Self.parse($0.data)["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "line 1\n\nline 2\r\n")
        let anthropic = try Self.events(AnthropicMessagesFacade.stream(result, jobID: 1))
        #expect(try Self.parse(anthropic[2].data)["delta"]?["text"]?.stringValue == "line 1\n\nline 2\r\n")
    }

    // MARK: - Errors

    @Test func errorShapesPerFormat() throws {
        let notFound = FacadeError.modelNotFound("agent:nobody", "no agent named 'nobody'")
        #expect(notFound.status == .notFound)
        let openAI = notFound.body(.openAI)
        #expect(openAI["error"]?["code"]?.stringValue == "model_not_found")
        #expect(openAI["error"]?["type"]?.stringValue == "invalid_request_error")
        #expect(openAI["error"]?["param"]?.stringValue == "model")
        let anthropic = notFound.body(.anthropic)
        #expect(anthropic["type"]?.stringValue == "error")
        #expect(anthropic["error"]?["type"]?.stringValue == "not_found_error")
        #expect(FacadeError.unauthorized.body(.openAI)["error"]?["type"]?.stringValue == "authentication_error")
        #expect(FacadeError.unauthorized.body(.anthropic)["error"]?["type"]?.stringValue == "authentication_error")
        for format in [FacadeFormat.openAI, .anthropic] {
            #expect(JSONSchema.ref("V1Error").violations(of: notFound.body(format), components: APISchemas.components).isEmpty)
        }
        let response = FacadeError.jobFailed(jobID: 5, code: "rate_limited", message: "slow down").response(.openAI)
        #expect(response.status == .tooManyRequests)
        #expect(response.headers[FacadeHeaders.jobID] == "5")
    }

    @Test func failedJobsMapToTheCallersOrProvidersSide() {
        let statuses: [(String, Int)] = [
            ("invalid_request", 400), ("context_length_exceeded", 400), ("rate_limited", 429), ("cancelled", 409),
            ("no_usable_model", 503), ("max_attempts_exceeded", 503), ("timeout", 504),
            // A provider key problem must not read as the caller's bad key (401).
            ("auth", 502), ("server_error", 502), ("quota_exhausted", 502), ("model_not_found", 502),
        ]
        for (code, status) in statuses {
            #expect(FacadeError.jobFailed(jobID: 1, code: code, message: "m").status.code == status, "\(code)")
        }
    }

    /// The wait's deadline cancels the job: the SDKs must not retry into a second job, and the
    /// deadline must be shorter than their default timeout (600 s) so they see the 504 at all.
    @Test func theWaitDeadlineAnswersANonRetryable504BeforeTheSDKsTimeout() {
        for format in [FacadeFormat.openAI, .anthropic] {
            let response = FacadeError.waitExpired(jobID: 9, seconds: FacadeRoutes.maximumWaitSeconds).response(format)
            #expect(response.status == .gatewayTimeout)
            #expect(response.headers[FacadeHeaders.shouldRetry] == "false")
            #expect(response.headers[FacadeHeaders.jobID] == "9")
        }
        #expect(FacadeRoutes.maximumWaitSeconds < 600)
    }
}
