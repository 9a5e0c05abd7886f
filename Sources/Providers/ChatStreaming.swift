import Catalog
import CurlHTTP
import Foundation
import Synchronization

/// One piece of a streamed reply, as it arrives from the provider.
public enum ChatStreamDelta: Sendable, Equatable {
    /// More of the answer's text.
    case text(String)
    /// More of tool call `index` (0, 1… in the order the model made them): its id and name on
    /// the first piece, then pieces of the arguments' JSON text.
    case toolCall(index: Int, id: String?, name: String?, arguments: String)
}

/// The deadlines of a streamed call (per agent; the gateway's defaults 30 s and 20 s).
public struct StreamDeadlines: Sendable, Equatable {
    /// From sending the request to the first content delta: past it the call fails as a
    /// `timeout` before anything reached the caller, so the next model may take over.
    public var firstToken: Duration
    /// The longest gap between two content deltas once the first arrived: past it the stream is
    /// `stream_interrupted`.
    public var stall: Duration

    public init(firstToken: Duration = .seconds(30), stall: Duration = .seconds(20)) {
        self.firstToken = firstToken
        self.stall = stall
    }
}

/// One server-sent event: its `event:` name (nil when none) and its `data:` lines joined.
struct ServerSentEvent: Equatable {
    var event: String?
    var data: String
}

/// Splits a byte stream into server-sent events (WHATWG framing: lines end in LF, CRLF or CR,
/// a blank line dispatches, `:` starts a comment, `data:` lines are joined with LF).
struct ServerSentEventParser {
    private var line: [UInt8] = []
    private var event: String?
    private var data: [String] = []
    private var sawData = false
    private var lastWasCR = false
    /// Bytes of the current line: a line longer than the limit is a malformed stream.
    static let maximumLineBytes = 4 << 20

    struct LineTooLong: Error {}

    mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if byte == 0x0A, lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
                if line.count > Self.maximumLineBytes { throw LineTooLong() }
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                event = nil
                data = []
                sawData = false
            }
            guard sawData else { return nil }
            return ServerSentEvent(event: event, data: data.joined(separator: "\n"))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
        var valueStart = colon.map { line.index(after: $0) } ?? line.endIndex
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch field {
        case "event": event = value
        case "data":
            data.append(value)
            sawData = true
        default: break
        }
        return nil
    }
}

/// What a stream has delivered so far, and whether it ended as a complete answer.
struct StreamAccumulator {
    var text = ""
    var sawText = false
    var refusal = ""
    struct PendingCall {
        var id: String?
        var name: String?
        var arguments = ""
    }
    var toolCalls: [Int: PendingCall] = [:]
    var rawFinish: String?
    var stopSequence: String?
    var usage: CheckedUsage?
    /// The stream's closing counts arrived (OpenAI's usage chunk, Anthropic's message_delta
    /// usage): before them, counts are partial (Anthropic's message_start has the input only).
    var usageIsFinal = false
    var model: String?
    var responseID: String?
    var requestID: String?
    /// The format's own end marker arrived (OpenAI `[DONE]`, Anthropic `message_stop`).
    var complete = false
    /// Content deltas received (text or tool-call pieces).
    var deltas = 0

    mutating func apply(_ delta: ChatStreamDelta) {
        deltas += 1
        switch delta {
        case .text(let piece):
            text += piece
            sawText = true
        case .toolCall(let index, let id, let name, let arguments):
            var call = toolCalls[index] ?? PendingCall()
            if let id, !id.isEmpty { call.id = id }
            if let name, !name.isEmpty { call.name = (call.name ?? "") + name }
            call.arguments += arguments
            toolCalls[index] = call
        }
    }

    /// The neutral response built from what arrived (the finish reason mapped by `finish`).
    func response(finish: (String) -> FinishReason?, idStem: String) -> ChatResponse {
        var calls: [ToolCall] = []
        for index in toolCalls.keys.sorted() {
            guard let call = toolCalls[index] else { continue }
            let id = call.id ?? "call_\(idStem)_\(index)"
            calls.append(ToolCall(id: id, name: call.name ?? "", arguments: call.arguments.isEmpty ? "{}" : call.arguments))
        }
        var finishReason = rawFinish.flatMap(finish)
        if !calls.isEmpty, finishReason == .stop { finishReason = .toolCalls }
        let refusalText = refusal.isEmpty ? nil : refusal
        if refusalText != nil { finishReason = .contentFilter }
        return ChatResponse(
            text: sawText ? text : nil, toolCalls: calls, finishReason: finishReason, providerFinishReason: rawFinish,
            stopSequence: stopSequence, refusal: refusalText, usage: usage?.usage, usageInvalid: usage?.invalid ?? false,
            model: model, responseID: responseID, requestID: requestID)
    }
}

