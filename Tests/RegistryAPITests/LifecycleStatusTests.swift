import Catalog
import Foundation
import JSON
import Postgres
import Storage
import TestSupport
import Testing
@testable import RegistryAPI

/// A model's lifecycle status is one rule in one place: the stored `status` is what an operator or
/// the source said; the effective status (deprecated once `deprecation_date` has passed) is derived
/// when read, from the registry's injected clock. Nothing stores a status derived from the day a
/// migration or an import happened to run. Runs on the shared test clock, and again on other days
/// (scripts/test.sh), so every expectation here is computed from that clock.
@Suite struct LifecycleStatusTests {
    /// Noon UTC on `day`.
    static func noon(_ day: CalendarDate) -> Date { day.startOfDay.addingTimeInterval(12 * 3600) }

    /// Every seeded model with a deprecation date is stored `active`, and the API, its status filter
    /// and the recommender all read it as deprecated exactly when the clock's day has reached the date.
    @Test func seededModelsReadAsDeprecatedFromTheirDateOnTheRegistrysClock() async throws {
        try await Registry.run { api in
            let today = CalendarDate(Registry.fixedNow)
            let dated = try await api.pool.query("""
                SELECT model_id, status, to_char(deprecation_date, 'YYYY-MM-DD') AS day
                  FROM llm_models WHERE deprecation_date IS NOT NULL ORDER BY model_id
                """).rows.map { row in
                (id: try row.decode("model_id", as: String.self), status: try row.decode("status", as: String.self),
                 day: try #require(CalendarDate(try row.decode("day", as: String.self))))
            }
            #expect(dated.count > 10)
            var expectedDeprecated: Set<String> = []
            for model in dated {
                #expect(model.status == "active", "\(model.id): the seed stores no date-derived status")
                let body = try await api.get("/api/models/\(model.id)").json()
                let expected = model.day <= today ? "deprecated" : "active"
                #expect(body["effective_status"]?.string == expected, "\(model.id) on \(today)")
                #expect(body["status"]?.string == "active")
                if model.day <= today { expectedDeprecated.insert(model.id) }
            }
            // The list filter (SQL) applies the same rule as the Swift one.
            let listed = try await api.get("/api/models?status=deprecated&limit=200").json()["models"]?.array ?? []
            let listedIDs = Set(listed.compactMap { $0["model_id"]?.string })
            #expect(expectedDeprecated.isSubset(of: listedIDs))
            #expect(listedIDs.subtracting(expectedDeprecated).allSatisfy { id in !dated.contains { $0.id == id } },
                    "a dated model is listed as deprecated only once its date has passed")
            // The recommender never proposes one whose date has passed.
            let recommended = try await api.post("/api/models/recommend?limit=50", "{}").json()["recommendations"]?.array ?? []
            let recommendedIDs = Set(recommended.compactMap { $0["model"]?["model_id"]?.string })
            #expect(recommendedIDs.isDisjoint(with: expectedDeprecated))
        }
    }

    /// claude-sonnet-4-5's seeded deprecation date is 2026-11-30: on the day before it is active for
    /// the API, validation and the recommender; on the day it is deprecated, with a warning naming the
    /// successor. Before the fix the seed stored `deprecated` from the migration's CURRENT_DATE, so a
    /// database migrated on or after 2026-11-30 could not be judged on an earlier day.
    @Test func aSeededModelChangesOnItsOwnDateWhateverDayTheDatabaseWasMigrated() async throws {
        let deprecation = try #require(CalendarDate("2026-11-30"))
        let config = #"{"name": "S", "agent_type": "coder", "model_config": {"model_id": "claude-sonnet-4-5"}}"#
        try await Registry.run(now: Self.noon(deprecation.advanced(byDays: -1))) { api in
            let model = try await api.get("/api/models/claude-sonnet-4-5").json()
            #expect(model["deprecation_date"]?.string == deprecation.description)
            #expect(model["effective_status"]?.string == "active")
            let created = try await api.post("/api/agents", config)
            #expect(created.status == .created, "\(created)")
            #expect(!created.warnings.contains { $0.field == "model_config.model_id" }, "\(created)")
            let recommended = try await api.post("/api/models/recommend?limit=50", #"{"task_type": "coding"}"#).json()
            #expect(recommended["recommendations"]?.array?.contains { $0["model"]?["model_id"]?.string == "claude-sonnet-4-5" } == true)
        }
        try await Registry.run(now: Self.noon(deprecation)) { api in
            #expect(try await api.get("/api/models/claude-sonnet-4-5").json()["effective_status"]?.string == "deprecated")
            let created = try await api.post("/api/agents", config)
            #expect(created.warnings.contains {
                $0.field == "model_config.model_id" && $0.message.contains("deprecated (since 2026-11-30)")
                    && $0.message.contains("claude-sonnet-5-5")
            }, "\(created)")
            let recommended = try await api.post("/api/models/recommend?limit=50", #"{"task_type": "coding"}"#).json()
            #expect(recommended["recommendations"]?.array?.contains { $0["model"]?["model_id"]?.string == "claude-sonnet-4-5" } == false)
        }
    }

