/// Which catalog models the recommender may consider at all: not those of a disabled provider
/// (the gateway would skip them), and not dated snapshots whose alias is in the catalog
/// (`gpt-4o-2024-08-06` next to `gpt-4o`): one entry per model, the alias, which follows updates.
public enum RecommendationCandidates {
    public static func filter(_ models: [LLMModel], disabledProviders: Set<String>) -> [LLMModel] {
        let enabled = models.filter { !disabledProviders.contains($0.provider) }
        let ids = Set(enabled.map { "\($0.provider)\u{0}\($0.modelID)" })
        return enabled.filter { model in
            guard let base = snapshotBase(model.modelID) else { return true }
            return ![base, base + "-latest"].contains { ids.contains("\(model.provider)\u{0}\($0)") }
        }
    }

    /// `gpt-4o-2024-08-06` → `gpt-4o`; `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`;
    /// nil when the id does not end in a date.
    public static func snapshotBase(_ modelID: String) -> String? {
        let scalars = Array(modelID.unicodeScalars)
        func isDigit(_ index: Int) -> Bool { index >= 0 && index < scalars.count && ("0"..."9").contains(scalars[index]) }
        func digits(_ range: Range<Int>) -> Bool { range.allSatisfy(isDigit) }
        let count = scalars.count
        // -YYYY-MM-DD
        if count > 11, scalars[count - 11] == "-", digits(count - 10..<count - 6), scalars[count - 6] == "-",
            digits(count - 5..<count - 3), scalars[count - 3] == "-", digits(count - 2..<count),
            scalars[count - 10] == "2"
        {
            return String(String.UnicodeScalarView(scalars[0..<count - 11]))
        }
        // -YYYYMMDD (or @YYYYMMDD)
        if count > 9, scalars[count - 9] == "-" || scalars[count - 9] == "@", digits(count - 8..<count), scalars[count - 8] == "2" {
            return String(String.UnicodeScalarView(scalars[0..<count - 9]))
        }
        return nil
    }
}
