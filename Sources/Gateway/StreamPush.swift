import CurlHTTP
import Foundation
import JSON
import Logging
import Postgres
import Providers
import Synchronization

/// Where a streaming job's deltas go: the registry instance holding the client
/// (`llm_job_streams`, written by that registry at enqueue).
struct StreamChannel: Sendable, Equatable {
    var callbackURL: String
    var secret: String
}

/// Looks up channels and opens pushes; one per worker.
struct StreamChannels: Sendable {
    let pool: PostgresPool
    let http: CurlHTTPClient
    let logger: Logger

    func channel(jobID: Int64) async throws -> StreamChannel? {
        let rows = try await pool.query("SELECT callback_url, secret FROM llm_job_streams WHERE job_id = \(jobID)").rows
        guard let row = rows.first else { return nil }
        return StreamChannel(callbackURL: try row.decode(at: 0), secret: try row.decode(at: 1))
    }

    func push(for job: ClaimedJob) -> StreamPush {
        StreamPush(jobID: job.id, attempt: job.attempt, channels: self)
    }
}

/// One job attempt's push to the registry: opened on the first content delta, one JSON event per
/// line over a chunked POST to `<callback>/internal/streams/<job>`, authenticated by the job's
/// secret and fenced by `X-Switchboard-Attempt` (the registry accepts one attempt per client).
/// The push is best effort: if it cannot be opened or breaks, generation goes on and the
/// registry completes its client's stream from the committed result.
final class StreamPush: Sendable {
    struct Origin: Sendable {
        var model: String
        var provider: String
        var fallbackDepth: Int
    }

    private struct State {
        var upload: CurlUpload?
        /// Lines waiting for the channel (the registry writes its row just after the job's).
        var pending: [UInt8] = []
        var lookups = 0
        var lastLookup: ContinuousClock.Instant?
        var gaveUp = false
        var started = false
        var origin: Origin?
        /// Deltas handed to the push (sent or pending): the client has seen content.
        var deltas = 0
    }

    let jobID: Int64
    let attempt: Int
    private let channels: StreamChannels
    private let state = Mutex(State())

    /// Lookups of a channel that is not there yet, at most one per 50 ms, before giving up.
    static let maximumLookups = 40

    init(jobID: Int64, attempt: Int, channels: StreamChannels) {
        self.jobID = jobID
        self.attempt = attempt
        self.channels = channels
    }

    /// The model about to be called (sent with the first delta; a failover before it is invisible).
    func begin(_ origin: Origin) {
        state.withLock { $0.origin = origin }
    }

    /// Whether any content has been handed to the push.
    var hasContent: Bool { state.withLock { $0.deltas > 0 } }

    func send(_ delta: ChatStreamDelta) async {
        var event: [(key: String, value: JSONValue)]
        switch delta {
        case .text(let text):
            event = [("type", "text"), ("text", .string(text))]
        case .toolCall(let index, let id, let name, let arguments):
            event = [("type", "tool_call"), ("index", .int(index))]
            if let id { event.append(("id", .string(id))) }
            if let name { event.append(("name", .string(name))) }
            event.append(("arguments", .string(arguments)))
        }
        let isFirst = state.withLock { state -> Bool in
            state.deltas += 1
            return !state.started
        }
        if isFirst, let origin = state.withLock({ state -> Origin? in
            state.started = true
            return state.origin
        }) {
            enqueue(.object([
                ("type", "start"), ("model", .string(origin.model)), ("provider", .string(origin.provider)),
                ("fallback_depth", .int(origin.fallbackDepth)),
            ]))
        }
        enqueue(.object(event))
        await connectIfNeeded()
    }