/// Reads one format's events into deltas and the accumulator.
protocol StreamDecoder: Sendable {
    /// The deltas this event carries; throws the provider's error (an error event, a chunk that
    /// is not JSON).
    mutating func decode(_ event: ServerSentEvent, into accumulator: inout StreamAccumulator) throws(ProviderError) -> [ChatStreamDelta]
    func finishReason(_ raw: String) -> FinishReason?
}

/// Chat Completions chunks: `data: {"choices":[{"delta":{…},"finish_reason":…}],"usage":…}` then
/// `data: [DONE]`.
struct OpenAIStreamDecoder: StreamDecoder {
    func decode(_ event: ServerSentEvent, into accumulator: inout StreamAccumulator) throws(ProviderError) -> [ChatStreamDelta] {
        let data = event.data
        if data == "[DONE]" {
            accumulator.complete = true
            return []
        }
        guard let json = JSONValue.parse(Array(data.utf8)), json.objectValue != nil else {
            throw ProviderError(.malformedResponse, message: "stream chunk is not a JSON object (\(data.utf8.count) bytes)")
        }
        if json["error"] != nil && json["choices"] == nil {
            let status = json["error"]?["code"]?.intValue.flatMap { (400...599).contains($0) ? $0 : nil } ?? 500
            var error = ProviderErrorClassifier.classify(response: CurlHTTPResponse(status: status, headers: [], body: Data(data.utf8)))
            error.message = "error event in the stream: " + error.message
            throw error
        }
        if let model = json["model"]?.stringValue { accumulator.model = model }
        if let id = json["id"]?.stringValue { accumulator.responseID = id }
        if let usage = json["usage"], usage.objectValue != nil {
            accumulator.usage = OpenAIChatAdapter.usage(usage)
            accumulator.usageIsFinal = true
        }
        var deltas: [ChatStreamDelta] = []
        guard let choice = json["choices"]?.arrayValue?.first else { return [] }
        if let delta = choice["delta"] {
            if let text = delta["content"]?.stringValue, !text.isEmpty { deltas.append(.text(text)) }
            if let refusal = delta["refusal"]?.stringValue { accumulator.refusal += refusal }
            for (position, call) in (delta["tool_calls"]?.arrayValue ?? []).enumerated() {
                let index = call["index"]?.intValue ?? position
                let function = call["function"]
                let arguments: String
                switch function?["arguments"] {
                case .string(let text)?: arguments = text
                case nil, .null?: arguments = ""
                case let other?: arguments = other.encodedString()
                }
                deltas.append(.toolCall(index: index, id: call["id"]?.stringValue, name: function?["name"]?.stringValue, arguments: arguments))
            }
        }
        if let finish = choice["finish_reason"]?.stringValue { accumulator.rawFinish = finish }
        return deltas
    }

    func finishReason(_ raw: String) -> FinishReason? { OpenAIChatAdapter.finishReason(raw) }
}

/// Messages events: message_start, content_block_start/delta/stop, message_delta, message_stop,
/// ping, error.
struct AnthropicStreamDecoder: StreamDecoder {
    /// Content block index → tool call index (tool_use blocks only).
    private var toolIndexes: [Int: Int] = [:]
    /// The block of the emulated JSON reply (its input is the answer's text).
    private var jsonReplyBlock: Int?
    private var startUsage: JSONValue?

