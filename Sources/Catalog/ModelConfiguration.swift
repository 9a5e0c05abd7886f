/// An agent's model configuration: the `agents.model_config` JSON (shape documented in
/// migrations/0002): the primary model, sampling parameters and an ordered fallback chain.
///
/// nil sampling parameters mean "the model's / provider's default".
public struct ModelConfiguration: Sendable, Equatable, Hashable {
    /// `llm_models.model_id` of the primary model.
    public var modelID: String
    /// Provider of the primary model. Informational: the gateway takes each model's provider from the
    /// catalog; validation only checks it agrees.
    public var provider: String?
    public var temperature: Double?
    public var maxTokens: Int?
    public var topP: Double?
    public var frequencyPenalty: Double?
    public var presencePenalty: Double?
    /// Models tried in order when the primary fails (cross-provider allowed).
    public var fallbackModelIDs: [String]
    /// A streamed call's deadline for its first token, in seconds (nil: the gateway's
    /// `GATEWAY_STREAM_FIRST_TOKEN_SECONDS`). Before the first token a missed deadline fails over
    /// down the chain; a reasoning model that thinks for a minute needs a longer one.
    public var streamFirstTokenSeconds: Double?
    /// A streamed call's longest gap between tokens after the first, in seconds (nil: the
    /// gateway's `GATEWAY_STREAM_STALL_SECONDS`); a missed one ends the stream with an error event.
    public var streamStallSeconds: Double?

    /// Longest fallback chain a configuration may have.
    public static let maxFallbackCount = 5

    public init(
        modelID: String,
        provider: String? = nil,
        temperature: Double? = nil,
        maxTokens: Int? = nil,
        topP: Double? = nil,
        frequencyPenalty: Double? = nil,
        presencePenalty: Double? = nil,
        fallbackModelIDs: [String] = [],
        streamFirstTokenSeconds: Double? = nil,
        streamStallSeconds: Double? = nil
    ) {
        self.modelID = modelID
        self.provider = provider
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topP = topP
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.fallbackModelIDs = fallbackModelIDs
        self.streamFirstTokenSeconds = streamFirstTokenSeconds
        self.streamStallSeconds = streamStallSeconds
    }

    /// The models to try, in order: the primary then the fallbacks (duplicates removed, first kept),
    /// so a gateway never calls the same model twice for one job.
    public var modelChain: [String] {
        var seen = Set<String>()
        return ([modelID] + fallbackModelIDs).filter { seen.insert($0).inserted }
    }
}
