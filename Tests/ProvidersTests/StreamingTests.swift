import Catalog
import CurlHTTP
import Foundation
@testable import Providers
import ProviderStub
import Synchronization
import Testing

/// Collects the deltas a stream hands over, in order.
final class DeltaLog: Sendable {
    private let entries = Mutex<[ChatStreamDelta]>([])
    func append(_ delta: ChatStreamDelta) { entries.withLock { $0.append(delta) } }
    var all: [ChatStreamDelta] { entries.withLock { $0 } }
    var text: String {
        all.map { if case .text(let piece) = $0 { return piece } else { return "" } }.joined()
    }
}

@Suite("Server-sent events framing")
struct ServerSentEventParserTests {
    @Test("events split across arbitrary byte boundaries, CRLF and comments")
    func framing() throws {
        let stream = Array(": comment\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata: {\"x\":1}\n\n:ping\n\ndata:tight\n\n".utf8)
        for cut in 1..<stream.count {
            var parser = ServerSentEventParser()
            var events = try parser.feed(stream[..<cut])
            events += try parser.feed(stream[cut...])
            #expect(events == [
                ServerSentEvent(event: "a", data: "one\ntwo"), ServerSentEvent(event: nil, data: "{\"x\":1}"),
                ServerSentEvent(event: nil, data: "tight"),
            ], "cut at \(cut)")
        }
    }

    @Test("an event without its blank line is not dispatched")
    func incomplete() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.feed(Array("data: half".utf8)).isEmpty)
    }
}

@Suite("Streaming calls through CurlHTTP against provider-stub")
struct StreamingTests {
    static let hello = ChatRequest(messages: [.user("Hello there, how are you today")])
    static let expected = "Stub reply to: Hello there, how are you today"

