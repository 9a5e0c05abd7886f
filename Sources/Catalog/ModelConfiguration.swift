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
        fallbackModelIDs: [String] = []
    ) {
        self.modelID = modelID
        self.provider = provider
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topP = topP
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.fallbackModelIDs = fallbackModelIDs
    }

    /// The models to try, in order: the primary then the fallbacks (duplicates removed, first kept),
    /// so a gateway never calls the same model twice for one job.
    public var modelChain: [String] {
        var seen = Set<String>()
        return ([modelID] + fallbackModelIDs).filter { seen.insert($0).inserted }
    }
}
