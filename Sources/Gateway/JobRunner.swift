import Catalog
import Foundation
import Logging
import Providers
import Support

/// Runs one claimed job: resolves the agent's chain, calls models through `ProviderClient`,
/// retries and falls back by error class, and returns the outcome with every call made.
/// No database access here except loading an agent the cache has not seen yet.
struct JobRunner: Sendable {
    let configuration: GatewayConfiguration
    let cache: ConfigCache
    let client: ProviderClient
    let cooldowns: CooldownTracker
    let metrics: GatewayMetrics
    let logger: Logger
    /// Called when a model should be cooled down for every worker.
    let onCooldown: @Sendable (CooldownKey, String) -> Void

    func run(_ job: ClaimedJob, handle: JobHandle) async -> JobOutcome {
        let history = ErrorHistory(json: job.errorJSON)
        if job.cancelRequested || handle.stopReason == .cancelRequested {
            return JobOutcome(job: job, disposition: .cancelled(error: job.errorJSON), calls: [])
        }
        let request: ChatRequest
        /// `request.model`: the job runs on this catalog model alone, not on its agent's chain
        /// (the registry's `/v1` calls that name a model rather than an agent).
        let modelOverride: String?
        do {
            // One pass of the JSON target: no Foundation decoder on the hot path, and tool and
            // response schemas keep their member order and exact numbers.
            let document = try JSONParser.parse(contiguous: job.requestJSON.utf8, maximumDepth: 512)
            request = try ChatRequest(json: document)
            modelOverride = document["model"]?.stringValue
        } catch {
            let document = history.document(
                code: "invalid_request", message: "the job's request is not a valid chat request: \(error)",
                job: job, calls: [], skipped: [])
            return JobOutcome(job: job, disposition: .failed(error: document), calls: [])
        }
        let agent: AgentSettings?
        if let modelOverride {
            agent = AgentSettings(configuration: ModelConfiguration(modelID: modelOverride))
        } else {
            do {
                agent = try await cache.agent(job.agentID)
            } catch {
                // The database is unreachable: try again later without spending the job's attempts.
                return JobOutcome(job: job, disposition: .released(delay: .seconds(1)), calls: [])
            }
        }
        guard let agent else {
            let document = history.document(
                code: "no_usable_model", message: "agent \(job.agentID) does not exist", job: job, calls: [], skipped: [])
            return JobOutcome(job: job, disposition: .failed(error: document), calls: [])
        }
        if let problem = agent.invalidConfiguration {
            let document = history.document(
                code: "no_usable_model", message: "agent \(job.agentID) has a model_config that cannot be read: \(problem)",
                job: job, calls: [], skipped: [])
            return JobOutcome(job: job, disposition: .failed(error: document), calls: [])
        }

        let snapshot = cache.snapshot
        let (candidates, skipped) = ModelChain.resolve(
            agent.configuration, snapshot: snapshot, credentials: client.credentials,
            estimatedPromptTokens: ModelChain.estimatePromptTokens(request),
            allowedHTTPHosts: configuration.allowedHTTPHosts)

        var calls: [CallRecord] = []
        var sawTransient = skipped.contains { $0.reason == .coolingDown }
        var lastError: ProviderError?

        chain: for candidate in candidates {
            let key = CooldownKey(provider: candidate.provider.name, modelID: candidate.model.modelID)
            let callRequest = ModelChain.effectiveRequest(request, configuration: agent.configuration, model: candidate.model)
            // The catalog row tells the adapter the model's limits (context window, output cap,
            // temperature range, reasoning model) so it sends what that API accepts.
            let options = ChatCallOptions(
                model: candidate.model,
                timeout: min(configuration.callTimeout, .milliseconds(Int64(candidate.provider.requestTimeoutSeconds * 1000))))
            var retries = 0
            while true {
                if handle.stopReason != .none { break chain }
                let started = Date()
                let clock = ContinuousClock.now
                do {
                    let response = try await client.complete(
                        callRequest, model: candidate.model.modelID, provider: candidate.provider, options: options)
                    let call = successRecord(response, candidate: candidate, started: started, elapsed: ContinuousClock.now - clock)
                    calls.append(call)
                    cooldowns.recordSuccess(key)
                    metrics.recordCall(call)
                    let result = ResultDocument.make(
                        response: response, candidate: candidate, cost: call.cost,
                        attempts: history.previousCalls + calls.count)
                    return JobOutcome(job: job, disposition: .succeeded(result: result), calls: calls)
                } catch {
                    let elapsed = ContinuousClock.now - clock
                    let stop = handle.stopReason
                    if stop == .release { break chain }  // the aborted call is not recorded: the job runs again
                    var call = failureRecord(error, candidate: candidate, started: started, elapsed: elapsed)
                    if stop == .cancelRequested {
                        call.errorClass = "cancelled"
                        call.transient = false
                        calls.append(call)
                        metrics.recordCall(call)
                        break chain
                    }
                    calls.append(call)
                    metrics.recordCall(call)
                    lastError = error
                    switch RetryPolicy.action(for: error) {
                    case .failJob:
                        let document = history.document(
                            code: "invalid_request", message: error.message, job: job, calls: calls, skipped: skipped)
                        return JobOutcome(job: job, disposition: .failed(error: document), calls: calls)
                    case .nextModel:
                        continue chain
                    case .retrySameModel:
                        sawTransient = true
                        if cooldowns.recordTransientFailure(key) {
                            onCooldown(key, error.errorClass.rawValue)
                            continue chain
                        }
                        guard retries < configuration.maxRetriesPerModel,
                              let delay = retryDelay(after: error, retry: retries)
                        else { continue chain }
                        retries += 1
                        try? await Task.sleep(for: delay)
                    }
                }
            }
        }

        switch handle.stopReason {
        case .release:
            return JobOutcome(job: job, disposition: .released(delay: .zero), calls: calls)
        case .cancelRequested:
            let document = history.document(code: "cancelled", message: "cancelled while running", job: job, calls: calls, skipped: skipped)
            return JobOutcome(job: job, disposition: .cancelled(error: document), calls: calls)
        case .none:
            break
        }

        if candidates.isEmpty && !sawTransient {
            let reasons = skipped.map { "\($0.modelID): \($0.reason.rawValue)" }.joined(separator: ", ")
            let document = history.document(
                code: "no_usable_model", message: "no model of the agent's chain can be called (\(reasons))",
                job: job, calls: calls, skipped: skipped)
            return JobOutcome(job: job, disposition: .failed(error: document), calls: calls)
        }
        if sawTransient {
            let message = lastError.map { "every usable model failed; last: \($0.description)" }
                ?? "every usable model is cooling down"
            if job.attempt < job.maxAttempts {
                let document = history.document(
                    code: lastError?.errorClass.rawValue ?? "cooling_down", message: message, job: job, calls: calls, skipped: skipped)
                return JobOutcome(job: job, disposition: .requeued(delay: requeueDelay(attempt: job.attempt), error: document), calls: calls)
            }
            let document = history.document(
                code: "max_attempts_exceeded", message: "\(job.maxAttempts) attempts made; \(message)",
                job: job, calls: calls, skipped: skipped)
            return JobOutcome(job: job, disposition: .failed(error: document), calls: calls)
        }
        let document = history.document(
            code: lastError?.errorClass.rawValue ?? "no_usable_model",
            message: lastError.map { "every model failed; last: \($0.description)" } ?? "no usable model",
            job: job, calls: calls, skipped: skipped)
        return JobOutcome(job: job, disposition: .failed(error: document), calls: calls)
    }