    @Test("the body arrives in pieces as the server writes them (CurlHTTP streaming)")
    func curlStreamsIncrementally() async throws {
        try await withStub { stub in
            let body = #"{"model":"stub-pace-30ms","stream":true,"messages":[{"role":"user","content":"one two three four five six"}]}"#
            let response = try await stub.http.stream(CurlHTTPRequest(
                method: "POST", url: stub.baseURL + "/v1/chat/completions",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer x")], body: Data(body.utf8)))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            var pieces = 0
            var all = Data()
            for try await piece in response.body {
                pieces += 1
                all.append(piece)
            }
            // Paced tokens cannot arrive in one read: each was written after a wait.
            #expect(pieces > 3)
            #expect(String(decoding: all, as: UTF8.self).hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test("text deltas, usage and finish reason, both formats", arguments: [APIStyle.openai, .anthropic])
    func textStream(style: APIStyle) async throws {
        try await withStub { stub in
            let log = DeltaLog()
            let result = try await stub.client().stream(
                Self.hello, model: "stub-pace-5ms", provider: stub.provider(style)) { log.append($0) }
            #expect(log.all.count > 3)
            #expect(log.text == Self.expected)
            #expect(result.text == Self.expected)
            #expect(result.finishReason == .stop)
            let usage = try #require(result.usage)
            #expect(usage.outputTokens == (Self.expected.utf8.count + 3) / 4)
            #expect(usage.inputTokens > 0)
            #expect(result.requestID?.hasPrefix("req_") == true)
        }
    }

    @Test("tool-call deltas reassemble into the call", arguments: [APIStyle.openai, .anthropic])
    func toolStream(style: APIStyle) async throws {
        try await withStub { stub in
            let log = DeltaLog()
            let request = ChatRequest(messages: [.user("What is the weather in Paris? Use get_weather.")], tools: [weatherTool])
            let result = try await stub.client().stream(request, model: "stub-model", provider: stub.provider(style)) { log.append($0) }
            #expect(result.finishReason == .toolCalls)
            let call = try #require(result.toolCalls.first)
            #expect(call.name == "get_weather")
            #expect(JSONValue.parse(call.arguments) == ["city": "stub-city"])
            // The arguments came in several pieces.
            #expect(log.all.filter { if case .toolCall = $0 { return true } else { return false } }.count > 2)
        }
    }

    @Test("an error event before the first token is an ordinary, retryable failure", arguments: [APIStyle.openai, .anthropic])
    func errorBeforeFirstToken(style: APIStyle) async throws {
        try await withStub { stub in
            let log = DeltaLog()
            do {
                _ = try await stub.client().stream(Self.hello, model: "stub-errorevent-0", provider: stub.provider(style)) { log.append($0) }
                Issue.record("the stream should have failed")
            } catch let error as ProviderError {
                #expect(error.errorClass == (style == .openai ? .serverError : .overloaded))
                #expect(error.partial == nil)
                #expect(error.allowsFallback)
            }
            #expect(log.all.isEmpty)
        }
    }

    @Test("after the first token, every fault is stream_interrupted with the partial text",
          arguments: [APIStyle.openai, .anthropic], ["errorevent-3", "cut-3", "garble-3", "stall-3"])
    func faultsAfterFirstToken(style: APIStyle, fault: String) async throws {
        try await withStub(ProviderStubConfiguration(hangDuration: .seconds(5))) { stub in
            let log = DeltaLog()
            do {
                _ = try await stub.client().stream(
                    Self.hello, model: "stub-\(fault)", provider: stub.provider(style),
                    deadlines: StreamDeadlines(firstToken: .seconds(30), stall: .milliseconds(300))) { log.append($0) }
                Issue.record("the stream should have failed")
            } catch let error as ProviderError {
                #expect(error.errorClass == .streamInterrupted, "\(error)")
                #expect(!error.allowsFallback)
                let partial = try #require(error.partial)
                #expect(partial.text == "Stub reply to:")
                #expect(log.text == "Stub reply to:")
            }
            // The provider's stream is closed, whatever the fault (a stall included).
            try await waitFor { try await stub.stats().streamsInFlight == 0 }
        }
    }

    @Test("a slow first token past the deadline is a timeout before anything was delivered")
    func firstTokenDeadline() async throws {
        try await withStub { stub in
            let log = DeltaLog()
            do {
                _ = try await stub.client().stream(
                    Self.hello, model: "stub-firsttoken-5s", provider: stub.provider(.anthropic),
                    deadlines: StreamDeadlines(firstToken: .milliseconds(200), stall: .seconds(20))) { log.append($0) }
                Issue.record("the stream should have failed")
            } catch let error as ProviderError {
                #expect(error.errorClass == .timeout)
                #expect(error.afterSend)
                #expect(error.partial == nil)
            }
            #expect(log.all.isEmpty)
        }
    }

    @Test("a non-200 answer to a streaming request is classified as usual")
    func errorStatus() async throws {
        try await withStub { stub in
            do {
                _ = try await stub.client().stream(Self.hello, model: "stub-error-429", provider: stub.provider(.openai)) { _ in }
                Issue.record("the stream should have failed")
            } catch let error as ProviderError {
                #expect(error.errorClass == .rateLimited)
                #expect(error.httpStatus == 429)
            }
        }
    }

    @Test("cancelling the caller ends the provider's stream")
    func cancellationStopsTheStream() async throws {
        try await withStub { stub in
            let log = DeltaLog()
            let client = stub.client()
            let provider = stub.provider(.openai)
            let request = ChatRequest(messages: [.user(Array(repeating: "word", count: 400).joined(separator: " "))])
            let task = Task {
                try await client.stream(request, model: "stub-pace-20ms", provider: provider) { log.append($0) }
            }
            try await waitFor { log.all.count >= 2 }
            #expect(try await stub.stats().streamsInFlight == 1)
            task.cancel()
            do {
                _ = try await task.value
                Issue.record("the call should have been cancelled")
            } catch let error as ProviderError {
                #expect(error.errorClass == .cancelled)
            }
            try await waitFor { try await stub.stats().streamsInFlight == 0 }
        }
    }

    @Test("the streaming body asks for usage in OpenAI's stream_options and keeps the rest")
    func streamingBody() throws {
        let provider = Provider(name: "openai", apiStyle: .openai, baseURL: "https://api.openai.com", apiKeyEnv: nil)
        let adapter = ChatAdapters.adapter(for: provider)
        let prepared = try adapter.prepareStreaming(Self.hello, model: "gpt-4o-mini", apiKey: nil)
        let bytes = try #require(prepared.httpRequest.body)
        let json = try #require(JSONValue.parse(bytes))
        #expect(json["stream"] == true)
        #expect(json["stream_options"] == ["include_usage": true])
        #expect(json["model"] == "gpt-4o-mini")
        #expect(prepared.httpRequest.headers.contains { $0.name == "Accept" && $0.value == "text/event-stream" })
        let anthropic = ChatAdapters.adapter(for: Provider(name: "anthropic", apiStyle: .anthropic, baseURL: "https://api.anthropic.com", apiKeyEnv: nil))
        let anthropicBytes = try #require(try anthropic.prepareStreaming(Self.hello, model: "claude-haiku-4-5", apiKey: nil).httpRequest.body)
        let body = try #require(JSONValue.parse(anthropicBytes))
        #expect(body["stream"] == true)
        #expect(body["stream_options"] == nil)
    }
}

/// Polls `condition` until it holds (10 s at most: a failure timeout, not a timing expectation).
func waitFor(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met within 10 s")
}
