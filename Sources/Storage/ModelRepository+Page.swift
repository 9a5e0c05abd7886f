import Catalog
import Foundation
import Postgres

/// `GET /api/models`: filtering in SQL (the provider/status/family indexes do the work) and keyset
/// paging in catalog order, with the total of all matching rows.
extension ModelRepository {
    public struct Filter: Sendable {
        public var provider: String?
        /// Effective statuses to include (deprecated once the deprecation date has passed on `today`).
        public var statuses: Set<ModelStatus> = [.active, .beta, .deprecated]
        public var supportsFunctions: Bool?
        public var supportsVision: Bool?
        public var minContext: Int?
        /// A capability tag, lower-case (also honours the boolean columns, like `LLMModel.hasCapability`).
        public var capability: String?
        /// Lower-case substring of the model id, display name or family.
        public var text: String?
        public var today: CalendarDate

        public init(today: CalendarDate) {
            self.today = today
        }
    }

    /// Position in catalog order: the last row of the previous page.
    public struct Position: Sendable, Equatable, Codable {
        public var provider: String
        public var displayName: String
        public var modelID: String

        public init(provider: String, displayName: String, modelID: String) {
            self.provider = provider
            self.displayName = displayName
            self.modelID = modelID
        }
    }

    /// The effective status as SQL, the same rule as `LLMModel.effectiveStatus(on:)`.
    static func effectiveStatus(today: CalendarDate) -> SQL {
        """
        (CASE WHEN deprecation_date IS NOT NULL AND deprecation_date <= \(today.description)::date
                   AND status IN ('active', 'beta') THEN 'deprecated' ELSE status END)
        """
    }

    static func condition(_ filter: Filter) -> SQL {
        var conditions: [SQL] = ["TRUE"]
        if let provider = filter.provider { conditions.append("provider = \(provider)") }
        if filter.statuses != Set(ModelStatus.allCases) {
            conditions.append("\(effectiveStatus(today: filter.today)) = ANY(\(filter.statuses.map(\.rawValue).sorted()))")
        }
        if let value = filter.supportsFunctions { conditions.append("supports_functions = \(value)") }
        if let value = filter.supportsVision { conditions.append("supports_vision = \(value)") }
        if let minContext = filter.minContext { conditions.append("context_window >= \(minContext)") }
        if let capability = filter.capability {
            let tagged: SQL = "EXISTS (SELECT 1 FROM unnest(capabilities) AS tag WHERE lower(tag) = \(capability))"
            switch capability {
            case "function_calling", "functions", "tools": conditions.append("(supports_functions OR \(tagged))")
            case "vision": conditions.append("(supports_vision OR \(tagged))")
            case "streaming": conditions.append("supports_streaming")
            case "chat": break
            default: conditions.append(tagged)
            }
        }
        if let text = filter.text {
            conditions.append("""
                (strpos(lower(model_id), \(text)) > 0 OR strpos(lower(display_name), \(text)) > 0
                 OR strpos(lower(coalesce(model_family, '')), \(text)) > 0)
                """)
        }
        return SQL.joined(conditions, separator: " AND ")
    }

    /// One page after `after` (nil: the first), at most `limit` rows, and the total matching.
    public func page(_ filter: Filter, after: Position?, limit: Int) async throws -> (models: [StoredModel], total: Int) {
        let condition = Self.condition(filter)
        let total = try await pool.query("SELECT count(*) AS total FROM llm_models WHERE \(condition)").rows.first?
            .decode("total", as: Int.self) ?? 0
        var keyset: SQL = "TRUE"
        if let after {
            keyset = "(provider, display_name, model_id) > (\(after.provider), \(after.displayName), \(after.modelID))"
        }
        let models = try await pool.query("""
            SELECT \(StoredModel.columns) FROM llm_models
             WHERE \(condition) AND \(keyset)
             ORDER BY provider, display_name, model_id
             LIMIT \(limit)
            """).rows.map(StoredModel.init(row:))
        return (models, total)
    }

    /// Every matching model, in catalog order (the providers view).
    public func all(_ filter: Filter) async throws -> [StoredModel] {
        try await pool.query("""
            SELECT \(StoredModel.columns) FROM llm_models WHERE \(Self.condition(filter))
             ORDER BY provider, display_name, model_id
            """).rows.map(StoredModel.init(row:))
    }
}