    /// An import stores what the file says, so two imports on different days leave identical rows,
    /// and a stored status an operator or the seed chose survives a re-import.
    @Test func anImportStoresNoDateDerivedStatus() async throws {
        try await Registry.run { api in
            let bytes = try LiteLLMFile.bytes()
            #expect(try await api.send(.post, "/api/models/import", bytes: bytes).status == .ok)
            let imported = try await api.pool.query("""
                SELECT count(*) FILTER (WHERE status <> 'active') AS not_active FROM llm_models WHERE source = 'litellm'
                """).rows[0]
            #expect(try imported.decode("not_active", as: Int.self) == 0)
            // The seed's own lifecycle decision (no date, deprecated by the PRD) is not the import's to undo.
            #expect(try await api.get("/api/models/claude-3-haiku-20240307").json()["status"]?.string == "deprecated")
            // Drift an operator's decision onto a catalog row without local-edit bookkeeping, as an old
            // import would have left it: a re-import does not rewrite it from a date.
            try await api.pool.execute("UPDATE llm_models SET status = 'beta' WHERE model_id = 'gpt-4o'")
            let again = try await api.send(.post, "/api/models/import", bytes: bytes).json()
            #expect(again["updated"]?.int == 0, "\(again["updated_models"] ?? .null)")
            #expect(try await api.get("/api/models/gpt-4o").json()["status"]?.string == "beta")
        }
    }

    /// Upgrading a database whose seed or imports stored date-derived statuses (0011 before 0018, or
    /// an import by an earlier version) turns them back into `active`, and only those: an operator's
    /// edit, a model created through the API and the seed's undated lifecycle rows keep theirs.
    @Test func upgradeClearsDateDerivedStatusesOnly() async throws {
        try await Registry.run(migrateUpTo: "0017_dashboard_rollups") { api in
            try await api.pool.execute("""
                UPDATE llm_models SET status = 'deprecated' WHERE model_id IN ('gpt-4', 'gpt-3.5-turbo', 'o4-mini');
                UPDATE llm_models SET status = 'deprecated', locally_edited_fields = '{status}' WHERE model_id = 'gpt-3.5-turbo';
                UPDATE llm_models SET source = 'manual' WHERE model_id = 'o4-mini';
                """)
            try await Migrator(pool: api.pool, migrations: Registry.migrations).migrate()
            let statuses = Dictionary(uniqueKeysWithValues: try await api.pool.query("""
                SELECT model_id, status FROM llm_models
                 WHERE model_id IN ('gpt-4', 'gpt-3.5-turbo', 'o4-mini', 'claude-3-haiku-20240307', 'claude-3-opus-20240229')
                """).rows.map { (try $0.decode("model_id", as: String.self), try $0.decode("status", as: String.self)) })
            #expect(statuses == [
                "gpt-4": "active",  // date-derived: cleared (it still reads as deprecated, its date has passed)
                "gpt-3.5-turbo": "deprecated",  // an operator's edit
                "o4-mini": "deprecated",  // created through the API
                "claude-3-haiku-20240307": "deprecated", "claude-3-opus-20240229": "retired",  // the seed's own, undated
            ])
            let audit = try await api.pool.query("""
                SELECT token_kind FROM config_changes WHERE entity = 'model' AND entity_id = 'gpt-4' ORDER BY id DESC LIMIT 1
                """).rows
            #expect(try audit.first?.decode("token_kind", as: String.self) == "migration", "the audit trail says who")
        }
    }
}
