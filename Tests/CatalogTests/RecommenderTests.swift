import Catalog
import Foundation
import Testing

@Suite struct RecommenderTests {
    func recommend(_ requirements: RecommendationRequirements, limit: Int? = nil) -> RecommendationResult {
        Recommender.recommend(requirements, models: Fixtures.all, today: Fixtures.today, limit: limit)
    }

    func count(_ result: RecommendationResult, _ code: String) -> Int? {
        result.exclusions.first { $0.reason.code == code }?.count
    }

    @Test func neverRecommendsDeprecatedOrRetiredModels() {
        let result = recommend(RecommendationRequirements())
        let ids = result.recommendations.map(\.model.modelID)
        #expect(Set(ids) == ["gpt-4o", "gpt-4o-mini", "gpt-5", "claude-sonnet-4-5", "meta-llama/Llama-3.1-8B-Instruct"])
        // claude-3-haiku by status, gpt-3.5-turbo-1106 by its passed deprecation date.
        let deprecated = result.exclusions.first { $0.reason == .deprecated }
        #expect(deprecated?.modelIDs == ["claude-3-haiku-20240307", "gpt-3.5-turbo-1106"])
        #expect(count(result, "retired") == 1)
        #expect(result.consideredCount == Fixtures.all.count)
    }

    @Test func aModelDropsOutOnItsDeprecationDate() throws {
        let deprecation = try #require(Fixtures.gpt5.deprecationDate)
        let before = Recommender.recommend(RecommendationRequirements(), models: Fixtures.all, today: deprecation.advanced(byDays: -1).startOfDay)
        #expect(before.recommendations.contains { $0.model.modelID == "gpt-5" })
        let after = Recommender.recommend(RecommendationRequirements(), models: Fixtures.all, today: deprecation.startOfDay)
        #expect(!after.recommendations.contains { $0.model.modelID == "gpt-5" })
    }

    @Test func ranksByTaskFitThenPrice() throws {
        let result = recommend(RecommendationRequirements(taskType: "coding", needsFunctions: true))
        let ids = result.recommendations.map(\.model.modelID)
        // Both coding models first; GPT-5 is cheaper (blended 0.0034375 vs 0.006) with a larger window.
        #expect(Array(ids.prefix(2)) == ["gpt-5", "claude-sonnet-4-5"])
        #expect(!ids.contains("meta-llama/Llama-3.1-8B-Instruct"))
        #expect(count(result, "lacks_functions") == 1)
        let scores = result.recommendations.map(\.score)
        #expect(scores == scores.sorted(by: >))
        #expect(scores.allSatisfy { (0...100).contains($0) })
        let best = try #require(result.recommendations.first)
        #expect(best.reasons.contains("recommended for coding"))
        #expect(best.reasons.contains("supports function calling"))
        #expect(best.reasons.contains { $0.hasPrefix("272,000-token context window") })
        #expect(best.blendedCostPer1K == Fixtures.decimal("0.0034375"))
    }

    @Test func preferredProviderMovesTheRanking() {
        let result = recommend(RecommendationRequirements(taskType: "coding", preferProvider: "anthropic", needsFunctions: true))
        #expect(result.recommendations.first?.model.modelID == "claude-sonnet-4-5")
        #expect(result.recommendations.first?.reasons.contains("from the preferred provider 'anthropic'") == true)
    }

    @Test func maxCostIsABlendedPricePer1KTokens() {
        let result = recommend(RecommendationRequirements(maxCost: Fixtures.decimal("0.001")))
        #expect(result.recommendations.map(\.model.modelID) == ["gpt-4o-mini"])
        #expect(count(result, "exceeds_max_cost") == 4)  // gpt-4o, gpt-5, sonnet, gpt-3.5-turbo-1106
        #expect(count(result, "price_unknown") == 1)  // llama: might cost anything
        #expect(result.recommendations.first?.reasons.contains { $0.contains("within max_cost 0.001") } == true)
    }

    @Test func noMatchExplainsWhatRuledModelsOut() {
        let result = recommend(RecommendationRequirements(maxCost: Fixtures.decimal("0.0002"), needsVision: true))
        #expect(!result.hasMatches)
        let messages = result.exclusionMessages
        #expect(messages.contains("6 models exceed max_cost 0.0002 (blended USD per 1K tokens, 3:1 input:output)"))
        #expect(messages.contains("3 models lack vision"))
        #expect(messages.contains("2 models are deprecated"))
        #expect(messages.contains("1 model is retired"))
        #expect(messages.contains("1 model has no known price, so max_cost cannot be checked"))
        // Largest count first.
        #expect(result.exclusions.map(\.count) == result.exclusions.map(\.count).sorted(by: >))
    }

