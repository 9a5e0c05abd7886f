import Foundation

// The neutral request's JSON form, used where requests are stored (the jobs table) or accepted
// over HTTP. It is the OpenAI Chat Completions shape minus `model`, so callers that already
// build OpenAI bodies can reuse them: `content` is a string or an array of `text` / `image_url`
// parts, tool calls are `{"id","type":"function","function":{"name","arguments"}}`, `stop` is a
// string or an array. Unknown keys are ignored here; the HTTP layer decides whether to reject them.

extension ChatRequest: Codable {
    private enum CodingKeys: String, CodingKey {
        case messages, tools, stop, temperature, user, seed
        case toolChoice = "tool_choice"
        case parallelToolCalls = "parallel_tool_calls"
        case topP = "top_p"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case responseFormat = "response_format"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        messages = try container.decode([ChatMessage].self, forKey: .messages)
        tools = try container.decodeIfPresent([ToolDefinition].self, forKey: .tools) ?? []
        toolChoice = try container.decodeIfPresent(ToolChoice.self, forKey: .toolChoice)
        parallelToolCalls = try container.decodeIfPresent(Bool.self, forKey: .parallelToolCalls)
        if let single = try? container.decodeIfPresent(String.self, forKey: .stop) {
            stop = [single]
        } else {
            stop = try container.decodeIfPresent([String].self, forKey: .stop) ?? []
        }
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try container.decodeIfPresent(Double.self, forKey: .topP)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens)
            ?? container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        frequencyPenalty = try container.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        presencePenalty = try container.decodeIfPresent(Double.self, forKey: .presencePenalty)
        responseFormat = try container.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        seed = try container.decodeIfPresent(Int.self, forKey: .seed)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(messages, forKey: .messages)
        if !tools.isEmpty { try container.encode(tools, forKey: .tools) }
        try container.encodeIfPresent(toolChoice, forKey: .toolChoice)
        try container.encodeIfPresent(parallelToolCalls, forKey: .parallelToolCalls)
        if !stop.isEmpty { try container.encode(stop, forKey: .stop) }
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(topP, forKey: .topP)
        try container.encodeIfPresent(maxTokens, forKey: .maxTokens)
        try container.encodeIfPresent(frequencyPenalty, forKey: .frequencyPenalty)
        try container.encodeIfPresent(presencePenalty, forKey: .presencePenalty)
        try container.encodeIfPresent(responseFormat, forKey: .responseFormat)
        try container.encodeIfPresent(user, forKey: .user)
        try container.encodeIfPresent(seed, forKey: .seed)
    }
}

extension ChatMessage: Codable {
    private enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let roleText = try container.decode(String.self, forKey: .role)
        // OpenAI's `developer` role is its newer name for system instructions.
        guard let role = ChatRole(rawValue: roleText == "developer" ? "system" : roleText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .role, in: container,
                debugDescription: "role must be one of system, user, assistant, tool")
        }
        self.role = role
        if try container.decodeNil(forKey: .content) {
            content = []
        } else if let text = try? container.decode(String.self, forKey: .content) {
            content = [.text(text)]
        } else {
            content = try container.decodeIfPresent([ContentPart].self, forKey: .content) ?? []
        }
        toolCalls = try container.decodeIfPresent([ToolCall].self, forKey: .toolCalls) ?? []
        toolCallID = try container.decodeIfPresent(String.self, forKey: .toolCallID)
        name = try container.decodeIfPresent(String.self, forKey: .name)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role.rawValue, forKey: .role)
        switch content.count {
        case 0:
            try container.encodeNil(forKey: .content)
        case 1:
            if case .text(let text) = content[0] {
                try container.encode(text, forKey: .content)
            } else {
                try container.encode(content, forKey: .content)
            }
        default:
            try container.encode(content, forKey: .content)
        }
        if !toolCalls.isEmpty { try container.encode(toolCalls, forKey: .toolCalls) }
        try container.encodeIfPresent(toolCallID, forKey: .toolCallID)
        try container.encodeIfPresent(name, forKey: .name)
    }
}

extension ContentPart: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, text
        case imageURL = "image_url"
    }

    private struct ImageURL: Codable {
        var url: String
        var detail: ImageDetail?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "text":
            self = .text(try container.decode(String.self, forKey: .text))
        case "image_url":
            let image = try container.decode(ImageURL.self, forKey: .imageURL)
            self = .image(url: image.url, detail: image.detail)
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unsupported content part type '\(other)': expected text or image_url")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .text(let text):
            try container.encode("text", forKey: .type)
            try container.encode(text, forKey: .text)
        case .image(let url, let detail):
            try container.encode("image_url", forKey: .type)
            try container.encode(ImageURL(url: url, detail: detail), forKey: .imageURL)
        }
    }
}

extension ToolDefinition: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, function
    }

    private struct Function: Codable {
        var name: String
        var description: String?
        var parameters: JSONValue?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let function = try container.decode(Function.self, forKey: .function)
        self.init(
            name: function.name, description: function.description,
            parameters: function.parameters ?? ["type": "object", "properties": [:]])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("function", forKey: .type)
        try container.encode(Function(name: name, description: description, parameters: parameters), forKey: .function)
    }
}

extension ToolChoice: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, function
    }

    private struct Function: Codable {
        var name: String
    }

    public init(from decoder: any Decoder) throws {
        if let word = try? decoder.singleValueContainer().decode(String.self) {
            switch word {
            case "auto": self = .auto
            case "none": self = .none
            case "required": self = .required
            default:
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath,
                    debugDescription: "tool_choice must be auto, none, required or {\"type\":\"function\",…}"))
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = .tool(name: try container.decode(Function.self, forKey: .function).name)
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .auto, .none, .required:
            var container = encoder.singleValueContainer()
            try container.encode(self == .auto ? "auto" : self == .none ? "none" : "required")
        case .tool(let name):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("function", forKey: .type)
            try container.encode(Function(name: name), forKey: .function)
        }
    }
}

extension ResponseFormat: Codable {
    private enum CodingKeys: String, CodingKey {
        case type
        case jsonSchema = "json_schema"
    }

    private struct Schema: Codable {
        var name: String
        var schema: JSONValue?
        var strict: Bool?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "text": self = .text
        case "json_object": self = .jsonObject
        case "json_schema":
            let schema = try container.decode(Schema.self, forKey: .jsonSchema)
            self = .jsonSchema(name: schema.name, schema: schema.schema ?? [:], strict: schema.strict)
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unsupported response_format type '\(other)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .text:
            try container.encode("text", forKey: .type)
        case .jsonObject:
            try container.encode("json_object", forKey: .type)
        case .jsonSchema(let name, let schema, let strict):
            try container.encode("json_schema", forKey: .type)
            try container.encode(Schema(name: name, schema: schema, strict: strict), forKey: .jsonSchema)
        }
    }
}

extension ToolCall: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, type, function, name, arguments
    }

    private struct Function: Codable {
        var name: String
        var arguments: String?
    }

    /// Reads OpenAI's nested `{"id","type":"function","function":{"name","arguments"}}` and also a
    /// flat `{"id","name","arguments"}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        if let function = try container.decodeIfPresent(Function.self, forKey: .function) {
            name = function.name
            arguments = function.arguments ?? "{}"
        } else {
            name = try container.decode(String.self, forKey: .name)
            arguments = try container.decodeIfPresent(String.self, forKey: .arguments) ?? "{}"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("function", forKey: .type)
        try container.encode(Function(name: name, arguments: arguments), forKey: .function)
    }
}
