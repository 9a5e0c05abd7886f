import Catalog
import Foundation
import Providers

/// One model of an agent's chain that may be called now.
struct ChainCandidate: Sendable {
    var model: LLMModel
    var provider: Provider
    /// Index in the agent's chain (0 = primary): `model_usage.fallback_depth`.
    var depth: Int
}

/// Resolves an agent's chain against the cached catalog: which models to call, in order, and
/// which to skip with the reason (recorded in the job's error `skipped` list).
enum ModelChain {
    static func resolve(
        _ configuration: ModelConfiguration, snapshot: ConfigSnapshot, credentials: CredentialResolver,
        estimatedPromptTokens: Int, allowedHTTPHosts: Set<String> = [], now: Date = Date()
    ) -> (candidates: [ChainCandidate], skipped: [SkippedModel]) {
        var candidates: [ChainCandidate] = []
        var skipped: [SkippedModel] = []
        for (depth, modelID) in configuration.modelChain.enumerated() {
            guard let model = snapshot.models[modelID] else {
                skipped.append(SkippedModel(modelID: modelID, provider: nil, reason: .unknownModel))
                continue
            }
            func skip(_ reason: SkippedModel.Reason, detail: String? = nil) {
                skipped.append(SkippedModel(modelID: modelID, provider: model.provider, reason: reason, detail: detail))
            }
            if model.effectiveStatus(on: now) == .retired { skip(.retired); continue }
            guard let provider = snapshot.providers[model.provider] else { skip(.providerDisabled); continue }
            if !provider.enabled { skip(.providerDisabled); continue }
            // Where the key would go before whether it is set: an unbound variable is never read.
            if let problem = credentials.keyHostProblem(for: provider) { skip(.keyNotBound, detail: problem); continue }
            if !credentials.hasCredentials(for: provider) { skip(.missingCredentials); continue }
            if provider.apiKeyEnv != nil,
               !Provider.keyMaySendTo(url: provider.baseURL, allowedHTTPHosts: allowedHTTPHosts) {
                skip(.unsafeBaseURL)
                continue
            }
            if let until = snapshot.cooldowns[CooldownKey(provider: provider.name, modelID: modelID)], until > now {
                skip(.coolingDown)
                continue
            }
            if let window = model.contextWindow, window > 0, estimatedPromptTokens > window {
                skip(.contextTooSmall)
                continue
            }
            candidates.append(ChainCandidate(model: model, provider: provider, depth: depth))
        }
        return (candidates, skipped)
    }

    /// The prompt-size estimate (`ChatRequest.estimatedPromptTokens`, shared with /v1's count_tokens).
    static func estimatePromptTokens(_ request: ChatRequest) -> Int { request.estimatedPromptTokens }

    /// The agent's sampling parameters under the job's own, clamped to what the catalog says
    /// the model accepts. The agent's `max_tokens`, when set, is a ceiling, not only a default: a
    /// job may ask for fewer tokens, never more (review finding P3-c; the same rule as /v1's
    /// `FacadeOverrides`, here so that `POST /api/jobs` and SQL-enqueued jobs obey it too).
    static func effectiveRequest(_ request: ChatRequest, configuration: ModelConfiguration, model: LLMModel) -> ChatRequest {
        var effective = request
        effective.temperature = request.temperature ?? configuration.temperature
        effective.maxTokens = request.maxTokens ?? configuration.maxTokens
        if let ceiling = configuration.maxTokens, ceiling > 0, let asked = effective.maxTokens, asked > ceiling {
            effective.maxTokens = ceiling
        }
        effective.topP = request.topP ?? configuration.topP
        effective.frequencyPenalty = request.frequencyPenalty ?? configuration.frequencyPenalty
        effective.presencePenalty = request.presencePenalty ?? configuration.presencePenalty
        if let temperature = effective.temperature, model.minTemperature <= model.maxTemperature {
            effective.temperature = min(max(temperature, model.minTemperature), model.maxTemperature)
        }
        if let maxTokens = effective.maxTokens, let limit = model.maxOutputTokens, limit > 0 {
            effective.maxTokens = min(maxTokens, limit)
        }
        return effective
    }
}
