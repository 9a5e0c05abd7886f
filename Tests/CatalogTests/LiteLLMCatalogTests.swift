import Catalog
import Foundation
import TestSupport
import Testing

@Suite struct LiteLLMCatalogSyntheticTests {
    func parse(_ json: String) throws -> LiteLLMCatalog.Parsed {
        try LiteLLMCatalog.parse(Data(json.utf8))
    }

    @Test(arguments: [
        ("2.5e-06", "0.0025"), ("1.25e-07", "0.000125"), ("3e-05", "0.03"), ("5e-06", "0.005"),
        ("1.7e-05", "0.017"), ("1e-05", "0.01"), ("0.000001", "0.001"), ("1.5E-7", "0.00015"),
        ("0", "0"), ("2", "2000"), ("0.0000001234567890123456789", "0.0001234567890123456789"),
    ])
    func convertsPerTokenPricesExactly(perToken: String, per1K: String) throws {
        let json = #"{"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": \#(perToken), "output_cost_per_token": \#(perToken)}}"#
        let model = try #require(try parse(json).candidates.first)
        #expect(model.inputCostPer1K == Fixtures.decimal(per1K))
        #expect(model.inputCostPer1K?.description == per1K)
        #expect(model.outputCostPer1K == Fixtures.decimal(per1K))
    }

    @Test func readsLimitsCapabilitiesAndLifecycle() throws {
        let json = """
            {"claude-x-1-5": {"litellm_provider": "anthropic", "mode": "chat", "max_input_tokens": 200000,
              "max_output_tokens": 64000, "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
              "cache_read_input_token_cost": 3e-07, "supports_function_calling": true, "supports_vision": true,
              "supports_reasoning": true, "supports_prompt_caching": true, "supports_computer_use": false,
              "deprecation_date": "2026-10-01", "successor_model": "claude-y-2"},
             "claude-x-1-5-20250101": {"litellm_provider": "anthropic", "mode": "chat", "max_tokens": 8192,
              "supports_sampling_params": false}}
            """
        let parsed = try parse(json)
        #expect(parsed.skipped.isEmpty)
        let model = try #require(parsed.candidates.first { $0.modelID == "claude-x-1-5" })
        #expect(model.provider == "anthropic")
        #expect(model.displayName == "Claude X 1.5")
        #expect(model.modelFamily == "claude-1.5")
        #expect(model.contextWindow == 200_000)
        #expect(model.maxOutputTokens == 64_000)
        #expect(model.capabilities == ["chat", "function_calling", "vision", "reasoning", "prompt_caching"])
        #expect(model.supportsFunctions && model.supportsVision && model.supportsStreaming)
        #expect(model.cachedInputCostPer1K == Fixtures.decimal("0.0003"))
        #expect(model.deprecationDate == CalendarDate("2026-10-01"))
        // The stored status is what the source says (nothing, so active); the date is judged when read.
        #expect(model.status == .active)
        #expect(model.effectiveStatus(on: try #require(CalendarDate("2026-10-01"))) == .deprecated)
        #expect(model.effectiveStatus(on: try #require(CalendarDate("2026-09-30"))) == .active)
        #expect(model.successorModelID == "claude-y-2")
        #expect(model.releaseDate == CalendarDate("2025-01-01"))  // its dated snapshot
        #expect((model.defaultTemperature, model.minTemperature, model.maxTemperature) == (0.7, 0, 1))
        #expect(model.source == "litellm")

        let snapshot = try #require(parsed.candidates.first { $0.modelID == "claude-x-1-5-20250101" })
        #expect(snapshot.contextWindow == 8192)  // max_tokens when max_input_tokens is missing
        #expect(snapshot.maxOutputTokens == nil)
        #expect(snapshot.inputCostPer1K == nil)  // unknown, not 0
        #expect((snapshot.minTemperature, snapshot.maxTemperature) == (1, 1))  // no sampling parameters
        #expect(snapshot.status == .active)
        #expect(snapshot.displayName == "Claude X 1.5 (2025-01-01)")
    }

