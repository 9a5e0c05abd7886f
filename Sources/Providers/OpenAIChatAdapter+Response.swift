import CurlHTTP

// Chat Completions response → neutral response.

extension OpenAIChatAdapter {
    public func parse(_ response: CurlHTTPResponse, apiKey: APIKey?) throws(ProviderError) -> ChatResponse {
        guard (200...299).contains(response.status) else {
            throw ProviderErrorClassifier.classify(response: response, apiKey: apiKey)
        }
        let json = try parseSuccessBody(response)
        guard let choices = json["choices"]?.arrayValue else {
            if json["error"] != nil || json["object"]?.stringValue == "error" {
                throw errorInSuccessBody(json, response: response, apiKey: apiKey)
            }
            throw malformed("response has no choices array", response)
        }
        guard let choice = choices.first, let message = choice["message"], message.objectValue != nil else {
            throw malformed("response has no choice with a message", response)
        }

        let toolCalls = try Self.toolCalls(message["tool_calls"], response: response, adapter: self)
        let rawFinish = choice["finish_reason"]?.stringValue
        var finishReason = rawFinish.flatMap(Self.finishReason)
        // OpenAI reports "stop" when tool_choice named a function; the caller still has to run it.
        if !toolCalls.isEmpty, finishReason == .stop {
            finishReason = .toolCalls
        }
        let text = Self.text(message["content"])
        return ChatResponse(
            text: text,
            toolCalls: toolCalls,
            finishReason: finishReason,
            providerFinishReason: rawFinish,
            refusal: message["refusal"]?.stringValue,
            usage: Self.usage(json["usage"]),
            model: json["model"]?.stringValue,
            responseID: json["id"]?.stringValue,
            requestID: response.header("x-request-id")
        )
    }

    /// `content` is a string, `null`, or (from some compatible servers) an array of text parts.
    static func text(_ content: JSONValue?) -> String? {
        switch content {
        case .string(let text):
            return text
        case .array(let parts):
            let texts = parts.compactMap { $0["text"]?.stringValue }
            return texts.isEmpty ? nil : texts.joined()
        default:
            return nil
        }
    }

    static func toolCalls(_ value: JSONValue?, response: CurlHTTPResponse, adapter: OpenAIChatAdapter) throws(ProviderError) -> [ToolCall] {
        guard let calls = value?.arrayValue else { return [] }
        var result: [ToolCall] = []
        for (index, call) in calls.enumerated() {
            guard let function = call["function"], let name = function["name"]?.stringValue else {
                throw adapter.malformed("tool call \(index) has no function name", response)
            }
            // Arguments are JSON text at OpenAI; a few compatible servers send an object instead.
            let arguments: String
            switch function["arguments"] {
            case .string(let text): arguments = text
            case .none, .null?: arguments = "{}"
            case let other?: arguments = other.encodedString()
            }
            // Some compatible servers omit ids; the caller needs one to answer the call.
            let id = call["id"]?.stringValue ?? "call_\(index)"
            result.append(ToolCall(id: id, name: name, arguments: arguments))
        }
        return result
    }

    /// OpenAI's reasons, plus the spellings of TGI (`eos_token`, `stop_sequence`) and others.
    static func finishReason(_ raw: String) -> FinishReason? {
        switch raw {
        case "stop", "eos_token", "stop_sequence", "end_turn", "eos": return .stop
        case "length", "max_tokens", "model_length": return .length
        case "tool_calls", "function_call", "tool_use": return .toolCalls
        case "content_filter": return .contentFilter
        default: return nil
        }
    }

    /// `nil` (unknown) unless both counts are present: a missing usage is never zero.
    static func usage(_ value: JSONValue?) -> TokenUsage? {
        guard let value, let input = value["prompt_tokens"]?.intValue,
            let output = value["completion_tokens"]?.intValue
        else { return nil }
        return TokenUsage(
            inputTokens: input,
            outputTokens: output,
            cachedInputTokens: value["prompt_tokens_details"]?["cached_tokens"]?.intValue,
            reasoningTokens: value["completion_tokens_details"]?["reasoning_tokens"]?.intValue
        )
    }
}
