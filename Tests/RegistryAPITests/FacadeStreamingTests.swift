import Foundation
import JSON
@testable import RegistryAPI
@testable import Storage
import Testing

/// The live stream's encoder, without a server: relay events → each SSE format, the terminal
/// error shapes, and completing a stream from the committed result.
@Suite struct FacadeStreamingTests {
    /// The `data:` payloads of an SSE byte stream, with their `event:` names.
    static func events(_ bytes: [UInt8]) -> [(event: String?, data: String)] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n\n").compactMap { frame in
            var event: String?
            var data: String?
            for line in frame.split(separator: "\n") {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            return data.map { (event, $0) }
        }
    }

    static func json(_ text: String) -> JSONValue { JSONValue.parse(Array(text.utf8)) ?? .null }

    static func record(status: String, result: String? = nil, error: String? = nil, attempt: Int = 1) -> JobRecord {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        return JobRecord(
            id: 42, agentID: UUID(), executionID: nil, step: nil, status: status, priority: 0, attempt: attempt, maxAttempts: 3,
            runAt: now, idempotencyKey: nil, requestJSON: nil, resultJSON: result, errorJSON: error, createdAt: now,
            startedAt: now, finishedAt: now, updatedAt: now, cancelRequestedAt: nil)
    }

    static let done: JSONValue = [
        "type": "done", "finish_reason": "stop",
        "usage": ["input_tokens": 10, "output_tokens": 3, "cached_input_tokens": 0, "cache_creation_input_tokens": 0, "reasoning_tokens": 0],
        "tool_calls": [],
    ]

    @Test func openAIDeltasThenUsageThenDone() {
        var encoder = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: true)
        var bytes = encoder.encode(.start(model: "gpt-4o-mini", provider: "openai", fallbackDepth: 0))
        bytes += encoder.encode(.text("Hel"))
        bytes += encoder.encode(.text("lo"))
        bytes += encoder.encode(.done(Self.done))
        #expect(encoder.ended)
        let events = Self.events(bytes)
        #expect(events.last?.data == "[DONE]")
        let chunks = events.dropLast().map { Self.json($0.data) }
        #expect(chunks[0]["choices"]?[0]?["delta"] == ["role": "assistant", "content": "Hel"])
        #expect(chunks[1]["choices"]?[0]?["delta"] == ["content": "lo"])
        #expect(chunks[2]["choices"]?[0]?["finish_reason"] == "stop")
        #expect(chunks[3]["usage"]?["completion_tokens"] == 3)
        #expect(chunks.allSatisfy { $0["model"] == "gpt-4o-mini" && $0["id"] == "chatcmpl-sb42" })
        // Nothing after the end.
        #expect(encoder.encode(.text("late")).isEmpty)
    }

    @Test func liveStreamsLeaveOutNullFingerprintsAndNameTheStopSequence() {
        var openAI = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: true)
        var bytes = openAI.encode(.start(model: "gpt-4o-mini", provider: "openai", fallbackDepth: 0))
        bytes += openAI.encode(.text("Hi"))
        bytes += openAI.encode(.done(Self.done))
        #expect(Self.events(bytes).dropLast().allSatisfy { Self.json($0.data)["system_fingerprint"] == nil })

        var anthropic = LiveStreamEncoder(format: .anthropic, jobID: 42, created: 1, includeUsage: false)
        bytes = anthropic.encode(.start(model: "claude-haiku-4-5", provider: "anthropic", fallbackDepth: 0))
        bytes += anthropic.encode(.text("one two"))
        var done = Self.done
        done["stop_sequence"] = "THREE"
        bytes += anthropic.encode(.done(done))
        let delta = Self.events(bytes).map { Self.json($0.data) }.first { $0["type"] == "message_delta" }
        #expect(delta?["delta"] == ["stop_reason": "stop_sequence", "stop_sequence": "THREE"])
    }

    @Test func responsesEventSequence() {
        var call = FacadeCall(model: "agent:planner", request: .init(messages: [.user("hi")]), stream: true)
        call.openAIObject = .response
        var encoder = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: false, call: call)
        var bytes = encoder.encode(.start(model: "gpt-4o-mini", provider: "openai", fallbackDepth: 0))
        bytes += encoder.encode(.text("Hel"))
        bytes += encoder.encode(.text("lo"))
        bytes += encoder.encode(.toolCall(index: 0, id: "call_1", name: "f", arguments: #"{"a":"#))
        bytes += encoder.encode(.toolCall(index: 0, id: nil, name: nil, arguments: "1}"))
        var done = Self.done
        done["finish_reason"] = "tool_calls"
        bytes += encoder.encode(.done(done))
        let events = Self.events(bytes)
        #expect(events.map(\.event) == [
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "response.output_item.added", "response.function_call_arguments.delta",
            "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
            "response.completed",
        ])
        let data = events.map { Self.json($0.data) }
        #expect(data.enumerated().allSatisfy { $0.element["sequence_number"] == .int($0.offset) })
        #expect(data[12]["arguments"] == #"{"a":1}"#)
        let completed = data[14]["response"]
        #expect(completed?["output"]?[0]?["content"]?[0]?["text"] == "Hello")
        #expect(completed?["output"]?[1]?["call_id"] == "call_1" && completed?["output"]?[1]?["id"] == data[9]["item"]?["id"])
    }

    @Test func openAIToolCallPiecesKeepTheirIndexAndIdOnce() {
        var encoder = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: false)
        var bytes = encoder.encode(.toolCall(index: 0, id: "call_1", name: "get_weather", arguments: ""))
        bytes += encoder.encode(.toolCall(index: 0, id: nil, name: nil, arguments: #"{"city":"#))
        bytes += encoder.encode(.toolCall(index: 0, id: nil, name: nil, arguments: #""Paris"}"#))
        var done = Self.done
        done["finish_reason"] = "tool_calls"
        bytes += encoder.encode(.done(done))
        let chunks = Self.events(bytes).dropLast().map { Self.json($0.data) }
        #expect(chunks[0]["choices"]?[0]?["delta"]?["tool_calls"] == [["index": 0, "id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": ""]]])
        #expect(chunks[1]["choices"]?[0]?["delta"]?["tool_calls"] == [["index": 0, "function": ["arguments": #"{"city":"#]]])
        #expect(chunks.last?["choices"]?[0]?["finish_reason"] == "tool_calls")
    }

    @Test func anthropicEventSequence() {
        var encoder = LiveStreamEncoder(format: .anthropic, jobID: 42, created: 1, includeUsage: false)
        var bytes = encoder.encode(.start(model: "claude-haiku-4-5", provider: "anthropic", fallbackDepth: 1))
        bytes += encoder.encode(.text("Checking."))
        bytes += encoder.encode(.toolCall(index: 0, id: "toolu_1", name: "get_weather", arguments: ""))
        bytes += encoder.encode(.toolCall(index: 0, id: nil, name: nil, arguments: #"{"city":"Paris"}"#))
        var done = Self.done
        done["finish_reason"] = "tool_calls"
        bytes += encoder.encode(.done(done))
        let events = Self.events(bytes)
        #expect(events.map(\.event) == [
            "message_start", "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
        ])
        #expect(Self.json(events[4].data)["content_block"]?["type"] == "tool_use")
        #expect(Self.json(events[4].data)["index"] == 1)
        #expect(Self.json(events[5].data)["delta"]?["partial_json"] == #"{"city":"Paris"}"#)
        #expect(Self.json(events[7].data)["delta"]?["stop_reason"] == "tool_use")
        #expect(Self.json(events[7].data)["usage"]?["output_tokens"] == 3)
    }

    @Test("after content, an error is the format's error event: never a clean end", arguments: [FacadeFormat.openAI, .anthropic])
    func errorAfterContent(format: FacadeFormat) {
        var encoder = LiveStreamEncoder(format: format, jobID: 42, created: 1, includeUsage: true)
        var bytes = encoder.encode(.text("Partial"))
        bytes += encoder.encode(.error(code: "stream_interrupted", message: "connection: the stream broke"))
        #expect(encoder.ended)
        let events = Self.events(bytes)
        #expect(!events.contains { $0.data == "[DONE]" })
        #expect(!events.contains { $0.event == "message_stop" })
        let last = Self.json(events.last?.data ?? "")
        switch format {
        case .openAI:
            #expect(last["error"]?["code"] == "stream_interrupted")
            #expect(last["error"]?["type"] == "server_error")
            #expect(!events.dropLast().contains { Self.json($0.data)["choices"]?[0]?["finish_reason"]?.isNull == false })
        case .anthropic:
            #expect(events.last?.event == "error")
            #expect(last["type"] == "error")
        }
    }

    @Test func aBrokenPushIsCompletedFromTheCommittedResult() {
        var encoder = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: false)
        var bytes = encoder.encode(.text("Stub"))
        let result = #"{"content":"Stub reply to: hi","tool_calls":[],"finish_reason":"stop","model":"m","provider":"openai","fallback_depth":0,"usage":{"input_tokens":5,"output_tokens":4},"cost":0.1}"#
        bytes += encoder.encode(.finished(Self.record(status: "succeeded", result: result)))
        let events = Self.events(bytes)
        #expect(events.last?.data == "[DONE]")
        let text = events.dropLast().map { Self.json($0.data)["choices"]?[0]?["delta"]?["content"]?.stringValue ?? "" }.joined()
        #expect(text == "Stub reply to: hi")
    }

    @Test func aResultThatDoesNotContinueTheStreamIsAnError() {
        var encoder = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: false)
        var bytes = encoder.encode(.text("First attempt's words"))
        let result = #"{"content":"Another answer","tool_calls":[],"finish_reason":"stop","model":"m","provider":"openai","fallback_depth":0,"usage":null}"#
        bytes += encoder.encode(.finished(Self.record(status: "succeeded", result: result, attempt: 2)))
        #expect(Self.json(Self.events(bytes).last?.data ?? "")["error"]?["code"] == "stream_interrupted")
        var rescued = LiveStreamEncoder(format: .anthropic, jobID: 42, created: 1, includeUsage: false)
        let after = rescued.encode(.text("Half")) + rescued.encode(.rescued)
        #expect(Self.events(after).last?.event == "error")
    }

    @Test func aFailedJobEndsTheStreamWithItsCode() {
        var encoder = LiveStreamEncoder(format: .openAI, jobID: 42, created: 1, includeUsage: false)
        _ = encoder.encode(.text("x"))
        let bytes = encoder.encode(.finished(Self.record(status: "failed", error: #"{"code":"stream_interrupted","message":"stalled"}"#)))
        #expect(Self.json(Self.events(bytes).last?.data ?? "")["error"]?["code"] == "stream_interrupted")
    }

    @Test func theSessionAcceptsOneAttemptAndRefusesTheOthers() {
        let session = StreamSession(jobID: 7)
        #expect(session.secret.count == 64)
        #expect(StreamSession(jobID: 7).secret != session.secret)
        guard case .accepted = session.claim(attempt: 1) else { Issue.record("first attempt refused"); return }
        guard case .refused(let rescued) = session.claim(attempt: 2) else { Issue.record("second attempt accepted"); return }
        #expect(rescued)
        guard case .refused(let stale) = session.claim(attempt: 1) else { Issue.record("a repeat accepted"); return }
        #expect(!stale)
        #expect(StreamPushRoute.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!StreamPushRoute.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!StreamPushRoute.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
    }
}
