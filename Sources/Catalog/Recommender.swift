import Foundation

/// Ranks catalog models for a set of requirements.
///
/// Filters first (status, max_cost, min_context, capabilities), then scores the survivors on the
/// criteria that apply, each with a weight:
///   task fit 40 (share of requested task types in `recommended_for`; only when a task is requested),
///   cost 25 (cheaper blended price scores higher, on a log scale across the candidates),
///   context 15 (larger window scores higher, log scale across the candidates),
///   preferred provider 15 (only when one is requested),
///   maturity 5 (active 5, beta 2).
/// The score is the points earned over the points possible, scaled to 0–100, so requests with fewer
/// criteria are not capped below 100. Ties break on lower blended price, then model id, so the order is
/// deterministic.
public enum Recommender {
    static let taskWeight = 40.0
    static let costWeight = 25.0
    static let contextWeight = 15.0
    static let providerWeight = 15.0
    static let maturityWeight = 5.0

    /// - Parameters:
    ///   - today: decides which models count as deprecated (`LLMModel.effectiveStatus(on:)`).
    ///   - limit: keep only the best `limit` recommendations (nil = all).
    public static func recommend(
        _ requirements: RecommendationRequirements, models: [LLMModel], today: Date, limit: Int? = nil
    ) -> RecommendationResult {
        let tasks = requirements.taskType.map { [normalizedTag($0)] }?.filter { !$0.isEmpty } ?? []
        return rank(requirements, taskTypes: tasks, taskReasonSuffix: nil, models: models, today: today, limit: limit)
    }

    // MARK: - Ranking

    static func rank(
        _ requirements: RecommendationRequirements, taskTypes: [String], taskReasonSuffix: String?,
        models: [LLMModel], today: Date, limit: Int?
    ) -> RecommendationResult {
        let day = CalendarDate(today)
        var excluded: [ExclusionReason: [String]] = [:]
        var candidates: [LLMModel] = []
        for model in models {
            let reasons = exclusionReasons(model, requirements, day: day)
            if reasons.isEmpty {
                candidates.append(model)
            } else {
                for reason in reasons { excluded[reason, default: []].append(model.modelID) }
            }
        }

        let costRange = logRange(candidates.compactMap { $0.blendedCostPer1K.map(positiveDouble) })
        let contextRange = logRange(candidates.compactMap { $0.contextWindow.map(Double.init) })

        var ranked = candidates.map { model in
            score(model, requirements, taskTypes: taskTypes, taskReasonSuffix: taskReasonSuffix,
                  day: day, costRange: costRange, contextRange: contextRange)
        }
        ranked.sort { lhs, rhs in
            if lhs.score != rhs.score { return lhs.score > rhs.score }
            switch (lhs.blendedCostPer1K, rhs.blendedCostPer1K) {
            case let (l?, r?) where l != r: return l < r
            case (.some, nil): return true
            case (nil, .some): return false
            default: return lhs.model.modelID < rhs.model.modelID
            }
        }
        if let limit, limit >= 0, ranked.count > limit { ranked = Array(ranked.prefix(limit)) }

        let exclusions = excluded
            .map { Exclusion(reason: $0.key, count: $0.value.count, modelIDs: $0.value.sorted()) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.message < $1.message }
        return RecommendationResult(recommendations: ranked, exclusions: exclusions, consideredCount: models.count)
    }