    @Test func skipsWithAggregatableReasons() throws {
        let json = """
            {"sample_spec": {"litellm_provider": "one of …", "mode": "chat"},
             "groq/llama-3": {"litellm_provider": "groq", "mode": "chat", "input_cost_per_token": 1e-07},
             "together_ai/x": {"litellm_provider": "together_ai", "mode": "chat"},
             "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-08},
             "o1-pro": {"litellm_provider": "openai", "mode": "responses"},
             "no-mode": {"litellm_provider": "openai"},
             "no-provider": {"mode": "chat"},
             "weird": "not an object",
             "ft:gpt-4o-2024-08-06": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 3.75e-06},
             "openai/container": {"litellm_provider": "openai", "mode": "chat", "code_interpreter_cost_per_session": 0.03},
             "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06},
             "openai/gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06},
             "openai/gpt-new": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 1000},
             "huggingface/meta-llama/Llama-3.1-8B-Instruct": {"litellm_provider": "huggingface", "mode": "chat", "max_tokens": 8192},
             "anthropic/gpt-new": {"litellm_provider": "anthropic", "mode": "chat", "max_input_tokens": 1000},
             "bad id": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 1000}}
            """
        let parsed = try parse(json)
        #expect(parsed.candidates.map(\.modelID) == ["gpt-4o", "gpt-new", "meta-llama/Llama-3.1-8B-Instruct"])
        #expect(parsed.candidates.first { $0.modelID == "gpt-new" }?.provider == "anthropic")  // first key in order wins
        #expect(parsed.candidates.first { $0.provider == "huggingface" }?.maxTemperature == 2)

        let reasons = Dictionary(uniqueKeysWithValues: parsed.skipped.map { ($0.key, $0.reason) })
        #expect(reasons["sample_spec"] == .specification)
        #expect(reasons["groq/llama-3"] == .providerNotCallable("groq"))
        #expect(reasons["text-embedding-3-small"] == .notChat(mode: "embedding"))
        #expect(reasons["o1-pro"] == .notChat(mode: "responses"))
        #expect(reasons["no-mode"] == .notChat(mode: nil))
        #expect(reasons["no-provider"] == .missingProvider)
        #expect(reasons["weird"] == .notAnObject)
        #expect(reasons["ft:gpt-4o-2024-08-06"] == .fineTuneTemplate)
        #expect(reasons["openai/container"] == .notTokenPriced)
        #expect(reasons["openai/gpt-4o"] == .duplicate(of: "gpt-4o"))
        #expect(reasons["openai/gpt-new"] == .duplicate(of: "anthropic/gpt-new"))
        #expect(reasons["bad id"] == .invalidModelID("bad id"))
        #expect(reasons["groq/llama-3"]?.message == "provider 'groq' is not callable")

        #expect(parsed.skippedCountsByCategory[.providerNotCallable] == 2)
        #expect(parsed.skippedCountsByCategory[.notChat] == 3)
        #expect(parsed.skippedCountsByCategory[.duplicate] == 2)
        #expect(parsed.skippedCountsByCategory[.malformed] == 2)
        #expect(parsed.skippedCountsByReason["provider 'groq' is not callable"] == 1)
        #expect(parsed.skipped.map(\.key) == parsed.skipped.map(\.key).sorted())
    }

