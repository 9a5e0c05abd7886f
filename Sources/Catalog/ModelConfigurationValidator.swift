import Foundation

/// Checks an agent's model configuration against the catalog (issue 3's rules). Pure: the caller
/// passes lookups, so the same rules serve the API (database-backed) and tests (in-memory).
///
/// Every bad field gets exactly one error, so a client can fix them all in one round trip.
/// Unknown JSON keys are the API layer's business (it sees the raw body; this type sees a decoded value).
public enum ModelConfigurationValidator {
    /// Allowed range of frequency_penalty / presence_penalty (OpenAI's documented range).
    public static let penaltyRange: ClosedRange<Double> = -2...2

    public static func validate(
        _ config: ModelConfiguration,
        models: (String) -> LLMModel?,
        providers: (String) -> Provider?,
        today: Date
    ) -> ValidationOutcome {
        var outcome = ValidationOutcome()
        let day = CalendarDate(today)
        let primary = checkPrimary(config, models: models, day: day, into: &outcome)

        if let primary {
            if let provider = config.provider, provider != primary.provider {
                outcome.errors.append(FieldIssue(
                    field: "provider",
                    message: "model '\(primary.modelID)' is served by '\(primary.provider)', not '\(provider)'"))
            }
            if let servingProvider = providers(primary.provider), !servingProvider.enabled {
                outcome.warnings.append(FieldIssue(
                    field: "model_id",
                    message: "provider '\(primary.provider)' is disabled: calls to '\(primary.modelID)' will be skipped until it is enabled"))
            }
        }

        checkTemperature(config.temperature, primary: primary, into: &outcome)
        checkMaxTokens(config.maxTokens, primary: primary, into: &outcome)
        checkTopP(config.topP, into: &outcome)
        let style = primary.map { apiStyle(of: $0, providers: providers) }
        checkPenalty(config.frequencyPenalty, field: "frequency_penalty", primary: primary, style: style, into: &outcome)
        checkPenalty(config.presencePenalty, field: "presence_penalty", primary: primary, style: style, into: &outcome)
        checkStreamDeadline(config.streamFirstTokenSeconds, field: "stream_first_token_seconds", into: &outcome)
        checkStreamDeadline(config.streamStallSeconds, field: "stream_stall_seconds", into: &outcome)
        checkFallbacks(config, models: models, day: day, into: &outcome)
        checkFallbackLimits(config, models: models, providers: providers, into: &outcome)
        return outcome
    }

    /// Longest stream deadline an agent may set: past five minutes a proxy or an SDK has given up
    /// on the silent connection anyway (Node's fetch at 300 s).
    public static let streamDeadlineMaximumSeconds: Double = 300

    /// More than 0 and at most the maximum (NaN is neither).
    public static func acceptsStreamDeadline(_ seconds: Double) -> Bool {
        seconds > 0 && seconds <= streamDeadlineMaximumSeconds
    }

    private static func checkStreamDeadline(_ seconds: Double?, field: String, into outcome: inout ValidationOutcome) {
        guard let seconds, !acceptsStreamDeadline(seconds) else { return }
        outcome.errors.append(FieldIssue(
            field: field,
            message: "\(field) must be more than 0 and at most \(Int(streamDeadlineMaximumSeconds)) seconds (or null for the gateway's default); got \(seconds)"))
    }