    mutating func decode(_ event: ServerSentEvent, into accumulator: inout StreamAccumulator) throws(ProviderError) -> [ChatStreamDelta] {
        guard let json = JSONValue.parse(Array(event.data.utf8)), json.objectValue != nil else {
            throw ProviderError(.malformedResponse, message: "stream event is not a JSON object (\(event.data.utf8.count) bytes)")
        }
        let type = json["type"]?.stringValue ?? event.event ?? ""
        switch type {
        case "message_start":
            let message = json["message"]
            accumulator.responseID = message?["id"]?.stringValue
            accumulator.model = message?["model"]?.stringValue
            startUsage = message?["usage"]
            if let startUsage { accumulator.usage = AnthropicMessagesAdapter.usage(startUsage) }
            return []
        case "content_block_start":
            let index = json["index"]?.intValue ?? 0
            let block = json["content_block"]
            switch block?["type"]?.stringValue {
            case "text":
                if let text = block?["text"]?.stringValue, !text.isEmpty { return [.text(text)] }
                return []
            case "tool_use":
                let name = block?["name"]?.stringValue
                if name == AnthropicMessagesAdapter.jsonResponseToolName {
                    jsonReplyBlock = index
                    return []
                }
                let toolIndex = toolIndexes.count
                toolIndexes[index] = toolIndex
                return [.toolCall(index: toolIndex, id: block?["id"]?.stringValue, name: name, arguments: "")]
            default:
                return []
            }
        case "content_block_delta":
            let index = json["index"]?.intValue ?? 0
            let delta = json["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                guard let text = delta?["text"]?.stringValue else {
                    throw ProviderError(.malformedResponse, message: "text_delta without text")
                }
                return text.isEmpty ? [] : [.text(text)]
            case "input_json_delta":
                let piece = delta?["partial_json"]?.stringValue ?? ""
                if index == jsonReplyBlock { return piece.isEmpty ? [] : [.text(piece)] }
                guard let toolIndex = toolIndexes[index] else { return [] }
                return [.toolCall(index: toolIndex, id: nil, name: nil, arguments: piece)]
            default:
                return []
            }
        case "message_delta":
            if let reason = json["delta"]?["stop_reason"]?.stringValue { accumulator.rawFinish = reason }
            if let sequence = json["delta"]?["stop_sequence"]?.stringValue { accumulator.stopSequence = sequence }
            if case .object(let members)? = json["usage"] {
                // The delta's counts are cumulative and override message_start's.
                var merged: [(key: String, value: JSONValue)] = startUsage?.objectValue ?? []
                for member in members {
                    if member.value.isNull { continue }
                    if let index = merged.firstIndex(where: { $0.key == member.key }) { merged[index].value = member.value } else { merged.append(member) }
                }
                accumulator.usage = AnthropicMessagesAdapter.usage(.object(merged))
                accumulator.usageIsFinal = true
            }
            return []
        case "message_stop":
            accumulator.complete = true
            return []
        case "error":
            let errorType = json["error"]?["type"]?.stringValue
            let status: Int
            switch errorType {
            case "overloaded_error": status = 529
            case "rate_limit_error": status = 429
            case "invalid_request_error": status = 400
            case "authentication_error": status = 401
            case "permission_error": status = 403
            case "not_found_error": status = 404
            case "request_too_large": status = 413
            case "timeout_error": status = 504
            default: status = 500
            }
            var error = ProviderErrorClassifier.classify(response: CurlHTTPResponse(status: status, headers: [], body: Data(event.data.utf8)))
            error.message = "error event in the stream: " + error.message
            throw error
        default:
            // ping, content_block_stop, and event types added later.
            return []
        }
    }

    func finishReason(_ raw: String) -> FinishReason? { AnthropicMessagesAdapter.finishReason(raw) }
}

extension ChatAdapter {
    /// The streaming form of `prepare`: the same body plus `stream: true` (and OpenAI's
    /// `stream_options.include_usage`, always: usage is billed from the stream's own counts).
    public func prepareStreaming(
        _ request: ChatRequest, model: String, apiKey: APIKey?, options: ChatCallOptions = ChatCallOptions()
    ) throws(ProviderError) -> PreparedRequest {
        var prepared = try prepare(request, model: model, apiKey: apiKey, options: options)
        guard let body = prepared.httpRequest.body, case .object(var members)? = JSONValue.parse(body) else {
            throw ProviderError(.invalidRequest, message: "the request body could not be prepared for streaming", detectedLocally: true)
        }
        members.removeAll { $0.key == "stream" || $0.key == "stream_options" }
        members.append(("stream", .bool(true)))
        if provider.apiStyle == .openai {
            members.append(("stream_options", .object([("include_usage", .bool(true))])))
        }
        prepared.httpRequest.body = Data(JSONValue.object(members).encodedBytes())
        prepared.httpRequest.headers = prepared.httpRequest.headers.map { header in
            header.name.equalsIgnoringASCIICase("Accept") ? (header.name, "text/event-stream") : header
        }
        return prepared
    }

    func streamDecoder() -> any StreamDecoder {
        provider.apiStyle == .anthropic ? AnthropicStreamDecoder() : OpenAIStreamDecoder()
    }
}

/// The stream's state shared by the reader and the deadline watch.
final class StreamProgress: Sendable {
    struct State {
        var accumulator = StreamAccumulator()
        var lastDelta: ContinuousClock.Instant
        var finished = false
    }