    @Test(arguments: ["not json", "[1, 2]", #""a string""#, ""])
    func rejectsWhatIsNotACostMap(_ text: String) {
        #expect(throws: LiteLLMCatalog.ParseError.self) {
            try LiteLLMCatalog.parse(Data(text.utf8))
        }
    }

    @Test func toleratesOddFieldTypes() throws {
        let json = #"{"m": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": "lots", "input_cost_per_token": "1e-6", "output_cost_per_token": -1, "max_output_tokens": 100.0, "supports_vision": "yes", "deprecation_date": "soon"}}"#
        let model = try #require(try parse(json).candidates.first)
        #expect(model.contextWindow == nil)
        #expect(model.inputCostPer1K == nil)
        #expect(model.outputCostPer1K == nil)
        #expect(model.maxOutputTokens == 100)
        #expect(!model.supportsVision)
        #expect(model.deprecationDate == nil && model.status == .active)
    }

    @Test(arguments: [
        ("gpt-4o-mini", "GPT-4o mini", "gpt-4o"),
        ("gpt-4o-2024-05-13", "GPT-4o (2024-05-13)", "gpt-4o"),
        ("gpt-5.1-chat-latest", "GPT-5.1 Chat Latest", "gpt-5.1"),
        ("gpt-5.6-sol", "GPT-5.6 Sol", "gpt-5.6"),
        ("claude-opus-4-5-20251101", "Claude Opus 4.5 (2025-11-01)", "claude-4.5"),
        ("claude-mythos-preview", "Claude Mythos Preview", "claude"),
        ("o3-mini", "o3-mini", "o-series"),
        ("chat-latest", "chat-latest", nil),
    ] as [(String, String, String?)])
    func namesAndFamiliesImportedModels(modelID: String, displayName: String, family: String?) throws {
        let json = #"{"\#(modelID)": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 1000}}"#
        let model = try #require(try parse(json).candidates.first)
        #expect(model.displayName == displayName)
        #expect(model.modelFamily == family)
    }
}

extension LiteLLMCatalogSyntheticTests {
    @Test(arguments: [
        ("gpt-big", true, ["chat", "reasoning", "coding", "analysis", "vision", "long_context"]),
        ("gpt-big-mini", true, ["chat", "reasoning", "coding", "vision", "long_context", "extraction", "summarization"]),
        ("gpt-big-nano", true, ["chat", "vision", "long_context", "classification", "extraction", "summarization"]),
        ("claude-haiku-9", false, ["chat", "vision", "long_context", "classification", "extraction", "summarization"]),
        ("gpt-plain", false, ["chat", "vision", "long_context"]),
    ])
    func derivesTaskTagsForTheRecommender(modelID: String, reasoning: Bool, expected: [String]) throws {
        let json = #"{"\#(modelID)": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 500000, "supports_vision": true, "supports_reasoning": \#(reasoning)}}"#
        let model = try #require(try parse(json).candidates.first)
        #expect(model.recommendedFor == expected)
    }
}

/// Parsing LiteLLM's real 2026 cost map (../shared/data/litellm/, outside the repository).
@Suite struct LiteLLMCatalogRealFileTests {
    /// Independent conversion for cross-checks: the shortest text that reads back as the same Double
    /// (what LiteLLM's file contains, e.g. "2.5e-06"), parsed as a decimal, × 1000.
    static func per1K(_ perToken: Double) -> Decimal? {
        Decimal(string: String(perToken)).map { $0 * 1000 }
    }

    static func load() throws -> (data: Data, parsed: LiteLLMCatalog.Parsed) {
        let data = try Data(contentsOf: Fixtures.liteLLMMapURL)
        return (data, try LiteLLMCatalog.parse(data))
    }

    @Test func claudeHaikuCarriesItsCacheWritePrice() throws {
        let (_, parsed) = try Self.load()
        let model = try #require(parsed.candidates.first { $0.modelID == "claude-haiku-4-5" })
        // LiteLLM: cache_creation_input_token_cost 1.25e-06 per token = 0.00125 per 1K.
        #expect(model.cacheCreationInputCostPer1K == Fixtures.decimal("0.00125"))
        #expect(model.cachedInputCostPer1K == Fixtures.decimal("0.0001"))
    }

    @Test func gpt4oMatchesTheFile() throws {
        let (data, parsed) = try Self.load()
        let model = try #require(parsed.candidates.first { $0.modelID == "gpt-4o" })
        #expect(model.provider == "openai")
        #expect(model.inputCostPer1K == Fixtures.decimal("0.0025"))
        #expect(model.outputCostPer1K == Fixtures.decimal("0.01"))
        #expect(model.cachedInputCostPer1K == Fixtures.decimal("0.00125"))
        #expect(model.cacheCreationInputCostPer1K == nil)  // OpenAI does not bill cache writes
        #expect(model.contextWindow == 128_000)
        #expect(model.maxOutputTokens == 16_384)
        #expect(model.deprecationDate == CalendarDate("2027-01-14"))
        #expect(model.status == .active)
        #expect(model.successorModelID == "gpt-6-luna")
        #expect(model.releaseDate == CalendarDate("2024-05-13"))
        #expect(model.capabilities.contains("vision") && model.supportsFunctions && model.supportsVision)

        // Cross-check against an independent reading of the same entry.
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let entry = try #require(root["gpt-4o"] as? [String: Any])
        let inputPerToken = try #require(entry["input_cost_per_token"] as? Double)
        let outputPerToken = try #require(entry["output_cost_per_token"] as? Double)
        let cachedPerToken = try #require(entry["cache_read_input_token_cost"] as? Double)
        #expect(model.inputCostPer1K == Self.per1K(inputPerToken))
        #expect(model.outputCostPer1K == Self.per1K(outputPerToken))
        #expect(model.cachedInputCostPer1K == Self.per1K(cachedPerToken))
        #expect(model.contextWindow == entry["max_input_tokens"] as? Int)
        #expect(model.maxOutputTokens == entry["max_output_tokens"] as? Int)
    }