    /// Every fallback against its own limits. The primary's limits are errors (the call as
    /// configured cannot succeed); a fallback that cannot take a setting only fails when it is
    /// reached, so it is a warning on that setting's field, naming the fallback — the client learns
    /// that this link of the chain is dead before an outage proves it.
    private static func checkFallbackLimits(
        _ config: ModelConfiguration, models: (String) -> LLMModel?, providers: (String) -> Provider?,
        into outcome: inout ValidationOutcome
    ) {
        var seen: Set<String> = [config.modelID]
        for (index, modelID) in config.fallbackModelIDs.enumerated() where seen.insert(modelID).inserted {
            guard let model = models(modelID) else { continue }
            let name = "fallback '\(modelID)' (fallback_model_ids[\(index)])"
            if let provider = providers(model.provider), !provider.enabled {
                outcome.warnings.append(FieldIssue(
                    field: "fallback_model_ids[\(index)]",
                    message: "provider '\(model.provider)' is disabled: \(name) will be skipped until it is enabled"))
            }
            if let temperature = config.temperature, temperature.isFinite,
                temperature < model.minTemperature || temperature > model.maxTemperature
            {
                let accepts = model.hasFixedTemperature
                    ? "accepts only temperature \(format(model.minTemperature))"
                    : "accepts temperature \(format(model.minTemperature))–\(format(model.maxTemperature))"
                outcome.warnings.append(FieldIssue(
                    field: "temperature",
                    message: "\(name) \(accepts); with temperature \(format(temperature)) that fallback will fail"))
            }
            if let maxTokens = config.maxTokens, maxTokens >= 1, let limit = model.maxOutputTokens, maxTokens > limit {
                outcome.warnings.append(FieldIssue(
                    field: "max_tokens",
                    message: "\(name) produces at most \(limit) output tokens; with max_tokens \(maxTokens) that fallback will fail"))
            }
            if apiStyle(of: model, providers: providers) == .anthropic {
                for (field, value) in [("frequency_penalty", config.frequencyPenalty), ("presence_penalty", config.presencePenalty)] {
                    if let value, value != 0, value.isFinite, penaltyRange.contains(value) {
                        outcome.warnings.append(FieldIssue(
                            field: field,
                            message: "\(field) is ignored by \(name): provider '\(model.provider)' (Anthropic Messages API) has no penalties"))
                    }
                }
            }
        }
    }

    // MARK: - Rules

    private static func checkPrimary(
        _ config: ModelConfiguration, models: (String) -> LLMModel?, day: CalendarDate,
        into outcome: inout ValidationOutcome
    ) -> LLMModel? {
        let modelID = config.modelID
        guard !modelID.trimmingCharacters(in: .whitespaces).isEmpty else {
            outcome.errors.append(FieldIssue(field: "model_id", message: "model_id must name a model of the catalog"))
            return nil
        }
        guard let model = models(modelID) else {
            outcome.errors.append(FieldIssue(field: "model_id", message: "model '\(modelID)' is not in the catalog"))
            return nil
        }
        switch model.effectiveStatus(on: day) {
        case .retired:
            outcome.errors.append(FieldIssue(
                field: "model_id", message: "model '\(modelID)' is retired" + successorHint(model, verb: "use")))
            // Still returned: the other fields can be checked against its limits, so the client learns
            // everything that is wrong at once.
        case .deprecated:
            outcome.warnings.append(FieldIssue(
                field: "model_id",
                message: "model '\(modelID)' is deprecated" + deprecationDateNote(model)
                    + successorHint(model, verb: "consider")))
        case .active, .beta:
            break
        }
        return model
    }

    private static func checkTemperature(
        _ temperature: Double?, primary: LLMModel?, into outcome: inout ValidationOutcome
    ) {
        guard let temperature else { return }
        guard temperature.isFinite else {
            outcome.errors.append(FieldIssue(field: "temperature", message: "temperature must be a finite number"))
            return
        }
        guard let model = primary else {
            // No model to compare with: still reject what no provider accepts.
            if temperature < 0 || temperature > 2 {
                outcome.errors.append(FieldIssue(
                    field: "temperature", message: "temperature \(format(temperature)) is outside 0–2"))
            }
            return
        }
        guard temperature >= model.minTemperature, temperature <= model.maxTemperature else {
            let message = model.hasFixedTemperature
                ? "model '\(model.modelID)' accepts only temperature \(format(model.minTemperature)); got \(format(temperature)) (or omit temperature)"
                : "temperature \(format(temperature)) is outside the range of model '\(model.modelID)' (\(format(model.minTemperature))–\(format(model.maxTemperature)))"
            outcome.errors.append(FieldIssue(field: "temperature", message: message))
            return
        }
    }

