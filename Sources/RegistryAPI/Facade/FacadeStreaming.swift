import ChatModel
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import NIOCore
import Storage
import Synchronization

/// Live streaming of `/v1` calls (issue 24). The registry instance that holds the client opens a
/// session for the job, writes its callback address and a random secret to `llm_job_streams`,
/// and the worker pushes the job's deltas to `POST /internal/streams/{job}` as they arrive (one
/// JSON event per line, chunked), authenticated by the secret and fenced by the job attempt:
/// one attempt's push per client, never a second. The job's result and usage are committed as
/// for any job; if the push breaks, the client's stream is completed from the committed result.
public struct StreamingConfiguration: Sendable {
    /// The base URL workers reach this registry at (`SWITCHBOARD_STREAM_CALLBACK_URL`); nil:
    /// `http://127.0.0.1:<port>`, which serves workers on the same host only.
    public var callbackURL: String?
    /// SSE comments while the job is queued or the model has not started (proxies close idle
    /// connections after 60–100 s).
    public var keepAliveInterval: Duration
    /// After a push broke before the answer's end: how often the job is looked at, to notice a
    /// rescue (another attempt) and end the client's stream.
    public var rescuePollInterval: Duration

    public init(callbackURL: String? = nil, keepAliveInterval: Duration = .seconds(15), rescuePollInterval: Duration = .seconds(1)) {
        self.callbackURL = callbackURL
        self.keepAliveInterval = keepAliveInterval
        self.rescuePollInterval = rescuePollInterval
    }
}

/// What a client's stream is told, in order: the worker's events and the job's fate.
enum RelayEvent: Sendable {
    case start(model: String, provider: String, fallbackDepth: Int)
    case text(String)
    case toolCall(index: Int, id: String?, name: String?, arguments: String)
    /// The worker's `done` event: finish reason, usage, cost, tool call ids.
    case done(JSONValue)
    case error(code: String, message: String)
    /// The push ended; `complete`: after its done or error event.
    case pushEnded(complete: Bool)
    /// The job reached a terminal status (or the wait's deadline: then it is not terminal).
    case finished(JobRecord)
    /// Another attempt runs the job: the one the client was reading from is gone.
    case rescued
    case tick
}

/// One client's stream of one job.
final class StreamSession: Sendable {
    let jobID: Int64
    let secret: String
    let events: AsyncStream<RelayEvent>
    private let continuation: AsyncStream<RelayEvent>.Continuation
    private struct State {
        var pushAttempt: Int?
        var closed = false
    }
    private let state = Mutex(State())

    init(jobID: Int64) {
        self.jobID = jobID
        var generator = SystemRandomNumberGenerator()
        secret = (0..<4).map { _ in
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
        (events, continuation) = AsyncStream.makeStream(of: RelayEvent.self)
    }

    enum Claim {
        case accepted
        /// Another attempt already pushed to this client (or the client is gone).
        case refused(rescued: Bool)
    }

    /// The first attempt to push owns the client; any other is refused (a later one means the
    /// job was rescued while the first was streaming).
    func claim(attempt: Int) -> Claim {
        state.withLock { state in
            guard !state.closed else { return .refused(rescued: false) }
            guard let owner = state.pushAttempt else {
                state.pushAttempt = attempt
                return .accepted
            }
            return .refused(rescued: attempt > owner)
        }
    }

    var pushAttempt: Int? { state.withLock { $0.pushAttempt } }
    var isClosed: Bool { state.withLock { $0.closed } }

    func yield(_ event: RelayEvent) { continuation.yield(event) }

    func close() {
        state.withLock { $0.closed = true }
        continuation.finish()
    }
}

/// The sessions of this registry instance, by job.
final class StreamRelay: Sendable {
    private let sessions = Mutex<[Int64: StreamSession]>([:])

    func open(jobID: Int64) -> StreamSession {
        let session = StreamSession(jobID: jobID)
        let replaced = sessions.withLock { sessions in
            defer { sessions[jobID] = session }
            return sessions[jobID]
        }
        replaced?.close()
        return session
    }

    func session(_ jobID: Int64) -> StreamSession? { sessions.withLock { $0[jobID] } }

