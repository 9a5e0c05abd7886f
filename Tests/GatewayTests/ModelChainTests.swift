import Catalog
import Foundation
@testable import Gateway
import Providers
import TestSupport
import Testing

/// Chain resolution, parameter merging and the error-class policy, without I/O.
@Suite("Gateway: model chain and policy")
struct ModelChainTests {
    static func model(_ id: String, provider: String = "openai", window: Int? = 1000, status: ModelStatus = .active) -> LLMModel {
        LLMModel(
            provider: provider, modelID: id, displayName: id, contextWindow: window, maxOutputTokens: 100,
            inputCostPer1K: 1, outputCostPer1K: 1, status: status, minTemperature: 0, maxTemperature: 1)
    }

    static var snapshot: ConfigSnapshot {
        var snapshot = ConfigSnapshot()
        for model in [
            model("a"), model("retired", status: .retired), model("keyless", provider: "nokey"), model("off", provider: "off"),
            model("tiny", window: 10), model("cool"), model("b", provider: "anthropic"), model("leaky", provider: "leaky"),
        ] { snapshot.models[model.modelID] = model }
        // A key over plain http to a host that is neither loopback nor operator-listed.
        snapshot.providers["leaky"] = Provider(name: "leaky", apiStyle: .openai, baseURL: "http://collector.example", apiKeyEnv: "K")
        snapshot.providers["openai"] = Provider(name: "openai", apiStyle: .openai, baseURL: "http://127.0.0.1:9", apiKeyEnv: "K")
        snapshot.providers["anthropic"] = Provider(name: "anthropic", apiStyle: .anthropic, baseURL: "http://127.0.0.1:9", apiKeyEnv: "K")
        snapshot.providers["nokey"] = Provider(name: "nokey", apiStyle: .openai, baseURL: "http://127.0.0.1:9", apiKeyEnv: "UNSET_KEY")
        snapshot.providers["off"] = Provider(name: "off", apiStyle: .openai, baseURL: "http://127.0.0.1:9", apiKeyEnv: "K", enabled: false)
        snapshot.cooldowns[CooldownKey(provider: "openai", modelID: "cool")] = TestClock.now.addingTimeInterval(60)
        return snapshot
    }

    /// `K` may reach the stub's loopback host and the operator-listed collector; `UNSET_KEY` is bound but unset.
    static let credentials = CredentialResolver(environment: [
        "K": "key", KeyHostBindings.environmentVariable: "K=127.0.0.1, K=collector.example, UNSET_KEY=127.0.0.1",
    ])

    @Test("Skips retired, unknown, keyless, disabled, too-small and cooling-down models, keeping chain depths")
    func skipReasons() {
        let configuration = ModelConfiguration(
            modelID: "retired", fallbackModelIDs: ["missing", "keyless", "off", "tiny", "cool", "leaky", "a", "b"])
        let (candidates, skipped) = ModelChain.resolve(
            configuration, snapshot: Self.snapshot, credentials: Self.credentials,
            estimatedPromptTokens: 50, now: TestClock.now)
        #expect(candidates.map(\.model.modelID) == ["a", "b"])
        #expect(candidates.map(\.depth) == [7, 8])
        #expect(candidates.map(\.provider.name) == ["openai", "anthropic"])
        #expect(skipped.map(\.reason) == [.retired, .unknownModel, .missingCredentials, .providerDisabled, .contextTooSmall, .coolingDown, .unsafeBaseURL])
    }

    @Test("A provider row pointing its key at an unbound host is skipped, naming the binding to add")
    func unboundKeyHost() throws {
        var snapshot = Self.snapshot
        snapshot.providers["openai"] = Provider(name: "openai", apiStyle: .openai, baseURL: "https://elsewhere.example", apiKeyEnv: "K")
        let (candidates, skipped) = ModelChain.resolve(
            ModelConfiguration(modelID: "a", fallbackModelIDs: ["b"]), snapshot: snapshot, credentials: Self.credentials,
            estimatedPromptTokens: 50, now: TestClock.now)
        #expect(candidates.map(\.model.modelID) == ["b"])
        let skip = try #require(skipped.first)
        #expect(skip.reason == .keyNotBound)
        #expect(skip.detail?.contains("K is bound to 127.0.0.1, collector.example, not to 'elsewhere.example'") == true, "\(skip.detail ?? "")")
    }

    @Test("An operator-listed host may receive a key over plain http")
    func operatorListedHTTPHost() {
        let configuration = ModelConfiguration(modelID: "leaky")
        let (candidates, skipped) = ModelChain.resolve(
            configuration, snapshot: Self.snapshot, credentials: Self.credentials,
            estimatedPromptTokens: 50,
            allowedHTTPHosts: Provider.allowedHTTPHosts(environment: ["SWITCHBOARD_ALLOWED_HTTP_HOSTS": " Collector.example ,x"]),
            now: TestClock.now)
        #expect(candidates.map(\.model.modelID) == ["leaky"])
        #expect(skipped.isEmpty)
    }

    @Test("The job's parameters override the agent's, clamped to the model's limits")
    func parameters() {
        let configuration = ModelConfiguration(modelID: "a", temperature: 0.3, maxTokens: 500, topP: 0.9)
        var request = ChatRequest(messages: [.user("hi")])
        var effective = ModelChain.effectiveRequest(request, configuration: configuration, model: Self.model("a"))
        #expect(effective.temperature == 0.3)
        #expect(effective.maxTokens == 100)  // clamped to max_output_tokens
        #expect(effective.topP == 0.9)
        request.temperature = 1.7
        effective = ModelChain.effectiveRequest(request, configuration: configuration, model: Self.model("a"))
        #expect(effective.temperature == 1.0)  // the job's value, clamped to the model's max
    }

