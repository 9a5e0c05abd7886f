import Catalog
import Foundation
import Logging
import Postgres

/// Imports a third-party model catalog into `llm_models`, idempotently:
///
/// - new models are inserted (`source` = the catalog's name);
/// - existing imported or seeded rows get the catalog's prices, limits and deprecation date, and
///   its capabilities and successor unless those were edited locally (`locally_edited_fields`,
///   migrations/0012);
/// - the stored `status` is never derived from a date: a new row is `active` (LiteLLM carries no
///   lifecycle status) and an existing row keeps the status an operator or the seed gave it.
///   "Deprecated once `deprecation_date` has passed" is judged when read, from the clock
///   (`LLMModel.effectiveStatus(on:)`), so the same import gives the same rows on any day;
/// - display name, family, description, recommended_for, release date and temperatures are only
///   written on insert: they are curated locally (the catalog does not carry them);
/// - rows created through the API (`source` = manual) are never touched;
/// - a row whose values would not change is not written at all, so a second import of the same
///   file updates nothing (and bumps no `updated_at`).
///
/// One transaction under an advisory lock: concurrent imports run one after the other.
public struct CatalogImporter: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case litellm
    }

    /// Arbitrary but fixed; distinct from the migrator's key.
    static let advisoryLockKey = 7_310_455_020_251_129

    public let pool: PostgresPool
    private let logger: Logger

    public init(pool: PostgresPool, logger: Logger = Logger(label: "catalog.import")) {
        self.pool = pool
        self.logger = logger
    }

    public struct Report: Sendable, Equatable {
        public struct Update: Sendable, Equatable {
            public var modelID: String
            /// API field names whose value changed.
            public var fields: [String]
        }

        public struct Skip: Sendable, Equatable {
            /// The entry's key in the catalog file.
            public var key: String
            /// Stable category (`provider_not_callable`, `not_chat`, `locally_created`, …).
            public var category: String
            public var reason: String
        }

        public var inserted: [String] = []
        public var updated: [Update] = []
        public var unchanged: [String] = []
        public var skipped: [Skip] = []

        /// Skips grouped by reason, largest first: what a person reads.
        public var skippedByReason: [(reason: String, category: String, count: Int, examples: [String])] {
            var groups: [String: (category: String, keys: [String])] = [:]
            for skip in skipped { groups[skip.reason, default: (skip.category, [])].keys.append(skip.key) }
            return groups.map { (reason: $0.key, category: $0.value.category, count: $0.value.keys.count, examples: Array($0.value.keys.prefix(5))) }
                .sorted { $0.count != $1.count ? $0.count > $1.count : $0.reason < $1.reason }
        }
    }

    public enum ImportError: Error, Sendable, CustomStringConvertible {
        case unreadable(String)

        public var description: String {
            switch self {
            case .unreadable(let reason): return reason
            }
        }
    }

    public func importCatalog(_ data: Data, format: Format, actor: ChangeActor? = nil) async throws -> Report {
        switch format {
        case .litellm:
            let parsed: LiteLLMCatalog.Parsed
            do {
                parsed = try LiteLLMCatalog.parse(data)
            } catch {
                throw ImportError.unreadable(error.description)
            }
            var report = try await upsert(parsed.candidates, catalogSource: LiteLLMCatalog.sourceName, actor: actor)
            report.skipped = parsed.skipped.map {
                Report.Skip(key: $0.key, category: $0.reason.category.rawValue, reason: $0.reason.message)
            } + report.skipped
            logger.info("catalog.import.finished", metadata: [
                "catalog.format": "\(format.rawValue)", "catalog.inserted": "\(report.inserted.count)",
                "catalog.updated": "\(report.updated.count)", "catalog.unchanged": "\(report.unchanged.count)",
                "catalog.skipped": "\(report.skipped.count)",
            ])
            return report
        }
    }

    private func upsert(_ candidates: [LLMModel], catalogSource: String, actor: ChangeActor?) async throws -> Report {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockKey))")
            let providers = Set(try await connection.query("SELECT name FROM llm_providers").rows.map { try $0.decode("name", as: String.self) })
            var existing: [String: StoredModel] = [:]
            let ids = candidates.map(\.modelID)
            for row in try await connection.query(
                "SELECT \(StoredModel.columns) FROM llm_models WHERE model_id = ANY(\(ids)) ORDER BY model_id FOR UPDATE").rows
            {
                let stored = try StoredModel(row: row)
                existing[stored.model.modelID] = stored
            }

            var report = Report()
            for candidate in candidates {
                guard let stored = existing[candidate.modelID] else {
                    guard providers.contains(candidate.provider) else {
                        report.skipped.append(.init(
                            key: candidate.modelID, category: "provider_not_registered",
                            reason: "provider '\(candidate.provider)' is not in llm_providers"))
                        continue
                    }
                    try await connection.query("""
                        INSERT INTO llm_models (\(ModelRepository.writableColumns), source)
                        VALUES (\(ModelRepository.writableValues(candidate)), \(catalogSource))
                        """)
                    report.inserted.append(candidate.modelID)
                    continue
                }
                if stored.model.source == "manual" {
                    report.skipped.append(.init(
                        key: candidate.modelID, category: "locally_created",
                        reason: "a model created through the API has this id; imports never overwrite it"))
                    continue
                }
                if stored.model.provider != candidate.provider {
                    report.skipped.append(.init(
                        key: candidate.modelID, category: "provider_mismatch",
                        reason: "the catalog already has this id under another provider"))
                    continue
                }
                let merged = Self.merge(candidate, into: stored)
                let changed = Self.changedFields(stored.model, merged)
                if changed.isEmpty {
                    report.unchanged.append(candidate.modelID)
                    continue
                }
                try await connection.query("""
                    UPDATE llm_models
                       SET (\(ModelRepository.writableColumns)) = (\(ModelRepository.writableValues(merged))), updated_at = now()
                     WHERE model_id = \(merged.modelID)
                    """)
                report.updated.append(.init(modelID: candidate.modelID, fields: changed))
            }
            return report
        }
    }

    /// Fields the import source is the authority on: updated on every import, local edits or not.
    static let sourceOwnedFields: Set<String> = [
        "input_cost_per_1k", "output_cost_per_1k", "cached_input_cost_per_1k", "cache_creation_input_cost_per_1k",
        "context_window", "max_output_tokens", "deprecation_date",
    ]

    /// The stored row with the catalog's values applied where the import may change them.
    static func merge(_ candidate: LLMModel, into stored: StoredModel) -> LLMModel {
        var model = stored.model
        let edited = Set(stored.locallyEditedFields)
        model.inputCostPer1K = candidate.inputCostPer1K
        model.outputCostPer1K = candidate.outputCostPer1K
        model.cachedInputCostPer1K = candidate.cachedInputCostPer1K
        model.cacheCreationInputCostPer1K = candidate.cacheCreationInputCostPer1K
        model.contextWindow = candidate.contextWindow
        model.maxOutputTokens = candidate.maxOutputTokens
        model.deprecationDate = candidate.deprecationDate
        if !edited.contains("capabilities") { model.capabilities = candidate.capabilities }
        if !edited.contains("supports_functions") { model.supportsFunctions = candidate.supportsFunctions }
        if !edited.contains("supports_vision") { model.supportsVision = candidate.supportsVision }
        if !edited.contains("successor_model_id") { model.successorModelID = candidate.successorModelID }
        // `status` stays as stored: the catalog has no lifecycle status of its own to offer.
        return model
    }

    static func changedFields(_ old: LLMModel, _ new: LLMModel) -> [String] {
        var fields: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { fields.append(name) } }
        check("input_cost_per_1k", old.inputCostPer1K, new.inputCostPer1K)
        check("output_cost_per_1k", old.outputCostPer1K, new.outputCostPer1K)
        check("cached_input_cost_per_1k", old.cachedInputCostPer1K, new.cachedInputCostPer1K)
        check("cache_creation_input_cost_per_1k", old.cacheCreationInputCostPer1K, new.cacheCreationInputCostPer1K)
        check("context_window", old.contextWindow, new.contextWindow)
        check("max_output_tokens", old.maxOutputTokens, new.maxOutputTokens)
        check("deprecation_date", old.deprecationDate, new.deprecationDate)
        check("capabilities", old.capabilities, new.capabilities)
        check("supports_functions", old.supportsFunctions, new.supportsFunctions)
        check("supports_vision", old.supportsVision, new.supportsVision)
        check("successor_model_id", old.successorModelID, new.successorModelID)
        check("status", old.status, new.status)
        return fields
    }
}
