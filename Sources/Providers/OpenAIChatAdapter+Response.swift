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

        let responseID = json["id"]?.stringValue
        let toolCalls = try Self.toolCalls(message["tool_calls"], responseID: responseID, response: response, adapter: self)
        let rawFinish = choice["finish_reason"]?.stringValue
        var finishReason = rawFinish.flatMap(Self.finishReason)
        // OpenAI reports "stop" when tool_choice named a function; the caller still has to run it.
        if !toolCalls.isEmpty, finishReason == .stop {
            finishReason = .toolCalls
        }
        // A refusal arrives as `message.refusal` with finish_reason "stop": normalised to the one
        // refusal reason every provider shares (Anthropic's `stop_reason: "refusal"`).
        let refusal = message["refusal"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if refusal != nil {
            finishReason = .contentFilter
        }
        // Any other type is no answer at all: a success with no text would hide the broken reply.
        switch message["content"] {
        case .string?, .array?, .null?, nil: break
        default: throw malformed("message content is neither text, null nor a list of parts", response)
        }
        let text = Self.text(message["content"])
        let usage = Self.usage(json["usage"])
        return ChatResponse(
            text: text,
            toolCalls: toolCalls,
            finishReason: finishReason,
            providerFinishReason: rawFinish,
            refusal: refusal,
            usage: usage.usage,
            usageInvalid: usage.invalid,
            model: json["model"]?.stringValue,
            responseID: responseID,
            requestID: response.headerValue("x-request-id")
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

    static func toolCalls(
        _ value: JSONValue?, responseID: String?, response: CurlHTTPResponse, adapter: OpenAIChatAdapter
    ) throws(ProviderError) -> [ToolCall] {
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
            // Some compatible servers omit ids; the caller needs one to answer the call, and ids
            // must stay unique across the conversation (Anthropic rejects a repeated id on
            // replay), so an invented id carries the response id or a random part.
            let id = call["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                ?? "call_\(Self.idStem(responseID))_\(index)"
            result.append(ToolCall(id: id, name: name, arguments: arguments))
        }
        return result
    }

    /// The response id reduced to id-safe characters, or 16 random hex digits when there is none.
    static func idStem(_ responseID: String?) -> String {
        if let responseID {
            let safe = ToolIDMap.sanitized(responseID)
            if safe != "toolu_empty" { return safe }
        }
        return String(UInt64.random(in: 0...UInt64.max), radix: 16)
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

    /// `nil` (unknown) unless both counts are present: a missing usage is never zero. Counts
    /// outside 0…Int32.max are dropped and flagged (`TokenCounts`).
    static func usage(_ value: JSONValue?) -> CheckedUsage {
        guard let value else { return CheckedUsage(usage: nil, invalid: false) }
        var reader = TokenCounts.Reader()
        let input = reader.count(value["prompt_tokens"])
        let output = reader.count(value["completion_tokens"])
        let cached = reader.count(value["prompt_tokens_details"]?["cached_tokens"])
        let reasoning = reader.count(value["completion_tokens_details"]?["reasoning_tokens"])
        guard let input, let output else { return CheckedUsage(usage: nil, invalid: reader.sawInvalid) }
        let usage = TokenUsage(inputTokens: input, outputTokens: output, cachedInputTokens: cached, reasoningTokens: reasoning)
        return CheckedUsage(usage: usage, invalid: reader.sawInvalid)
    }
}
