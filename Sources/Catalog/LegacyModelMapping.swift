/// Derives a `ModelConfiguration` from an agent's legacy columns (`preferred_model`, `temperature`,
/// `max_tokens`) with exactly the rules of the backfill in migrations/0002, so an agent created through
/// the legacy fields today gets the same config the migration gave existing agents, and a row with
/// `model_config IS NULL` reads the same as if it had been backfilled.
public enum LegacyModelMapping {
    /// The catalog default for agents without a legacy model.
    public static let defaultModelID = "gpt-4o-mini"
    public static let defaultProvider = "openai"
    public static let defaultTemperature = 0.7

    public static func configuration(
        preferredModel: String?, temperature: Double?, maxTokens: Int?
    ) -> ModelConfiguration {
        let modelID = normalizedModelID(preferredModel) ?? defaultModelID
        let provider = provider(forLegacyModel: modelID)
        // A non-finite legacy value (impossible from JSON, possible from a double precision column)
        // reads as missing rather than poisoning the config.
        let requested = temperature.flatMap { $0.isFinite ? $0 : nil } ?? defaultTemperature
        let clamped = min(max(requested, 0), maxTemperature(forProvider: provider))
        return ModelConfiguration(
            modelID: modelID,
            provider: provider,
            temperature: clamped,
            maxTokens: maxTokens.flatMap { $0 > 0 ? $0 : nil },
            topP: nil,
            frequencyPenalty: 0,
            presencePenalty: 0,
            fallbackModelIDs: []
        )
    }

    /// "claude…" (any case) → anthropic, anything else → openai: the legacy column predates other
    /// providers, and the catalog's `provider` column is authoritative once the model is looked up.
    public static func provider(forLegacyModel modelID: String) -> String {
        modelID.lowercased().hasPrefix("claude") ? "anthropic" : "openai"
    }

    /// Upper temperature bound the backfill clamps to: Anthropic 0..1, OpenAI-style 0..2.
    public static func maxTemperature(forProvider provider: String) -> Double {
        provider == "anthropic" ? 1 : 2
    }

    /// SQL `nullif(btrim(x), '')`: btrim without arguments strips spaces only, so only spaces are
    /// stripped here too.
    public static func normalizedModelID(_ raw: String?) -> String? {
        guard let raw else { return nil }
        var scalars = Substring(raw)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return scalars.isEmpty ? nil : String(scalars)
    }
}