    func remove(_ session: StreamSession) {
        sessions.withLock { sessions in
            if sessions[session.jobID] === session { sessions[session.jobID] = nil }
        }
        session.close()
    }
}

/// An iterator handed from the handler to the body writer (used by one task at a time).
final class RelayIterator: @unchecked Sendable {
    private var iterator: AsyncStream<RelayEvent>.AsyncIterator
    init(_ stream: AsyncStream<RelayEvent>) { iterator = stream.makeAsyncIterator() }
    func next() async -> RelayEvent? { await iterator.next() }
}

// MARK: - The push endpoint

enum StreamPushRoute {
    static let attemptHeader = HTTPField.Name("x-switchboard-attempt")!

    /// Documented in `/openapi.json` like every route; authenticated by the job's secret, not by a
    /// key (workers hold no key).
    static func route(relay: StreamRelay) -> APIRoute {
        APIRoute(
            method: .post, path: "/internal/streams/{job_id}", operationID: "pushJobStream", tag: "v1",
            summary: "Workers only: the deltas of a streaming /v1 job for the client this instance holds, one JSON event per line (start, text, tool_call, done, error), chunked as they arrive. Authorization: Bearer <the job's stream secret from llm_job_streams>; X-Switchboard-Attempt: the job attempt (one attempt per client; another is refused with 409).",
            access: .public,
            parameters: [APIParameter.path("job_id", "Job id (integer).")],
            responses: [.init(204, "Read to the end; the events went to the client.", nil)],
            errors: [400, 401, 404, 409, 410],
            handler: { request, context in try await receive(request, context: context, relay: relay) })
    }

    /// Reads one worker's push into its client's session: 204 once read to the end, 404 when no
    /// client of this instance waits for the job, 401 for a wrong secret, 409 for an attempt that
    /// is not the one the client reads from, 410 when the client has gone.
    static func receive(_ request: Request, context: RegistryContext, relay: StreamRelay) async throws -> Response {
        guard let text = context.parameters.get("job_id"), let jobID = Int64(text), let session = relay.session(jobID) else {
            throw APIError(.notFound, code: "not_found", message: "no client waits for this job's stream on this instance")
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
              constantTimeEqual(Array(authorization.utf8.dropFirst(7)), Array(session.secret.utf8))
        else {
            throw APIError(.unauthorized, code: "unauthorized", message: "wrong stream secret")
        }
        guard let attemptText = request.headers[attemptHeader], let attempt = Int(attemptText) else {
            throw APIError.badParameter("X-Switchboard-Attempt", "is required: the job attempt that pushes")
        }
        switch session.claim(attempt: attempt) {
        case .accepted: break
        case .refused(let rescued):
            if rescued { session.yield(.rescued) }
            throw APIError(.conflict, code: "stream_taken", message: "another attempt of this job already streamed to this client")
        }
        var pending: [UInt8] = []
        var complete = false
        do {
            for try await buffer in request.body {
                pending += buffer.readableBytesView
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    guard let event = JSONValue.parse(line).flatMap(Self.event) else { continue }
                    switch event {
                    case .done, .error: complete = true
                    default: break
                    }
                    session.yield(event)
                }
                if session.isClosed {
                    session.yield(.pushEnded(complete: complete))
                    throw APIError(.gone, code: "client_gone", message: "the client has gone")
                }
            }
        } catch let error as APIError {
            throw error
        } catch {
            context.logger.info("registry.v1.stream_push_broken", metadata: ["job.id": "\(jobID)", "error.message": "\(error)"])
        }
        session.yield(.pushEnded(complete: complete))
        var headers = HTTPFields()
        headers[.connection] = "close"
        return Response(status: .noContent, headers: headers)
    }

