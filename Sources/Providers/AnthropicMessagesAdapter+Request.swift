import Foundation

// Neutral request → Messages body.
//
// The neutral (OpenAI-shaped) conversation differs from Messages in ways that need rewriting:
// system turns become the top-level `system`; a `tool` turn becomes a user turn holding a
// `tool_result` block; assistant tool calls become `tool_use` blocks whose `input` is an object
// rather than JSON text; and turns of the same role that end up adjacent are merged, since
// Messages alternates user and assistant.

extension AnthropicMessagesAdapter {
    public func makeBody(for request: ChatRequest, model: String, options: ChatCallOptions) throws(ProviderError) -> TranslatedBody {
        var warnings: [String] = []
        if let temperature = request.temperature, !(0...1).contains(temperature) {
            throw ProviderError(
                .unsupportedParameter,
                message: "temperature \(temperature) is outside Anthropic's range 0–1",
                detectedLocally: true)
        }

        var body = JSONObjectBuilder()
        body["model"] = .string(model)
        body["max_tokens"] = .int(request.maxTokens ?? options.defaultMaxTokens ?? Self.fallbackMaxTokens)

        let systemText = request.messages.filter { $0.role == .system }.map(\.text).filter { !$0.isEmpty }
        if !systemText.isEmpty {
            body["system"] = .string(systemText.joined(separator: "\n\n"))
        }
        if request.messages.contains(where: { $0.role == .system && $0.content.contains(where: \.isImage) }) {
            warnings.append("images in system messages are not supported by Anthropic; dropped")
        }
        if request.messages.contains(where: { $0.name != nil }) {
            warnings.append("message name is not supported by Anthropic; dropped")
        }
        body["messages"] = .array(try Self.conversation(request.messages).map { turn in
            ["role": .string(turn.role), "content": Self.content(turn.blocks)]
        })

        if !request.stop.isEmpty {
            body["stop_sequences"] = .array(request.stop.map(JSONValue.string))
        }
        body["temperature"] = request.temperature.map(JSONValue.double)
        body["top_p"] = request.topP.map(JSONValue.double)
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(Self.tool))
            body["tool_choice"] = Self.toolChoice(request.toolChoice, parallel: request.parallelToolCalls)
        }
        if let user = request.user {
            body["metadata"] = ["user_id": .string(user)]
        }

        if request.frequencyPenalty != nil {
            warnings.append("frequency_penalty is not supported by Anthropic; dropped")
        }
        if request.presencePenalty != nil {
            warnings.append("presence_penalty is not supported by Anthropic; dropped")
        }
        if request.seed != nil {
            warnings.append("seed is not supported by Anthropic; dropped")
        }
        switch request.responseFormat {
        case .jsonObject?, .jsonSchema?:
            warnings.append("response_format is not supported by Anthropic Messages; dropped (ask for JSON in the prompt)")
        case .text?, nil:
            break
        }
        return TranslatedBody(json: body.value, warnings: warnings)
    }

    struct Turn {
        var role: String
        var blocks: [JSONValue]
    }

    /// Non-system messages as alternating user/assistant turns of content blocks.
    static func conversation(_ messages: [ChatMessage]) throws(ProviderError) -> [Turn] {
        var turns: [Turn] = []
        for message in messages where message.role != .system {
            let turn: Turn
            switch message.role {
            case .system:
                continue
            case .user:
                turn = Turn(role: "user", blocks: try contentBlocks(message.content))
            case .assistant:
                var blocks = try contentBlocks(message.content)
                for call in message.toolCalls {
                    blocks.append(try toolUseBlock(call))
                }
                turn = Turn(role: "assistant", blocks: blocks)
            case .tool:
                turn = Turn(role: "user", blocks: [try toolResultBlock(message)])
            }
            if let last = turns.last, last.role == turn.role {
                turns[turns.count - 1].blocks += turn.blocks
            } else {
                turns.append(turn)
            }
        }
        // Messages requires tool results to open their user turn; merging a tool turn with a
        // following user turn keeps them first already, this also covers the reverse order.
        for index in turns.indices where turns[index].role == "user" {
            let results = turns[index].blocks.filter(isToolResult)
            if !results.isEmpty {
                turns[index].blocks = results + turns[index].blocks.filter { !isToolResult($0) }
            }
        }
        return turns
    }

    /// One block as a plain string when it is lone text, otherwise the block array.
    static func content(_ blocks: [JSONValue]) -> JSONValue {
        if blocks.count == 1, blocks[0]["type"] == "text", let text = blocks[0]["text"] {
            return text
        }
        return .array(blocks)
    }

    static func isToolResult(_ block: JSONValue) -> Bool {
        block["type"] == "tool_result"
    }

    static func contentBlocks(_ parts: [ContentPart]) throws(ProviderError) -> [JSONValue] {
        var blocks: [JSONValue] = []
        for part in parts {
            if let block = try contentBlock(part) { blocks.append(block) }
        }
        return blocks
    }

    /// Text and image parts; empty text is dropped because Messages rejects empty text blocks.
    static func contentBlock(_ part: ContentPart) throws(ProviderError) -> JSONValue? {
        switch part {
        case .text(let text):
            return text.isEmpty ? nil : ["type": "text", "text": .string(text)]
        case .image(let url, _):
            return ["type": "image", "source": try imageSource(url)]
        }
    }

    /// `data:` URLs become base64 sources, web URLs become url sources.
    static func imageSource(_ url: String) throws(ProviderError) -> JSONValue {
        if url.hasPrefix("data:") {
            let rest = url.dropFirst("data:".count)
            guard let comma = rest.firstIndex(of: ","), rest[..<comma].hasSuffix(";base64") else {
                throw ProviderError(
                    .unsupportedParameter, message: "image data URLs must be base64-encoded (data:<type>;base64,…)",
                    detectedLocally: true)
            }
            let mediaType = String(rest[..<comma].dropLast(";base64".count))
            return ["type": "base64", "media_type": .string(mediaType), "data": .string(String(rest[rest.index(after: comma)...]))]
        }
        return ["type": "url", "url": .string(url)]
    }

    /// `arguments` JSON text → `input` object.
    static func toolUseBlock(_ call: ToolCall) throws(ProviderError) -> JSONValue {
        let trimmed = call.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let input: JSONValue
        if trimmed.isEmpty {
            input = [:]
        } else if let parsed = JSONValue.parse(trimmed), parsed.objectValue != nil {
            input = parsed
        } else {
            throw ProviderError(
                .invalidRequest,
                message: "arguments of tool call \(call.id) (\(call.name)) are not a JSON object",
                detectedLocally: true)
        }
        return ["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input]
    }

    static func toolResultBlock(_ message: ChatMessage) throws(ProviderError) -> JSONValue {
        guard let callID = message.toolCallID else {
            throw ProviderError(.invalidRequest, message: "a tool message has no tool_call_id", detectedLocally: true)
        }
        let content: JSONValue
        if message.content.contains(where: \.isImage) {
            content = .array(try contentBlocks(message.content))
        } else {
            content = .string(message.text)
        }
        return ["type": "tool_result", "tool_use_id": .string(callID), "content": content]
    }

    static func tool(_ tool: ToolDefinition) -> JSONValue {
        var fields = JSONObjectBuilder()
        fields["name"] = .string(tool.name)
        fields["description"] = tool.description.map(JSONValue.string)
        fields["input_schema"] = tool.parameters
        return fields.value
    }

    /// `required` is Anthropic's `any`; `parallel: false` is its `disable_parallel_tool_use`.
    static func toolChoice(_ choice: ToolChoice?, parallel: Bool?) -> JSONValue? {
        var fields = JSONObjectBuilder()
        switch choice {
        case nil:
            guard parallel == false else { return nil }
            fields["type"] = "auto"
        case .auto?:
            fields["type"] = "auto"
        case .none?:
            // `none` takes no parallelism flag.
            return ["type": "none"]
        case .required?:
            fields["type"] = "any"
        case .tool(let name)?:
            fields["type"] = "tool"
            fields["name"] = .string(name)
        }
        if parallel == false {
            fields["disable_parallel_tool_use"] = true
        }
        return fields.value
    }
}

extension ContentPart {
    var isImage: Bool {
        if case .image = self { return true }
        return false
    }
}