    /// Exponential backoff with full jitter, or the provider's Retry-After when it asks for longer.
    /// nil when Retry-After exceeds the cap: waiting that long is worse than the next model.
    func retryDelay(after error: ProviderError, retry: Int) -> Duration? {
        let ceiling = configuration.retryBaseDelay.seconds * Double(1 << min(retry, 16))
        let jitter = Double.random(in: 0...max(ceiling, 0.001))
        if let retryAfter = error.retryAfter {
            if retryAfter > configuration.retryAfterCap { return nil }
            return .milliseconds(Int64(max(retryAfter.seconds, jitter) * 1000))
        }
        return .milliseconds(Int64(jitter * 1000))
    }

    /// Requeue backoff: base × 2^(attempt-1), jittered between half and all of it, at most 5 min.
    func requeueDelay(attempt: Int) -> Duration {
        let ceiling = min(300, configuration.requeueBaseDelay.seconds * Double(1 << min(max(attempt - 1, 0), 16)))
        return .milliseconds(Int64(Double.random(in: (ceiling / 2)...max(ceiling, 0.001)) * 1000))
    }

    private func successRecord(_ response: ChatResponse, candidate: ChainCandidate, started: Date, elapsed: Duration) -> CallRecord {
        let usage = response.usage
        var cost: Decimal?
        if let usage {
            cost = try? CostCalculator.cost(
                model: candidate.model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens,
                cachedInputTokens: usage.cachedInputTokens ?? 0,
                cacheCreationInputTokens: usage.cacheCreationInputTokens ?? 0
            ).totalCost
        }
        return CallRecord(
            provider: candidate.provider.name, modelID: candidate.model.modelID, fallbackDepth: candidate.depth,
            success: true, errorClass: nil, httpStatus: 200, message: nil,
            inputTokens: usage?.inputTokens, outputTokens: usage?.outputTokens,
            cachedInputTokens: usage?.cachedInputTokens, cacheCreationInputTokens: usage?.cacheCreationInputTokens,
            reasoningTokens: usage?.reasoningTokens, cost: cost, latencyMilliseconds: max(0, elapsed.roundedMilliseconds),
            providerRequestID: response.requestID, startedAt: started, finishedAt: started.addingTimeInterval(elapsed.seconds),
            transient: false)
    }

    private func failureRecord(_ error: ProviderError, candidate: ChainCandidate, started: Date, elapsed: Duration) -> CallRecord {
        CallRecord(
            provider: candidate.provider.name, modelID: candidate.model.modelID, fallbackDepth: candidate.depth,
            success: false, errorClass: error.errorClass.rawValue,
            httpStatus: error.httpStatus.flatMap { (100...599).contains($0) ? $0 : nil },
            message: String(error.message.prefix(500)),
            inputTokens: nil, outputTokens: nil, cachedInputTokens: nil, cacheCreationInputTokens: nil, reasoningTokens: nil,
            cost: nil, latencyMilliseconds: max(0, elapsed.roundedMilliseconds), providerRequestID: error.requestID,
            startedAt: started, finishedAt: started.addingTimeInterval(elapsed.seconds), transient: error.isRetryable)
    }
}
