import Foundation

/// `POST /v1/chat/completions`: reading an OpenAI request and writing its reply.
enum StubOpenAIEndpoint {
    /// The request's conversation, or the 400 OpenAI would send for it.
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
        conversation.messageCount = messages.count
        var promptParts: [String] = []
        var trailingToolResults: [String] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.string ?? ""
            guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
                return .failure(.init(
                    "Invalid value: '\(role)'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.",
                    param: "messages[\(index)].role"))
            }
            let (text, images) = contentText(message["content"])
            conversation.imageCount += images
            promptParts.append(text)
            switch role {
            case "tool":
                guard message["tool_call_id"]?.string != nil else {
                    return .failure(.init(
                        "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'.",
                        param: "messages.[\(index)].tool_call_id"))
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

        let tools = body["tools"]?.array ?? []
        for tool in tools {
            guard let function = tool["function"], let name = function["name"]?.string else {
                return .failure(.init("Missing required parameter: 'tools[0].function'.", param: "tools[0].function"))
            }
            let schema = function["parameters"] ?? ["type": "object", "properties": [:]]
            conversation.tools.append(.init(name: name, schema: schema))
            promptParts.append(name + (function["description"]?.string ?? "") + schema.encodedString())
        }
        if let choice = body["tool_choice"] {
            guard !tools.isEmpty else {
                return .failure(.init(
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                    param: "tool_choice"))
            }
            switch choice {
            case "none": conversation.toolChoice = .none
            case "required": conversation.toolChoice = .required
            case "auto": conversation.toolChoice = .auto
            default:
                guard let name = choice["function"]?["name"]?.string else {
                    return .failure(.init("Invalid value for 'tool_choice'.", param: "tool_choice"))
                }
                conversation.toolChoice = .named(name)
            }
        }
        if body["parallel_tool_calls"] != nil, tools.isEmpty {
            return .failure(.init(
                "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
                param: "parallel_tool_calls"))
        }
        conversation.parallelToolCalls = body["parallel_tool_calls"]?.bool ?? true
        if let temperature = body["temperature"]?.double, !(0...2).contains(temperature) {
            return .failure(.init(
                "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got \(temperature) instead.",
                param: "temperature"))
        }
        switch body["stop"] {
        case .string(let stop)?: conversation.stopSequences = [stop]
        case .array(let stops)?: conversation.stopSequences = stops.compactMap(\.string)
        default: break
        }
        conversation.maxTokens = body["max_completion_tokens"]?.int ?? body["max_tokens"]?.int
        conversation.promptText = promptParts.joined(separator: "\n")
        return .success(conversation)
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

    static func success(
        model: String, conversation: StubConversation, reply: StubReply, behavior: StubBehavior,
        requestID: String, idSuffix: String
    ) -> StubHTTPReply {
        var message: StubJSON = [
            "role": "assistant", "content": reply.text.map(StubJSON.string) ?? .null, "refusal": .null, "annotations": [],
        ]
        if reply.finish == .refusal {
            // OpenAI's refusals come as `refusal`, with no content.
            message["content"] = .null
            message["refusal"] = reply.text.map(StubJSON.string) ?? .null
        }
        if !reply.toolCalls.isEmpty {
            message["tool_calls"] = .array(reply.toolCalls.enumerated().map { index, call in
                [
                    "id": .string("call_stub\(idSuffix)\(index)"), "type": "function",
                    "function": ["name": .string(call.name), "arguments": .string(call.arguments.encodedString())],
                ]
            })
        }
        let finishReason: String
        switch reply.finish {
        case .endTurn, .stopSequence: finishReason = "stop"
        case .maxTokens: finishReason = "length"
        // OpenAI's refusals finish with "stop" and carry `message.refusal`.
        case .refusal: finishReason = "stop"
        // OpenAI says "stop", not "tool_calls", when tool_choice named the function.
        case .toolCalls:
            if case .named = conversation.toolChoice { finishReason = "stop" } else { finishReason = "tool_calls" }
        }

        var body: StubJSON = [
            "id": .string("chatcmpl-stub\(idSuffix)"),
            "object": "chat.completion",
            "created": .int(Int(Date().timeIntervalSince1970)),
            "model": .string(model),
            "choices": [["index": 0, "message": message, "logprobs": .null, "finish_reason": .string(finishReason)]],
            "service_tier": "default",
            "system_fingerprint": "fp_stub",
        ]
        if !behavior.omitUsage {
            let input = conversation.inputTokens
            let reasoning = behavior.reportReasoning ? reply.outputTokens * 2 : 0
            let output = reply.outputTokens + reasoning
            // OpenAI caches in 128-token steps once a prompt reaches 1024 tokens; the stub
            // only needs a plausible share, so it reports half of the prompt.
            let cached = behavior.reportCache ? input / 2 : 0
            body["usage"] = [
                "prompt_tokens": .int(input),
                "completion_tokens": .int(output),
                "total_tokens": .int(input + output),
                "prompt_tokens_details": ["cached_tokens": .int(cached), "audio_tokens": 0],
                "completion_tokens_details": [
                    "reasoning_tokens": .int(reasoning), "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
                ],
            ]
        }
        return .json(200, body, headers: [("x-request-id", requestID), ("openai-processing-ms", "1")])
    }
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
