import Foundation
import Testing
@testable import RegistryAPI

/// `/api/models` over HTTP against the seeded catalog (migrations/0011).
@Suite struct ModelEndpointTests {
    @Test func listsNonRetiredModelsInStableOrder() async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models")
            #expect(reply.status == .ok)
            let models = try #require(try reply.json()["models"]?.array)
            #expect(try reply.json()["count"]?.int == models.count)
            let ids = models.compactMap { $0["model_id"]?.string }
            #expect(ids.contains("gpt-4o"))
            #expect(ids.contains("meta-llama/Llama-3.1-8B-Instruct"))
            #expect(!ids.contains("gpt-4-turbo-preview"), "retired models are hidden by default")
            let keys = models.map { [$0["provider"]?.string ?? "", $0["display_name"]?.string ?? "", $0["model_id"]?.string ?? ""] }
            #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) }, "ordered by provider, display name, id")
            #expect(models.allSatisfy { $0["effective_status"]?.string != "retired" })
        }
    }

    @Test(arguments: [
        "provider=anthropic", "status=retired", "status=deprecated", "supports_vision=true", "supports_functions=false",
        "min_context=500000", "capability=reasoning", "q=llama",
    ])
    func filters(query: String) async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models?\(query)")
            #expect(reply.status == .ok, "\(reply)")
            let models = try #require(try reply.json()["models"]?.array)
            #expect(!models.isEmpty, "\(query) should match seeded models")
            for model in models {
                let matches: Bool
                switch query {
                case "provider=anthropic": matches = model["provider"]?.string == "anthropic"
                case "status=retired": matches = model["effective_status"]?.string == "retired"
                case "status=deprecated": matches = model["effective_status"]?.string == "deprecated"
                case "supports_vision=true": matches = model["supports_vision"]?.bool == true
                case "supports_functions=false": matches = model["supports_functions"]?.bool == false
                case "min_context=500000": matches = (model["context_window"]?.int ?? 0) >= 500_000
                case "capability=reasoning": matches = model["capabilities"]?.array?.contains(.string("reasoning")) == true
                default: matches = model["model_id"]?.string?.lowercased().contains("llama") == true
                }
                #expect(matches, "\(query): \(model["model_id"]?.string ?? "")")
            }
        }
    }

    @Test(arguments: ["status=gone", "supports_vision=maybe", "min_context=lots"])
    func rejectsBadFilters(query: String) async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models?\(query)")
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "invalid_parameter")
            #expect(reply.errorFields == [String(query.prefix { $0 != "=" })])
        }
    }

    @Test(arguments: ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama%2FLlama-3.1-8B-Instruct", "gpt-4o", "gpt-4.1-mini"])
    func getsModelsWhoseIDsContainSlashesAndDots(path: String) async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models/\(path)")
            #expect(reply.status == .ok, "\(reply)")
            #expect(try reply.json()["model_id"]?.string == path.removingPercentEncoding)
        }
    }

    @Test func modelJSONCarriesEveryColumnWithExactPrices() async throws {
        try await Registry.run { api in
            let model = try await api.get("/api/models/gpt-4o").json()
            #expect(model["input_cost_per_1k"]?.decimal == Decimal(string: "0.0025"))
            #expect(model["output_cost_per_1k"]?.decimal == Decimal(string: "0.01"))
            #expect(model["context_window"]?.int == 128_000)
            #expect(model["provider"]?.string == "openai")
            let id = try #require(model["id"]?.string)
            #expect(id == id.lowercased() && UUID(uuidString: id) != nil)
            #expect(model["created_at"]?.string?.hasSuffix("Z") == true)
            let llama = try await api.get("/api/models/meta-llama/Llama-3.1-8B-Instruct").json()
            #expect(llama["input_cost_per_1k"]?.isNull == true, "unknown price is null, never 0")
        }
    }

    @Test func unknownModelIs404JSON() async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models/no-such/model:1.0")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "not_found")
            #expect(try reply.json()["error"]?["message"]?.string?.contains("no-such/model:1.0") == true)
        }
    }

    @Test func providersViewGroupsModelsWithCounts() async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models/providers")
            #expect(reply.status == .ok)
            let providers = try #require(try reply.json()["providers"]?.array)
            #expect(providers.compactMap { $0["name"]?.string } == ["anthropic", "huggingface", "openai"])
            for provider in providers {
                let models = provider["models"]?.array ?? []
                #expect(provider["model_count"]?.int == models.count)
                #expect(models.allSatisfy { $0["provider"] == provider["name"] })
            }
            let huggingface = providers.first { $0["name"]?.string == "huggingface" }
            #expect(huggingface?["model_count"]?.int == 2)
        }
    }

    // MARK: - Create, update, retire

    static let newModel = """
        {"provider": "huggingface", "model_id": "mistralai/Mistral-7B-Instruct-v0.3", "display_name": "Mistral 7B Instruct",
         "context_window": 32768, "max_output_tokens": 4096, "input_cost_per_1k": 0.0002, "output_cost_per_1k": 0.0004,
         "capabilities": ["chat"], "recommended_for": ["chat", "summarization"]}
        """

    @Test func createsAModelAndRefusesADuplicate() async throws {
        try await Registry.run { api in
            let created = try await api.post("/api/models", Self.newModel)
            #expect(created.status == .created, "\(created)")
            #expect(try created.json()["source"]?.string == "manual")
            #expect(try created.json()["status"]?.string == "active")
            let fetched = try await api.get("/api/models/mistralai/Mistral-7B-Instruct-v0.3")
            #expect(try fetched.json()["input_cost_per_1k"]?.decimal == Decimal(string: "0.0002"))
            let duplicate = try await api.post("/api/models", Self.newModel)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorFields == ["model_id"])
        }
    }

    @Test(arguments: [
        (#"{"provider": "nowhere", "model_id": "x", "display_name": "X"}"#, ["provider"]),
        (#"{"provider": "openai", "model_id": "has space", "display_name": "X"}"#, ["model_id"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "context_window": 0, "input_cost_per_1k": -1}"#,
         ["context_window", "input_cost_per_1k"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "min_temperature": 1.5, "default_temperature": 0.7}"#,
         ["default_temperature"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "capabilities": ["Vision"]}"#, ["capabilities[0]"]),
        (#"{"provider": "openai", "model_id": "x"}"#, ["display_name"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "price": 1}"#, ["price"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "id": "8c7d1cbe-3f51-4b8e-9d0e-2a8f0f0c1a11"}"#, ["id"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "context_window": "big"}"#, ["context_window"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "status": "gone"}"#, ["status"]),
        (#"{"provider": "openai", "model_id": "x", "display_name": "X", "release_date": "yesterday"}"#, ["release_date"]),
    ])
    func createValidation(body: String, fields: [String]) async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/models", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorCode == "validation_failed")
            #expect(reply.errorFields == fields, "\(reply)")
        }
    }

    @Test func updatesPricesLimitsAndLifecycleAndRecordsLocalEdits() async throws {
        try await Registry.run { api in
            let reply = try await api.patch("/api/models/gpt-4o-mini", """
                {"input_cost_per_1k": 0.00016, "max_output_tokens": 8000, "deprecation_date": "2030-01-01",
                 "successor_model_id": "gpt-6-luna", "recommended_for": ["chat"], "display_name": "GPT-4o mini (house)",
                 "capabilities": ["chat", "vision"]}
                """)
            #expect(reply.status == .ok, "\(reply)")
            let model = try reply.json()
            #expect(model["input_cost_per_1k"]?.decimal == Decimal(string: "0.00016"))
            #expect(model["output_cost_per_1k"]?.decimal == Decimal(string: "0.0006"), "untouched fields stay")
            #expect(model["max_output_tokens"]?.int == 8000)
            #expect(model["deprecation_date"]?.string == "2030-01-01")
            #expect(model["display_name"]?.string == "GPT-4o mini (house)")
            #expect(model["locally_edited_fields"]?.array?.compactMap(\.string) == [
                "capabilities", "deprecation_date", "display_name", "input_cost_per_1k", "max_output_tokens",
                "recommended_for", "successor_model_id",
            ])
            let cleared = try await api.patch("/api/models/gpt-4o-mini", #"{"deprecation_date": null}"#)
            #expect(try cleared.json()["deprecation_date"]?.isNull == true)
        }
    }

    @Test(arguments: [
        (#"{"model_id": "renamed"}"#, ["model_id"]),
        (#"{"provider": "anthropic"}"#, ["provider"]),
        (#"{"display_name": null}"#, ["display_name"]),
        (#"{"successor_model_id": "gpt-4o"}"#, ["successor_model_id"]),
        (#"{"max_temperature": -1}"#, ["max_temperature"]),
    ])
    func updateValidation(body: String, fields: [String]) async throws {
        try await Registry.run { api in
            let reply = try await api.patch("/api/models/gpt-4o", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorFields == fields, "\(reply)")
        }
    }

    @Test func concurrentPatchesOfDifferentFieldsAllSurvive() async throws {
        try await Registry.run { api in
            // Each PATCH rewrites the whole row from what it read: without the row lock, edits
            // made at the same moment overwrite each other.
            let patches = [
                #"{"display_name": "Renamed"}"#, #"{"description": "edited"}"#, #"{"model_family": "fam"}"#,
                #"{"successor_model_id": "gpt-4.1"}"#, #"{"recommended_for": ["chat"]}"#, #"{"context_window": 100000}"#,
                #"{"max_output_tokens": 1000}"#, #"{"capabilities": ["chat", "vision"]}"#,
            ]
            try await withThrowingTaskGroup(of: Int.self) { group in
                for patch in patches {
                    group.addTask { try await api.patch("/api/models/gpt-4o-mini", patch).status.code }
                }
                for try await status in group { #expect(status == 200) }
            }
            let model = try await api.get("/api/models/gpt-4o-mini").json()
            #expect(model["display_name"]?.string == "Renamed")
            #expect(model["description"]?.string == "edited")
            #expect(model["model_family"]?.string == "fam")
            #expect(model["successor_model_id"]?.string == "gpt-4.1")
            #expect(model["context_window"]?.int == 100000)
            #expect(model["max_output_tokens"]?.int == 1000)
        }
    }

    @Test func updatingAnUnknownModelIs404() async throws {
        try await Registry.run { api async throws in
            #expect(try await api.patch("/api/models/nope", #"{"display_name": "x"}"#).status == .notFound)
            #expect(try await api.send(.post, "/api/models/nope/retire").status == .notFound)
        }
    }

    @Test func retiringAModelInUseAnswers409NamingTheAgentsUnlessForced() async throws {
        try await Registry.run { api in
            _ = try await api.createAgent(#"{"name": "Writer", "agent_type": "writer", "model_config": {"model_id": "gpt-4.1"}}"#)
            _ = try await api.createAgent(#"{"name": "Backup", "agent_type": "writer", "model_config": {"model_id": "gpt-4o", "fallback_model_ids": ["gpt-4.1"]}}"#)

            let refused = try await api.send(.post, "/api/models/gpt-4.1/retire")
            #expect(refused.status == .conflict, "\(refused)")
            #expect(refused.errorCode == "conflict")
            let message = try refused.json()["error"]?["message"]?.string ?? ""
            #expect(message.contains("'Writer'") && message.contains("'Backup'"))
            #expect(refused.errorDetails.map(\.message).contains { $0.contains("'Backup'") && $0.contains("fallback") })

            // PATCH status=retired goes through the same check; deprecating is always allowed.
            #expect(try await api.patch("/api/models/gpt-4.1", #"{"status": "retired"}"#).status == .conflict)
            let deprecated = try await api.patch("/api/models/gpt-4.1", #"{"status": "deprecated"}"#)
            #expect(deprecated.status == .ok)
            #expect(try deprecated.json()["status"]?.string == "deprecated")

            let forced = try await api.send(.post, "/api/models/gpt-4.1/retire?force=true")
            #expect(forced.status == .ok, "\(forced)")
            #expect(try forced.json()["model"]?["status"]?.string == "retired")
            let affected = try forced.json()["affected_agents"]?.array ?? []
            #expect(Set(affected.compactMap { $0["name"]?.string }) == ["Writer", "Backup"])
        }
    }

    @Test func retiringAnUnusedModelNeedsNoForce() async throws {
        try await Registry.run { api in
            let reply = try await api.send(.post, "/api/models/Qwen/Qwen2.5-72B-Instruct/retire")
            #expect(reply.status == .ok, "\(reply)")
            #expect(try reply.json()["model"]?["effective_status"]?.string == "retired")
            #expect(try reply.json()["affected_agents"]?.array?.isEmpty == true)
            let list = try await api.get("/api/models?provider=huggingface").json()["models"]?.array ?? []
            #expect(list.compactMap { $0["model_id"]?.string } == ["meta-llama/Llama-3.1-8B-Instruct"])
        }
    }

    // MARK: - Compare, estimate, recommend

    @Test func comparesModelsSideBySide() async throws {
        try await Registry.run { api in
            let reply = try await api.get("/api/models/compare?ids=gpt-4o,claude-haiku-4-5,meta-llama/Llama-3.1-8B-Instruct")
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            let models = try #require(body["models"]?.array)
            #expect(models.compactMap { $0["model_id"]?.string } == ["gpt-4o", "claude-haiku-4-5", "meta-llama/Llama-3.1-8B-Instruct"])
            #expect(models[0]["input_cost_per_1m"]?.decimal == Decimal(string: "2.5"))
            #expect(models[0]["output_cost_per_1m"]?.decimal == Decimal(string: "10"))
            #expect(models[2]["input_cost_per_1m"]?.isNull == true)
            #expect(body["cheapest_model_id"]?.string == "claude-haiku-4-5")
            #expect(body["largest_context_model_id"]?.string == "claude-haiku-4-5")
        }
    }

    @Test func compareReportsUnknownAndMissingIDs() async throws {
        try await Registry.run { api in
            let unknown = try await api.get("/api/models/compare?ids=gpt-4o,nope,also-nope")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorDetails.map(\.message) == ["model 'nope' is not in the catalog", "model 'also-nope' is not in the catalog"])
            let missing = try await api.get("/api/models/compare")
            #expect(missing.status == .badRequest)
            #expect(missing.errorFields == ["ids"])
        }
    }

    @Test func estimatesAnExactCost() async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/models/estimate-cost", #"{"model_id": "gpt-4o", "input_tokens": 1234567, "output_tokens": 89}"#)
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            // 1,234,567 × 0.0025 / 1000 + 89 × 0.01 / 1000, exactly.
            #expect(body["input_cost"]?.decimal == Decimal(string: "3.0864175"))
            #expect(body["output_cost"]?.decimal == Decimal(string: "0.00089"))
            #expect(body["total_cost"]?.decimal == Decimal(string: "3.0873075"))
            #expect(body["input_cost_per_1k"]?.decimal == Decimal(string: "0.0025"))
            #expect(body["output_cost_per_1k"]?.decimal == Decimal(string: "0.01"))
            #expect(body["currency"]?.string == "USD")
            // The number is written exactly, not through a Double.
            #expect(reply.text.contains("\"total_cost\":3.0873075"))
        }
    }

    @Test func estimateWithCachedTokensUsesTheCachedPrice() async throws {
        try await Registry.run { api in
            let body = try await api.post(
                "/api/models/estimate-cost",
                #"{"model_id": "claude-haiku-4-5", "input_tokens": 10000, "cached_input_tokens": 8000, "output_tokens": 1000}"#
            ).json()
            // 2000 × 0.001/1000 + 8000 × 0.0001/1000 + 1000 × 0.005/1000
            #expect(body["total_cost"]?.decimal == Decimal(string: "0.0078"))
        }
    }

    @Test func estimateForAnUnpricedModelIs422NeverZero() async throws {
        try await Registry.run { api in
            let reply = try await api.post(
                "/api/models/estimate-cost", #"{"model_id": "meta-llama/Llama-3.1-8B-Instruct", "input_tokens": 10, "output_tokens": 10}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorCode == "price_unknown")
            #expect(reply.errorFields == ["input_cost_per_1k", "output_cost_per_1k"])
        }
    }

    @Test(arguments: [
        (#"{"model_id": "nope", "input_tokens": 1, "output_tokens": 1}"#, 404, ["model_id"]),
        (#"{"model_id": "gpt-4o", "input_tokens": -1, "output_tokens": 1}"#, 400, ["input_tokens"]),
        (#"{"model_id": "gpt-4o", "input_tokens": 1, "output_tokens": 1, "cached_input_tokens": 5}"#, 400, ["cached_input_tokens"]),
        (#"{"model_id": "gpt-4o", "input_tokens": 1.5, "output_tokens": 1}"#, 400, ["input_tokens"]),
        (#"{"model_id": "gpt-4o", "input_tokens": 1}"#, 400, ["output_tokens"]),
        (#"{"model_id": "gpt-4o", "input_tokens": 1, "output_tokens": 1, "currency": "EUR"}"#, 400, ["currency"]),
    ])
    func estimateFailures(body: String, status: Int, fields: [String]) async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/models/estimate-cost", body)
            #expect(reply.status.code == status, "\(reply)")
            #expect(reply.errorFields == fields, "\(reply)")
        }
    }

    @Test func recommendsRankedModelsWithReasonsAndNeverDeprecatedOnes() async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/models/recommend?limit=10", """
                {"task_type": "coding", "min_context": 100000, "needs_functions": true, "max_cost": 0.01, "prefer_provider": "anthropic"}
                """)
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            let list = try #require(body["recommendations"]?.array)
            #expect(!list.isEmpty && list.count <= 10)
            let scores = list.compactMap { $0["score"]?.double }
            #expect(scores == scores.sorted(by: >), "best first")
            #expect(list.allSatisfy { !($0["reasons"]?.array ?? []).isEmpty })
            #expect(list.allSatisfy { ["active", "beta"].contains($0["model"]?["status"]?.string ?? "") })
            // The hard requirements hold for every recommendation.
            for entry in list {
                let model = entry["model"]
                #expect((model?["context_window"]?.int ?? 0) >= 100_000, "\(entry)")
                #expect(model?["supports_functions"]?.bool == true, "\(entry)")
                #expect((entry["blended_cost_per_1k"]?.decimal ?? 1) <= Decimal(1) / 100, "\(entry)")
            }
            let ids = Set(list.compactMap { $0["model"]?["model_id"]?.string })
            #expect(!ids.contains("gpt-4") && !ids.contains("claude-3-haiku-20240307"), "deprecated models are never recommended")
            let considered = body["considered_count"]?.int ?? 0
            #expect(considered > list.count)
            let exclusions = body["exclusions"]?.array ?? []
            #expect(!exclusions.isEmpty)
        }
    }

    @Test func noMatchingModelIs404WithWhatRuledModelsOut() async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/models/recommend", #"{"max_cost": 0.00001, "min_context": 2000000, "needs_vision": true}"#)
            #expect(reply.status == .notFound, "\(reply)")
            #expect(reply.errorCode == "no_matching_model")
            let fields = Set(reply.errorFields)
            #expect(fields.isSuperset(of: ["max_cost", "min_context"]))
            #expect(reply.errorDetails.allSatisfy { !$0.message.isEmpty })
        }
    }

    @Test(arguments: [
        (#"{"task_type": 3}"#, ["task_type"]),
        (#"{"needs_gpu": true}"#, ["needs_gpu"]),
        (#"{"max_cost": -1}"#, ["max_cost"]),
        (#"{"required_capabilities": "vision"}"#, ["required_capabilities"]),
    ])
    func recommendValidation(body: String, fields: [String]) async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/models/recommend", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorFields == fields)
        }
    }
}
