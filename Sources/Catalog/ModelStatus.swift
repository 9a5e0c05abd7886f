/// Lifecycle of a catalog model (`llm_models.status`).
public enum ModelStatus: String, Sendable, Codable, CaseIterable, Comparable {
    /// Generally available: selectable and recommendable.
    case active
    /// Preview: selectable and recommendable, may change.
    case beta
    /// Still callable, but configs using it get a warning naming the successor; never recommended.
    case deprecated
    /// No longer callable: rejected in configs, skipped by the gateway, never recommended.
    case retired

    /// Whether a new or updated model configuration may name this model at all.
    public var isSelectable: Bool { self != .retired }

    /// Whether the recommender may propose this model.
    public var isRecommendable: Bool { self == .active || self == .beta }

    /// Order of severity (active and beta rank alike before deprecated before retired), so
    /// "at least deprecated" is `max(status, .deprecated)`.
    var severity: Int {
        switch self {
        case .active, .beta: return 0
        case .deprecated: return 1
        case .retired: return 2
        }
    }

    public static func < (lhs: ModelStatus, rhs: ModelStatus) -> Bool {
        if lhs.severity != rhs.severity { return lhs.severity < rhs.severity }
        // Same severity: a fixed order keeps sorting deterministic.
        return lhs == .active && rhs == .beta
    }
}
