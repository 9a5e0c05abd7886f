// Neutral request → Chat Completions body.

extension OpenAIChatAdapter {
    public func makeBody(for request: ChatRequest, model: String, options: ChatCallOptions) throws(ProviderError) -> TranslatedBody {
        var body = JSONObjectBuilder()
        body["model"] = .string(model)
        body["messages"] = .array(request.messages.map(Self.message))
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(Self.tool))
            // OpenAI rejects tool_choice and parallel_tool_calls when no tools are offered.
            body["tool_choice"] = request.toolChoice.map(Self.toolChoice)
            body["parallel_tool_calls"] = request.parallelToolCalls.map(JSONValue.bool)
        }
        if !request.stop.isEmpty {
            body["stop"] = .array(request.stop.map(JSONValue.string))
        }
        body["temperature"] = request.temperature.map(JSONValue.double)
        body["top_p"] = request.topP.map(JSONValue.double)
        let maxTokensKey = dialect == .openAI ? "max_completion_tokens" : "max_tokens"
        body[maxTokensKey] = request.maxTokens.map(JSONValue.int)
        body["frequency_penalty"] = request.frequencyPenalty.map(JSONValue.double)
        body["presence_penalty"] = request.presencePenalty.map(JSONValue.double)
        body["response_format"] = request.responseFormat.map(Self.responseFormat)
        body["user"] = request.user.map(JSONValue.string)
        body["seed"] = request.seed.map(JSONValue.int)
        return TranslatedBody(json: body.value)
    }

    static func message(_ message: ChatMessage) -> JSONValue {
        var fields = JSONObjectBuilder()
        fields["role"] = .string(message.role.rawValue)
        switch message.role {
        case .system, .tool:
            // Both take text only (OpenAI accepts text parts here, but a string is what every
            // compatible server understands).
            fields["content"] = .string(message.text)
        case .user:
            fields["content"] = content(message.content)
        case .assistant:
            // `null` content is how OpenAI writes an assistant turn that only called tools.
            fields["content"] = message.content.isEmpty ? .null : content(message.content)
        }
        if !message.toolCalls.isEmpty {
            fields["tool_calls"] = .array(message.toolCalls.map(toolCall))
        }
        fields["tool_call_id"] = message.toolCallID.map(JSONValue.string)
        fields["name"] = message.name.map(JSONValue.string)
        return fields.value
    }

    /// A lone text part as a plain string; anything else as an array of parts.
    static func content(_ parts: [ContentPart]) -> JSONValue {
        if parts.count == 1, case .text(let text) = parts[0] {
            return .string(text)
        }
        return .array(parts.map { part in
            switch part {
            case .text(let text):
                return ["type": "text", "text": .string(text)]
            case .image(let url, let detail):
                var image = JSONObjectBuilder()
                image["url"] = .string(url)
                image["detail"] = detail.map { .string($0.rawValue) }
                return ["type": "image_url", "image_url": image.value]
            }
        })
    }

    static func toolCall(_ call: ToolCall) -> JSONValue {
        [
            "id": .string(call.id),
            "type": "function",
            "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
        ]
    }

    static func tool(_ tool: ToolDefinition) -> JSONValue {
        var function = JSONObjectBuilder()
        function["name"] = .string(tool.name)
        function["description"] = tool.description.map(JSONValue.string)
        function["parameters"] = tool.parameters
        return ["type": "function", "function": function.value]
    }

    static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: return "auto"
        case .none: return "none"
        case .required: return "required"
        case .tool(let name): return ["type": "function", "function": ["name": .string(name)]]
        }
    }

    static func responseFormat(_ format: ResponseFormat) -> JSONValue {
        switch format {
        case .text:
            return ["type": "text"]
        case .jsonObject:
            return ["type": "json_object"]
        case .jsonSchema(let name, let schema, let strict):
            var jsonSchema = JSONObjectBuilder()
            jsonSchema["name"] = .string(name)
            jsonSchema["schema"] = schema
            jsonSchema["strict"] = strict.map(JSONValue.bool)
            return ["type": "json_schema", "json_schema": jsonSchema.value]
        }
    }
}