    /// The answer is complete: its finish reason and usage, then the end of the push.
    func finish(_ response: ChatResponse, cost: Decimal?) async {
        guard state.withLock({ $0.started }) else { return }
        var event: [(key: String, value: JSONValue)] = [
            ("type", "done"), ("finish_reason", response.finishReason.map { .string($0.rawValue) } ?? response.providerFinishReason.map(JSONValue.string) ?? .null),
        ]
        if let usage = response.usage {
            event.append(("usage", .object([
                ("input_tokens", .int(usage.inputTokens)), ("output_tokens", .int(usage.outputTokens)),
                ("cached_input_tokens", .int(usage.cachedInputTokens ?? 0)),
                ("cache_creation_input_tokens", .int(usage.cacheCreationInputTokens ?? 0)),
                ("reasoning_tokens", .int(usage.reasoningTokens ?? 0)),
            ])))
        }
        if let cost { event.append(("cost", .number("\(cost)"))) }
        if let refusal = response.refusal { event.append(("refusal", .string(refusal))) }
        if let stopSequence = response.stopSequence { event.append(("stop_sequence", .string(stopSequence))) }
        event.append(("tool_calls", .array(response.toolCalls.enumerated().map { index, call in
            .object([("index", .int(index)), ("id", .string(call.id)), ("name", .string(call.name))])
        })))
        enqueue(.object(event))
        await close()
    }

    /// The stream broke after content reached the client: the terminal error, then the end.
    func fail(code: String, message: String) async {
        guard state.withLock({ $0.started }) else { return }
        enqueue(.object([("type", "error"), ("code", .string(code)), ("message", .string(String(message.prefix(500))))]))
        await close()
    }

    private func enqueue(_ event: JSONValue) {
        let line = event.encodedBytes() + [0x0A]
        let upload = state.withLock { state -> CurlUpload? in
            if state.upload == nil { state.pending += line }
            return state.upload
        }
        upload?.write(line)
    }

    private func connectIfNeeded() async {
        let due = state.withLock { state -> Bool in
            guard state.upload == nil, !state.gaveUp else { return false }
            if let last = state.lastLookup, ContinuousClock.now - last < .milliseconds(50) { return false }
            state.lookups += 1
            state.lastLookup = .now
            if state.lookups > Self.maximumLookups {
                state.gaveUp = true
                state.pending = []
                return false
            }
            return true
        }
        guard due else { return }
        let channel: StreamChannel?
        do {
            channel = try await channels.channel(jobID: jobID)
        } catch {
            channels.logger.warning("gateway.stream.lookup_failed", metadata: ["job.id": "\(jobID)", "error": "\(error)"])
            return
        }
        guard let channel else { return }
        var base = channel.callbackURL
        while base.hasSuffix("/") { base.removeLast() }
        let request = CurlHTTPRequest(
            method: "POST", url: "\(base)/internal/streams/\(jobID)",
            headers: [
                ("Authorization", "Bearer \(channel.secret)"), ("Content-Type", "application/x-ndjson"),
                ("X-Switchboard-Attempt", String(attempt)),
            ],
            timeout: .seconds(3600), connectTimeout: .seconds(5))
        let upload: CurlUpload
        do {
            upload = try channels.http.upload(request)
        } catch {
            channels.logger.warning("gateway.stream.open_failed", metadata: ["job.id": "\(jobID)", "error": "\(error)"])
            state.withLock { $0.gaveUp = true }
            return
        }
        let pending = state.withLock { state -> [UInt8] in
            state.upload = upload
            defer { state.pending = [] }
            return state.pending
        }
        upload.write(pending)
        channels.logger.debug("gateway.stream.opened", metadata: ["job.id": "\(jobID)", "job.attempt": "\(attempt)"])
    }

    /// Ends the push and waits (briefly) for the registry's answer.
    private func close() async {
        await connectIfNeeded()
        guard let upload = state.withLock({ $0.upload }) else { return }
        upload.finish()
        let jobID = jobID
        let logger = channels.logger
        let answer = await withTaskGroup(of: Int?.self) { group in
            group.addTask { try? await upload.response().status }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return nil
            }
            let first = await group.next() ?? nil
            // No answer in time: abort, which also ends the child still waiting for it.
            if first == nil { upload.cancel() }
            group.cancelAll()
            return first
        }
        if answer != 204 {
            logger.info("gateway.stream.push_not_accepted", metadata: ["job.id": "\(jobID)", "http.status": "\(answer.map(String.init) ?? "none")"])
        }
    }
}
