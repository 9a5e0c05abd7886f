import Catalog
import Foundation
import Postgres

/// The model catalog (`llm_models`). Writes fire the `switchboard_config` NOTIFY trigger (0010),
/// so gateways refresh their caches without being told here.
public struct ModelRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Every model, in the catalog's display order (provider, display name, model id).
    public func all() async throws -> [StoredModel] {
        try await pool.query("SELECT \(StoredModel.columns) FROM llm_models ORDER BY provider, display_name, model_id")
            .rows.map(StoredModel.init(row:))
    }

    public func find(_ modelID: String) async throws -> StoredModel? {
        try await pool.query("SELECT \(StoredModel.columns) FROM llm_models WHERE model_id = \(modelID)")
            .rows.first.map(StoredModel.init(row:))
    }

    /// The models among `modelIDs` that exist, keyed by id.
    public func find(_ modelIDs: [String]) async throws -> [String: StoredModel] {
        guard !modelIDs.isEmpty else { return [:] }
        let rows = try await pool.query("SELECT \(StoredModel.columns) FROM llm_models WHERE model_id = ANY(\(modelIDs))").rows
        var found: [String: StoredModel] = [:]
        for row in rows {
            let stored = try StoredModel(row: row)
            found[stored.model.modelID] = stored
        }
        return found
    }

    /// The models among `modelIDs` that exist, keyed by id, read on `connection` with `FOR SHARE`:
    /// until the caller's transaction ends no one can change them (a concurrent retire waits, and
    /// then sees what the caller wrote).
    public func findForShare(_ modelIDs: [String], on connection: PostgresConnection) async throws -> [String: StoredModel] {
        guard !modelIDs.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT \(StoredModel.columns) FROM llm_models WHERE model_id = ANY(\(modelIDs)) ORDER BY model_id FOR SHARE
            """).rows
        var found: [String: StoredModel] = [:]
        for row in rows {
            let stored = try StoredModel(row: row)
            found[stored.model.modelID] = stored
        }
        return found
    }

    /// Inserts a model created through the API (`source` = manual). Throws a unique violation when
    /// the model id exists and a foreign-key violation when the provider does not.
    public func create(_ model: LLMModel, actor: ChangeActor? = nil) async throws -> StoredModel {
        let sql: SQL = """
            INSERT INTO llm_models (\(Self.writableColumns), source)
            VALUES (\(Self.writableValues(model)), 'manual')
            RETURNING \(StoredModel.columns)
            """
        return try await pool.withTransaction { connection in
            try await connection.announce(actor)
            guard let row = try await connection.query(sql).rows.first else {
                throw PostgresError(kind: .decoding, message: "INSERT … RETURNING returned no row")
            }
            return try StoredModel(row: row)
        }
    }

    /// Read-modify-write of one model under a row lock: `change` sees the current row and returns
    /// the new one, and no concurrent edit or catalog import can slip in between (nor can the
    /// agents `change` inspects on `connection` be read against a stale model). Records
    /// `editedFields` as local edits that imports keep. nil when the model does not exist.
    public func update(
        _ modelID: String, editedFields: [String], actor: ChangeActor? = nil,
        _ change: (StoredModel, PostgresConnection) async throws -> LLMModel
    ) async throws -> StoredModel? {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            guard let row = try await connection.query(
                "SELECT \(StoredModel.columns) FROM llm_models WHERE model_id = \(modelID) FOR UPDATE").rows.first
            else { return nil }
            let model = try await change(try StoredModel(row: row), connection)
            let sql: SQL = """
                UPDATE llm_models
                   SET (\(Self.writableColumns)) = (\(Self.writableValues(model))),
                       locally_edited_fields = ARRAY(
                           SELECT DISTINCT field FROM unnest(locally_edited_fields || \(editedFields)) AS field ORDER BY field),
                       updated_at = now()
                 WHERE model_id = \(modelID)
                RETURNING \(StoredModel.columns)
                """
            return try await connection.query(sql).rows.first.map(StoredModel.init(row:))
        }
    }

    /// Agents whose configuration names the model, as primary or fallback, including agents without
    /// a `model_config` whose legacy `preferred_model` resolves to it (same rule as 0002's backfill),
    /// read inside the caller's transaction.
    public func agentsUsing(_ modelID: String, on connection: PostgresConnection) async throws -> [ModelUsageByAgent] {
        let primary = try PostgresJSON(["model_id": modelID])
        let fallback = try PostgresJSON(["fallback_model_ids": [modelID]])
        let rows = try await connection.query("""
            SELECT id, name, status,
                   coalesce(model_config ->> 'model_id',
                            coalesce(nullif(btrim(preferred_model), ''), \(LegacyModelMapping.defaultModelID))) = \(modelID) AS is_primary
              FROM agents
             WHERE model_config @> \(primary)
                OR model_config @> \(fallback)
                OR (model_config IS NULL
                    AND coalesce(nullif(btrim(preferred_model), ''), \(LegacyModelMapping.defaultModelID)) = \(modelID))
             ORDER BY name, id
            """).rows
        return try rows.map { row in
            ModelUsageByAgent(
                agentID: try row.decode("id"), agentName: try row.decode("name"), agentStatus: try row.decode("status"),
                role: try row.decode("is_primary", as: Bool.self) ? .primary : .fallback)
        }
    }

    // MARK: - Column lists

    /// Columns an API write sets, in the order `writableValues` binds them.
    static let writableColumns: SQL = """
        provider, model_id, display_name, model_family, capabilities, context_window, max_output_tokens,
        supports_functions, supports_vision, supports_streaming, input_cost_per_1k, output_cost_per_1k,
        cached_input_cost_per_1k, cache_creation_input_cost_per_1k, description, release_date, deprecation_date, status, recommended_for,
        default_temperature, min_temperature, max_temperature, successor_model_id
        """

    static func writableValues(_ model: LLMModel) -> SQL {
        """
        \(model.provider), \(model.modelID), \(model.displayName), \(model.modelFamily), \(model.capabilities),
        \(model.contextWindow), \(model.maxOutputTokens), \(model.supportsFunctions), \(model.supportsVision),
        \(model.supportsStreaming), \(model.inputCostPer1K), \(model.outputCostPer1K), \(model.cachedInputCostPer1K),
        \(model.cacheCreationInputCostPer1K),        \(model.description), \(model.releaseDate?.description)::date, \(model.deprecationDate?.description)::date,
        \(model.status.rawValue), \(model.recommendedFor), \(model.defaultTemperature), \(model.minTemperature),
        \(model.maxTemperature), \(model.successorModelID)
        """
    }
}

/// An agent that depends on a model, and how.
public struct ModelUsageByAgent: Sendable, Equatable {
    public enum Role: String, Sendable, Codable {
        case primary
        case fallback
    }

    public var agentID: UUID
    public var agentName: String
    public var agentStatus: String
    public var role: Role
}