    /// Every hard requirement the model fails (empty = candidate).
    static func exclusionReasons(
        _ model: LLMModel, _ requirements: RecommendationRequirements, day: CalendarDate
    ) -> [ExclusionReason] {
        var reasons: [ExclusionReason] = []
        switch model.effectiveStatus(on: day) {
        case .deprecated: reasons.append(.deprecated)
        case .retired: reasons.append(.retired)
        case .active, .beta: break
        }
        if let maxCost = requirements.maxCost {
            if let blended = model.blendedCostPer1K {
                if blended > maxCost { reasons.append(.exceedsMaxCost(maxCost)) }
            } else {
                reasons.append(.priceUnknown)
            }
        }
        if let minContext = requirements.minContext {
            if let window = model.contextWindow {
                if window < minContext { reasons.append(.contextTooSmall(minContext)) }
            } else {
                reasons.append(.contextUnknown)
            }
        }
        var needsFunctions = requirements.needsFunctions
        var needsVision = requirements.needsVision
        var seenTags = Set<String>()
        for raw in requirements.requiredCapabilities {
            let tag = normalizedTag(raw)
            guard !tag.isEmpty, seenTags.insert(tag).inserted else { continue }
            // Fold the tags that have a boolean column into the boolean checks so a model lacking
            // vision is counted once, not under both "lacks vision" and "lacks capability 'vision'".
            switch tag {
            case "function_calling", "functions", "tools": needsFunctions = true
            case "vision": needsVision = true
            default: if !model.hasCapability(tag) { reasons.append(.missingCapability(tag)) }
            }
        }
        if needsFunctions, !model.hasCapability("function_calling") { reasons.append(.lacksFunctions) }
        if needsVision, !model.hasCapability("vision") { reasons.append(.lacksVision) }
        return reasons
    }

    /// Scores one model criterion by criterion; each criterion adds its weight to the points
    /// possible (when it applies) and says why in the reasons, in the order the caller reads them.
    static func score(
        _ model: LLMModel, _ requirements: RecommendationRequirements, taskTypes: [String],
        taskReasonSuffix: String?, day: CalendarDate,
        costRange: ClosedRange<Double>?, contextRange: ClosedRange<Double>?
    ) -> Recommendation {
        var sheet = ScoreSheet()
        scoreTaskFit(model, taskTypes: taskTypes, reasonSuffix: taskReasonSuffix, on: &sheet)
        scoreCost(model, requirements, costRange: costRange, on: &sheet)
        scoreContext(model, requirements, contextRange: contextRange, on: &sheet)
        if let offered = offeredCapabilities(requirements) { sheet.reasons.append(offered) }
        scorePreferredProvider(model, requirements, on: &sheet)
        scoreMaturity(model, day: day, on: &sheet)
        let score = sheet.possible > 0 ? (sheet.earned / sheet.possible * 1000).rounded() / 10 : 0
        return Recommendation(model: model, score: score, reasons: sheet.reasons, blendedCostPer1K: model.blendedCostPer1K)
    }

    /// Points earned out of points possible so far, and the reasons behind them.
    struct ScoreSheet {
        var earned = 0.0
        var possible = 0.0
        var reasons: [String] = []
    }

    /// Share of the requested task types the model is recommended for; only when a task is requested.
    static func scoreTaskFit(_ model: LLMModel, taskTypes: [String], reasonSuffix: String?, on sheet: inout ScoreSheet) {
        guard !taskTypes.isEmpty else { return }
        sheet.possible += taskWeight
        let tags = Set(model.recommendedFor.map(normalizedTag))
        let matched = taskTypes.filter { tags.contains($0) }
        sheet.earned += taskWeight * Double(matched.count) / Double(taskTypes.count)
        let suffix = reasonSuffix.map { " " + $0 } ?? ""
        if !matched.isEmpty {
            sheet.reasons.append("recommended for \(list(matched))" + suffix)
        }
        let unmatched = taskTypes.filter { !tags.contains($0) }
        if !unmatched.isEmpty {
            sheet.reasons.append("not specifically recommended for \(list(unmatched))")
        }
    }

    /// Cheaper blended price scores higher. An unknown price earns nothing but still counts as
    /// possible, so a model without a price cannot outrank an equal one with a price.
    static func scoreCost(
        _ model: LLMModel, _ requirements: RecommendationRequirements, costRange: ClosedRange<Double>?,
        on sheet: inout ScoreSheet
    ) {
        sheet.possible += costWeight
        guard let blended = model.blendedCostPer1K else {
            sheet.reasons.append("price unknown")
            return
        }
        sheet.earned += costWeight * closeness(positiveDouble(blended), in: costRange, higherIsBetter: false)
        var reason = "costs about $\(blended) per 1K tokens (blended 3:1 input:output)"
        if let maxCost = requirements.maxCost { reason += ", within max_cost \(maxCost)" }
        if let range = costRange, range.lowerBound < range.upperBound,
            positiveDouble(blended) <= range.lowerBound
        {
            reason += ", the cheapest match"
        }
        sheet.reasons.append(reason)
    }

