import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// What a streamed reply does besides answering: the faults of the stream directives
/// (see `StubBehavior`), counted in content events ("tokens": a word of text, or a piece of a
/// tool call's arguments).
struct StubStreamFault: Equatable {
    enum Kind: Equatable {
        /// An error event (OpenAI `data: {"error":…}`, Anthropic `event: error`) after N tokens; 0: before any.
        case errorEvent
        /// Nothing more after N tokens (only `: ping` comments, so the connection looks alive).
        case stall
        /// The connection is closed after N tokens, without the stream's end.
        case cut
        /// A chunk that is not JSON after N tokens.
        case garble
    }

    var kind: Kind
    var afterTokens: Int
}

/// One streamed reply: the events in the request's format, written with the behaviour's pacing.
struct StubStream {
    /// A piece of the stream: one SSE frame, and whether it carries a token.
    struct Frame {
        var bytes: [UInt8]
        var isToken: Bool
    }

    var style: StubAPIStyle
    var frames: [Frame]
    /// Frames written at once, before the first token's wait (OpenAI: none; Anthropic: message_start, ping).
    var preamble: Int
    var tokenDelay: Duration
    var firstTokenDelay: Duration
    var fault: StubStreamFault?
    var hangDuration: Duration

    static func frame(event: String?, _ value: StubJSON) -> [UInt8] {
        var bytes: [UInt8] = []
        if let event { bytes += Array("event: \(event)\n".utf8) }
        bytes += Array("data: ".utf8) + Array(value.encoded()) + Array("\n\n".utf8)
        return bytes
    }

    static let done = Array("data: [DONE]\n\n".utf8)
    static let ping = Array(": ping\n\n".utf8)