    @Test func minContextRulesOutSmallAndUnknownWindows() {
        let result = recommend(RecommendationRequirements(minContext: 150_000))
        #expect(Set(result.recommendations.map(\.model.modelID)) == ["gpt-5", "claude-sonnet-4-5"])
        #expect(count(result, "context_too_small") == 4)  // gpt-4o, gpt-4o-mini, gpt-4-turbo-preview, gpt-3.5-turbo-1106
        #expect(count(result, "context_unknown") == 1)
    }

    @Test func requiredCapabilitiesAreHardFilters() {
        let result = recommend(RecommendationRequirements(requiredCapabilities: ["reasoning", "vision"]))
        #expect(Set(result.recommendations.map(\.model.modelID)) == ["gpt-5", "claude-sonnet-4-5"])
        #expect(result.exclusions.contains { $0.reason == .missingCapability("reasoning") })
        // "vision" folds into the vision check: counted once, as "lack vision".
        #expect(!result.exclusions.contains { $0.reason == .missingCapability("vision") })
        #expect(count(result, "lacks_vision") == 3)
    }

    @Test func limitKeepsTheBest() {
        let all = recommend(RecommendationRequirements(taskType: "chat"))
        let top = recommend(RecommendationRequirements(taskType: "chat"), limit: 2)
        #expect(top.recommendations == Array(all.recommendations.prefix(2)))
    }

    @Test func isDeterministic() {
        let requirements = RecommendationRequirements(taskType: "summarization")
        let first = Recommender.recommend(requirements, models: Fixtures.all, today: Fixtures.today)
        let reversed = Recommender.recommend(requirements, models: Fixtures.all.reversed(), today: Fixtures.today)
        #expect(first == reversed)
    }

    @Test func decodesThePRDRequestShape() throws {
        let body = #"{"task_type":"coding","max_cost":0.01,"min_context":100000,"required_capabilities":["function_calling"],"prefer_provider":"openai","needs_vision":true}"#
        let requirements = try JSONDecoder().decode(RecommendationRequirements.self, from: Data(body.utf8))
        #expect(requirements.maxCost == Fixtures.decimal("0.01"))
        #expect(requirements.needsVision && !requirements.needsFunctions)
        #expect(requirements.requiredCapabilities == ["function_calling"])
    }

    @Test func encodesRecommendationsForTheAPI() throws {
        let result = Recommender.recommend(RecommendationRequirements(needsVision: true), models: Fixtures.all,
                                           today: Fixtures.today, limit: 1)
        let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        #expect(json.contains(#""considered_count":8"#))
        #expect(json.contains(#""reason":"lacks_vision""#))
        #expect(json.contains(#""message":"3 models lack vision""#))
    }
}

@Suite struct AgentRecommendationTests {
    @Test(arguments: [
        ("research", [String](), ["reasoning", "analysis", "long_context"]),
        ("coding", [], ["coding", "reasoning"]),
        ("support", [], ["chat", "classification"]),
        ("content", [], ["chat", "summarization"]),
        ("analysis", [], ["analysis", "reasoning"]),
        ("summarization", [], ["summarization", "long_context"]),
        ("Customer Support", ["ticket triage"], ["chat", "classification"]),
        ("assistant", ["Python scripting", "summarize reports"], ["chat", "coding", "summarization"]),
        ("unheard-of", ["image captioning"], ["vision"]),
        ("unheard-of", [], ["chat"]),
    ])
    func mapsAgentTypesAndSkillsToTasks(agentType: String, skills: [String], expected: [String]) {
        let tasks = Recommender.taskTypes(forAgentType: agentType, skills: skills)
        #expect(tasks.map(\.taskType) == expected)
        #expect(tasks.allSatisfy { !$0.reason.isEmpty })
    }

    @Test func explainsTheMapping() {
        let tasks = Recommender.taskTypes(forAgentType: "research", skills: ["SQL"])
        #expect(tasks.first?.reason == "agent type 'research' reads long sources and reasons over them")
        #expect(tasks.last == TaskTypeMatch(taskType: "coding", reason: "skill 'SQL' calls for coding"))
        let fallback = Recommender.taskTypes(forAgentType: nil, skills: [])
        #expect(fallback.first?.reason.contains("general chat") == true)
    }

    @Test func recommendsForAResearchAgent() throws {
        let result = Recommender.recommendations(
            forAgentType: "research", skills: [], models: Fixtures.all, today: Fixtures.today)
        let best = try #require(result.result.recommendations.first)
        #expect(best.model.modelID == "gpt-5")  // reasoning + analysis, largest window
        #expect(best.reasons.first == "recommended for reasoning and analysis (suits a 'research' agent)")
        #expect(!result.result.recommendations.contains { $0.model.effectiveStatus(on: Fixtures.today) != .active })
    }
}