    /// A larger context window scores higher.
    static func scoreContext(
        _ model: LLMModel, _ requirements: RecommendationRequirements, contextRange: ClosedRange<Double>?,
        on sheet: inout ScoreSheet
    ) {
        sheet.possible += contextWeight
        guard let window = model.contextWindow else { return }
        sheet.earned += contextWeight * closeness(Double(window), in: contextRange, higherIsBetter: true)
        var reason = "\(grouped(window))-token context window"
        if let minContext = requirements.minContext { reason += " (at least \(grouped(minContext)) needed)" }
        sheet.reasons.append(reason)
    }

    /// The capabilities the caller asked for, said to be there (the filter already required them).
    static func offeredCapabilities(_ requirements: RecommendationRequirements) -> String? {
        var offered: [String] = []
        if requirements.needsFunctions { offered.append("function calling") }
        if requirements.needsVision { offered.append("vision") }
        for raw in requirements.requiredCapabilities {
            let tag = normalizedTag(raw)
            let phrase = tag == "function_calling" ? "function calling" : tag.replacingOccurrences(of: "_", with: " ")
            if !tag.isEmpty, !offered.contains(phrase) { offered.append(phrase) }
        }
        return offered.isEmpty ? nil : "supports \(list(offered))"
    }

    /// Only when a provider is preferred.
    static func scorePreferredProvider(_ model: LLMModel, _ requirements: RecommendationRequirements, on sheet: inout ScoreSheet) {
        guard let preferred = requirements.preferProvider.map(normalizedTag), !preferred.isEmpty else { return }
        sheet.possible += providerWeight
        if model.provider.lowercased() == preferred {
            sheet.earned += providerWeight
            sheet.reasons.append("from the preferred provider '\(model.provider)'")
        } else {
            sheet.reasons.append("from '\(model.provider)', not the preferred provider '\(preferred)'")
        }
    }

    /// Active models earn the full weight, beta ones 2 of its 5 points.
    static func scoreMaturity(_ model: LLMModel, day: CalendarDate, on sheet: inout ScoreSheet) {
        sheet.possible += maturityWeight
        if model.effectiveStatus(on: day) == .beta {
            sheet.earned += 2
            sheet.reasons.append("in beta")
        } else {
            sheet.earned += maturityWeight
        }
    }

    // MARK: - Helpers

    /// Where `value` sits between the candidates' extremes on a log scale, 0...1 (1 = best).
    /// Log scale because prices and windows span orders of magnitude: a linear scale would make every
    /// model but the most expensive look equally cheap.
    static func closeness(_ value: Double, in range: ClosedRange<Double>?, higherIsBetter: Bool) -> Double {
        guard let range, range.lowerBound < range.upperBound else { return 1 }
        let position = (log(value) - log(range.lowerBound)) / (log(range.upperBound) - log(range.lowerBound))
        let clamped = min(max(position, 0), 1)
        return higherIsBetter ? clamped : 1 - clamped
    }

    static func logRange(_ values: [Double]) -> ClosedRange<Double>? {
        guard let low = values.min(), let high = values.max() else { return nil }
        return low...high
    }

    /// A price as a Double, for scoring only (never for money arithmetic). A free model (0) maps to a
    /// tiny positive value so the log scale ranks it cheapest instead of producing -infinity.
    static func positiveDouble(_ value: Decimal) -> Double {
        max(NSDecimalNumber(decimal: value).doubleValue, 1e-12)
    }

    static func normalizedTag(_ tag: String) -> String {
        tag.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        let readable = items.map { $0.replacingOccurrences(of: "_", with: " ") }
        guard readable.count > 1, let last = readable.last else { return readable.first ?? "" }
        return readable.dropLast().joined(separator: ", ") + " and " + last
    }

    /// 128000 → "128,000", without a locale-dependent formatter.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }
}
