/// A provider-neutral reply.
public struct ChatResponse: Sendable, Equatable {
    /// The generated text; `nil` when the model produced none (e.g. only tool calls).
    public var text: String?
    public var toolCalls: [ToolCall]
    /// Why generation stopped, normalised; `nil` when the provider sent no reason or one we do not know.
    public var finishReason: FinishReason?
    /// The reason exactly as the provider sent it (`end_turn`, `eos_token`…), for diagnosis.
    public var providerFinishReason: String?
    /// The stop sequence that ended generation, when the provider says which.
    public var stopSequence: String?
    /// A refusal message (OpenAI `message.refusal`), separate from normal text.
    public var refusal: String?
    /// Token usage; `nil` means the provider did not report it (unknown, never zero).
    public var usage: TokenUsage?
    /// The provider sent token counts no usage row can hold (negative, beyond 2^31-1, not whole):
    /// they were dropped, so `usage` is partial or nil although the call was surely billed.
    public var usageInvalid: Bool
    /// The model name the provider reports, which may be more specific than the one requested.
    public var model: String?
    /// The provider's id for this completion (`chatcmpl-…`, `msg_…`).
    public var responseID: String?
    /// The provider's request id header (`x-request-id`, `request-id`), quoted in support tickets.
    public var requestID: String?
    /// Things the adapter could not translate and left out (e.g. penalties for Anthropic).
    public var warnings: [String]

    public init(
        text: String? = nil,
        toolCalls: [ToolCall] = [],
        finishReason: FinishReason? = nil,
        providerFinishReason: String? = nil,
        stopSequence: String? = nil,
        refusal: String? = nil,
        usage: TokenUsage? = nil,
        usageInvalid: Bool = false,
        model: String? = nil,
        responseID: String? = nil,
        requestID: String? = nil,
        warnings: [String] = []
    ) {
        self.text = text
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.providerFinishReason = providerFinishReason
        self.stopSequence = stopSequence
        self.refusal = refusal
        self.usage = usage
        self.usageInvalid = usageInvalid
        self.model = model
        self.responseID = responseID
        self.requestID = requestID
        self.warnings = warnings
    }
}

/// Why the model stopped, in OpenAI's vocabulary (the one most callers know).
public enum FinishReason: String, Sendable, Codable, CaseIterable {
    /// Natural end, or a stop sequence.
    case stop
    /// `max_tokens` or the context window ran out: the text is truncated.
    case length
    /// The model wants tool results before continuing.
    case toolCalls = "tool_calls"
    /// The provider's safety system filtered or the model refused.
    case contentFilter = "content_filter"
}

/// Tokens a call consumed.
///
/// `inputTokens` counts every prompt token, including the ones served from or written to a
/// prompt cache (OpenAI reports it this way; Anthropic's `input_tokens` excludes cache reads and
/// writes, so the adapter adds them back). Cost calculation can then price
/// `inputTokens - cachedInputTokens - cacheCreationInputTokens` at the normal rate.
public struct TokenUsage: Sendable, Equatable, Codable {
    public var inputTokens: Int
    public var outputTokens: Int
    /// Prompt tokens read from the provider's cache; `nil` when the provider does not say.
    public var cachedInputTokens: Int?
    /// Prompt tokens written to the cache (Anthropic bills these above the normal rate).
    public var cacheCreationInputTokens: Int?
    /// Output tokens spent on hidden reasoning, already included in `outputTokens`.
    public var reasoningTokens: Int?

    public init(
        inputTokens: Int,
        outputTokens: Int,
        cachedInputTokens: Int? = nil,
        cacheCreationInputTokens: Int? = nil,
        reasoningTokens: Int? = nil
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.reasoningTokens = reasoningTokens
    }

    /// Saturating: a hostile count must not trap the process that adds it.
    public var totalTokens: Int {
        let (sum, overflow) = inputTokens.addingReportingOverflow(outputTokens)
        return overflow ? Int.max : sum
    }

    private enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case cacheCreationInputTokens = "cache_creation_input_tokens"
        case reasoningTokens = "reasoning_tokens"
    }
}
