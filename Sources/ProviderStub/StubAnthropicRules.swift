/// What Anthropic's Messages API refuses beyond field shapes, with its own wording. Each rule is one
/// the adapters must satisfy; a request the stub accepts should be one the real API accepts.
enum StubAnthropicRules {
    /// Top-level fields the Messages API takes; anything else is "Extra inputs are not permitted".
    static let knownFields: Set<String> = [
        "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "metadata", "stream", "thinking", "service_tier", "container", "mcp_servers",
    ]

    /// The context window the stub enforces for every model (Claude's 200k).
    static let contextWindow = 200_000
    /// The largest `max_tokens` the stub accepts (Claude Sonnet 4.5's 64k).
    static let maximumOutputTokens = 64_000

    static func check(_ body: StubJSON) -> StubValidationError? {
        for member in body.object ?? [] where !knownFields.contains(member.key) {
            return .init("\(member.key): Extra inputs are not permitted")
        }
        if let maxTokens = body["max_tokens"]?.int, maxTokens > maximumOutputTokens {
            let model = body["model"]?.string ?? ""
            return .init("max_tokens: \(maxTokens) > \(maximumOutputTokens), which is the maximum allowed number of output tokens for \(model)")
        }
        if body["temperature"] != nil, body["top_p"] != nil {
            return .init("`temperature` and `top_p` cannot both be specified for this model. Please use only one.")
        }
        for stop in body["stop_sequences"]?.array ?? [] {
            guard let text = stop.string, text.contains(where: { !$0.isWhitespace }) else {
                return .init("stop_sequences: each stop sequence must contain non-whitespace")
            }
        }
        if let userID = body["metadata"]?["user_id"]?.string, looksLikeContactDetails(userID) {
            return .init("metadata.user_id: user_id appears to contain an email address or phone number. Use an opaque identifier such as a UUID or hash instead.")
        }
        return checkMessages(body["messages"]?.array ?? [])
    }

    /// Turn-level rules: user first, non-empty content, tool ids valid and unique, tool results first
    /// in the next user turn and answering every tool_use, no trailing whitespace in a final prefill.
    static func checkMessages(_ messages: [StubJSON]) -> StubValidationError? {
        if let first = messages.first, first["role"]?.string != "user" {
            return .init("messages: first message must use the \"user\" role")
        }
        var seenToolUseIDs: Set<String> = []
        var pendingToolUseIDs: [String] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.string ?? ""
            let isFinalAssistant = index == messages.count - 1 && role == "assistant"
            let blocks: [StubJSON]
            switch message["content"] {
            case .string(let text)?: blocks = [["type": "text", "text": .string(text)]]
            case .array(let items)?: blocks = items
            default: blocks = []
            }
            if blocks.isEmpty || (blocks.count == 1 && blocks[0]["type"] == "text" && blocks[0]["text"]?.string == "") {
                if !isFinalAssistant {
                    return .init("messages.\(index): all messages must have non-empty content except for the optional final assistant message")
                }
            }
            for block in blocks where block["type"] == "text" {
                let text = block["text"]?.string ?? ""
                if !text.contains(where: { !$0.isWhitespace }), !(isFinalAssistant && text.isEmpty) {
                    return .init("messages: text content blocks must contain non-whitespace text")
                }
            }
            if isFinalAssistant, blocks.last?["type"] == "text", blocks.last?["text"]?.string?.last?.isWhitespace == true {
                return .init("messages: final assistant content cannot end with trailing whitespace")
            }

            if !pendingToolUseIDs.isEmpty {
                // The message after tool_use blocks must answer each of them, results first.
                let results = blocks.prefix { $0["type"] == "tool_result" }.compactMap { $0["tool_use_id"]?.string }
                let unanswered = pendingToolUseIDs.filter { !results.contains($0) }
                if role != "user" || !unanswered.isEmpty {
                    return .init(
                        "messages.\(index): `tool_use` ids were found without `tool_result` blocks immediately after: \(unanswered.joined(separator: ", ")). Each `tool_use` block must have a corresponding `tool_result` block in the next message.")
                }
            }
            if let late = blocks.dropFirst(blocks.prefix { $0["type"] == "tool_result" }.count).firstIndex(where: { $0["type"] == "tool_result" }) {
                return .init("messages.\(index).content.\(late): tool_result blocks must come before any other content in a user message")
            }

            pendingToolUseIDs = []
            for (blockIndex, block) in blocks.enumerated() where block["type"] == "tool_use" {
                let id = block["id"]?.string ?? ""
                guard !id.isEmpty, id.unicodeScalars.allSatisfy(isAllowedIDCharacter) else {
                    return .init("messages.\(index).content.\(blockIndex).tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
                }
                guard seenToolUseIDs.insert(id).inserted else {
                    return .init("messages.\(index).content.\(blockIndex): `tool_use` ids must be unique")
                }
                if !isFinalAssistant { pendingToolUseIDs.append(id) }
            }
        }
        return nil
    }

    /// Input and output must fit the context window (the stub's token estimate stands in for the
    /// real tokenizer).
    static func checkContext(_ conversation: StubConversation) -> StubValidationError? {
        let input = conversation.inputTokens
        let output = conversation.maxTokens ?? 0
        guard input + output > contextWindow else { return nil }
        return .init("input length and `max_tokens` exceed context limit: \(input) + \(output) > \(contextWindow), decrease input length or `max_tokens` and try again")
    }

    static func isAllowedIDCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
    }

    /// The stub's own reading of "looks like an email address or a phone number".
    static func looksLikeContactDetails(_ text: String) -> Bool {
        if let at = text.firstIndex(of: "@"), text[text.index(after: at)...].contains(".") { return true }
        let digits = text.filter(\.isNumber).count
        return digits >= 7 && text.allSatisfy { $0.isNumber || " +-().".contains($0) }
    }
}
