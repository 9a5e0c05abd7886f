import ChatModel
import Foundation
import JSON

/// What a `/v1` request's `model` names.
enum FacadeTarget: Sendable, Equatable {
    /// `agent:<name>`: the active agent with that name.
    case agentName(String)
    /// `agent:<uuid>`.
    case agentID(UUID)
    /// A plain catalog model id: the job runs on that model alone.
    case model(String)

    static let agentPrefix = "agent:"

    init(_ model: String) {
        guard model.hasPrefix(Self.agentPrefix) else {
            self = .model(model)
            return
        }
        let rest = String(model.dropFirst(Self.agentPrefix.count))
        if let id = UUID(uuidString: rest) { self = .agentID(id) } else { self = .agentName(rest) }
    }
}

/// A `/v1` request translated to the queue's terms: the neutral chat request (the job's
/// `request`), what it names in `model`, and how the caller wants the answer.
struct FacadeCall: Sendable, Equatable {
    var model: String
    var request: ChatRequest
    var stream: Bool
    /// OpenAI `stream_options.include_usage`: a last chunk with the usage.
    var includeUsage: Bool = false
    /// Which OpenAI object answers an OpenAI-format call.
    var openAIObject: OpenAIObject = .chatCompletion
    /// Responses `previous_response_id`: the job whose conversation this call continues.
    var previousResponseJobID: Int64?
    /// Responses `instructions`, echoed in the answer.
    var instructions: String?

    enum OpenAIObject: Sendable, Equatable {
        /// `chat.completion` (`/v1/chat/completions`).
        case chatCompletion
        /// `response` (`/v1/responses`).
        case response
    }

    var target: FacadeTarget { FacadeTarget(model) }
}

/// A succeeded job's `result` document (the gateway contract), read for the `/v1` answers.
struct FacadeResult: Sendable, Equatable {
    struct ToolCall: Sendable, Equatable {
        var id: String
        var name: String
        var arguments: String
    }

    struct Usage: Sendable, Equatable {
        /// Every prompt token, cache reads and writes included.
        var inputTokens: Int
        var outputTokens: Int
        var cachedInputTokens: Int
        var cacheCreationInputTokens: Int
        var reasoningTokens: Int
    }

    var content: String?
    var toolCalls: [ToolCall]
    /// The neutral finish reason: stop, length, tool_calls, content_filter (or a provider's own).
    var finishReason: String?
    /// The stop sequence that ended the answer, when the provider says which (Anthropic does).
    var stopSequence: String?
    var refusal: String?
    /// What the adapters dropped or adapted (`x-switchboard-warnings`).
    var warnings: [String] = []
    /// Provider calls the job made (`x-switchboard-attempts`); nil when the result does not say.
    var attempts: Int?
    var model: String
    var provider: String
    var fallbackDepth: Int
    var usage: Usage?
    /// Exact USD as the worker wrote it (a JSON number's text); nil when the price is unknown.
    var costText: String?

    init(
        content: String?, toolCalls: [ToolCall] = [], finishReason: String?, stopSequence: String? = nil, refusal: String? = nil,
        model: String, provider: String, fallbackDepth: Int = 0, usage: Usage?, costText: String?
    ) {
        self.content = content
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.stopSequence = stopSequence
        self.refusal = refusal
        self.model = model
        self.provider = provider
        self.fallbackDepth = fallbackDepth
        self.usage = usage
        self.costText = costText
    }

    /// nil when the document is not a result (never written by the worker).
    init?(json text: String) {
        guard let document = JSONValue.parse(text), document.isObject, let model = document["model"]?.stringValue else { return nil }
        func int(_ value: JSONValue?) -> Int { value?.intValue ?? 0 }
        self.content = document["content"]?.stringValue
        self.toolCalls = (document["tool_calls"]?.arrayValue ?? []).compactMap { call in
            guard let id = call["id"]?.stringValue, let name = call["name"]?.stringValue else { return nil }
            return ToolCall(id: id, name: name, arguments: call["arguments"]?.stringValue ?? "{}")
        }
        self.finishReason = document["finish_reason"]?.stringValue
        self.stopSequence = document["stop_sequence"]?.stringValue
        self.refusal = document["refusal"]?.stringValue
        self.warnings = (document["warnings"]?.arrayValue ?? []).compactMap(\.stringValue)
        self.attempts = document["attempts"]?.intValue
        self.model = model
        self.provider = document["provider"]?.stringValue ?? ""
        self.fallbackDepth = int(document["fallback_depth"])
        if let usage = document["usage"], usage.isObject {
            self.usage = Usage(
                inputTokens: int(usage["input_tokens"]), outputTokens: int(usage["output_tokens"]),
                cachedInputTokens: int(usage["cached_input_tokens"]),
                cacheCreationInputTokens: int(usage["cache_creation_input_tokens"]),
                reasoningTokens: int(usage["reasoning_tokens"]))
        } else {
            self.usage = nil
        }
        if case .number(let text)? = document["cost"] { self.costText = text } else { self.costText = nil }
    }
}

/// A failed or cancelled job's `error` document: its code and message.
struct FacadeJobError: Sendable, Equatable {
    var code: String
    var message: String

    init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    init(json text: String?) {
        let document = text.flatMap { JSONValue.parse($0) }
        code = document?["code"]?.stringValue ?? "unknown"
        message = document?["message"]?.stringValue ?? "no details"
    }
}
