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
    /// Every call is written here before it is sent.
    let ledger: CallLedger
    /// Provider quotas: a slot in the shared window before each call (ProviderQuotas.swift).
    let quotas: ProviderQuotas
    /// The half-open probe of a model whose shared cooldown ended (`takeCooldownProbe`,
    /// `endCooldown`): one database statement before the call, only for such a model.
    let store: GatewayStore
    /// Called when a model should be cooled down for every worker: error class, for how long
    /// (nil: the configured cooldown), and why.
    let onCooldown: @Sendable (CooldownKey, String, Duration?, String) -> Void
    /// Where streaming jobs push their deltas (nil: streaming jobs run as plain calls).
    var streams: StreamChannels? = nil

    /// Resolve, then walk the chain attempting each model and deciding after every failure,
    /// then decide what the job becomes when the chain is used up or the worker stops it.
    func run(_ job: ClaimedJob, handle: JobHandle) async -> JobOutcome {
        if job.cancelRequested || handle.stopReason == .cancelRequested {
            return JobOutcome(job: job, disposition: .cancelled(error: job.errorJSON), calls: [])
        }
        let history = ErrorHistory(json: job.errorJSON)
        let plan: JobPlan
        switch await resolve(job, history: history) {
        case .ready(let resolved): plan = resolved
        case .finished(let outcome): return outcome
        }

        var progress = ChainProgress(sawTransient: plan.skipped.contains { $0.reason == .coolingDown })
        let push = plan.stream ? streams?.push(for: job) : nil
        var candidates = plan.candidates[...]
        var downgraded = false
        chain: while let candidate = candidates.first {
            switch await callModel(candidate, plan: plan, handle: handle, progress: &progress, push: push, downgraded: downgraded) {
            case .succeeded(let response, let call):
                let result = ResultDocument.make(
                    response: response, candidate: candidate, cost: call.cost,
                    attempts: history.previousCalls + progress.calls.count)
                return JobOutcome(job: job, disposition: .succeeded(result: result), calls: progress.calls)
            case .failJob(let error):
                let interrupted = error.errorClass == .streamInterrupted
                let document = history.document(
                    code: interrupted ? "stream_interrupted" : "invalid_request", message: error.message, job: job,
                    calls: progress.calls, skipped: plan.skipped, partial: interrupted ? error.partial : nil,
                    partialTokensEstimated: error.partialTokensEstimated)
                return JobOutcome(job: job, disposition: .failed(error: document), calls: progress.calls)
            case .nextModel:
                candidates = candidates.dropFirst()
            case .stopped:
                break chain
            case .budgetRefused(let refusal):
                // A downgrade budget: the cheapest models of the chain that fit what is left, once.
                if !downgraded, refusal.onExhausted == .downgrade, refusal.reason == .exhausted || refusal.reason == .threshold {
                    let cheaper = BudgetDowngrade.candidates(plan.candidates, request: plan.request, requestBytes: job.requestJSON.utf8.count,
                                                            configuration: plan.agent.configuration, fitting: refusal.remaining,
                                                            excluding: candidate)
                    if !cheaper.isEmpty {
                        logger.info("gateway.budget.downgrade", metadata: [
                            "job.id": "\(job.id)", "budget.id": "\(refusal.budgetID)", "from": "\(candidate.model.modelID)",
                            "to": "\(cheaper[0].model.modelID)",
                        ])
                        downgraded = true
                        candidates = cheaper[...]
                        continue chain
                    }
                }
                return budgetOutcome(job, refusal: refusal, plan: plan, progress: progress, history: history)
            }
        }
        return outcomeAfterChain(job, plan: plan, progress: progress, history: history, stopReason: handle.stopReason)
    }

    /// A budget refused the job's next call: it fails `budget_exceeded` (or `price_unknown`),
    /// or, for a `defer` budget with a period that ends, waits in the queue until then without
    /// spending an attempt.
    private func budgetOutcome(
        _ job: ClaimedJob, refusal: BudgetRefusal, plan: JobPlan, progress: ChainProgress, history: ErrorHistory
    ) -> JobOutcome {
        metrics.recordBudgetRefusal()
        let document = history.document(
            code: refusal.errorCode, message: refusal.message, job: job, calls: progress.calls, skipped: plan.skipped,
            budgetID: refusal.budgetID)
        if refusal.reason == .busy {
            return JobOutcome(job: job, disposition: .snoozed(delay: .seconds(1), error: document), calls: progress.calls)
        }
        if refusal.onExhausted == .defer, refusal.reason == .exhausted, let end = refusal.periodEnd {
            let wait = max(end.timeIntervalSinceNow, 1)
            return JobOutcome(job: job, disposition: .snoozed(delay: .milliseconds(Int64(wait * 1000)), error: document), calls: progress.calls)
        }
        return JobOutcome(job: job, disposition: .failed(error: document), calls: progress.calls)
    }

    // MARK: - Resolve: the request, the agent, the chain

    /// What a job runs with once its request and agent are known.
    private struct JobPlan {
        var job: ClaimedJob
        var request: ChatRequest
        var agent: AgentSettings
        /// The models to call, in order, and those of the chain left out (with why).
        var candidates: [ChainCandidate]
        var skipped: [SkippedModel]
        /// `stream: true` (a streaming `/v1` call): calls stream and push their deltas.
        var stream = false
    }

    private enum Resolution {
        case ready(JobPlan)
        /// The job ends (or goes back to the queue) before any call.
        case finished(JobOutcome)
    }

    private func resolve(_ job: ClaimedJob, history: ErrorHistory) async -> Resolution {
        func failed(_ code: String, _ message: String) -> Resolution {
            let document = history.document(code: code, message: message, job: job, calls: [], skipped: [])
            return .finished(JobOutcome(job: job, disposition: .failed(error: document), calls: []))
        }

        let request: ChatRequest
        /// `request.model`: the job runs on this catalog model alone, not on its agent's chain
        /// (the registry's `/v1` calls that name a model rather than an agent).
        let modelOverride: String?
        let stream: Bool
        do {
            // One pass of the JSON target: no Foundation decoder on the hot path, and tool and
            // response schemas keep their member order and exact numbers.
            let document = try JSONParser.parse(contiguous: job.requestJSON.utf8, maximumDepth: 512)
            request = try ChatRequest(json: document)
            modelOverride = document["model"]?.stringValue
            stream = document["stream"]?.boolValue == true
        } catch {
            return failed("invalid_request", "the job's request is not a valid chat request: \(error)")
        }

        let agent: AgentSettings?
        if let modelOverride {
            agent = AgentSettings(configuration: ModelConfiguration(modelID: modelOverride))
        } else {
            do {
                agent = try await cache.agent(job.agentID)
            } catch {
                // The database is unreachable: try again later without spending the job's attempts.
                return .finished(JobOutcome(job: job, disposition: .released(delay: .seconds(1)), calls: []))
            }
        }
        guard let agent else {
            return failed("no_usable_model", "agent \(job.agentID) does not exist")
        }
        if let problem = agent.invalidConfiguration {
            return failed("no_usable_model", "agent \(job.agentID) has a model_config that cannot be read: \(problem)")
        }

        let (candidates, skipped) = ModelChain.resolve(
            agent.configuration, snapshot: cache.snapshot, credentials: client.credentials,
            estimatedPromptTokens: ModelChain.estimatePromptTokens(request),
            allowedHTTPHosts: configuration.allowedHTTPHosts)
        return .ready(JobPlan(job: job, request: request, agent: agent, candidates: candidates, skipped: skipped, stream: stream))
    }

    // MARK: - Attempt: one model of the chain, with its retries

    /// What the chain walk has seen so far: the outcome's calls and the requeue decision's inputs.
    private struct ChainProgress {
        var calls: [CallRecord] = []
        /// A failure that waiting can fix (or a model skipped as cooling down): requeue, not fail.
        var sawTransient: Bool
        var lastError: ProviderError?
        /// The longest Retry-After of the rate-limited calls.
        var retryAfter: Duration?
        /// Every failed call so far was rate limited with a Retry-After: waiting is the fix.
        var onlyRateLimited = true
        /// A model was not called because its provider quota's window was full: until it ends.
        var quotaWait: Duration?
    }

    private enum ModelResult {
        case succeeded(ChatResponse, CallRecord)
        case nextModel
        /// The request is invalid for every model.
        case failJob(ProviderError)
        /// The worker released or cancelled the job: leave the chain.
        case stopped
        /// A budget refused to reserve the call; nothing was sent.
        case budgetRefused(BudgetRefusal)
    }

    /// Calls one model of the chain, retrying it while `decide` says so.
    private func callModel(
        _ candidate: ChainCandidate, plan: JobPlan, handle: JobHandle, progress: inout ChainProgress, push: StreamPush?,
        downgraded: Bool
    ) async -> ModelResult {
        let key = CooldownKey(provider: candidate.provider.name, modelID: candidate.model.modelID)
        let callRequest = ModelChain.effectiveRequest(plan.request, configuration: plan.agent.configuration, model: candidate.model)
        let budget = CallBudget(
            estimate: BudgetEstimate.make(request: callRequest, requestBytes: plan.job.requestJSON.utf8.count, model: candidate.model),
            downgraded: downgraded)
        // The catalog row tells the adapter the model's limits (context window, output cap,
        // temperature range, reasoning model) so it sends what that API accepts.
        let options = ChatCallOptions(
            model: candidate.model,
            timeout: min(configuration.callTimeout, .milliseconds(Int64(candidate.provider.requestTimeoutSeconds * 1000))))
        // A cooldown the cache still holds has ended (the chain skipped live ones): one worker
        // probes the model, the others keep skipping it until the probe says how it is (F10).
        var isProbe = false
        if cache.snapshot.cooldowns[key] != nil {
            switch await takeProbe(key, timeout: options.timeout ?? configuration.callTimeout, progress: &progress) {
            case .probe: isProbe = true
            case .free: break
            case .skip: return .nextModel
            }
        }
        var retries = 0
        var busyWait = BudgetRefusal.busyWaitStart
        var busySince: ContinuousClock.Instant?
        while true {
            if handle.stopReason != .none { return .stopped }
            // A slot in the provider quota's current window for this call (ProviderQuotas.swift).
            // A call a busy budget holds back takes a new one when it tries again (the slot it
            // had may belong to a window that has ended by then): a spent slot, never a call over.
            if case .full(let wait) = await quotas.take(key, snapshot: cache.snapshot) {
                // Not called: the next model, or back to the queue until the window ends.
                progress.sawTransient = true
                progress.quotaWait = min(progress.quotaWait ?? wait, wait)
                return .nextModel
            }
            let callStarted = ContinuousClock.now
            switch await attempt(
                callRequest, candidate: candidate, options: options, budget: budget, job: plan.job, handle: handle,
                stream: push.map { LiveStream(push: $0, deadlines: streamDeadlines(plan.agent.configuration)) }) {
            case .notSent:
                return .stopped
            case .refused(let refusal) where refusal.reason == .busy:
                // Calls in flight hold the budget: wait for them to settle, a while, then let the
                // job wait in the queue.
                let since = busySince ?? ContinuousClock.now
                busySince = since
                if ContinuousClock.now - since > BudgetRefusal.busyWaitLimit { return .budgetRefused(refusal) }
                try? await Task.sleep(for: busyWait)
                busyWait = min(busyWait * 2, .milliseconds(500))
            case .refused(let refusal):
                return .budgetRefused(refusal)
            case .succeeded(let response, let call):
                progress.calls.append(call)
                cooldowns.recordSuccess(key)
                metrics.recordCall(call)
                if isProbe { await endCooldown(key) }
                return .succeeded(response, call)
            case .failed(let error, var call):
                let stop = handle.stopReason
                if stop == .release { return .stopped }  // the aborted call is not recorded: the job runs again
                if stop == .cancelRequested {
                    call.errorClass = "cancelled"
                    call.transient = false
                    progress.calls.append(call)
                    metrics.recordCall(call)
                    return .stopped
                }
                progress.calls.append(call)
                metrics.recordCall(call)
                progress.lastError = error
                if isProbe {
                    isProbe = false
                    if RetryPolicy.action(for: error) == .retrySameModel {
                        // Still sick: cooled down again for every worker, no retry here.
                        progress.sawTransient = true
                        onCooldown(key, error.errorClass.rawValue, nil, "half-open probe failed")
                        return .nextModel
                    }
                    // It answered (the error is the request's, not the model's health).
                    await endCooldown(key)
                }
                if error.errorClass == .rateLimited, let retryAfter = error.retryAfter {
                    progress.retryAfter = max(progress.retryAfter ?? .zero, retryAfter)
                } else {
                    progress.onlyRateLimited = false
                }
                switch decide(after: error, key: key, callStarted: callStarted, retries: retries, progress: &progress) {
                case .retry(let delay):
                    retries += 1
                    try? await Task.sleep(for: delay)
                case .nextModel:
                    return .nextModel
                case .failJob:
                    return .failJob(error)
                }
            }
        }
    }

    private enum ProbeTurn { case probe, free, skip }

    /// What this worker does with a model whose cooldown has ended: the one probe call, an
    /// ordinary call (the row is gone), or skip it while it cools down again or another worker
    /// probes (a database error counts as that, for a second).
    private func takeProbe(_ key: CooldownKey, timeout: Duration, progress: inout ChainProgress) async -> ProbeTurn {
        switch (try? await store.takeCooldownProbe(key, seconds: timeout.seconds + 5)) ?? .busy(until: Date().addingTimeInterval(1)) {
        case .mine:
            logger.info("gateway.model.probing", metadata: ["llm.provider": "\(key.provider)", "llm.model": "\(key.modelID)"])
            return .probe
        case .ended:
            cache.clearCooldown(key)
            return .free
        case .busy(let until):
            cache.applyCooldown(key, until: until)
            progress.sawTransient = true
            let wait = Duration.milliseconds(Int64(max(until.timeIntervalSinceNow, 1) * 1000))
            progress.quotaWait = min(progress.quotaWait ?? wait, wait)
            return .skip
        }
    }

    /// A probe succeeded: the shared row goes (every worker reloads), and this worker's copy now.
    private func endCooldown(_ key: CooldownKey) async {
        cache.clearCooldown(key)
        do {
            try await store.endCooldown(key)
            logger.info("gateway.model.cooldown_ended", metadata: ["llm.provider": "\(key.provider)", "llm.model": "\(key.modelID)"])
        } catch {
            // The row stays; its probe lease ends and another call probes again.
            logger.warning("gateway.cooldown.end_failed", metadata: ["error": "\(error)"])
        }
    }

    private enum Attempt {
        case succeeded(ChatResponse, CallRecord)
        case failed(ProviderError, CallRecord)
        /// Stopped before the call could be recorded in the ledger: nothing was sent.
        case notSent
        /// A budget refused the call: nothing was sent.
        case refused(BudgetRefusal)
    }

    /// What a call reserves when budgets exist.
    private struct CallBudget {
        var estimate: BudgetEstimate?
        var downgraded: Bool
    }

    /// One provider call and the usage record it leaves: recorded in the ledger first.
    private func attempt(
        _ request: ChatRequest, candidate: ChainCandidate, options: ChatCallOptions, budget: CallBudget, job: ClaimedJob,
        handle: JobHandle, stream: LiveStream? = nil
    ) async -> Attempt {
        let opened = await openLedgerRow(candidate, budget: budget, job: job, handle: handle)
        let callSeq: Int
        let reserved: Bool
        switch opened {
        case nil: return .notSent
        case .refused(let refusal)?: return .refused(refusal)
        case .budgetsAppeared?: return .notSent  // not returned by openLedgerRow
        case .opened(let sequence, let isReserved)?:
            callSeq = sequence
            reserved = isReserved
        }
        var request = request
        // A reserved call's output bound is sent explicitly: the provider cannot bill beyond it.
        if reserved, let estimate = budget.estimate { request.maxTokens = estimate.maxOutputTokens }
        let started = Date()
        let clock = ContinuousClock.now
        if let stream {
            return await streamedAttempt(
                request, candidate: candidate, options: options, stream: stream, callSeq: callSeq, started: started, clock: clock)
        }
        do {
            let response = try await client.complete(
                request, model: candidate.model.modelID, provider: candidate.provider, options: options)
            var record = successRecord(
                response, candidate: candidate, callSeq: callSeq, started: started, elapsed: ContinuousClock.now - clock)
            markBudget(&record, reserved: reserved, budget: budget, job: job)
            return .succeeded(response, record)
        } catch {
            var record = failureRecord(
                error, candidate: candidate, callSeq: callSeq, started: started, elapsed: ContinuousClock.now - clock)
            markBudget(&record, reserved: reserved, budget: budget, job: job)
            return .failed(error, record)
        }
    }

    private func markBudget(_ record: inout CallRecord, reserved: Bool, budget: CallBudget, job: ClaimedJob) {
        record.reserved = reserved
        if budget.downgraded { record.budgetDecision = "downgrade" }
        if reserved, let cost = record.cost, let bound = budget.estimate?.maxCost, cost > bound {
            // Only a provider billing beyond what it was sent (max_tokens) gets here.
            logger.warning("gateway.budget.cost_above_reservation", metadata: [
                "job.id": "\(job.id)", "model": "\(record.modelID)", "cost": "\(cost)", "reserved": "\(bound)",
            ])
        }
    }

    /// A streamed call's push to the client and its deadlines.
    struct LiveStream {
        var push: StreamPush
        var deadlines: StreamDeadlines
    }

    /// The agent's own stream deadlines where it sets them, the gateway's otherwise.
    private func streamDeadlines(_ agent: ModelConfiguration) -> StreamDeadlines {
        StreamDeadlines(
            firstToken: agent.streamFirstTokenDeadline ?? configuration.streamFirstTokenTimeout,
            stall: agent.streamStallDeadline ?? configuration.streamStallTimeout)
    }

    /// One streamed call: its deltas go to the push as they arrive; the record is as for a plain
    /// call, with the partial usage of a stream that broke after its first token.
    private func streamedAttempt(
        _ request: ChatRequest, candidate: ChainCandidate, options: ChatCallOptions, stream: LiveStream, callSeq: Int,
        started: Date, clock: ContinuousClock.Instant
    ) async -> Attempt {
        let push = stream.push
        let deadlines = stream.deadlines
        push.begin(StreamPush.Origin(model: candidate.model.modelID, provider: candidate.provider.name, fallbackDepth: candidate.depth))
        do {
            let response = try await client.stream(
                request, model: candidate.model.modelID, provider: candidate.provider, options: options, deadlines: deadlines
            ) { delta in await push.send(delta) }
            let record = successRecord(
                response, candidate: candidate, callSeq: callSeq, started: started, elapsed: ContinuousClock.now - clock)
            await push.finish(response, cost: record.cost)
            return .succeeded(response, record)
        } catch {
            var record = failureRecord(
                error, candidate: candidate, callSeq: callSeq, started: started, elapsed: ContinuousClock.now - clock)
            if let partial = error.partial {
                // Billed for what was produced: the stream's own closing counts when it sent them;
                // else the amount is unknown (the job's error document carries an estimate).
                if let usage = partial.usage, !error.partialTokensEstimated {
                    record.bill(usage, model: candidate.model)
                } else {
                    record.billedUnknown = true
                }
                record.usageInvalid = partial.usageInvalid
            }
            if push.hasContent {
                let code = error.errorClass == .cancelled ? "cancelled" : "stream_interrupted"
                await push.fail(code: code, message: error.description)
            }
            return .failed(error, record)
        }
    }

    /// The call's ledger row, written before the call: no call is sent that the database does
    /// not know of. When budgets exist the row reserves the call's maximum cost, or a budget
    /// refuses it. While the database cannot be reached the call waits (its lease may lapse and
    /// the job be rescued: nothing was spent); nil when the worker stops the job meanwhile.
    private func openLedgerRow(
        _ candidate: ChainCandidate, budget: CallBudget, job: ClaimedJob, handle: JobHandle
    ) async -> CallLedger.Opened? {
        var delay = 0.05
        while handle.stopReason == .none {
            var entry = CallLedger.Entry(
                attempt: job.key, provider: candidate.provider.name, modelID: candidate.model.modelID, fallbackDepth: candidate.depth)
            if cache.snapshot.budgetsExist || budget.downgraded {
                entry.reservation = CallLedger.Reservation(amount: budget.estimate?.maxCost, downgraded: budget.downgraded)
            }
            do {
                let opened = try await ledger.open(entry)
                if case .budgetsAppeared = opened {
                    cache.noteBudgetsExist()
                    continue
                }
                return opened
            } catch is CancellationError {
                return nil
            } catch {
                logger.warning("gateway.ledger.write_failed", metadata: ["job.id": "\(job.id)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                delay = min(delay * 2, 2)
            }
        }
        return nil
    }

    // MARK: - Decide: after a failed call, and when the chain ends

    private enum NextStep {
        case retry(after: Duration)
        case nextModel
        case failJob
    }

    /// Classifies a failed call: retry the same model, fall back to the next, or fail the job.
    private func decide(
        after error: ProviderError, key: CooldownKey, callStarted: ContinuousClock.Instant, retries: Int, progress: inout ChainProgress
    ) -> NextStep {
        switch RetryPolicy.action(for: error) {
        case .failJob:
            return .failJob
        case .nextModel:
            return .nextModel
        case .retrySameModel:
            progress.sawTransient = true
            // A model that has now failed often enough cools down for every worker: retrying it
            // here would only spend the job's time.
            if cooldowns.recordTransientFailure(key, callStarted: callStarted) {
                onCooldown(key, error.errorClass.rawValue, nil, "\(configuration.cooldownThreshold) consecutive transient failures")
                return .nextModel
            }
            // The request was sent and the answer is late: the provider probably finishes and
            // bills it anyway, so the same request again is likely a second bill (F4).
            if error.errorClass == .timeout && error.afterSend { return .nextModel }
            guard retries < configuration.maxRetriesPerModel else { return .nextModel }
            guard let delay = retryDelay(after: error, retry: retries) else {
                // The provider asked for longer than this worker waits in place: nobody should
                // call the model before then (F7), so every worker skips it until that moment.
                if let retryAfter = error.retryAfter {
                    onCooldown(key, error.errorClass.rawValue, min(retryAfter, Self.longestCooldown), "Retry-After \(retryAfter)")
                }
                return .nextModel
            }
            return .retry(after: delay)
        }
    }

    /// No model succeeded: the job goes back to the queue (released, or requeued when waiting can
    /// help and attempts remain), is cancelled, or fails with the history so far.
    private func outcomeAfterChain(
        _ job: ClaimedJob, plan: JobPlan, progress: ChainProgress, history: ErrorHistory, stopReason: JobHandle.StopReason
    ) -> JobOutcome {
        let calls = progress.calls
        let skipped = plan.skipped
        func failed(_ code: String, _ message: String) -> JobOutcome {
            let document = history.document(code: code, message: message, job: job, calls: calls, skipped: skipped)
            return JobOutcome(job: job, disposition: .failed(error: document), calls: calls)
        }

        switch stopReason {
        case .release:
            return JobOutcome(job: job, disposition: .released(delay: .zero), calls: calls)
        case .cancelRequested:
            let document = history.document(code: "cancelled", message: "cancelled while running", job: job, calls: calls, skipped: skipped)
            return JobOutcome(job: job, disposition: .cancelled(error: document), calls: calls)
        case .none:
            break
        }

        let lastError = progress.lastError
        if plan.candidates.isEmpty && !progress.sawTransient {
            let reasons = skipped.map { "\($0.modelID): \($0.reason.rawValue)" }.joined(separator: ", ")
            return failed("no_usable_model", "no model of the agent's chain can be called (\(reasons))")
        }
        if progress.sawTransient {
            let message = lastError.map { "every usable model failed; last: \($0.description)" }
                ?? (progress.quotaWait != nil ? "every usable model is at its provider quota or cooling down" : "every usable model is cooling down")
            if let delay = snoozeDelay(plan: plan, progress: progress, history: history) {
                let document = history.document(
                    code: lastError?.errorClass.rawValue ?? "cooling_down", message: message, job: job, calls: calls, skipped: skipped)
                return JobOutcome(job: job, disposition: .snoozed(delay: delay, error: document), calls: calls)
            }
            if job.attempt < job.maxAttempts {
                let document = history.document(
                    code: lastError?.errorClass.rawValue ?? "cooling_down", message: message, job: job, calls: calls, skipped: skipped)
                return JobOutcome(job: job, disposition: .requeued(delay: requeueDelay(attempt: job.attempt), error: document), calls: calls)
            }
            return failed("max_attempts_exceeded", "\(job.maxAttempts) attempts made; \(message)")
        }
        return failed(
            lastError?.errorClass.rawValue ?? "no_usable_model",
            lastError.map { "every model failed; last: \($0.description)" } ?? "no usable model")
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

    /// Longest shared cooldown a Retry-After writes, and longest wait a snooze takes.
    static let longestCooldown: Duration = .seconds(3600)
    static let longestSnooze: Duration = .seconds(300)
    /// Calls in a job's history past which it no longer snoozes (spends attempts instead), so a
    /// provider that rate-limits forever cannot keep a job queued forever.
    static let snoozeCallLimit = 50

    /// When waiting is what the chain asked for: every call of this attempt was rate limited
    /// with a Retry-After, and/or models were skipped as cooling down. Then the job waits until
    /// the first of those may be called again (at most 5 min), without spending an attempt; nil
    /// otherwise (an ordinary requeue).
    private func snoozeDelay(plan: JobPlan, progress: ChainProgress, history: ErrorHistory) -> Duration? {
        guard progress.onlyRateLimited, history.previousCalls + progress.calls.count < Self.snoozeCallLimit else { return nil }
        var waits: [Duration] = progress.retryAfter.map { [$0] } ?? []
        if let quotaWait = progress.quotaWait { waits.append(quotaWait) }
        let cooldowns = cache.snapshot.cooldowns
        let now = Date()
        for skip in plan.skipped where skip.reason == .coolingDown {
            guard let provider = skip.provider, let until = cooldowns[CooldownKey(provider: provider, modelID: skip.modelID)] else { continue }
            waits.append(.milliseconds(Int64(max(0, until.timeIntervalSince(now)) * 1000)))
        }
        guard let first = waits.min() else { return nil }
        return min(max(first, .seconds(1)), Self.longestSnooze)
    }

    /// Requeue backoff: base × 2^(attempt-1), jittered between half and all of it, at most 5 min.
    func requeueDelay(attempt: Int) -> Duration {
        let ceiling = min(300, configuration.requeueBaseDelay.seconds * Double(1 << min(max(attempt - 1, 0), 16)))
        return .milliseconds(Int64(Double.random(in: (ceiling / 2)...max(ceiling, 0.001)) * 1000))
    }

    private func successRecord(
        _ response: ChatResponse, candidate: ChainCandidate, callSeq: Int, started: Date, elapsed: Duration
    ) -> CallRecord {
        var record = CallRecord(
            callSeq: callSeq, provider: candidate.provider.name, modelID: candidate.model.modelID, fallbackDepth: candidate.depth,
            success: true, errorClass: nil, httpStatus: 200, message: nil,
            inputTokens: nil, outputTokens: nil, cachedInputTokens: nil, cacheCreationInputTokens: nil, reasoningTokens: nil,
            cost: nil, latencyMilliseconds: max(0, elapsed.roundedMilliseconds),
            providerRequestID: response.requestID, startedAt: started, finishedAt: started.addingTimeInterval(elapsed.seconds),
            transient: false, usageInvalid: response.usageInvalid)
        if let usage = response.usage { record.bill(usage, model: candidate.model) }
        return record
    }

    private func failureRecord(
        _ error: ProviderError, candidate: ChainCandidate, callSeq: Int, started: Date, elapsed: Duration
    ) -> CallRecord {
        CallRecord(
            callSeq: callSeq, provider: candidate.provider.name, modelID: candidate.model.modelID, fallbackDepth: candidate.depth,
            success: false, errorClass: error.errorClass.rawValue,
            httpStatus: error.httpStatus.flatMap { (100...599).contains($0) ? $0 : nil },
            message: String(error.message.prefix(500)),
            inputTokens: nil, outputTokens: nil, cachedInputTokens: nil, cacheCreationInputTokens: nil, reasoningTokens: nil,
            cost: nil, latencyMilliseconds: max(0, elapsed.roundedMilliseconds), providerRequestID: error.requestID,
            startedAt: started, finishedAt: started.addingTimeInterval(elapsed.seconds), transient: error.isRetryable,
            billedUnknown: error.afterSend)
    }
}