    static func event(_ json: JSONValue) -> RelayEvent? {
        switch json["type"]?.stringValue {
        case "start":
            return .start(
                model: json["model"]?.stringValue ?? "", provider: json["provider"]?.stringValue ?? "",
                fallbackDepth: json["fallback_depth"]?.intValue ?? 0)
        case "text":
            return json["text"]?.stringValue.map(RelayEvent.text)
        case "tool_call":
            guard let index = json["index"]?.intValue else { return nil }
            return .toolCall(index: index, id: json["id"]?.stringValue, name: json["name"]?.stringValue, arguments: json["arguments"]?.stringValue ?? "")
        case "done":
            return .done(json)
        case "error":
            return .error(code: json["code"]?.stringValue ?? "stream_interrupted", message: json["message"]?.stringValue ?? "the stream broke")
        default:
            return nil
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

// MARK: - The client's side

extension FacadeRoutes {
    /// A streaming call whose job is not finished: wait for its first delta (or the keep-alive
    /// interval, or the job's end), then answer with a stream fed by the worker's push.
    func liveStream(
        _ job: JobRecord, call: FacadeCall, format: FacadeFormat, context: RegistryContext, keepOnDisconnect: Bool
    ) async throws -> Response {
        let relay = services.streams
        let session = relay.open(jobID: job.id)
        let jobStreams = services.jobStreams
        let secret = session.secret
        do {
            try await jobStreams.register(jobID: job.id, callbackURL: services.streaming.callbackURL ?? "http://127.0.0.1", secret: secret)
        } catch {
            relay.remove(session)
            throw error
        }
        let completions = services.completions
        let jobs = services.jobs
        let streaming = services.streaming
        let watchers = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The wait's deadline bounds the time to the first token; a stream that has
                    // begun may run as long as its answer takes.
                    while !Task.isCancelled {
                        let done = try? await completions.waitForCompletion(of: job.id, timeout: .seconds(Self.maximumWaitSeconds))
                        if let done, done.isTerminal {
                            session.yield(.finished(done))
                            return
                        }
                        if Task.isCancelled { return }
                        if session.pushAttempt == nil || Task.isShuttingDownGracefully {
                            session.yield(.finished(done ?? job))
                            return
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: streaming.keepAliveInterval)
                        session.yield(.tick)
                    }
                }
                await group.waitForAll()
            }
        }
        let cleanup: @Sendable () -> Void = { [logger = context.logger] in
            watchers.cancel()
            relay.remove(session)
            Task.detached {
                do {
                    try await jobStreams.remove(jobID: job.id, secret: secret)
                } catch {
                    logger.warning("registry.v1.stream_cleanup_failed", metadata: ["job.id": "\(job.id)", "error.message": "\(error)"])
                }
            }
        }

        let iterator = RelayIterator(session.events)
        // Until the first delta the answer may still be a real HTTP error (or the whole reply).
        var first: RelayEvent?
        waiting: while let event = await iterator.next() {
            switch event {
            case .start, .text, .toolCall, .tick:
                first = event
                break waiting
            case .finished(let record) where record.isTerminal:
                cleanup()
                return try answer(record, call: call, format: format, context: context)
            case .finished(let record):
                cleanup()
                return try answer(record, call: call, format: format, context: context)
            case .done, .error, .pushEnded, .rescued:
                continue
            }
        }
        if Task.isCancelled {
            cleanup()
            throw CancellationError()
        }
        guard let first else {
            cleanup()
            throw FacadeError(.badGateway, "the stream of job \(job.id) ended before it began", jobID: job.id)
        }

        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        headers[FacadeHeaders.jobID] = String(job.id)
        if case .start(_, let provider, let depth) = first {
            headers[FacadeHeaders.provider] = provider
            headers[FacadeHeaders.fallbackDepth] = String(depth)
        }
        let created = Int(services.now.timeIntervalSince1970)
        let logger = context.logger
        let cancel: @Sendable () -> Void = { [jobs] in
            Task.detached {
                do { _ = try await jobs.cancel(job.id) } catch {
                    logger.warning("registry.v1.cancel_failed", metadata: ["job.id": "\(job.id)", "error.message": "\(error)"])
                }
            }
        }
        let pollInterval = streaming.rescuePollInterval
        let body = ResponseBody { writer in
            var encoder = LiveStreamEncoder(format: format, jobID: job.id, created: created, includeUsage: call.includeUsage, call: call)
            var rescueWatch: Task<Void, Never>?
            defer {
                rescueWatch?.cancel()
                cleanup()
            }
            do {
                var event: RelayEvent? = first
                var wroteSinceTick = false
                while let current = event {
                    switch current {
                    case .tick:
                        if !wroteSinceTick { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")) }
                        wroteSinceTick = false
                    case .pushEnded(let complete):
                        if !complete, !encoder.ended, let attempt = session.pushAttempt {
                            // The worker may go on (only the push broke) or be gone: the result
                            // or a rescue will tell.
                            rescueWatch = Task {
                                while !Task.isCancelled {
                                    try? await Task.sleep(for: pollInterval)
                                    guard let record = try? await jobs.find(job.id) else { continue }
                                    if record.isTerminal { return }
                                    if record.attempt != attempt || record.status == "queued" {
                                        session.yield(.rescued)
                                        return
                                    }
                                }
                            }
                        }
                    default:
                        let bytes = encoder.encode(current)
                        if !bytes.isEmpty {
                            try await writer.write(ByteBuffer(bytes: bytes))
                            wroteSinceTick = true
                        }
                    }
                    if encoder.ended { break }
                    if case .finished(let record) = current, !record.isTerminal {
                        // The wait's deadline: the job is cancelled (as for a non-streaming call);
                        // on a graceful shutdown it goes on and can be fetched again.
                        if !Task.isShuttingDownGracefully { cancel() }
                        break
                    }
                    event = await iterator.next()
                }
                if !encoder.ended {
                    try await writer.write(ByteBuffer(bytes: encoder.encode(.error(code: "stream_interrupted", message: "the stream of job \(job.id) ended early"))))
                }
                try await writer.finish(nil)
            } catch {
                // The client has gone. Without an Idempotency-Key its job is cancelled (and the
                // provider's stream with it); with one, the job completes and can be fetched.
                logger.info("registry.v1.client_disconnected", metadata: ["job.id": "\(job.id)", "job.kept": "\(keepOnDisconnect)"])
                if !keepOnDisconnect, !encoder.ended { cancel() }
                throw error
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// Turns relay events into the caller's format, keeping what was sent so that the committed
/// result can complete a stream whose push broke.
struct LiveStreamEncoder {
    let format: FacadeFormat
    let jobID: Int64
    let created: Int
    let includeUsage: Bool
    private(set) var ended = false
    private var model = ""
    private var startedMessage = false
    private var sentText = ""
    private var sentTools: [Int: (id: String?, name: String?, arguments: String)] = [:]
    /// Anthropic: the open content block (its index, and the tool call it carries, if any).
    private var openBlock: (index: Int, tool: Int?)?
    private var nextBlock = 0
    private var sentRole = false
    /// `/v1/responses`: the Responses event sequence instead of chat completion chunks.
    private var responses: OpenAIResponsesStream?

    init(format: FacadeFormat, jobID: Int64, created: Int, includeUsage: Bool, call: FacadeCall? = nil) {
        self.format = format
        self.jobID = jobID
        self.created = created
        self.includeUsage = includeUsage
        if let call, call.openAIObject == .response { responses = OpenAIResponsesStream(jobID: jobID, created: created, call: call) }
    }

    mutating func encode(_ event: RelayEvent) -> [UInt8] {
        guard !ended else { return [] }
        var bytes: [UInt8] = []
        switch event {
        case .start(let model, _, _):
            self.model = model
            responses?.start(model: model, to: &bytes)
            if format == .anthropic { startMessage(&bytes) }
        case .text(let text):
            appendText(text, to: &bytes)
        case .toolCall(let index, let id, let name, let arguments):
            appendTool(index: index, id: id, name: name, arguments: arguments, to: &bytes)
        case .done(let document):
            let result = FacadeResult(
                content: sentText.isEmpty ? nil : sentText,
                toolCalls: sentTools.keys.sorted().map { index in
                    let id = document["tool_calls"]?.arrayValue?.first { $0["index"]?.intValue == index }?["id"]?.stringValue
                    return FacadeResult.ToolCall(id: id ?? sentTools[index]?.id ?? "", name: sentTools[index]?.name ?? "", arguments: sentTools[index]?.arguments ?? "")
                },
                finishReason: document["finish_reason"]?.stringValue, stopSequence: document["stop_sequence"]?.stringValue,
                refusal: document["refusal"]?.stringValue, model: model, provider: "",
                usage: Self.usage(document["usage"]), costText: nil)
            finish(result, to: &bytes)
        case .error(let code, let message):
            fail(code: code, message: message, to: &bytes)
        case .finished(let record):
            complete(from: record, to: &bytes)
        case .rescued:
            fail(code: "stream_interrupted", message: "the worker streaming job \(jobID) stopped mid-answer; the job was rescued and runs again: GET /api/jobs/\(jobID) has its final result", to: &bytes)
        case .pushEnded, .tick:
            break
        }
        return bytes
    }

    static func usage(_ value: JSONValue?) -> FacadeResult.Usage? {
        guard let value, value.isObject else { return nil }
        func int(_ key: String) -> Int { value[key]?.intValue ?? 0 }
        return FacadeResult.Usage(
            inputTokens: int("input_tokens"), outputTokens: int("output_tokens"), cachedInputTokens: int("cached_input_tokens"),
            cacheCreationInputTokens: int("cache_creation_input_tokens"), reasoningTokens: int("reasoning_tokens"))
    }

    // MARK: Events

    private func openAIChunk(_ delta: JSONValue, finish: String? = nil) -> JSONValue {
        .object([
            ("id", .string(OpenAIChatFacade.responseID(jobID))), ("object", "chat.completion.chunk"), ("created", .int(created)),
            ("model", .string(model)),
            ("choices", .array([.object([
                ("index", 0), ("delta", delta), ("logprobs", .null), ("finish_reason", finish.map(JSONValue.string) ?? .null),
            ])])),
        ])
    }

    private mutating func roleMember() -> [(key: String, value: JSONValue)] {
        guard !sentRole else { return [] }
        sentRole = true
        return [("role", "assistant")]
    }

    private mutating func anthropic(_ type: String, _ members: [(key: String, value: JSONValue)], to bytes: inout [UInt8]) {
        FacadeSSE.append(event: type, data: .object([("type", .string(type))] + members), to: &bytes)
    }

    private mutating func startMessage(_ bytes: inout [UInt8]) {
        guard !startedMessage else { return }
        startedMessage = true
        anthropic("message_start", [("message", .object([
            ("id", .string(AnthropicMessagesFacade.responseID(jobID))), ("type", "message"), ("role", "assistant"), ("model", .string(model)),
            ("content", .array([])), ("stop_reason", .null), ("stop_sequence", .null),
            ("usage", .object([("input_tokens", 0), ("output_tokens", 0)])),
        ]))], to: &bytes)
    }

    private mutating func closeBlock(_ bytes: inout [UInt8]) {
        guard let block = openBlock else { return }
        anthropic("content_block_stop", [("index", .int(block.index))], to: &bytes)
        openBlock = nil
    }

    private mutating func appendText(_ text: String, to bytes: inout [UInt8]) {
        guard !text.isEmpty else { return }
        sentText += text
        if responses != nil {
            responses?.text(text, model: model, to: &bytes)
            return
        }
        switch format {
        case .openAI:
            FacadeSSE.append(data: openAIChunk(.object(roleMember() + [("content", .string(text))])), to: &bytes)
        case .anthropic:
            startMessage(&bytes)
            if openBlock == nil || openBlock?.tool != nil {
                closeBlock(&bytes)
                openBlock = (nextBlock, nil)
                nextBlock += 1
                anthropic("content_block_start", [("index", .int(openBlock?.index ?? 0)), ("content_block", .object([("type", "text"), ("text", "")]))], to: &bytes)
            }
            anthropic("content_block_delta", [("index", .int(openBlock?.index ?? 0)), ("delta", .object([("type", "text_delta"), ("text", .string(text))]))], to: &bytes)
        }
    }

    private mutating func appendTool(index: Int, id: String?, name: String?, arguments: String, to bytes: inout [UInt8]) {
        var sent = sentTools[index] ?? (nil, nil, "")
        let isNew = sentTools[index] == nil
        if let id { sent.id = id }
        if let name { sent.name = (sent.name ?? "") + name }
        sent.arguments += arguments
        sentTools[index] = sent
        if responses != nil {
            responses?.toolCall(index: index, id: id, name: name, arguments: arguments, model: model, to: &bytes)
            return
        }
        switch format {
        case .openAI:
            var function: [(key: String, value: JSONValue)] = []
            if let name { function.append(("name", .string(name))) }
            function.append(("arguments", .string(arguments)))
            var call: [(key: String, value: JSONValue)] = [("index", .int(index))]
            if let id { call += [("id", .string(id)), ("type", "function")] }
            call.append(("function", .object(function)))
            FacadeSSE.append(data: openAIChunk(.object(roleMember() + [("tool_calls", .array([.object(call)]))])), to: &bytes)
        case .anthropic:
            startMessage(&bytes)
            if isNew || openBlock?.tool != index {
                closeBlock(&bytes)
                openBlock = (nextBlock, index)
                nextBlock += 1
                anthropic("content_block_start", [("index", .int(openBlock?.index ?? 0)), ("content_block", .object([
                    ("type", "tool_use"), ("id", .string(sent.id ?? "toolu_sb\(jobID)_\(index)")), ("name", .string(sent.name ?? "")), ("input", .object([])),
                ]))], to: &bytes)
            }
            if !arguments.isEmpty {
                anthropic("content_block_delta", [("index", .int(openBlock?.index ?? 0)), ("delta", .object([
                    ("type", "input_json_delta"), ("partial_json", .string(arguments)),
                ]))], to: &bytes)
            }
        }
    }

    private mutating func finish(_ result: FacadeResult, to bytes: inout [UInt8]) {
        ended = true
        if responses != nil {
            responses?.finish(result, to: &bytes)
            return
        }
        switch format {
        case .openAI:
            if !sentRole { FacadeSSE.append(data: openAIChunk(.object(roleMember() + [("content", "")])), to: &bytes) }
            if let refusal = result.refusal, !refusal.isEmpty { FacadeSSE.append(data: openAIChunk(.object([("refusal", .string(refusal))])), to: &bytes) }
            FacadeSSE.append(data: openAIChunk(.object([]), finish: OpenAIChatFacade.finishReason(result)), to: &bytes)
            if includeUsage {
                var last = result
                last.model = model
                FacadeSSE.append(data: OpenAIChatFacade.usageChunk(last, jobID: jobID, created: created), to: &bytes)
            }
            bytes += Array("data: [DONE]\n\n".utf8)
        case .anthropic:
            startMessage(&bytes)
            closeBlock(&bytes)
            var usage = AnthropicMessagesFacade.usage(result)
            if result.usage == nil { usage = .object([("output_tokens", 0)]) }
            anthropic("message_delta", [
                ("delta", .object([
                    ("stop_reason", .string(AnthropicMessagesFacade.stopReason(result))),
                    ("stop_sequence", result.stopSequence.map(JSONValue.string) ?? .null),
                ])),
                ("usage", usage),
            ], to: &bytes)
            anthropic("message_stop", [], to: &bytes)
        }
    }

    /// The format's terminal error: never a clean end (OpenAI: an error object and no `[DONE]`;
    /// Anthropic: an `error` event).
    private mutating func fail(code: String, message: String, to bytes: inout [UInt8]) {
        ended = true
        let text = "job \(jobID) failed (\(code)): \(message)"
        if responses != nil {
            responses?.fail(code: code, message: text, to: &bytes)
            return
        }
        switch format {
        case .openAI:
            FacadeSSE.append(data: .object([("error", .object([
                ("message", .string(text)), ("type", "server_error"), ("param", .null), ("code", .string(code)),
            ]))]), to: &bytes)
        case .anthropic:
            anthropic("error", [("error", .object([("type", code == "overloaded" ? "overloaded_error" : "api_error"), ("message", .string(text))]))], to: &bytes)
        }
    }

    /// The job's end, however much of it the push delivered: what is missing from the committed
    /// result, or the job's error.
    private mutating func complete(from record: JobRecord, to bytes: inout [UInt8]) {
        switch record.status {
        case "succeeded":
            guard let text = record.resultJSON, let result = FacadeResult(json: text) else {
                fail(code: "malformed_result", message: "the job succeeded without a readable result", to: &bytes)
                return
            }
            if model.isEmpty { model = result.model }
            let content = result.content ?? ""
            guard content.hasPrefix(sentText) else {
                // Another attempt's answer: it cannot continue what this client has read.
                fail(code: "stream_interrupted", message: "the committed answer is not the one streamed; GET /api/jobs/\(jobID) has it", to: &bytes)
                return
            }
            appendText(String(content.dropFirst(sentText.count)), to: &bytes)
            for (index, call) in result.toolCalls.enumerated() {
                let sent = sentTools[index]
                let arguments = sent.map { call.arguments.hasPrefix($0.arguments) ? String(call.arguments.dropFirst($0.arguments.count)) : "" } ?? call.arguments
                if sent == nil || !arguments.isEmpty {
                    appendTool(index: index, id: sent == nil ? call.id : nil, name: sent == nil ? call.name : nil, arguments: arguments, to: &bytes)
                }
            }
            var completed = result
            completed.content = sentText.isEmpty ? nil : sentText
            finish(completed, to: &bytes)
        case "failed", "cancelled":
            let error = FacadeJobError(json: record.errorJSON)
            fail(code: record.status == "cancelled" ? "cancelled" : error.code, message: error.message, to: &bytes)
        default:
            fail(code: "timeout", message: "the job did not finish within \(FacadeRoutes.maximumWaitSeconds) s and was cancelled", to: &bytes)
        }
    }
}