    private static func checkMaxTokens(
        _ maxTokens: Int?, primary: LLMModel?, into outcome: inout ValidationOutcome
    ) {
        guard let maxTokens else { return }
        if maxTokens < 1 {
            outcome.errors.append(FieldIssue(
                field: "max_tokens", message: "max_tokens must be at least 1 (or null for the model's default); got \(maxTokens)"))
        } else if let model = primary, let limit = model.maxOutputTokens, maxTokens > limit {
            outcome.errors.append(FieldIssue(
                field: "max_tokens",
                message: "max_tokens \(maxTokens) exceeds the \(limit) output tokens model '\(model.modelID)' can produce"))
        }
    }

    private static func checkTopP(_ topP: Double?, into outcome: inout ValidationOutcome) {
        guard let topP else { return }
        if !topP.isFinite || topP <= 0 || topP > 1 {
            outcome.errors.append(FieldIssue(
                field: "top_p", message: "top_p must be greater than 0 and at most 1; got \(format(topP))"))
        }
    }

    private static func checkPenalty(
        _ value: Double?, field: String, primary: LLMModel?, style: APIStyle?,
        into outcome: inout ValidationOutcome
    ) {
        guard let value else { return }
        guard value.isFinite, penaltyRange.contains(value) else {
            outcome.errors.append(FieldIssue(
                field: field, message: "\(field) must be between -2 and 2; got \(format(value))"))
            return
        }
        if value != 0, style == .anthropic, let model = primary {
            outcome.warnings.append(FieldIssue(
                field: field,
                message: "\(field) is ignored by '\(model.provider)' (Anthropic Messages API has no penalties), so it has no effect on '\(model.modelID)'"))
        }
    }

    private static func checkFallbacks(
        _ config: ModelConfiguration, models: (String) -> LLMModel?, day: CalendarDate,
        into outcome: inout ValidationOutcome
    ) {
        let fallbacks = config.fallbackModelIDs
        if fallbacks.count > ModelConfiguration.maxFallbackCount {
            outcome.errors.append(FieldIssue(
                field: "fallback_model_ids",
                message: "at most \(ModelConfiguration.maxFallbackCount) fallback models are allowed; got \(fallbacks.count)"))
        }
        var seen = Set<String>()
        for (index, modelID) in fallbacks.enumerated() {
            let field = "fallback_model_ids[\(index)]"
            if modelID == config.modelID {
                outcome.errors.append(FieldIssue(
                    field: field, message: "fallback '\(modelID)' is the primary model; a fallback must be a different model"))
                continue
            }
            guard seen.insert(modelID).inserted else {
                outcome.errors.append(FieldIssue(field: field, message: "fallback '\(modelID)' is listed more than once"))
                continue
            }
            guard let model = models(modelID) else {
                outcome.errors.append(FieldIssue(field: field, message: "fallback model '\(modelID)' is not in the catalog"))
                continue
            }
            switch model.effectiveStatus(on: day) {
            case .retired:
                outcome.errors.append(FieldIssue(
                    field: field, message: "fallback model '\(modelID)' is retired" + successorHint(model, verb: "use")))
            case .deprecated:
                outcome.warnings.append(FieldIssue(
                    field: field,
                    message: "fallback model '\(modelID)' is deprecated" + deprecationDateNote(model)
                        + successorHint(model, verb: "consider")))
            case .active, .beta:
                break
            }
        }
    }

    // MARK: - Helpers

    /// The wire protocol of the model's provider. A provider missing from the lookup is guessed from
    /// the model's provider name (only "anthropic" speaks Anthropic Messages among the built-ins).
    private static func apiStyle(of model: LLMModel, providers: (String) -> Provider?) -> APIStyle {
        if let provider = providers(model.provider) { return provider.apiStyle }
        return model.provider == "anthropic" ? .anthropic : .openai
    }

    private static func successorHint(_ model: LLMModel, verb: String) -> String {
        guard let successor = model.successorModelID, !successor.isEmpty else { return "" }
        return "; \(verb) its successor '\(successor)'"
    }

    private static func deprecationDateNote(_ model: LLMModel) -> String {
        guard let date = model.deprecationDate else { return "" }
        return " (since \(date))"
    }

    /// Numbers as a person writes them: 0.7, 2, -0.5 (not 2.0 or 0.69999…).
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }
}
