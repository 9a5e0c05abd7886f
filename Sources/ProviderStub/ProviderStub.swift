import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// The fake provider: OpenAI Chat Completions and Anthropic Messages on one server.
///
/// Endpoints: `POST /v1/chat/completions`, `POST /v1/messages`, `GET /v1/models`, `GET /stats`,
/// `POST /stats/reset`, `GET /healthz`. All waiting is `Task.sleep`, so thousands of slow
/// requests cost memory, not threads.
public final class ProviderStub: Sendable {
    public let configuration: ProviderStubConfiguration
    let state: StubState

    /// Largest request body accepted; Anthropic's own limit.
    static let maximumBodyBytes = 32 * 1024 * 1024

    public init(configuration: ProviderStubConfiguration = ProviderStubConfiguration()) {
        self.configuration = configuration
        self.state = StubState(seed: configuration.seed)
    }

    /// Request counts since start or the last reset.
    public var stats: ProviderStubStats { state.snapshot() }

    public func resetStats() { state.reset() }

    /// The routes, for embedding in an `Application`.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in
            await self.respond(to: request, style: .openAI, endpoint: "/v1/chat/completions")
        }
        router.post("/v1/messages") { request, _ in
            await self.respond(to: request, style: .anthropic, endpoint: "/v1/messages")
        }
        router.get("/v1/models") { request, _ in
            let anthropic = Self.header("anthropic-version", in: request) != nil
            return self.models(style: anthropic ? .anthropic : .openAI).response
        }
        router.get("/stats") { _, _ in
            StubHTTPReply.json(200, StubJSON.parse(Self.encode(self.stats)) ?? [:]).response
        }
        router.post("/stats/reset") { _, _ in
            self.resetStats()
            return StubHTTPReply.json(200, StubJSON.parse(Self.encode(self.stats)) ?? [:]).response
        }
        router.get("/healthz") { _, _ in
            StubHTTPReply(status: 200, headers: [("content-type", "text/plain")], body: Data("ok\n".utf8)).response
        }
        return router
    }

    /// One API request, start to finish: admit it (body, key, headers, conversation) as the
    /// real API would, pick its fault (if any), then wait and answer.
    func respond(to request: Request, style: StubAPIStyle, endpoint: String) async -> Response {
        switch await answerRequest(request, style: style, endpoint: endpoint) {
        case .whole(let reply): return reply.response
        case .stream(let stream): return stream.response
        }
    }

    enum Answer {
        case whole(StubHTTPReply)
        case stream(StubStream)
    }

    func answerRequest(_ request: Request, style: StubAPIStyle, endpoint: String) async -> Answer {
        let sequence = state.begin(endpoint: endpoint)
        defer { state.end() }
        let requestID = "req_stub\(String(sequence, radix: 16))"

        let admitted: AdmittedRequest
        switch await admit(request, style: style, requestID: requestID) {
        case .admitted(let value): admitted = value
        case .refused(let reply): return .whole(reply)
        }
        let fault = chooseFault(model: admitted.model)
        // Counted before waiting, so tests see slow and hanging requests while they are pending.
        state.record(model: admitted.model, outcome: fault.outcome)
        return await answer(admitted, fault: fault, style: style, requestID: requestID, sequence: sequence)
    }

    /// A request the API would act on.
    struct AdmittedRequest {
        var bodyBytes: Data
        var model: String
        var conversation: StubConversation
        /// `stream: true`, and OpenAI's `stream_options.include_usage`.
        var stream = false
        var includeUsage = false
    }

    enum Admission {
        case admitted(AdmittedRequest)
        /// Refused the way the real API refuses it (the refusal already counted in the stats).
        case refused(StubHTTPReply)
    }

    /// The checks the real API makes before it looks at the conversation, in its order.
    private func admit(_ request: Request, style: StubAPIStyle, requestID: String) async -> Admission {
        let bodyBytes: Data
        do {
            var buffer = try await request.body.collect(upTo: Self.maximumBodyBytes)
            bodyBytes = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            state.record(model: "(unknown)", outcome: "invalid_request")
            return .refused(StubErrors.injected(.status(413), style: style, model: "", retryAfterSeconds: 0, requestID: requestID))
        }

        if let expected = configuration.expectedAPIKey {
            let presented = presentedKey(request, style: style)
            guard presented == expected else {
                state.record(model: modelName(in: bodyBytes) ?? "(unknown)", outcome: "auth_error")
                return .refused(StubErrors.authentication(style: style, presentedKey: presented, requestID: requestID))
            }
        }
        if style == .anthropic, Self.header("anthropic-version", in: request) == nil {
            state.record(model: modelName(in: bodyBytes) ?? "(unknown)", outcome: "invalid_request")
            return .refused(StubErrors.invalidRequest(style: style, message: "anthropic-version: header is required", requestID: requestID))
        }
        guard let body = StubJSON.parse(bodyBytes), body.object != nil else {
            state.record(model: "(unknown)", outcome: "invalid_request")
            return .refused(StubErrors.invalidRequest(
                style: style,
                message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
                requestID: requestID))
        }
        guard let model = body["model"]?.string, !model.isEmpty else {
            state.record(model: "(unknown)", outcome: "invalid_request")
            return .refused(StubErrors.invalidRequest(style: style, message: "you must provide a model parameter", param: "model", requestID: requestID))
        }

        let parsed = style == .openAI
            ? StubOpenAIEndpoint.conversation(from: body) : StubAnthropicEndpoint.conversation(from: body)
        switch parsed {
        case .success(let conversation):
            return .admitted(AdmittedRequest(
                bodyBytes: bodyBytes, model: model, conversation: conversation, stream: body["stream"]?.bool == true,
                includeUsage: body["stream_options"]?["include_usage"]?.bool == true))
        case .failure(let invalid):
            state.record(model: model, outcome: "invalid_request")
            return .refused(StubErrors.invalidRequest(
                style: style, message: invalid.message, param: invalid.param, code: invalid.code, requestID: requestID))
        }
    }

    /// The model name's behaviour with the configured error rate and chaos applied.
    struct Fault {
        var behavior: StubBehavior
        var injected: StubBehavior.InjectedError?
        /// The stats' name for what this request will get.
        var outcome: String
    }

    private func chooseFault(model: String) -> Fault {
        var behavior = StubBehavior(model: model)
        var injected = injectedError(for: behavior)
        if injected == nil, let percent = behavior.chaosPercent, state.chance(percent: percent) {
            // A third each: rate limited, server error, no answer at all.
            if state.chance(percent: 100.0 / 3) {
                injected = .status(429)
            } else if state.chance(percent: 50) {
                injected = .status(500)
            } else {
                behavior.hang = true
            }
        }
        if injected == nil, !behavior.hang, let limit = behavior.quotaLimit,
            let wait = state.overQuota(model: model, limit: limit, window: behavior.quotaWindow) {
            injected = .status(429)
            behavior.retryAfterSeconds = wait
        }
        let outcome: String
        if behavior.hang {
            outcome = "hang"
        } else if let injected {
            outcome = Self.outcomeName(injected)
        } else if behavior.malformed {
            outcome = "malformed"
        } else {
            outcome = "ok"
        }
        return Fault(behavior: behavior, injected: injected, outcome: outcome)
    }

    /// Waits as the fault says (hang, gather, latency), then sends its error, a cut-off body,
    /// or the reply.
    private func answer(
        _ admitted: AdmittedRequest, fault: Fault, style: StubAPIStyle, requestID: String, sequence: UInt64
    ) async -> Answer {
        let behavior = fault.behavior
        let model = admitted.model
        if behavior.hang {
            // Ends early when the server stops: on graceful shutdown (SIGTERM), or when the
            // handler is cancelled (`ProviderStubServer.stop()`).
            let hangDuration = configuration.hangDuration
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: hangDuration) }
            return .whole(StubErrors.gatewayTimeout())
        }
        if let count = behavior.gatherCount {
            // Proves concurrency without timing: all `count` requests must be held open at once
            // before any is answered. Gives up like a hang if they never all arrive.
            guard await gather(model: model, count: count) else {
                return .whole(StubErrors.gatewayTimeout())
            }
        }
        let latency = configuration.latency + behavior.latency
        if latency > .zero {
            try? await Task.sleep(for: latency)
        }
        if let injected = fault.injected, case .status(let status) = injected, behavior.plainErrorBody {
            return .whole(StubHTTPReply(status: status, headers: [("content-type", "text/plain")], body: Data("Unprocessable input\n".utf8)))
        }
        if let injected = fault.injected {
            return .whole(StubErrors.injected(injected, style: style, model: model, retryAfterSeconds: behavior.retryAfterSeconds, requestID: requestID))
        }
        if behavior.malformed {
            let truncated = style == .openAI
                ? #"{"id":"chatcmpl-stub","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Stub rep"#
                : #"{"id":"msg_stub","type":"message","role":"assistant","content":[{"type":"text","text":"Stub rep"#
            return .whole(StubHTTPReply(status: 200, headers: [("content-type", "application/json")], body: Data(truncated.utf8)))
        }

        let conversation = admitted.conversation
        let reply = StubReply(conversation: conversation, behavior: behavior)
        // Ids derive from the request and its sequence number: reproducible, yet distinct.
        let idSuffix = String(stableHash(admitted.bodyBytes) ^ sequence, radix: 16)
        if admitted.stream {
            return .stream(stream(admitted, reply: reply, behavior: behavior, style: style, idSuffix: idSuffix, requestID: requestID))
        }
        switch style {
        case .openAI:
            return .whole(StubOpenAIEndpoint.success(model: model, conversation: conversation, reply: reply, behavior: behavior, requestID: requestID, idSuffix: idSuffix))
        case .anthropic:
            let cache = state.promptCache(model: model, conversation: conversation, behavior: behavior)
            return .whole(StubAnthropicEndpoint.success(
                model: model, conversation: conversation, reply: reply, behavior: behavior, cache: cache, requestID: requestID, idSuffix: idSuffix))
        }
    }

    /// The reply as a stream of the request's format, with the behaviour's pacing and fault.
    private func stream(
        _ admitted: AdmittedRequest, reply: StubReply, behavior: StubBehavior, style: StubAPIStyle, idSuffix: String, requestID: String
    ) -> StubStream {
        let conversation = admitted.conversation
        let input = conversation.inputTokens
        let frames: [StubStream.Frame]
        switch style {
        case .openAI:
            let reasoning = behavior.reportReasoning ? reply.outputTokens * 2 : 0
            let output = reply.outputTokens + reasoning
            let usage: StubJSON? = behavior.omitUsage ? nil : [
                "prompt_tokens": .int(input), "completion_tokens": .int(output), "total_tokens": .int(input + output),
                "prompt_tokens_details": ["cached_tokens": .int(behavior.reportCache ? input / 2 : 0), "audio_tokens": 0],
                "completion_tokens_details": ["reasoning_tokens": .int(reasoning), "audio_tokens": 0],
            ]
            frames = StubStream.openAI(
                model: admitted.model, conversation: conversation, reply: reply, behavior: behavior,
                includeUsage: admitted.includeUsage, idSuffix: idSuffix,
                finishReason: StubOpenAIEndpoint.finishReason(reply, toolChoice: conversation.toolChoice), usage: usage)
        case .anthropic:
            let cache = state.promptCache(model: admitted.model, conversation: conversation, behavior: behavior)
            let (stopReason, stopSequence) = StubAnthropicEndpoint.stop(reply.finish)
            let startUsage: StubJSON? = behavior.omitUsage ? nil : [
                "input_tokens": .int(input - cache.read - cache.written), "cache_creation_input_tokens": .int(cache.written),
                "cache_read_input_tokens": .int(cache.read),
                "output_tokens": 1,
            ]
            frames = StubStream.anthropic(
                model: admitted.model, reply: reply, idSuffix: idSuffix, stopReason: stopReason, stopSequence: stopSequence,
                startUsage: startUsage, outputTokens: behavior.omitUsage ? nil : reply.outputTokens)
        }
        return StubStream(
            style: style, frames: frames, preamble: style == .anthropic ? 2 : 0,
            tokenDelay: configuration.tokenDelay + behavior.tokenDelay, firstTokenDelay: behavior.firstTokenDelay,
            fault: behavior.streamFault, hangDuration: configuration.hangDuration, state: state, requestID: requestID)
    }

    /// Waits at the model's gathering, for at most the hang duration or until shutdown.
    private func gather(model: String, count: Int) async -> Bool {
        let state = self.state
        let limit = configuration.hangDuration
        let gathered = try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask { await state.gather(model, count: count) }
                group.addTask {
                    try? await Task.sleep(for: limit)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
        }
        return gathered ?? false
    }

    /// The model name's error, subject to its rate; else the global error rate.
    private func injectedError(for behavior: StubBehavior) -> StubBehavior.InjectedError? {
        if let error = behavior.error {
            if let rate = behavior.errorRatePercent {
                if state.chance(percent: rate) { return error }
            } else {
                return error
            }
        }
        if configuration.errorRatePercent > 0, state.chance(percent: configuration.errorRatePercent) {
            return .status(configuration.errorStatus)
        }
        return nil
    }

    private static func outcomeName(_ error: StubBehavior.InjectedError) -> String {
        switch error {
        case .status(let status): return "error_\(status)"
        case .quota: return "error_quota"
        case .contextLength: return "error_context"
        case .contentFilter: return "error_filter"
        }
    }

    private func presentedKey(_ request: Request, style: StubAPIStyle) -> String? {
        switch style {
        case .openAI:
            guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else { return nil }
            return String(authorization.dropFirst("Bearer ".count))
        case .anthropic:
            return Self.header("x-api-key", in: request)
        }
    }

    static func header(_ name: String, in request: Request) -> String? {
        HTTPField.Name(name).flatMap { request.headers[$0] }
    }

    private func modelName(in body: Data) -> String? {
        StubJSON.parse(body)?["model"]?.string
    }

    /// A fixed catalog plus every model requested so far.
    private func models(style: StubAPIStyle) -> StubHTTPReply {
        let fixed = ["stub-model", "gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-haiku-4-5"]
        let names = Array(Set(fixed + stats.models.keys.filter { $0 != "(unknown)" })).sorted()
        switch style {
        case .openAI:
            return .json(200, [
                "object": "list",
                "data": .array(names.map { ["id": .string($0), "object": "model", "created": 1_700_000_000, "owned_by": "provider-stub"] }),
            ])
        case .anthropic:
            return .json(200, [
                "data": .array(names.map {
                    ["type": "model", "id": .string($0), "display_name": .string($0), "created_at": "2025-01-01T00:00:00Z"]
                }),
                "has_more": false,
                "first_id": names.first.map(StubJSON.string) ?? .null,
                "last_id": names.last.map(StubJSON.string) ?? .null,
            ])
        }
    }

    static func encode(_ stats: ProviderStubStats) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(stats)) ?? Data("{}".utf8)
    }
}

extension StubHTTPReply {
    var response: Response {
        var fields = HTTPFields()
        for header in headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
