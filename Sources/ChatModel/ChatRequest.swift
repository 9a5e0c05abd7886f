/// A provider-neutral chat request: what an agent asks for, independent of who answers.
///
/// The model is not part of the request: the gateway sends the same request to each model of an
/// agent's fallback chain. Its JSON form (see `ChatRequest+JSON.swift`) follows the OpenAI
/// Chat Completions shape, which is what most callers already speak.
public struct ChatRequest: Sendable, Equatable {
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice?
    /// `false` asks for at most one tool call per turn.
    public var parallelToolCalls: Bool?
    /// Stop sequences.
    public var stop: [String]
    public var temperature: Double?
    public var topP: Double?
    /// Upper bound on generated tokens; adapters that must always send one fall back to a default.
    public var maxTokens: Int?
    public var frequencyPenalty: Double?
    public var presencePenalty: Double?
    public var responseFormat: ResponseFormat?
    /// An end-user identifier passed on for the provider's abuse monitoring.
    public var user: String?
    public var seed: Int?

    public init(
        messages: [ChatMessage],
        tools: [ToolDefinition] = [],
        toolChoice: ToolChoice? = nil,
        parallelToolCalls: Bool? = nil,
        stop: [String] = [],
        temperature: Double? = nil,
        topP: Double? = nil,
        maxTokens: Int? = nil,
        frequencyPenalty: Double? = nil,
        presencePenalty: Double? = nil,
        responseFormat: ResponseFormat? = nil,
        user: String? = nil,
        seed: Int? = nil
    ) {
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.stop = stop
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.responseFormat = responseFormat
        self.user = user
        self.seed = seed
    }
}

public enum ChatRole: String, Sendable, Codable, CaseIterable {
    case system, user, assistant, tool
}

/// One turn of the conversation.
public struct ChatMessage: Sendable, Equatable {
    public var role: ChatRole
    public var content: [ContentPart]
    /// Tool calls the assistant made in this turn (assistant messages only).
    public var toolCalls: [ToolCall]
    /// The call this message answers (tool messages only).
    public var toolCallID: String?
    /// Optional participant name (OpenAI's `name`).
    public var name: String?

    public init(
        role: ChatRole,
        content: [ContentPart],
        toolCalls: [ToolCall] = [],
        toolCallID: String? = nil,
        name: String? = nil
    ) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
    }

    public static func system(_ text: String) -> ChatMessage {
        ChatMessage(role: .system, content: [.text(text)])
    }

    public static func user(_ text: String) -> ChatMessage {
        ChatMessage(role: .user, content: [.text(text)])
    }

    public static func user(_ parts: [ContentPart]) -> ChatMessage {
        ChatMessage(role: .user, content: parts)
    }

    public static func assistant(_ text: String?, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: text.map { [.text($0)] } ?? [], toolCalls: toolCalls)
    }

    public static func tool(callID: String, content: String) -> ChatMessage {
        ChatMessage(role: .tool, content: [.text(content)], toolCallID: callID)
    }

    /// The text parts joined, ignoring images.
    public var text: String {
        content.compactMap { part in
            if case .text(let text) = part { return text }
            return nil
        }.joined()
    }
}

/// A piece of message content.
public enum ContentPart: Sendable, Equatable {
    case text(String)
    /// An image by `https:` URL or `data:` URL (`data:image/png;base64,…`).
    case image(url: String, detail: ImageDetail? = nil)
}

/// OpenAI's image fidelity hint; other providers ignore it.
public enum ImageDetail: String, Sendable, Codable {
    case auto, low, high
}

/// A function the model may call.
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// JSON Schema of the arguments object.
    public var parameters: JSONValue

    public init(name: String, description: String? = nil, parameters: JSONValue = ["type": "object", "properties": [:]]) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// Whether and which tool the model must call.
public enum ToolChoice: Sendable, Equatable {
    /// The model decides.
    case auto
    /// No tool calls.
    case none
    /// At least one tool call, any tool.
    case required
    /// Exactly this tool.
    case tool(name: String)
}

/// Constraints on the shape of the reply.
public enum ResponseFormat: Sendable, Equatable {
    case text
    /// Any valid JSON object.
    case jsonObject
    /// JSON matching a schema.
    case jsonSchema(name: String, schema: JSONValue, strict: Bool?)
}

/// A call the model made: `arguments` is the JSON text of the arguments object, as OpenAI sends it.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