    /// Review finding P3-c: the agent's max_tokens is a ceiling in the worker too, whatever the job asks.
    @Test("The agent's max_tokens caps the job's own max_tokens; a smaller ask is kept")
    func agentMaxTokensIsACeiling() {
        let configuration = ModelConfiguration(modelID: "a", maxTokens: 50)
        let unlimited = LLMModel(provider: "openai", modelID: "a", displayName: "a", maxOutputTokens: 100_000)
        var request = ChatRequest(messages: [.user("write 2000 words")])
        request.maxTokens = 4000
        #expect(ModelChain.effectiveRequest(request, configuration: configuration, model: unlimited).maxTokens == 50)
        request.maxTokens = 20
        #expect(ModelChain.effectiveRequest(request, configuration: configuration, model: unlimited).maxTokens == 20)
        request.maxTokens = nil
        #expect(ModelChain.effectiveRequest(request, configuration: configuration, model: unlimited).maxTokens == 50)
        // Without an agent ceiling the job's value stands (bounded by the model's output limit).
        request.maxTokens = 4000
        #expect(ModelChain.effectiveRequest(request, configuration: ModelConfiguration(modelID: "a"), model: unlimited).maxTokens == 4000)
    }

    @Test("The prompt estimate grows with the text")
    func estimate() {
        let short = ModelChain.estimatePromptTokens(ChatRequest(messages: [.user("hi")]))
        let long = ModelChain.estimatePromptTokens(ChatRequest(messages: [.user(String(repeating: "a", count: 4000))]))
        #expect(short < 30)
        #expect(long >= 1000)
    }

    @Test("Error classes map to retry, next model or fail")
    func policy() {
        #expect(RetryPolicy.action(for: ProviderError(.serverError, message: "")) == .retrySameModel)
        #expect(RetryPolicy.action(for: ProviderError(.rateLimited, message: "")) == .retrySameModel)
        #expect(RetryPolicy.action(for: ProviderError(.auth, message: "")) == .nextModel)
        #expect(RetryPolicy.action(for: ProviderError(.contextLengthExceeded, message: "")) == .nextModel)
        #expect(RetryPolicy.action(for: ProviderError(.quotaExhausted, message: "")) == .nextModel)
        #expect(RetryPolicy.action(for: ProviderError(.invalidRequest, message: "")) == .failJob)
        // Adapters report a request only this provider refuses as unsupported_parameter (next
        // model); an invalid request is invalid for every model, wherever it was detected.
        #expect(RetryPolicy.action(for: ProviderError(.unsupportedParameter, message: "", detectedLocally: true)) == .nextModel)
        #expect(RetryPolicy.action(for: ProviderError(.invalidRequest, message: "", detectedLocally: true)) == .failJob)
        #expect(RetryPolicy.action(for: ProviderError(.requestTooLarge, message: "")) == .nextModel)
    }

    @Test("Three transient failures in a row cool a model down; a success resets the streak")
    func cooldownStreak() {
        let tracker = CooldownTracker(threshold: 3, window: .seconds(30))
        let key = CooldownKey(provider: "p", modelID: "m")
        let t0 = ContinuousClock.now
        #expect(!tracker.recordTransientFailure(key, callStarted: t0, at: t0))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0, at: t0))
        tracker.recordSuccess(key)
        #expect(!tracker.recordTransientFailure(key, callStarted: t0, at: t0))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0, at: t0))
        #expect(tracker.recordTransientFailure(key, callStarted: t0, at: t0))
        // A pause longer than the window between a failure and the next call: a new streak.
        #expect(!tracker.recordTransientFailure(key, callStarted: t0, at: t0))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0 + .seconds(20), at: t0 + .seconds(20)))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0 + .seconds(51), at: t0 + .seconds(51)))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0 + .seconds(60), at: t0 + .seconds(60)))
        #expect(tracker.recordTransientFailure(key, callStarted: t0 + .seconds(61), at: t0 + .seconds(61)))
    }

    @Test("F10: sequential timeouts longer than the window trip the cooldown (each call starts as the last one fails)")
    func sequentialTimeoutsTripTheCooldown() {
        let tracker = CooldownTracker(threshold: 3, window: .seconds(30))
        let key = CooldownKey(provider: "p", modelID: "slow")
        let t0 = ContinuousClock.now
        // Three 60-s timeouts back to back: 180 s from the first failure's call to the last.
        #expect(!tracker.recordTransientFailure(key, callStarted: t0, at: t0 + .seconds(60)))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0 + .seconds(60), at: t0 + .seconds(120)))
        #expect(tracker.recordTransientFailure(key, callStarted: t0 + .seconds(120), at: t0 + .seconds(180)))
        // Concurrent calls that started before the streak's last failure belong to it too.
        #expect(!tracker.recordTransientFailure(key, callStarted: t0 + .seconds(200), at: t0 + .seconds(260)))
        #expect(!tracker.recordTransientFailure(key, callStarted: t0 + .seconds(201), at: t0 + .seconds(261)))
        #expect(tracker.recordTransientFailure(key, callStarted: t0 + .seconds(202), at: t0 + .seconds(262)))
    }
}
