import Foundation
import JSON

/// `POST /v1/chat/completions`: reading an OpenAI request and writing its reply.
enum StubOpenAIEndpoint {
    /// The request's conversation, or the 400 OpenAI would send for it. Checked in OpenAI's
    /// order: messages, then tools, then sampling.
    static func conversation(from body: StubJSON) -> Result<StubConversation, StubValidationError> {
        guard let messages = body["messages"]?.array else {
            return .failure(.init("Missing required parameter: 'messages'.", param: "messages"))
        }
        guard !messages.isEmpty else {
            return .failure(.init("[] is too short - 'messages'", param: "messages"))
        }
        if let violation = StubOpenAIRules.check(body) {
            return .failure(violation)
        }
        var conversation = StubConversation()
        // Everything the prompt-token estimate counts: texts, tool calls, tool definitions.
        var promptParts: [String] = []
        do {
            try readMessages(messages, into: &conversation, promptParts: &promptParts)
            try readTools(body, into: &conversation, promptParts: &promptParts)
            try readSampling(body, into: &conversation)
        } catch {
            return .failure(error)
        }
        conversation.promptText = promptParts.joined(separator: "\n")
        return .success(conversation)
    }

    private static func readMessages(
        _ messages: [StubJSON], into conversation: inout StubConversation, promptParts: inout [String]
    ) throws(StubValidationError) {
        conversation.messageCount = messages.count
        var trailingToolResults: [String] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.string ?? ""
            guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
                throw .init(
                    "Invalid value: '\(role)'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.",
                    param: "messages[\(index)].role")
            }
            let (text, images) = contentText(message["content"])
            conversation.imageCount += images
            promptParts.append(text)
            switch role {
            case "tool":
                guard message["tool_call_id"]?.string != nil else {
                    throw .init(
                        "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'.",
                        param: "messages.[\(index)].tool_call_id")
                }
                trailingToolResults.append(text)
            case "user":
                conversation.lastUserText = text
                trailingToolResults = []
            default:
                trailingToolResults = []
            }
            for call in message["tool_calls"]?.array ?? [] {
                promptParts.append((call["function"]?["name"]?.string ?? "") + (call["function"]?["arguments"]?.string ?? ""))
            }
        }
        conversation.trailingToolResults = trailingToolResults
    }

    /// `tools`, `tool_choice` and `parallel_tool_calls`.
    private static func readTools(
        _ body: StubJSON, into conversation: inout StubConversation, promptParts: inout [String]
    ) throws(StubValidationError) {
        let tools = body["tools"]?.array ?? []
        for tool in tools {
            guard let function = tool["function"], let name = function["name"]?.string else {
                throw .init("Missing required parameter: 'tools[0].function'.", param: "tools[0].function")
            }
            let schema = function["parameters"] ?? ["type": "object", "properties": [:]]
            conversation.tools.append(.init(name: name, schema: schema))
            promptParts.append(name + (function["description"]?.string ?? "") + schema.encodedString())
        }
        if let choice = body["tool_choice"] {
            guard !tools.isEmpty else {
                throw .init(
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                    param: "tool_choice")
            }
            switch choice {
            case "none": conversation.toolChoice = .none
            case "required": conversation.toolChoice = .required
            case "auto": conversation.toolChoice = .auto
            default:
                guard let name = choice["function"]?["name"]?.string else {
                    throw .init("Invalid value for 'tool_choice'.", param: "tool_choice")
                }
                conversation.toolChoice = .named(name)
            }
        }
        if body["parallel_tool_calls"] != nil, tools.isEmpty {
            throw .init(
                "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
                param: "parallel_tool_calls")
        }
        conversation.parallelToolCalls = body["parallel_tool_calls"]?.bool ?? true
    }

    /// Temperature, stop sequences and the output cap.
    private static func readSampling(_ body: StubJSON, into conversation: inout StubConversation) throws(StubValidationError) {
        if let temperature = body["temperature"]?.double, !(0...2).contains(temperature) {
            throw .init(
                "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got \(temperature) instead.",
                param: "temperature")
        }
        switch body["stop"] {
        case .string(let stop)?: conversation.stopSequences = [stop]
        case .array(let stops)?: conversation.stopSequences = stops.compactMap(\.string)
        default: break
        }
        conversation.maxTokens = body["max_completion_tokens"]?.int ?? body["max_tokens"]?.int
    }

    /// Text of a `content` value (string or parts) and how many images it holds.
    static func contentText(_ content: StubJSON?) -> (String, Int) {
        switch content {
        case .string(let text)?:
            return (text, 0)
        case .array(let parts)?:
            let texts = parts.compactMap { $0["type"] == "text" ? $0["text"]?.string : nil }
            let images = parts.filter { $0["type"] == "image_url" }.count
            return (texts.joined(separator: "\n"), images)
        default:
            return ("", 0)
        }
    }

    /// The reply body, written straight to bytes: fixed parts are pre-encoded fragments, the rest
    /// goes through the JSON writer (no value tree, no Codable).
    static func success(
        model: String, conversation: StubConversation, reply: StubReply, behavior: StubBehavior,
        requestID: String, idSuffix: String
    ) -> StubHTTPReply {
        var writer = JSONWriter(capacity: 640 + (reply.text?.utf8.count ?? 0))
        writer.beginObject()
        writer.key("id")
        writer.string("chatcmpl-stub\(idSuffix)")
        writer.key("object")
        writer.string("chat.completion")
        writer.key("created")
        writer.int(Int(Date().timeIntervalSince1970))
        writer.key("model")
        writer.string(model)
        writer.key("choices")
        writer.beginArray()
        writeChoice(reply, finishReason: finishReason(reply, toolChoice: conversation.toolChoice), idSuffix: idSuffix, to: &writer)
        writer.endArray()
        if !behavior.omitUsage {
            writeUsage(inputTokens: conversation.inputTokens, reply: reply, behavior: behavior, to: &writer)
        }
        writer.key("service_tier")
        writer.raw(serviceTierTail)
        writer.endObject()
        return StubHTTPReply(
            status: 200,
            headers: [("content-type", "application/json"), ("x-request-id", requestID), ("openai-processing-ms", "1")],
            body: Data(writer.bytes))
    }

    static func finishReason(_ reply: StubReply, toolChoice: StubConversation.ToolChoice) -> String {
        switch reply.finish {
        case .endTurn, .stopSequence: return "stop"
        case .maxTokens: return "length"
        // OpenAI's refusals finish with "stop" and carry `message.refusal`.
        case .refusal: return "stop"
        // OpenAI says "stop", not "tool_calls", when tool_choice named the function.
        case .toolCalls:
            if case .named = toolChoice { return "stop" }
            return "tool_calls"
        }
    }

    /// The one choice: the assistant message (content or refusal, tool calls) and its finish reason.
    private static func writeChoice(_ reply: StubReply, finishReason: String, idSuffix: String, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("index")
        writer.int(0)
        writer.key("message")
        writer.beginObject()
        writer.key("role")
        writer.string("assistant")
        writer.key("content")
        if reply.finish != .refusal, let text = reply.text { writer.string(text) } else { writer.null() }
        writer.key("refusal")
        // OpenAI's refusals come as `refusal`, with no content.
        if reply.finish == .refusal, let text = reply.text { writer.string(text) } else { writer.null() }
        writer.key("annotations")
        writer.beginArray()
        writer.endArray()
        if !reply.toolCalls.isEmpty {
            writer.key("tool_calls")
            writer.beginArray()
            for (index, call) in reply.toolCalls.enumerated() {
                writer.beginObject()
                writer.key("id")
                writer.string("call_stub\(idSuffix)\(index)")
                writer.key("type")
                writer.string("function")
                writer.key("function")
                writer.beginObject()
                writer.key("name")
                writer.string(call.name)
                writer.key("arguments")
                writer.string(call.arguments.encodedString())
                writer.endObject()
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        writer.key("logprobs")
        writer.null()
        writer.key("finish_reason")
        writer.string(finishReason)
        writer.endObject()
    }

    private static func writeUsage(inputTokens input: Int, reply: StubReply, behavior: StubBehavior, to writer: inout JSONWriter) {
        let reasoning = behavior.reportReasoning ? reply.outputTokens * 2 : 0
        let output = reply.outputTokens + reasoning
        // OpenAI caches in 128-token steps once a prompt reaches 1024 tokens; the stub
        // only needs a plausible share, so it reports half of the prompt.
        let cached = behavior.reportCache ? input / 2 : 0
        if let hostile = behavior.hostileTokenCount {
            writer.key("usage")
            writer.beginObject()
            for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                writer.key(key)
                writer.int(hostile)
            }
            writer.key("prompt_tokens_details")
            writer.beginObject()
            writer.key("cached_tokens")
            writer.int(hostile)
            writer.endObject()
            writer.endObject()
            return
        }
        writer.key("usage")
        writer.beginObject()
        writer.key("prompt_tokens")
        writer.int(input)
        writer.key("completion_tokens")
        writer.int(output)
        writer.key("total_tokens")
        writer.int(input + output)
        writer.key("prompt_tokens_details")
        writer.beginObject()
        writer.key("cached_tokens")
        writer.int(cached)
        writer.key("audio_tokens")
        writer.int(0)
        writer.endObject()
        writer.key("completion_tokens_details")
        writer.beginObject()
        writer.key("reasoning_tokens")
        writer.int(reasoning)
        writer.key("audio_tokens")
        writer.raw(zeroPredictionTail)
        writer.endObject()
        writer.endObject()
    }

    /// `0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0` after `"audio_tokens":`.
    private static let zeroPredictionTail = Array(#"0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0"#.utf8)
    /// `"default","system_fingerprint":"fp_stub"` after `"service_tier":`.
    private static let serviceTierTail = Array(#""default","system_fingerprint":"fp_stub""#.utf8)
}

/// A request the stub rejects as the real API would.
struct StubValidationError: Error {
    var message: String
    var param: String?
    /// OpenAI's error code (`unsupported_parameter`…); Anthropic has none.
    var code: String?

    init(_ message: String, param: String? = nil, code: String? = nil) {
        self.message = message
        self.param = param
        self.code = code
    }
}