    @Test func pricesMatchTheFileForEveryCandidate() throws {
        let (data, parsed) = try Self.load()
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for model in parsed.candidates {
            let entry = try #require(root[model.modelID] as? [String: Any], "\(model.modelID)")
            for (price, key) in [(model.inputCostPer1K, "input_cost_per_token"), (model.outputCostPer1K, "output_cost_per_token")] {
                #expect(price == (entry[key] as? Double).flatMap(Self.per1K), "\(model.modelID) \(key)")
            }
        }
    }

    /// The parse stores no date-derived status; on the test clock's day a model whose date has
    /// passed reads as deprecated and every other as active.
    @Test func modelsPastTheirDeprecationDateReadAsDeprecated() throws {
        let (_, parsed) = try Self.load()
        let mythos = try #require(parsed.candidates.first { $0.modelID == "claude-mythos-preview" })
        #expect(mythos.deprecationDate == CalendarDate("2026-06-09"))
        #expect(parsed.candidates.allSatisfy { $0.status == .active })
        let today = TestClock.today
        for model in parsed.candidates {
            let passed = model.deprecationDate.map { $0 <= today } ?? false
            #expect(model.effectiveStatus(on: today) == (passed ? .deprecated : .active), "\(model.modelID)")
        }
        #expect(parsed.candidates.contains { $0.deprecationDate != nil }, "the file has dated models")
    }

    @Test func countsAreStable() throws {
        let (data, parsed) = try Self.load()
        #expect(parsed.candidates.count == 111)
        #expect(parsed.skipped.count == 4767)
        #expect(parsed.candidates.count + parsed.skipped.count == 4878)  // every key accounted for
        let counts = parsed.skippedCountsByCategory
        #expect(counts[.specification] == 1)
        #expect(counts[.fineTuneTemplate] == 12)
        #expect(counts[.notTokenPriced] == 1)
        #expect(counts[.notChat] == 121)
        #expect((counts[.providerNotCallable] ?? 0) > 4000)
        #expect(parsed.skippedCountsByReason["provider 'groq' is not callable"] ?? 0 > 0)
        #expect(try LiteLLMCatalog.parse(data) == parsed)  // deterministic
    }

    @Test func candidatesAreCallableChatModelsWithUniqueIDs() throws {
        let (_, parsed) = try Self.load()
        #expect(Set(parsed.candidates.map(\.modelID)).count == parsed.candidates.count)
        for model in parsed.candidates {
            #expect(LiteLLMCatalog.callableProviders.contains(model.provider))
            #expect(!model.modelID.hasPrefix("ft:") && !model.modelID.contains(" "))
            #expect(model.capabilities.first == "chat")
            #expect(model.source == "litellm" && model.id == nil)
            #expect(model.minTemperature <= model.defaultTemperature && model.defaultTemperature <= model.maxTemperature)
            #expect(model.successorModelID != model.modelID)
        }
        let gpt5 = try #require(parsed.candidates.first { $0.modelID == "gpt-5" })
        #expect((gpt5.minTemperature, gpt5.maxTemperature) == (1, 1))  // reasoning model: fixed temperature
        let sonnet = try #require(parsed.candidates.first { $0.modelID == "claude-sonnet-4-5" })
        #expect(sonnet.maxTemperature == 1)
        #expect(sonnet.inputCostPer1K == Fixtures.decimal("0.003"))
    }
}
