import Foundation

extension LiteLLMCatalog {
    /// LiteLLM `supports_<flag>` → capability tag, in the order tags are listed (same vocabulary and
    /// order as the seed generator, scripts/generate-seed-catalog.py, so imported and seeded rows agree).
    static let capabilityFlags = [
        "function_calling", "parallel_function_calling", "vision", "reasoning", "prompt_caching",
        "response_schema", "pdf_input", "web_search", "computer_use", "audio_input", "audio_output",
    ]

    static func build(_ entries: [String: LiteLLMEntry]) -> Parsed {
        var skipped: [SkippedEntry] = []
        // (key, provider, model id, entry) of entries that passed every filter, in key order.
        var accepted: [(key: String, provider: String, modelID: String, entry: LiteLLMEntry)] = []
        var keyOfModelID: [String: String] = [:]

        for key in entries.keys.sorted() {
            guard let entry = entries[key] else { continue }
            switch classify(key: key, entry: entry, allKeys: entries) {
            case .failure(let reason):
                skipped.append(SkippedEntry(key: key, reason: reason))
            case .success(let (provider, modelID)):
                // Two keys naming one wire id (e.g. "openai/x" and "anthropic/x"): keep the first in key
                // order so the result does not depend on dictionary order.
                if let first = keyOfModelID[modelID] {
                    skipped.append(SkippedEntry(key: key, reason: .duplicate(of: first)))
                } else {
                    keyOfModelID[modelID] = key
                    accepted.append((key, provider, modelID, entry))
                }
            }
        }

        let acceptedIDs = Set(accepted.map(\.modelID))
        let candidates = accepted.map { item in
            candidate(provider: item.provider, modelID: item.modelID, entry: item.entry,
                      releaseDate: releaseDate(of: item.modelID, among: acceptedIDs))
        }
        .sorted { $0.modelID < $1.modelID }
        return Parsed(candidates: candidates, skipped: skipped)
    }

    private enum Classification {
        case success((provider: String, modelID: String))
        case failure(SkipReason)
    }

    private static func classify(key: String, entry: LiteLLMEntry, allKeys: [String: LiteLLMEntry]) -> Classification {
        if key == "sample_spec" { return .failure(.specification) }
        guard entry.fields != nil else { return .failure(.notAnObject) }
        guard let provider = entry.string("litellm_provider"), !provider.isEmpty else {
            return .failure(.missingProvider)
        }
        guard callableProviders.contains(provider) else { return .failure(.providerNotCallable(provider)) }
        let mode = entry.string("mode")
        guard mode == "chat" else { return .failure(.notChat(mode: mode)) }

        var modelID = key
        let prefix = provider + "/"
        if key.hasPrefix(prefix) {
            modelID = String(key.dropFirst(prefix.count))
            if allKeys[modelID] != nil { return .failure(.duplicate(of: modelID)) }
        }
        // "ft:gpt-4o-2024-08-06" prices fine-tunes of that base; a real fine-tune id is
        // "ft:<base>:<org>::<id>", so the template itself cannot be called.
        if modelID.hasPrefix("ft:") { return .failure(.fineTuneTemplate) }
        let hasTokenData = ["input_cost_per_token", "output_cost_per_token"].contains { entry.nonNegativeDecimal($0) != nil }
            || ["max_input_tokens", "max_tokens", "max_output_tokens"].contains { entry.positiveInt($0) != nil }
        if !hasTokenData { return .failure(.notTokenPriced) }
        guard !modelID.isEmpty, !modelID.contains(where: \.isWhitespace) else {
            return .failure(.invalidModelID(modelID))
        }
        return .success((provider, modelID))
    }

    private static func candidate(
        provider: String, modelID: String, entry: LiteLLMEntry, releaseDate: CalendarDate?
    ) -> LLMModel {
        let capabilities = ["chat"] + capabilityFlags.filter { entry.flag("supports_" + $0) }
        let contextWindow = entry.positiveInt("max_input_tokens") ?? entry.positiveInt("max_tokens")
        let deprecationDate = entry.string("deprecation_date").flatMap(CalendarDate.init)
        let temperatures = temperatureRange(provider: provider, entry: entry)
        var successor = entry.string("successor_model").map { stripPrefix($0, provider: provider) }
        if successor == modelID || successor?.isEmpty == true { successor = nil }

        return LLMModel(
            provider: provider,
            modelID: modelID,
            displayName: displayName(for: modelID),
            modelFamily: family(of: modelID),
            capabilities: capabilities,
            contextWindow: contextWindow,
            maxOutputTokens: entry.positiveInt("max_output_tokens"),
            supportsFunctions: entry.flag("supports_function_calling"),
            supportsVision: entry.flag("supports_vision"),
            supportsStreaming: true,  // every chat model of these providers streams; LiteLLM rarely says
            inputCostPer1K: per1K(entry.nonNegativeDecimal("input_cost_per_token")),
            outputCostPer1K: per1K(entry.nonNegativeDecimal("output_cost_per_token")),
            cachedInputCostPer1K: per1K(entry.nonNegativeDecimal("cache_read_input_token_cost")),
            cacheCreationInputCostPer1K: per1K(entry.nonNegativeDecimal("cache_creation_input_token_cost")),
            description: nil,
            releaseDate: releaseDate,
            deprecationDate: deprecationDate,
            status: .active,  // the source says nothing else; the date is judged when read
            recommendedFor: recommendedFor(modelID: modelID, capabilities: capabilities, contextWindow: contextWindow),
            defaultTemperature: temperatures.default,
            minTemperature: temperatures.min,
            maxTemperature: temperatures.max,
            successorModelID: successor,
            source: sourceName
        )
    }

    /// USD per token → USD per 1K tokens. Multiplying a Decimal by 1000 only moves its exponent: exact.
    static func per1K(_ perToken: Decimal?) -> Decimal? {
        perToken.map { $0 * 1000 }
    }

    /// Anthropic 0…1, OpenAI-style 0…2, default 0.7. Models that accept only the default temperature
    /// (OpenAI reasoning models without a "none" reasoning effort; Anthropic models with
    /// supports_sampling_params = false) get min = max = default = 1, as in the seed.
    static func temperatureRange(provider: String, entry: LiteLLMEntry) -> (default: Double, min: Double, max: Double) {
        let fixed: Bool
        switch provider {
        case "openai": fixed = entry.flag("supports_reasoning") && !entry.flag("supports_none_reasoning_effort")
        case "anthropic": fixed = entry.isFalse("supports_sampling_params")
        default: fixed = false
        }
        if fixed { return (1, 1, 1) }
        return (0.7, 0, provider == "anthropic" ? 1 : 2)
    }

    static func stripPrefix(_ id: String, provider: String) -> String {
        id.hasPrefix(provider + "/") ? String(id.dropFirst(provider.count + 1)) : id
    }
}
