import JSON
import Catalog
import Foundation
import Postgres
import Storage
import Testing
@testable import RegistryAPI

/// Importing LiteLLM's real cost map (../shared/data/litellm) through `POST /api/models/import`,
/// and through the importer `model-registry import-catalog` wraps.
@Suite struct CatalogImportTests {
    /// Entries of the file, exactly as written (numbers keep their text).
    static func fileEntries() throws -> [(key: String, value: JSONValue)] {
        guard case .object(let entries) = try JSONParser.parse(try LiteLLMFile.bytes()) else {
            throw HarnessError.unexpected("the LiteLLM file is not an object")
        }
        return entries
    }

    @Test func importsTheFullLiteLLMFileIdempotently() async throws {
        try await Registry.run { api in
            let bytes = try LiteLLMFile.bytes()
            let entries = try Self.fileEntries()
            let first = try await api.send(.post, "/api/models/import?format=litellm", bytes: bytes)
            #expect(first.status == .ok, "\(first)")
            let report = try first.json()
            let inserted = report["inserted"]?.int ?? -1
            let updated = report["updated"]?.int ?? -1
            let unchanged = report["unchanged"]?.int ?? -1
            let skipped = report["skipped"]?.int ?? -1
            // Every entry of the file is accounted for exactly once.
            #expect(inserted + updated + unchanged + skipped == entries.count)
            // The chat models of callable providers: openai + anthropic chat entries (no huggingface in this map).
            let chat = entries.filter {
                ["openai", "anthropic"].contains($0.value["litellm_provider"]?.string ?? "") && $0.value["mode"]?.string == "chat"
            }
            #expect(inserted + updated + unchanged <= chat.count)
            #expect(inserted + updated + unchanged >= chat.count - 40, "only templates, pseudo-entries and duplicates are dropped")
            // Seeded models that the file also has were updated or unchanged, not inserted again.
            let insertedIDs = report["inserted_model_ids"]?.array ?? []
            #expect(!insertedIDs.contains(.string("gpt-4o")))
            #expect(inserted > 50)
            let reasons = report["skipped_reasons"]?.array ?? []
            let notCallable = reasons.filter { $0["category"]?.string == "provider_not_callable" }
            #expect(notCallable.reduce(0) { $0 + ($1["count"]?.int ?? 0) } > 1000)
            #expect(notCallable.contains { $0["reason"]?.string == "provider 'groq' is not callable" })
            #expect(reasons.contains { $0["category"]?.string == "not_chat" })
            #expect(reasons.reduce(0) { $0 + ($1["count"]?.int ?? 0) } == skipped)

            // gpt-4o: prices and context window exactly as in the file (per token × 1000).
            let entry = try #require(entries.first { $0.key == "gpt-4o" }?.value)
            let model = try await api.get("/api/models/gpt-4o").json()
            let inputPerToken = try #require(entry["input_cost_per_token"]?.decimal)
            let outputPerToken = try #require(entry["output_cost_per_token"]?.decimal)
            #expect(model["input_cost_per_1k"]?.decimal == inputPerToken * 1000)
            #expect(model["output_cost_per_1k"]?.decimal == outputPerToken * 1000)
            #expect(model["input_cost_per_1k"]?.decimal == Decimal(string: "0.0025"))
            #expect(model["context_window"]?.int == entry["max_input_tokens"]?.int)
            #expect(model["max_output_tokens"]?.int == entry["max_output_tokens"]?.int)

            // The import stores what the file says (no lifecycle status: active); a model whose
            // deprecation date has passed on the registry's clock reads as deprecated.
            let today = CalendarDate(Registry.fixedNow)
            var checked = (past: 0, future: 0)
            for entry in entries where ["openai", "anthropic"].contains(entry.value["litellm_provider"]?.string ?? "")
                && entry.value["mode"]?.string == "chat"
            {
                guard let deprecation = (entry.value["deprecation_date"]?.string).flatMap(CalendarDate.init) else { continue }
                let reply = try await api.get("/api/models/\(entry.key)")
                guard reply.status == .ok else { continue }  // e.g. a template entry that was skipped
                let body = try reply.json()
                guard body["source"]?.string == "litellm" else { continue }
                #expect(body["status"]?.string == "active", "\(entry.key): stored as the source said")
                #expect(body["effective_status"]?.string == (deprecation <= today ? "deprecated" : "active"), "\(entry.key)")
                #expect(body["deprecation_date"]?.string == deprecation.description)
                if deprecation <= today { checked.past += 1 } else { checked.future += 1 }
            }
            #expect(checked.past + checked.future > 0, "the file has imported models with a deprecation date")

            // A second import changes nothing.
            let before = try await Self.snapshot(api.pool)
            let second = try await api.send(.post, "/api/models/import", bytes: bytes).json()
            #expect(second["inserted"]?.int == 0)
            #expect(second["updated"]?.int == 0, "\(second["updated_models"] ?? .null)")
            #expect(second["unchanged"]?.int == inserted + updated + unchanged)
            #expect(second["skipped"]?.int == skipped)
            #expect(try await Self.snapshot(api.pool) == before, "no row was rewritten")
        }
    }

