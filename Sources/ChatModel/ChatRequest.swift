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
    /// How hard a reasoning model thinks: OpenAI `reasoning_effort`, Anthropic `thinking`.
    public var reasoning: ReasoningControl?
    /// How long the answer should be (OpenAI gpt-5 `verbosity`: low, medium, high).
    public var verbosity: String?
    /// Groups requests that share a long prefix so the provider routes them to the same prompt
    /// cache (OpenAI `prompt_cache_key`).
    public var promptCacheKey: String?
    /// Sample from the k most likely tokens only (Anthropic and most open-model servers).
    public var topK: Int?

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
        seed: Int? = nil,
        reasoning: ReasoningControl? = nil,
        verbosity: String? = nil,
        promptCacheKey: String? = nil,
        topK: Int? = nil
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
        self.reasoning = reasoning
        self.verbosity = verbosity
        self.promptCacheKey = promptCacheKey
        self.topK = topK
    }
}

/// The neutral reasoning control: an effort, a token budget, or both. Each adapter maps it to
/// its provider's control (OpenAI `reasoning_effort`, Anthropic `thinking.budget_tokens`) and
/// derives the one it needs from the other when only one is given.
public struct ReasoningControl: Sendable, Equatable {
    public var effort: ReasoningEffort?
    /// Tokens the model may spend thinking (Anthropic: at least 1,024 and below `max_tokens`).
    public var budgetTokens: Int?

    public init(effort: ReasoningEffort? = nil, budgetTokens: Int? = nil) {
        self.effort = effort
        self.budgetTokens = budgetTokens
    }
}

/// OpenAI's effort levels (`none` turns reasoning off where the model allows it).
public enum ReasoningEffort: String, Sendable, Equatable, CaseIterable {
    case none, minimal, low, medium, high

    /// The thinking budget an effort stands for, for providers that take a budget (Anthropic).
    public var budgetTokens: Int? {
        switch self {
        case .none: return nil
        case .minimal, .low: return 1024
        case .medium: return 4096
        case .high: return 16384
        }
    }

    /// The effort closest to a token budget, for providers that take an effort (OpenAI).
    public init(budgetTokens: Int) {
        switch budgetTokens {
        case ..<2048: self = .low
        case ..<8192: self = .medium
        default: self = .high
        }
    }
}

/// A prompt-cache breakpoint (Anthropic `cache_control`): the prompt up to and including the
/// marked part is cached.
public struct CacheControl: Sendable, Equatable {
    /// `5m` (the default) or `1h`.
    public var ttl: String?

    public init(ttl: String? = nil) {
        self.ttl = ttl
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
    /// A prompt-cache breakpoint after this message (its last content block, for Anthropic).
    public var cacheControl: CacheControl?

    public init(
        role: ChatRole,
        content: [ContentPart],
        toolCalls: [ToolCall] = [],
        toolCallID: String? = nil,
        name: String? = nil,
        cacheControl: CacheControl? = nil
    ) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
        self.cacheControl = cacheControl
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
    /// A document (a PDF) by `data:` URL (`data:application/pdf;base64,…`) or `https:` URL.
    case file(url: String, filename: String? = nil)
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
    /// The arguments must match `parameters` exactly (OpenAI structured outputs for tools).
    public var strict: Bool?
    /// A prompt-cache breakpoint after this tool's definition (Anthropic).
    public var cacheControl: CacheControl?

    public init(
        name: String, description: String? = nil, parameters: JSONValue = ["type": "object", "properties": [:]], strict: Bool? = nil,
        cacheControl: CacheControl? = nil
    ) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
        self.cacheControl = cacheControl
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
