import Catalog
import CurlHTTP
import Foundation
import Hummingbird
import Logging
import NIOCore
import Providers
import ServiceLifecycle
import Testing

/// Review finding P2-8: a provider answer above 8 MiB fails the call (malformed_response) instead
/// of being read into memory; the same endpoint's ordinary answers still work.
@Suite struct ResponseSizeTests {
    /// A real OpenAI-style endpoint whose reply carries `contentBytes` of text, on a free port.
    static func withEndpoint<T>(contentBytes: Int, _ body: (Int) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/chat/completions") { _, _ -> Response in
            let text = String(repeating: "a", count: contentBytes)
            let json = #"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""#
                + text + #""},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            })
        // Stopped by a graceful shutdown, not by cancelling the serving task (see TestHTTPServer:
        // cancelling while an accepted connection is buffered traps in NIO).
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "response-size-test")))
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let result: Result<T, any Error>
        do { result = .success(try await body(port)) } catch { result = .failure(error) }
        await group.triggerGracefulShutdown()
        _ = await server.result
        return try result.get()
    }

    static let hello = ChatRequest(messages: [.user("Hello")])

    @Test("An answer above 8 MiB fails as malformed_response; a 1 MiB one is read")
    func answersAbove8MiBAreRefused() async throws {
        #expect(ChatAdapters.maxResponseBytes == 8 << 20)
        let http = try CurlHTTPClient()
        defer { http.shutdown() }
        let client = ProviderClient(transport: http, environment: [PrivateAddressPolicy.environmentVariable: "127.0.0.1"])
        try await Self.withEndpoint(contentBytes: 9 << 20) { port in
            let provider = Provider(name: "big", apiStyle: .openai, baseURL: "http://127.0.0.1:\(port)", apiKeyEnv: nil)
            let error = await providerError { _ = try await client.complete(Self.hello, model: "m", provider: provider) }
            #expect(error?.errorClass == .malformedResponse)
            #expect(error?.message.contains("exceeds \(8 << 20) bytes") == true, "\(error?.message ?? "")")
        }
        try await Self.withEndpoint(contentBytes: 1 << 20) { port in
            let provider = Provider(name: "big", apiStyle: .openai, baseURL: "http://127.0.0.1:\(port)", apiKeyEnv: nil)
            let response = try await client.complete(Self.hello, model: "m", provider: provider)
            #expect(response.text?.utf8.count == 1 << 20)
        }
    }
}
