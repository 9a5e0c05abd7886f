import Foundation

/// JSON form: snake_case keys equal to the `llm_models` column names, as the registry API serves it.
///
/// - Unknown values are written as explicit `null` (a null price reads "unknown", which a missing key
///   would not say as clearly); `id`, `created_at` and `updated_at` are omitted while nil.
/// - Prices are JSON numbers written from the exact `Decimal` (no binary floating point on the way).
/// - `created_at`/`updated_at` are ISO 8601 strings whatever the encoder's date strategy, so the API's
///   output does not depend on how a caller configured its `JSONEncoder`.
/// - Decoding applies the column defaults to absent keys, so a create body may be minimal
///   (`provider`, `model_id`, `display_name` are required).
extension LLMModel: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id
        case provider
        case modelID = "model_id"
        case displayName = "display_name"
        case modelFamily = "model_family"
        case capabilities
        case contextWindow = "context_window"
        case maxOutputTokens = "max_output_tokens"
        case supportsFunctions = "supports_functions"
        case supportsVision = "supports_vision"
        case supportsStreaming = "supports_streaming"
        case inputCostPer1K = "input_cost_per_1k"
        case outputCostPer1K = "output_cost_per_1k"
        case cachedInputCostPer1K = "cached_input_cost_per_1k"
        case cacheCreationInputCostPer1K = "cache_creation_input_cost_per_1k"
        case description
        case releaseDate = "release_date"
        case deprecationDate = "deprecation_date"
        case status
        case recommendedFor = "recommended_for"
        case defaultTemperature = "default_temperature"
        case minTemperature = "min_temperature"
        case maxTemperature = "max_temperature"
        case successorModelID = "successor_model_id"
        case source
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decodeIfPresent(UUID.self, forKey: .id),
            provider: try c.decode(String.self, forKey: .provider),
            modelID: try c.decode(String.self, forKey: .modelID),
            displayName: try c.decode(String.self, forKey: .displayName),
            modelFamily: try c.decodeIfPresent(String.self, forKey: .modelFamily),
            capabilities: try c.decodeIfPresent([String].self, forKey: .capabilities) ?? [],
            contextWindow: try c.decodeIfPresent(Int.self, forKey: .contextWindow),
            maxOutputTokens: try c.decodeIfPresent(Int.self, forKey: .maxOutputTokens),
            supportsFunctions: try c.decodeIfPresent(Bool.self, forKey: .supportsFunctions) ?? false,
            supportsVision: try c.decodeIfPresent(Bool.self, forKey: .supportsVision) ?? false,
            supportsStreaming: try c.decodeIfPresent(Bool.self, forKey: .supportsStreaming) ?? true,
            inputCostPer1K: try c.decodePrice(.inputCostPer1K),
            outputCostPer1K: try c.decodePrice(.outputCostPer1K),
            cachedInputCostPer1K: try c.decodePrice(.cachedInputCostPer1K),
            cacheCreationInputCostPer1K: try c.decodePrice(.cacheCreationInputCostPer1K),
            description: try c.decodeIfPresent(String.self, forKey: .description),
            releaseDate: try c.decodeIfPresent(CalendarDate.self, forKey: .releaseDate),
            deprecationDate: try c.decodeIfPresent(CalendarDate.self, forKey: .deprecationDate),
            status: try c.decodeIfPresent(ModelStatus.self, forKey: .status) ?? .active,
            recommendedFor: try c.decodeIfPresent([String].self, forKey: .recommendedFor) ?? [],
            defaultTemperature: try c.decodeIfPresent(Double.self, forKey: .defaultTemperature) ?? 0.7,
            minTemperature: try c.decodeIfPresent(Double.self, forKey: .minTemperature) ?? 0,
            maxTemperature: try c.decodeIfPresent(Double.self, forKey: .maxTemperature) ?? 2,
            successorModelID: try c.decodeIfPresent(String.self, forKey: .successorModelID),
            source: try c.decodeIfPresent(String.self, forKey: .source) ?? "manual",
            createdAt: try Self.decodeTimestamp(c, .createdAt),
            updatedAt: try Self.decodeTimestamp(c, .updatedAt)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode(provider, forKey: .provider)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(modelFamily, forKey: .modelFamily)
        try c.encode(capabilities, forKey: .capabilities)
        try c.encode(contextWindow, forKey: .contextWindow)
        try c.encode(maxOutputTokens, forKey: .maxOutputTokens)
        try c.encode(supportsFunctions, forKey: .supportsFunctions)
        try c.encode(supportsVision, forKey: .supportsVision)
        try c.encode(supportsStreaming, forKey: .supportsStreaming)
        try c.encode(inputCostPer1K, forKey: .inputCostPer1K)
        try c.encode(outputCostPer1K, forKey: .outputCostPer1K)
        try c.encode(cachedInputCostPer1K, forKey: .cachedInputCostPer1K)
        try c.encode(cacheCreationInputCostPer1K, forKey: .cacheCreationInputCostPer1K)
        try c.encode(description, forKey: .description)
        try c.encode(releaseDate, forKey: .releaseDate)
        try c.encode(deprecationDate, forKey: .deprecationDate)
        try c.encode(status, forKey: .status)
        try c.encode(recommendedFor, forKey: .recommendedFor)
        try c.encode(defaultTemperature, forKey: .defaultTemperature)
        try c.encode(minTemperature, forKey: .minTemperature)
        try c.encode(maxTemperature, forKey: .maxTemperature)
        try c.encode(successorModelID, forKey: .successorModelID)
        try c.encode(source, forKey: .source)
        if let createdAt { try c.encode(Timestamp.string(from: createdAt), forKey: .createdAt) }
        if let updatedAt { try c.encode(Timestamp.string(from: updatedAt), forKey: .updatedAt) }
    }

    /// Accepts the ISO 8601 text this type writes, else whatever the decoder's date strategy reads.
    private static func decodeTimestamp(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> Date? {
        if let text = try? c.decodeIfPresent(String.self, forKey: key) {
            guard let date = Timestamp.date(from: text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "expected an ISO 8601 timestamp, got \"\(text)\"")
            }
            return date
        }
        return try c.decodeIfPresent(Date.self, forKey: key)
    }
}

extension KeyedDecodingContainer {
    /// A price: a JSON number, or a decimal string ("0.0025") for clients that keep money as text.
    /// A string that is not a plain decimal is a type error naming the field, never 0.
    func decodePrice(_ key: Key) throws -> Decimal? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let text = try? decode(String.self, forKey: key) {
            let isPlain = !text.isEmpty && text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || "-+.eE".unicodeScalars.contains($0) }
            guard isPlain, let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be a decimal number, e.g. 0.0025")
            }
            return value
        }
        return try decode(Decimal.self, forKey: key)
    }
}
