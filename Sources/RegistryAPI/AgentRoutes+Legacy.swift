import Catalog
import Foundation

/// Legacy writes (`preferred_model`, `temperature`, `max_tokens`) for pre-Switchboard clients.
///
/// They are MERGED into the agent's configuration: a client that only knows the old fields changes
/// only what it sent, and the fallback chain, `top_p` and penalties set through the new API survive.
/// Nothing is changed silently: a temperature clamped into the model's range, a `max_tokens` that meant
/// "default", or a retired model replaced by its successor each come back as a warning on the field
/// the client sent.
enum LegacyConfigurationMerge {
    struct Result {
        var config: ModelConfiguration
        var warnings: [FieldIssue]
    }

    /// Successor links followed at most this far (a chain of retirements), so a cycle cannot loop.
    static let maximumSuccessorHops = 5

    /// - Parameters:
    ///   - base: the agent's current effective configuration, or the catalog default on create.
    ///   - lookup: catalog models by id (read under the caller's locks).
    static func merge(
        preferredModel: String??, temperature: Double??, maxTokens: Int??,
        into base: ModelConfiguration, lookup: (String) -> LLMModel?, today: Date
    ) -> Result {
        var config = base
        var warnings: [FieldIssue] = []

        if let preferred = preferredModel {
            let requested = LegacyModelMapping.normalizedModelID(preferred) ?? LegacyModelMapping.defaultModelID
            var modelID = requested
            var hops = 0
            while let model = lookup(modelID), model.effectiveStatus(on: today) == .retired,
                let successor = model.successorModelID, !successor.isEmpty, hops < maximumSuccessorHops
            {
                modelID = successor
                hops += 1
            }
            if modelID != requested {
                warnings.append(FieldIssue(
                    field: "preferred_model",
                    message: "model '\(requested)' is retired; the agent now uses its successor '\(modelID)'"))
            }
            if modelID != config.modelID {
                config.modelID = modelID
                config.provider = lookup(modelID)?.provider ?? LegacyModelMapping.provider(forLegacyModel: modelID)
                // The new primary cannot also be a fallback; the rest of the chain stays.
                config.fallbackModelIDs.removeAll { $0 == modelID }
            }
        }

        if let sent = temperature {
            config.temperature = sent.flatMap { $0.isFinite ? $0 : nil }
        }
        // Temperature — sent now or carried over to a new primary — clamped into the model's range,
        // as the backfill does, and said so.
        if let value = config.temperature, temperature != nil || config.modelID != base.modelID {
            let clamped: Double
            if let model = lookup(config.modelID) {
                clamped = min(max(value, model.minTemperature), model.maxTemperature)
            } else {
                clamped = min(max(value, 0), LegacyModelMapping.maxTemperature(forProvider: config.provider ?? "openai"))
            }
            if clamped != value {
                warnings.append(FieldIssue(
                    field: "temperature",
                    message: "temperature \(ModelConfigurationValidator.format(value)) is outside the range of model '\(config.modelID)'; "
                        + "stored as \(ModelConfigurationValidator.format(clamped))"))
                config.temperature = clamped
            }
        }

        if let sent = maxTokens {
            // Above the model's limit stays an error (the validator's); 0 or less was the legacy
            // way of saying "the model's default".
            if let value = sent, value <= 0 {
                warnings.append(FieldIssue(
                    field: "max_tokens", message: "max_tokens \(value) is not a length; stored as null (the model's default)"))
                config.maxTokens = nil
            } else {
                config.maxTokens = sent
            }
        }
        return Result(config: config, warnings: warnings)
    }
}