    let state: Mutex<State>
    let deadlines: StreamDeadlines
    let started: ContinuousClock.Instant

    init(deadlines: StreamDeadlines) {
        let now = ContinuousClock.now
        started = now
        state = Mutex(State(lastDelta: now))
        self.deadlines = deadlines
    }

    /// When the stream is overdue: the first token's deadline until one arrived, then the gap's.
    var nextDeadline: (instant: ContinuousClock.Instant, beforeFirstToken: Bool) {
        state.withLock { state in
            state.accumulator.deltas == 0
                ? (started + deadlines.firstToken, true)
                : (state.lastDelta + deadlines.stall, false)
        }
    }
}

/// Why the deadline watch stopped a stream.
struct StreamDeadlineExceeded: Error {
    var beforeFirstToken: Bool
}

extension ProviderClient {
    /// One streamed call. `onDelta` gets each content delta as it arrives (awaited before the
    /// next is read). Returns the complete answer, built from the deltas, with the stream's own
    /// usage. Throws before the first delta as `complete` does (a connect error, a non-2xx
    /// status, an error event, the first-token deadline as `timeout`), so the caller may fail
    /// over invisibly; after it, `stream_interrupted` with `partial` set (a cut, a stall past
    /// `deadlines.stall`, an error event or malformed chunk, an end without the format's end).
    public func stream(
        _ request: ChatRequest,
        model: String,
        provider: Provider,
        options: ChatCallOptions = ChatCallOptions(),
        deadlines: StreamDeadlines = StreamDeadlines(),
        onDelta: @escaping @Sendable (ChatStreamDelta) async -> Void
    ) async throws(ProviderError) -> ChatResponse {
        let apiKey = try credentials.apiKey(for: provider)
        let adapter = ChatAdapters.adapter(for: provider)
        var prepared = try adapter.prepareStreaming(request, model: model, apiKey: apiKey, options: options)
        prepared.httpRequest.publicAddressesOnly = !addresses.allowsNonPublicAddresses(url: prepared.httpRequest.url)
        // The whole transfer may last as long as the answer takes; the deadlines bound its gaps.
        prepared.httpRequest.timeout = max(prepared.httpRequest.timeout, .seconds(3600))
        let httpRequest = prepared.httpRequest
        let progress = StreamProgress(deadlines: deadlines)
        let transport = self.transport
        let idStem = String(UInt64.random(in: 0...UInt64.max), radix: 16)

        let outcome: Result<ChatResponse, any Error> = await withTaskGroup(of: Result<ChatResponse, any Error>?.self) { group in
            group.addTask {
                do {
                    return .success(try await Self.read(
                        httpRequest, transport: transport, adapter: adapter, apiKey: apiKey, progress: progress, idStem: idStem, onDelta: onDelta))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    let (deadline, beforeFirst) = progress.nextDeadline
                    if ContinuousClock.now >= deadline { return .failure(StreamDeadlineExceeded(beforeFirstToken: beforeFirst)) }
                    try? await Task.sleep(until: deadline, clock: .continuous)
                }
                return nil
            }
            var first: Result<ChatResponse, any Error>?
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first ?? .failure(CancellationError())
        }

        let snapshot = progress.state.withLock { $0.accumulator }
        var partial = snapshot.response(finish: adapter.streamDecoder().finishReason, idStem: idStem)
        partial.warnings = prepared.warnings
        let error: any Error
        switch outcome {
        case .success(var response):
            response.warnings = prepared.warnings + response.warnings
            return response
        case .failure(let failure):
            error = failure
        }

        var classified: ProviderError
        if Task.isCancelled || error is CancellationError {
            classified = ProviderError(.cancelled, message: "the call was cancelled")
            classified.partial = snapshot.deltas > 0 ? partial : nil
            throw classified
        }
        switch error {
        case let deadline as StreamDeadlineExceeded where deadline.beforeFirstToken:
            classified = ProviderError(.timeout, message: "no first token within \(deadlines.firstToken) (the request was sent)")
            classified.afterSend = true
        case is StreamDeadlineExceeded:
            classified = ProviderError(.streamInterrupted, message: "the stream stalled: no token for \(deadlines.stall) after \(snapshot.deltas) deltas")
        case let providerError as ProviderError:
            classified = providerError
        case let transportError as CurlHTTPError:
            classified = ProviderErrorClassifier.classify(transportError: transportError)
            if snapshot.deltas > 0 { classified.message = "the stream broke: " + classified.message }
        case is ServerSentEventParser.LineTooLong:
            classified = ProviderError(.malformedResponse, message: "a stream line is longer than \(ServerSentEventParser.maximumLineBytes) bytes")
        default:
            classified = ProviderError(.connection, message: "transport failed: \(type(of: error))")
        }
        classified.message = APIKey.redact(classified.message, key: apiKey)
        if snapshot.deltas > 0 {
            // After the first token nobody may quietly answer instead: the caller saw this one.
            if classified.errorClass != .streamInterrupted {
                classified.message = "\(classified.errorClass.rawValue): \(classified.message)"
                classified.errorClass = .streamInterrupted
            }
            if !snapshot.usageIsFinal {
                // No closing counts: what the provider billed for the tokens produced is unknown.
                // The input count stays when the stream gave it (Anthropic), the output is estimated.
                classified.partialTokensEstimated = true
                let estimate = Self.estimatedTokens(partial)
                partial.usage = partial.usage.map {
                    TokenUsage(inputTokens: $0.inputTokens, outputTokens: max($0.outputTokens, estimate),
                               cachedInputTokens: $0.cachedInputTokens, cacheCreationInputTokens: $0.cacheCreationInputTokens)
                }
            }
            classified.partial = partial
        }
        throw classified
    }