    /// The reply's text in token-sized pieces: words with the space before them.
    static func pieces(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            if character == " ", !current.isEmpty, current != " " {
                pieces.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// JSON text in pieces of at most 8 characters, as providers send tool arguments.
    static func argumentPieces(_ json: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in json {
            current.append(character)
            if current.count >= 8 {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    func errorFrame() -> [UInt8] {
        switch style {
        case .openAI:
            return Self.frame(event: nil, ["error": [
                "message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error", "param": .null, "code": .null,
            ]])
        case .anthropic:
            return Self.frame(event: "error", ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]])
        }
    }

    func garbledFrame() -> [UInt8] {
        switch style {
        case .openAI: return Array(#"data: {"id":"chatcmpl-stub","choices":[{"index":0,"delta":{"content":"trunc"#.utf8) + Array("\n\n".utf8)
        case .anthropic: return Array("event: content_block_delta\n".utf8) + Array(#"data: {"type":"content_block_delta","index":0,"delta":{"ty"#.utf8) + Array("\n\n".utf8)
        }
    }

    struct Cut: Error {}

    /// Writes the stream; `counter` is told when it starts and ends (however it ends).
    func write(to writer: inout any ResponseBodyWriter, state: StubState) async throws {
        state.streamStarted()
        defer { state.streamEnded() }
        var tokens = 0
        var waitedFirst = false
        func faultDue() -> Bool { fault.map { tokens == $0.afterTokens } ?? false }
        for (index, frame) in frames.enumerated() {
            if index >= preamble, !waitedFirst {
                waitedFirst = true
                if firstTokenDelay > .zero { try await Task.sleep(for: firstTokenDelay) }
            }
            if frame.isToken || index == frames.count - 1 || (index >= preamble && !frame.isToken && tokens > 0) {
                if faultDue(), let fault {
                    try await inject(fault, writer: &writer)
                    return
                }
            }
            if frame.isToken {
                if tokens > 0, tokenDelay > .zero { try await Task.sleep(for: tokenDelay) }
                tokens += 1
            }
            try await writer.write(ByteBuffer(bytes: frame.bytes))
        }
        try await writer.finish(nil)
    }

    private func inject(_ fault: StubStreamFault, writer: inout any ResponseBodyWriter) async throws {
        switch fault.kind {
        case .errorEvent:
            try await writer.write(ByteBuffer(bytes: errorFrame()))
            try await writer.finish(nil)
        case .garble:
            try await writer.write(ByteBuffer(bytes: garbledFrame()))
            try await writer.finish(nil)
        case .cut:
            // Ending the body with an error closes the connection without the last chunk.
            throw Cut()
        case .stall:
            // Alive but silent: comments only, which also notice a client that has gone.
            let end = ContinuousClock.now + hangDuration
            while ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(100))
                try await writer.write(ByteBuffer(bytes: Self.ping))
            }
            try await writer.finish(nil)
        }
    }

    var response: Response {
        let stream = self
        var fields = HTTPFields()
        fields[.contentType] = "text/event-stream"
        fields[.cacheControl] = "no-cache"
        if let name = HTTPField.Name(style == .anthropic ? "request-id" : "x-request-id") { fields[name] = requestID }
        return Response(status: .ok, headers: fields, body: ResponseBody { writer in
            try await stream.write(to: &writer, state: stream.state)
        })
    }

    var state: StubState
    var requestID: String
}

extension StubStream {
    /// OpenAI Chat Completions chunks for `reply`.
    static func openAI(
        model: String, conversation: StubConversation, reply: StubReply, behavior: StubBehavior,
        includeUsage: Bool, idSuffix: String, finishReason: String, usage: StubJSON?
    ) -> [Frame] {
        let id = "chatcmpl-stub\(idSuffix)"
        func chunk(_ delta: StubJSON, finish: StubJSON = .null) -> [UInt8] {
            var members: [(key: String, value: StubJSON)] = [
                ("id", .string(id)), ("object", "chat.completion.chunk"), ("created", 1_700_000_000), ("model", .string(model)),
                ("service_tier", "default"), ("system_fingerprint", "fp_stub"),
                ("choices", [["index": 0, "delta": delta, "logprobs": .null, "finish_reason": finish]]),
            ]
            if includeUsage { members.append(("usage", .null)) }
            return frame(event: nil, .object(members))
        }
        var frames: [Frame] = []
        let refusal = reply.finish == .refusal
        let pieces = reply.text.map(pieces) ?? []
        for (index, piece) in pieces.enumerated() {
            var delta: [(key: String, value: StubJSON)] = []
            if index == 0 { delta.append(("role", "assistant")) }
            delta.append((refusal ? "refusal" : "content", .string(piece)))
            frames.append(Frame(bytes: chunk(.object(delta)), isToken: true))
        }
        for (callIndex, call) in reply.toolCalls.enumerated() {
            let head: StubJSON = ["tool_calls": [[
                "index": .int(callIndex), "id": .string("call_stub\(idSuffix)\(callIndex)"), "type": "function",
                "function": ["name": .string(call.name), "arguments": ""],
            ]]]
            var first: [(key: String, value: StubJSON)] = head.objectValue ?? []
            if frames.isEmpty { first.insert(("role", "assistant"), at: 0); first.insert(("content", .null), at: 1) }
            frames.append(Frame(bytes: chunk(.object(first)), isToken: true))
            for piece in argumentPieces(call.arguments.encodedString()) {
                frames.append(Frame(bytes: chunk(["tool_calls": [["index": .int(callIndex), "function": ["arguments": .string(piece)]]]]), isToken: true))
            }
        }
        if frames.isEmpty { frames.append(Frame(bytes: chunk(["role": "assistant", "content": ""]), isToken: false)) }
        frames.append(Frame(bytes: chunk([:], finish: .string(finishReason)), isToken: false))
        if includeUsage, let usage {
            frames.append(Frame(bytes: frame(event: nil, [
                "id": .string(id), "object": "chat.completion.chunk", "created": 1_700_000_000, "model": .string(model),
                "service_tier": "default", "system_fingerprint": "fp_stub", "choices": [], "usage": usage,
            ]), isToken: false))
        }
        frames.append(Frame(bytes: done, isToken: false))
        return frames
    }

    /// Anthropic Messages events for `reply`; the preamble is message_start and a ping.
    static func anthropic(
        model: String, reply: StubReply, idSuffix: String, stopReason: String, stopSequence: String?,
        startUsage: StubJSON?, outputTokens: Int?
    ) -> [Frame] {
        var frames: [Frame] = []
        var usage: StubJSON = startUsage ?? .null
        if case .object(var members) = usage {
            members.removeAll { $0.key == "output_tokens" }
            members.append(("output_tokens", 1))
            usage = .object(members)
        }
        frames.append(Frame(bytes: frame(event: "message_start", ["type": "message_start", "message": [
            "id": .string("msg_stub\(idSuffix)"), "type": "message", "role": "assistant", "model": .string(model),
            "content": [], "stop_reason": .null, "stop_sequence": .null, "usage": usage,
        ]]), isToken: false))
        frames.append(Frame(bytes: frame(event: "ping", ["type": "ping"]), isToken: false))
        var block = 0
        if let text = reply.text {
            frames.append(Frame(bytes: frame(event: "content_block_start", [
                "type": "content_block_start", "index": .int(block), "content_block": ["type": "text", "text": ""],
            ]), isToken: false))
            for piece in pieces(text) {
                frames.append(Frame(bytes: frame(event: "content_block_delta", [
                    "type": "content_block_delta", "index": .int(block), "delta": ["type": "text_delta", "text": .string(piece)],
                ]), isToken: true))
            }
            frames.append(Frame(bytes: frame(event: "content_block_stop", ["type": "content_block_stop", "index": .int(block)]), isToken: false))
            block += 1
        }
        for (callIndex, call) in reply.toolCalls.enumerated() {
            frames.append(Frame(bytes: frame(event: "content_block_start", [
                "type": "content_block_start", "index": .int(block),
                "content_block": ["type": "tool_use", "id": .string("toolu_stub\(idSuffix)\(callIndex)"), "name": .string(call.name), "input": [:]],
            ]), isToken: true))
            for piece in argumentPieces(call.arguments.encodedString()) {
                frames.append(Frame(bytes: frame(event: "content_block_delta", [
                    "type": "content_block_delta", "index": .int(block), "delta": ["type": "input_json_delta", "partial_json": .string(piece)],
                ]), isToken: true))
            }
            frames.append(Frame(bytes: frame(event: "content_block_stop", ["type": "content_block_stop", "index": .int(block)]), isToken: false))
            block += 1
        }
        var delta: [(key: String, value: StubJSON)] = [("type", "message_delta"), ("delta", ["stop_reason": .string(stopReason), "stop_sequence": stopSequence.map(StubJSON.string) ?? .null])]
        if let outputTokens { delta.append(("usage", ["output_tokens": .int(outputTokens)])) }
        frames.append(Frame(bytes: frame(event: "message_delta", .object(delta)), isToken: false))
        frames.append(Frame(bytes: frame(event: "message_stop", ["type": "message_stop"]), isToken: false))
        return frames
    }
}
