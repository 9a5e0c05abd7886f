import Catalog
import Foundation

/// Checks a model written through the API (create or update) field by field, before the database's
/// CHECK constraints would reject it with a less helpful message. Lives here because Catalog has no
/// rule set for catalog rows yet; the constraints it mirrors are in migrations/0004.
enum ModelInputRules {
    static func issues(_ model: LLMModel, knownProviders: Set<String>) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if model.modelID.isEmpty || model.modelID.contains(where: \.isWhitespace) {
            issues.append(.init(field: "model_id", message: "model_id must be non-empty and contain no whitespace"))
        }
        if model.displayName.trimmingCharacters(in: .whitespaces).isEmpty {
            issues.append(.init(field: "display_name", message: "display_name must not be empty"))
        }
        if !knownProviders.contains(model.provider) {
            issues.append(.init(
                field: "provider",
                message: "provider '\(model.provider)' is not registered (known: \(knownProviders.sorted().joined(separator: ", ")))"))
        }
        for (field, value) in [("context_window", model.contextWindow), ("max_output_tokens", model.maxOutputTokens)] {
            if let value, value <= 0 { issues.append(.init(field: field, message: "\(field) must be positive (or null when unknown)")) }
            if let value, value > Int(Int32.max) { issues.append(.init(field: field, message: "\(field) must be at most \(Int32.max)")) }
        }
        for (field, value) in [
            ("input_cost_per_1k", model.inputCostPer1K), ("output_cost_per_1k", model.outputCostPer1K),
            ("cached_input_cost_per_1k", model.cachedInputCostPer1K),
            ("cache_creation_input_cost_per_1k", model.cacheCreationInputCostPer1K),
        ] {
            if let value, value < 0 { issues.append(.init(field: field, message: "\(field) must not be negative (null means unknown)")) }
        }
        let temperatures = [
            ("min_temperature", model.minTemperature), ("default_temperature", model.defaultTemperature),
            ("max_temperature", model.maxTemperature),
        ]
        for (field, value) in temperatures where !value.isFinite || value < 0 {
            issues.append(.init(field: field, message: "\(field) must be a finite number of at least 0"))
        }
        if model.minTemperature > model.defaultTemperature || model.defaultTemperature > model.maxTemperature {
            issues.append(.init(
                field: "default_temperature",
                message: "temperatures must satisfy min_temperature ≤ default_temperature ≤ max_temperature"))
        }
        if model.successorModelID == model.modelID {
            issues.append(.init(field: "successor_model_id", message: "a model cannot be its own successor"))
        }
        for (field, tags) in [("capabilities", model.capabilities), ("recommended_for", model.recommendedFor)] {
            for (index, tag) in tags.enumerated() where !isTag(tag) {
                issues.append(.init(field: "\(field)[\(index)]", message: "'\(tag)' is not a lower_snake_case tag"))
            }
        }
        return issues
    }

    private static func isTag(_ tag: String) -> Bool {
        !tag.isEmpty && tag.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
