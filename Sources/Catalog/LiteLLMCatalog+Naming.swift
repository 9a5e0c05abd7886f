/// Names, families, release dates and task tags LiteLLM does not carry, derived from model ids. They are
/// starting values for newly imported rows only: re-imports keep local edits to display names and
/// recommended_for (the importer's job), so a person can correct them through the API.
extension LiteLLMCatalog {
    /// "gpt-4o-mini" → "GPT-4o mini", "claude-opus-4-5-20251101" → "Claude Opus 4.5 (2025-11-01)",
    /// "o3" → "o3"; anything unrecognised keeps its id.
    static func displayName(for modelID: String) -> String {
        let (base, date) = splitDateSuffix(modelID)
        let parts = base.split(separator: "-").map(String.init)
        var name: String
        if parts.first == "gpt", parts.count >= 2 {
            // OpenAI's own style: "GPT-4o mini", "GPT-5.6 Sol", "GPT-3.5 Turbo" (size tiers lowercase).
            let words = parts.dropFirst(2).map { word in
                ["mini", "nano"].contains(word) ? word : word.prefix(1).uppercased() + word.dropFirst()
            }
            name = "GPT-" + parts[1] + (words.isEmpty ? "" : " " + words.joined(separator: " "))
        } else if parts.first == "claude", parts.count >= 2 {
            // Words capitalised, consecutive version numbers joined by dots: opus-4-5 → Opus 4.5.
            var words: [String] = ["Claude"]
            var version: [String] = []
            for part in parts.dropFirst() {
                if part.allSatisfy(\.isNumber) {
                    version.append(part)
                } else {
                    if !version.isEmpty { words.append(version.joined(separator: ".")); version = [] }
                    words.append(part.prefix(1).uppercased() + part.dropFirst())
                }
            }
            if !version.isEmpty { words.append(version.joined(separator: ".")) }
            name = words.joined(separator: " ")
        } else {
            name = base
        }
        if let date { name += " (\(date))" }
        return name
    }

    /// "gpt-4o-mini" → "gpt-4o", "claude-opus-4-5" → "claude-4.5", "o3-mini" → "o-series"; nil otherwise.
    static func family(of modelID: String) -> String? {
        let parts = splitDateSuffix(modelID).base.split(separator: "-").map(String.init)
        guard let first = parts.first else { return nil }
        if first == "gpt", parts.count >= 2 { return "gpt-" + parts[1] }
        if first == "claude" {
            let version = parts.dropFirst().filter { $0.allSatisfy(\.isNumber) }
            return version.isEmpty ? "claude" : "claude-" + version.joined(separator: ".")
        }
        if first.count >= 2, first.first == "o", first.dropFirst().allSatisfy(\.isNumber) { return "o-series" }
        return nil
    }

    /// The date a dated snapshot id carries ("gpt-4o-2024-05-13", "claude-opus-4-5-20251101"); for an
    /// alias, the earliest dated snapshot of it among the imported ids (its first release).
    static func releaseDate(of modelID: String, among ids: Set<String>) -> CalendarDate? {
        if let date = splitDateSuffix(modelID).date { return date }
        let prefix = modelID + "-"
        return ids.compactMap { id -> CalendarDate? in
            guard id.hasPrefix(prefix) else { return nil }
            let rest = String(id.dropFirst(prefix.count))
            return parseDate(rest)
        }.min()
    }

    /// Splits a trailing "-YYYY-MM-DD" or "-YYYYMMDD" off a model id.
    static func splitDateSuffix(_ modelID: String) -> (base: String, date: CalendarDate?) {
        for length in [10, 8] where modelID.count > length + 1 {
            let suffix = String(modelID.suffix(length))
            let base = modelID.dropLast(length)
            if base.hasSuffix("-"), let date = parseDate(suffix) {
                return (String(base.dropLast()), date)
            }
        }
        return (modelID, nil)
    }

    /// "2024-05-13" or "20240513".
    static func parseDate(_ text: String) -> CalendarDate? {
        if text.count == 10 { return CalendarDate(text) }
        guard text.count == 8, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let digits = Array(text)
        return CalendarDate(String(digits[0..<4]) + "-" + String(digits[4..<6]) + "-" + String(digits[6..<8]))
    }

    /// Task tags for the recommender, from what the entry says the model can do (close to the seed's
    /// hand-written tags): every model chats; vision models get vision, ≥ 400K-token windows long_context.
    /// Reasoning models get reasoning, coding and analysis, except the small tiers (nano, haiku, luna,
    /// lite), which get the high-volume tasks instead; "mini" tiers get both coding and the high-volume
    /// summarization/extraction.
    static func recommendedFor(modelID: String, capabilities: [String], contextWindow: Int?) -> [String] {
        let lowered = modelID.lowercased()
        let isSmall = ["nano", "haiku", "luna", "lite"].contains { lowered.contains($0) }
        let isMini = !isSmall && lowered.contains("mini")
        let reasons = capabilities.contains("reasoning")
        var tags = ["chat"]
        if reasons && !isSmall { tags += isMini ? ["reasoning", "coding"] : ["reasoning", "coding", "analysis"] }
        if capabilities.contains("vision") { tags.append("vision") }
        if let contextWindow, contextWindow >= 400_000 { tags.append("long_context") }
        if isSmall { tags += ["classification", "extraction", "summarization"] }
        if isMini { tags += ["extraction", "summarization"] }
        return tags
    }
}
