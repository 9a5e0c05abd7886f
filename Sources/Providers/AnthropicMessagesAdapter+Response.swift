import CurlHTTP

// Messages response → neutral response.

extension AnthropicMessagesAdapter {
    public func parse(_ response: CurlHTTPResponse, apiKey: APIKey?) throws(ProviderError) -> ChatResponse {
        guard (200...299).contains(response.status) else {
            throw ProviderErrorClassifier.classify(response: response, apiKey: apiKey)
        }
        let json = try parseSuccessBody(response)
        if json["type"]?.stringValue == "error" {
            throw errorInSuccessBody(json, response: response, apiKey: apiKey)
        }
        guard let blocks = json["content"]?.arrayValue else {
            throw malformed("response has no content array", response)
        }

        var texts: [String] = []
        var toolCalls: [ToolCall] = []
        var jsonReply: JSONValue?
        for (index, block) in blocks.enumerated() {
            // A block that is not an object, or text that is not a string, is no answer at all: a
            // success with no text would hide the broken reply (found by the fault tests).
            guard block.objectValue != nil else {
                throw malformed("content block \(index) is not an object", response)
            }
            switch block["type"]?.stringValue {
            case "text":
                guard let text = block["text"]?.stringValue else {
                    throw malformed("text block \(index) has no text", response)
                }
                texts.append(text)
            case "tool_use":
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                    throw malformed("tool_use block \(index) has no id or name", response)
                }
                if name == Self.jsonResponseToolName {
                    // The emulated JSON output (see makeBody): its input is the reply.
                    jsonReply = block["input"] ?? [:]
                    continue
                }
                // `input` is an object; the neutral form is its JSON text, as OpenAI sends it.
                let arguments = (block["input"] ?? [:]).encodedString()
                toolCalls.append(ToolCall(id: id, name: name, arguments: arguments))
            default:
                // thinking, redacted_thinking, server tool blocks: not part of the neutral reply.
                continue
            }
        }

        let rawStop = json["stop_reason"]?.stringValue
        var finishReason = rawStop.flatMap(Self.finishReason)
        var text = texts.isEmpty ? nil : texts.joined()
        if let jsonReply {
            text = jsonReply.encodedString()
            if toolCalls.isEmpty, finishReason == .toolCalls { finishReason = .stop }
        }
        let usage = Self.usage(json["usage"])
        return ChatResponse(
            text: text,
            toolCalls: toolCalls,
            finishReason: finishReason,
            providerFinishReason: rawStop,
            stopSequence: json["stop_sequence"]?.stringValue,
            usage: usage.usage,
            usageInvalid: usage.invalid,
            model: json["model"]?.stringValue,
            responseID: json["id"]?.stringValue,
            requestID: response.headerValue("request-id")
        )
    }

    static func finishReason(_ raw: String) -> FinishReason? {
        switch raw {
        // pause_turn: a server-tool loop paused; the turn ended without truncation.
        case "end_turn", "stop_sequence", "pause_turn": return .stop
        case "max_tokens", "model_context_window_exceeded": return .length
        case "tool_use": return .toolCalls
        case "refusal": return .contentFilter
        default: return nil
        }
    }

    /// Anthropic's `input_tokens` excludes cache reads and writes; the neutral input count
    /// includes them (see `TokenUsage`). Counts outside 0…Int32.max, or a sum beyond it, are
    /// dropped and flagged (`TokenCounts`).
    static func usage(_ value: JSONValue?) -> CheckedUsage {
        guard let value else { return CheckedUsage(usage: nil, invalid: false) }
        var reader = TokenCounts.Reader()
        let input = reader.count(value["input_tokens"])
        let output = reader.count(value["output_tokens"])
        let cacheRead = reader.count(value["cache_read_input_tokens"])
        let cacheCreation = reader.count(value["cache_creation_input_tokens"])
        guard let input, let output else { return CheckedUsage(usage: nil, invalid: reader.sawInvalid) }
        guard let total = TokenCounts.sum(input, cacheRead ?? 0, cacheCreation ?? 0) else {
            return CheckedUsage(usage: nil, invalid: true)
        }
        let usage = TokenUsage(
            inputTokens: total, outputTokens: output, cachedInputTokens: cacheRead, cacheCreationInputTokens: cacheCreation)
        return CheckedUsage(usage: usage, invalid: reader.sawInvalid)
    }
}
