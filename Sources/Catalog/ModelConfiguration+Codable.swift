/// JSON form (snake_case, as in migrations/0002). Encoding writes every key of 0002, with explicit nulls,
/// because 0002 promises readers that every key is present in configs written by the API; keys added
/// later (the stream deadlines) are written only when set, so existing configs keep 0002's shape. Decoding also accepts
/// the PRD's single `fallback_model_id` (a string or null) as a one-element chain.
extension ModelConfiguration: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case modelID = "model_id"
        case provider
        case temperature
        case maxTokens = "max_tokens"
        case topP = "top_p"
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case fallbackModelIDs = "fallback_model_ids"
        case streamFirstTokenSeconds = "stream_first_token_seconds"
        case streamStallSeconds = "stream_stall_seconds"
        /// The PRD's single fallback; read only, never written.
        case fallbackModelID = "fallback_model_id"
    }

    /// Every key a client may send. The API rejects bodies with other keys (unknown-field rejection
    /// lives there, since `Decodable` ignores extra keys).
    public static let acceptedJSONKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let chain = try c.decodeIfPresent([String].self, forKey: .fallbackModelIDs)
        let single = try c.decodeIfPresent(String.self, forKey: .fallbackModelID)
        let fallbacks: [String]
        switch (chain, single) {
        case (nil, nil): fallbacks = []
        case (let chain?, nil): fallbacks = chain
        case (nil, let single?): fallbacks = [single]
        case (let chain?, let single?):
            // Both given: accept only when they agree, rather than guess which one the client meant.
            guard chain.first == single else {
                throw DecodingError.dataCorruptedError(
                    forKey: .fallbackModelID, in: c,
                    debugDescription: "give either fallback_model_id or fallback_model_ids, not both with different models")
            }
            fallbacks = chain
        }
        self.init(
            modelID: try c.decode(String.self, forKey: .modelID),
            provider: try c.decodeIfPresent(String.self, forKey: .provider),
            temperature: try c.decodeIfPresent(Double.self, forKey: .temperature),
            maxTokens: try c.decodeIfPresent(Int.self, forKey: .maxTokens),
            topP: try c.decodeIfPresent(Double.self, forKey: .topP),
            frequencyPenalty: try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty),
            presencePenalty: try c.decodeIfPresent(Double.self, forKey: .presencePenalty),
            fallbackModelIDs: fallbacks,
            streamFirstTokenSeconds: try c.decodeIfPresent(Double.self, forKey: .streamFirstTokenSeconds),
            streamStallSeconds: try c.decodeIfPresent(Double.self, forKey: .streamStallSeconds)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(provider, forKey: .provider)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(maxTokens, forKey: .maxTokens)
        try c.encode(topP, forKey: .topP)
        try c.encode(frequencyPenalty, forKey: .frequencyPenalty)
        try c.encode(presencePenalty, forKey: .presencePenalty)
        try c.encode(fallbackModelIDs, forKey: .fallbackModelIDs)
        try c.encodeIfPresent(streamFirstTokenSeconds, forKey: .streamFirstTokenSeconds)
        try c.encodeIfPresent(streamStallSeconds, forKey: .streamStallSeconds)
    }
}
