import Catalog
import Foundation
import Postgres

/// A catalog row as stored: the domain model plus what only the database tracks.
public struct StoredModel: Sendable, Equatable {
    public var model: LLMModel
    /// API field names edited locally; catalog imports keep them (migrations/0012).
    public var locallyEditedFields: [String]

    public init(model: LLMModel, locallyEditedFields: [String] = []) {
        self.model = model
        self.locallyEditedFields = locallyEditedFields
    }
}

extension StoredModel {
    /// The select list `init(row:)` reads. Dates as text: `CalendarDate` is a day, not an instant.
    static let columns: SQL = """
        id, provider, model_id, display_name, model_family, capabilities, context_window,
        max_output_tokens, supports_functions, supports_vision, supports_streaming,
        input_cost_per_1k, output_cost_per_1k, cached_input_cost_per_1k, cache_creation_input_cost_per_1k, description,
        to_char(release_date, 'YYYY-MM-DD') AS release_date, to_char(deprecation_date, 'YYYY-MM-DD') AS deprecation_date, status,
        recommended_for, default_temperature, min_temperature, max_temperature, successor_model_id,
        source, created_at, updated_at, locally_edited_fields
        """

    init(row: PostgresRow) throws {
        let statusText = try row.decode("status", as: String.self)
        guard let status = ModelStatus(rawValue: statusText) else {
            throw PostgresError(kind: .decoding, message: "llm_models.status '\(statusText)' is not a known status")
        }
        model = LLMModel(
            id: try row.decode("id", as: UUID.self),
            provider: try row.decode("provider"),
            modelID: try row.decode("model_id"),
            displayName: try row.decode("display_name"),
            modelFamily: try row.decode("model_family"),
            capabilities: try row.decode("capabilities"),
            contextWindow: try row.decode("context_window"),
            maxOutputTokens: try row.decode("max_output_tokens"),
            supportsFunctions: try row.decode("supports_functions"),
            supportsVision: try row.decode("supports_vision"),
            supportsStreaming: try row.decode("supports_streaming"),
            inputCostPer1K: try row.decode("input_cost_per_1k"),
            outputCostPer1K: try row.decode("output_cost_per_1k"),
            cachedInputCostPer1K: try row.decode("cached_input_cost_per_1k"),
            cacheCreationInputCostPer1K: try row.decode("cache_creation_input_cost_per_1k"),
            description: try row.decode("description"),
            releaseDate: try Self.day(row, "release_date"),
            deprecationDate: try Self.day(row, "deprecation_date"),
            status: status,
            recommendedFor: try row.decode("recommended_for"),
            defaultTemperature: try row.decode("default_temperature"),
            minTemperature: try row.decode("min_temperature"),
            maxTemperature: try row.decode("max_temperature"),
            successorModelID: try row.decode("successor_model_id"),
            source: try row.decode("source"),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at")
        )
        locallyEditedFields = try row.decode("locally_edited_fields")
    }

    /// A date column as a day. Read with `to_char` (independent of the session's DateStyle); text
    /// that still does not parse is an error, never a silently missing deprecation date.
    static func day(_ row: PostgresRow, _ column: String) throws -> CalendarDate? {
        guard let text = try row.decode(column, as: String?.self) else { return nil }
        guard let day = CalendarDate(text) else {
            throw PostgresError(kind: .decoding, message: "llm_models.\(column) '\(text)' is not a YYYY-MM-DD date")
        }
        return day
    }
}