    /// A re-import updates prices, limits and dates but keeps local edits to display names,
    /// recommended_for and status; it never touches models created through the API.
    @Test func reimportKeepsLocalEdits() async throws {
        try await Registry.run { api in
            let bytes = try LiteLLMFile.bytes()
            #expect(try await api.send(.post, "/api/models/import", bytes: bytes).status == .ok)
            let edit = try await api.patch("/api/models/gpt-4o", """
                {"display_name": "GPT-4o (house)", "recommended_for": ["vision"], "status": "beta", "input_cost_per_1k": 9}
                """)
            #expect(edit.status == .ok, "\(edit)")
            // Drift a source-owned value behind the API's back, as an old import would have left it.
            try await api.pool.execute("UPDATE llm_models SET context_window = 1000 WHERE model_id = 'gpt-4o'")
            // A manual model that happens to share an id with the catalog.
            try await api.pool.execute("UPDATE llm_models SET source = 'manual', display_name = 'Mine' WHERE model_id = 'gpt-4o-mini'")

            let report = try await api.send(.post, "/api/models/import", bytes: bytes).json()
            let updates = report["updated_models"]?.array ?? []
            #expect(updates.compactMap { $0["model_id"]?.string } == ["gpt-4o"])
            #expect(Set(updates.first?["fields"]?.array?.compactMap(\.string) ?? []) == ["input_cost_per_1k", "context_window"])
            #expect(report["skipped_reasons"]?.array?.contains { $0["category"]?.string == "locally_created" } == true)

            let model = try await api.get("/api/models/gpt-4o").json()
            #expect(model["display_name"]?.string == "GPT-4o (house)")
            #expect(model["recommended_for"]?.array == [.string("vision")])
            #expect(model["status"]?.string == "beta")
            #expect(model["input_cost_per_1k"]?.decimal == Decimal(string: "0.0025"), "prices follow the catalog")
            #expect(model["context_window"]?.int == 128_000, "limits follow the catalog")
            #expect(try await api.get("/api/models/gpt-4o-mini").json()["display_name"]?.string == "Mine")
        }
    }

    @Test func importRejectsWhatIsNotACostMap() async throws {
        try await Registry.run { api in
            let broken = try await api.send(.post, "/api/models/import", json: #"{"gpt-x": {"mode": "chat",}}"#)
            #expect(broken.status == .badRequest)
            #expect(broken.errorCode == "invalid_json")
            #expect(try broken.json()["error"]?["message"]?.string?.contains("line 1, column 27") == true, "\(broken)")
            let array = try await api.send(.post, "/api/models/import", json: "[1, 2]")
            #expect(array.status == .badRequest)
            #expect(array.errorCode == "invalid_catalog")
            let format = try await api.send(.post, "/api/models/import?format=csv", json: "{}")
            #expect(format.status == .badRequest)
            #expect(format.errorFields == ["format"])
        }
    }

    /// The importer behind `model-registry import-catalog` (the command only reads the file and prints).
    @Test func commandLineImporterMatchesTheAPI() async throws {
        try await Registry.run { api in
            let data = Data(try LiteLLMFile.bytes())
            let importer = CatalogImporter(pool: api.pool)
            let first = try await importer.importCatalog(data, format: .litellm)
            let second = try await importer.importCatalog(data, format: .litellm)
            #expect(!first.inserted.isEmpty)
            #expect(second.inserted.isEmpty && second.updated.isEmpty)
            #expect(second.unchanged.count == first.inserted.count + first.updated.count + first.unchanged.count)
            let viaAPI = try await api.send(.post, "/api/models/import", bytes: Array(data)).json()
            #expect(viaAPI["unchanged"]?.int == second.unchanged.count)
        }
    }

    /// (model_id, updated_at, every value) of each row: equal snapshots mean nothing was rewritten.
    static func snapshot(_ pool: PostgresPool) async throws -> [String] {
        try await pool.query("SELECT (llm_models.*)::text AS row FROM llm_models ORDER BY model_id").rows.map { try $0.decode("row", as: String.self) }
    }
}