    /// About four bytes of text per token, at least one when anything arrived.
    public static func estimatedTokens(_ partial: ChatResponse) -> Int {
        let bytes = (partial.text?.utf8.count ?? 0) + partial.toolCalls.reduce(0) { $0 + $1.name.utf8.count + $1.arguments.utf8.count }
        return bytes == 0 ? 0 : max(1, (bytes + 3) / 4)
    }

    private static func read(
        _ request: CurlHTTPRequest, transport: any HTTPTransport, adapter: any ChatAdapter, apiKey: APIKey?,
        progress: StreamProgress, idStem: String, onDelta: @Sendable (ChatStreamDelta) async -> Void
    ) async throws -> ChatResponse {
        let response = try await transport.stream(request)
        guard (200...299).contains(response.status) else {
            // An error status: read the (short) body whole and classify it as `complete` does.
            var body = Data()
            for try await piece in response.body {
                body.append(piece)
                if body.count > 1 << 20 { break }
            }
            throw adapter.parseError(CurlHTTPResponse(status: response.status, headers: response.headers, body: body, httpVersion: response.httpVersion), apiKey: apiKey)
        }
        let requestID = response.header(adapter.provider.apiStyle == .anthropic ? "request-id" : "x-request-id")
        progress.state.withLock { $0.accumulator.requestID = requestID }
        var parser = ServerSentEventParser()
        var decoder = adapter.streamDecoder()
        var sawEvent = false
        var firstBytes = Data()
        for try await piece in response.body {
            if !sawEvent, firstBytes.count < 4096 { firstBytes.append(piece.prefix(4096)) }
            for event in try parser.feed(piece) {
                sawEvent = true
                let deltas = try progress.state.withLock { state throws(ProviderError) -> [ChatStreamDelta] in
                    let deltas = try decoder.decode(event, into: &state.accumulator)
                    for delta in deltas { state.accumulator.apply(delta) }
                    if !deltas.isEmpty { state.lastDelta = .now }
                    return deltas
                }
                for delta in deltas { await onDelta(delta) }
            }
        }
        let accumulator = progress.state.withLock { $0.accumulator }
        if !sawEvent {
            // A 200 that is no stream at all (a proxy's JSON error, a server ignoring `stream`).
            let asResponse = CurlHTTPResponse(status: response.status, headers: response.headers, body: firstBytes)
            if let json = JSONValue.parse(firstBytes), json["error"] != nil || json["type"]?.stringValue == "error" {
                throw adapter.errorInSuccessBody(json, response: asResponse, apiKey: apiKey)
            }
            throw ProviderError(.malformedResponse, message: "the response is not an event stream (\(firstBytes.count) bytes)", httpStatus: response.status)
        }
        guard accumulator.complete || accumulator.rawFinish != nil else {
            throw ProviderError(.connection, message: "the stream ended before the answer was complete")
        }
        return accumulator.response(finish: decoder.finishReason, idStem: idStem)
    }
}

extension ChatAdapter {
    /// A non-2xx answer classified as `parse` classifies it.
    func parseError(_ response: CurlHTTPResponse, apiKey: APIKey?) -> ProviderError {
        do {
            _ = try parse(response, apiKey: apiKey)
            return ProviderError(.malformedResponse, message: "unexpected status \(response.status)", httpStatus: response.status)
        } catch {
            return error
        }
    }
}
