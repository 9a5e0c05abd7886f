import Catalog
import CurlHTTP
import Foundation
import Providers
import Synchronization
import Testing

/// Records what would be sent and answers with a canned response.
final class RecordingTransport: HTTPTransport {
    private let sent = Mutex<[CurlHTTPRequest]>([])
    private let reply: @Sendable (CurlHTTPRequest) throws -> CurlHTTPResponse

    init(reply: @escaping @Sendable (CurlHTTPRequest) throws -> CurlHTTPResponse) {
        self.reply = reply
    }

    var requests: [CurlHTTPRequest] { sent.withLock { $0 } }

    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        sent.withLock { $0.append(request) }
        return try reply(request)
    }
}

@Suite("Credentials and the client")
struct ProviderClientTests {
    static let okBody = #"{"id":"x","model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#

    @Test("unset, empty or blank key variables are missing credentials", arguments: [
        [String: String](), ["OPENAI_API_KEY": ""], ["OPENAI_API_KEY": "  \n"], ["OTHER": "sk-x"],
    ])
    func missing(environment: [String: String]) {
        let resolver = CredentialResolver(environment: environment)
        let error = providerError { _ = try resolver.apiKey(for: openAIProvider) }
        #expect(error?.errorClass == .missingCredentials)
        #expect(error?.detectedLocally == true)
        #expect(error?.allowsFallback == true)
        #expect(error?.message.contains("OPENAI_API_KEY") == true)
        #expect(resolver.hasCredentials(for: openAIProvider) == false)
    }

    @Test("a set variable gives the key; a provider without a variable needs none")
    func present() throws {
        let resolver = CredentialResolver(environment: ["OPENAI_API_KEY": "sk-abc"])
        #expect(try resolver.apiKey(for: openAIProvider) == APIKey("sk-abc"))
        let local = Provider(name: "ollama", apiStyle: .openai, baseURL: "http://127.0.0.1:11434", apiKeyEnv: nil)
        #expect(try resolver.apiKey(for: local) == nil)
        #expect(resolver.hasCredentials(for: local))
    }

    @Test("Switchboard's own secrets are never used as a provider key", arguments: ["DATABASE_URL", "PGPASSWORD", "SWITCHBOARD_API_TOKEN"])
    func reservedVariables(variable: String) {
        let resolver = CredentialResolver(environment: [variable: "postgresql://app:s3cret@db/x"])
        let provider = Provider(name: "evil", apiStyle: .openai, baseURL: "https://evil.example", apiKeyEnv: variable)
        let error = providerError { _ = try resolver.apiKey(for: provider) }
        #expect(error?.errorClass == .missingCredentials)
        #expect(error?.message.contains("s3cret") == false)
    }

    @Test("missing credentials fail before anything is sent")
    func nothingSent() async {
        let transport = RecordingTransport { _ in response(200, Self.okBody) }
        let client = ProviderClient(transport: transport, environment: [:])
        let error = await providerError {
            _ = try await client.complete(ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", provider: openAIProvider)
        }
        #expect(error?.errorClass == .missingCredentials)
        #expect(transport.requests.isEmpty)
    }

    /// The P0 exploit at the point every key passes: a provider row repointed to another host, or
    /// naming another provider's key, gets no key and nothing is sent.
    @Test("a key is handed out only for a host it is bound to; nothing is sent elsewhere", arguments: [
        Provider(name: "openai", apiStyle: .openai, baseURL: "https://attacker.example", apiKeyEnv: "OPENAI_API_KEY"),
        Provider(name: "x", apiStyle: .openai, baseURL: "https://api.anthropic.com", apiKeyEnv: "OPENAI_API_KEY"),
        Provider(name: "x", apiStyle: .openai, baseURL: "https://api.openai.com", apiKeyEnv: "OTHER_API_KEY"),
    ])
    func keyBoundToItsHosts(provider: Provider) async {
        let environment = ["OPENAI_API_KEY": "sk-real-openai-key", "OTHER_API_KEY": "sk-other"]
        let resolver = CredentialResolver(environment: environment)
        let error = providerError { _ = try resolver.apiKey(for: provider) }
        #expect(error?.errorClass == .providerMisconfigured)
        #expect(error?.message.contains("is bound to") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("sk-") == false, "the message never carries the key")
        // A bound key is there and where it may go is the question; a variable neither bound nor
        // listed in SWITCHBOARD_ALLOWED_KEY_VARS is not even read (P3-e, the registry's rule).
        #expect(resolver.hasCredentials(for: provider) == (provider.apiKeyEnv != "OTHER_API_KEY"))
        #expect(resolver.keyHostProblem(for: provider) != nil)

        let transport = RecordingTransport { _ in response(200, Self.okBody) }
        let client = ProviderClient(transport: transport, environment: environment)
        let callError = await providerError {
            _ = try await client.complete(ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", provider: provider)
        }
        #expect(callError?.errorClass == .providerMisconfigured)
        #expect(transport.requests.isEmpty, "nothing was sent")
    }

    @Test("an operator binding lets a key reach its proxy")
    func operatorBinding() throws {
        let proxy = Provider(name: "openai", apiStyle: .openai, baseURL: "https://llm-proxy.internal/v1", apiKeyEnv: "OPENAI_API_KEY")
        let unbound = CredentialResolver(environment: ["OPENAI_API_KEY": "sk-a"])
        #expect(unbound.keyHostProblem(for: proxy) != nil)
        let bound = CredentialResolver(environment: ["OPENAI_API_KEY": "sk-a", "SWITCHBOARD_KEY_HOSTS": "OPENAI_API_KEY=llm-proxy.internal"])
        #expect(try bound.apiKey(for: proxy) == APIKey("sk-a"))
        #expect(try bound.apiKey(for: openAIProvider) == APIKey("sk-a"), "the built-in host stays bound")
    }

    @Test("a locally invalid request (Anthropic temperature) is not sent")
    func invalidNotSent() async {
        let transport = RecordingTransport { _ in response(200, "{}") }
        let client = ProviderClient(transport: transport, environment: ["ANTHROPIC_API_KEY": "k"])
        let error = await providerError {
            _ = try await client.complete(
                ChatRequest(messages: [.user("Hi")], temperature: 1.7), model: "claude-sonnet-4-5", provider: anthropicProvider)
        }
        #expect(error?.errorClass == .unsupportedParameter)
        #expect(error?.gatewayAction == .nextModel)
        #expect(transport.requests.isEmpty)
    }

    @Test("a successful call sends the key from the environment and carries translation warnings")
    func success() async throws {
        let transport = RecordingTransport { _ in
            response(200, #"{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#)
        }
        let client = ProviderClient(transport: transport, environment: ["ANTHROPIC_API_KEY": "sk-ant-42"])
        let result = try await client.complete(
            ChatRequest(messages: [.user("Hi")], presencePenalty: 1), model: "claude-sonnet-4-5", provider: anthropicProvider,
            options: ChatCallOptions(defaultMaxTokens: 1000, timeout: .seconds(3)))
        #expect(result.text == "ok")
        #expect(result.warnings == ["presence_penalty is not supported by Anthropic; dropped"])
        let sent = try #require(transport.requests.first)
        #expect(sent.headers.contains { $0.name == "x-api-key" && $0.value == "sk-ant-42" })
        #expect(sent.timeout == .seconds(3))
        #expect(sent.body.flatMap { JSONValue.parse($0) }?["max_tokens"] == .int(1000))
    }

    @Test("transport errors are classified and never show the key")
    func transportError() async {
        let transport = RecordingTransport { _ in throw CurlHTTPError.timeout }
        let client = ProviderClient(transport: transport, environment: ["OPENAI_API_KEY": "sk-secret-value"])
        let error = await providerError {
            _ = try await client.complete(ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", provider: openAIProvider)
        }
        #expect(error?.errorClass == .timeout)

        // A transport message that quotes the key (e.g. a URL with it in the query) is redacted.
        let leaky = RecordingTransport { _ in throw CurlHTTPError.connection("failed for https://x/?key=sk-secret-value") }
        let leakyClient = ProviderClient(transport: leaky, environment: ["OPENAI_API_KEY": "sk-secret-value"])
        let leaked = await providerError {
            _ = try await leakyClient.complete(ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", provider: openAIProvider)
        }
        #expect(leaked?.errorClass == .connection)
        #expect(leaked.map { !"\($0)".contains("sk-secret-value") && $0.message.contains("[redacted]") } == true)
    }

    @Test("a cancelled call is cancellation, never a retryable connection error")
    func cancellation() async {
        // The transport waits until cancelled, then fails the way an aborted transfer does.
        let transport = SlowTransport()
        let client = ProviderClient(transport: transport, environment: ["OPENAI_API_KEY": "sk-x"])
        let task = Task { () async -> ProviderError? in
            do {
                _ = try await client.complete(ChatRequest(messages: [.user("Hi")]), model: "gpt-4o", provider: openAIProvider)
                return nil
            } catch let error as ProviderError {
                return error
            } catch {
                return nil
            }
        }
        await transport.started.wait()
        task.cancel()
        guard let error = await task.value else {
            Issue.record("a cancelled call returned a response")
            return
        }
        #expect(error.errorClass == .cancelled)
        #expect(error.gatewayAction == .release)
        #expect(!error.isRetryable)
        #expect(!error.allowsFallback)
    }
}

/// A transport that blocks until its task is cancelled, then throws a connection error (as curl
/// reports an aborted transfer).
final class SlowTransport: HTTPTransport {
    let started = Signal()

    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        started.fire()
        try? await Task.sleep(for: .seconds(3600))
        throw CurlHTTPError.connection("transfer aborted")
    }
}

/// A one-shot signal that async code can wait for.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

@Suite("Neutral request JSON")
struct ChatRequestCodingTests {
    @Test("an OpenAI-shaped body decodes into the neutral request")
    func decodesOpenAIShape() throws {
        let text = """
            {"messages":[
               {"role":"developer","content":"Be brief."},
               {"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"high"}}]},
               {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"c1","content":"done"}],
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],
             "tool_choice":{"type":"function","function":{"name":"f"}},
             "stop":"END","temperature":0.2,"max_completion_tokens":99,"response_format":{"type":"json_object"},"user":"u1"}
            """
        let request = try ChatRequest(jsonBytes: Array(text.utf8))
        #expect(request.messages.count == 4)
        #expect(request.messages[0] == .system("Be brief."))
        #expect(request.messages[1].content == [.text("What is this?"), .image(url: "https://x/y.png", detail: .high)])
        #expect(request.messages[2].toolCalls == [ToolCall(id: "c1", name: "f", arguments: "{}")])
        #expect(request.messages[3] == .tool(callID: "c1", content: "done"))
        #expect(request.tools.map(\.name) == ["f"])
        #expect(request.toolChoice == .tool(name: "f"))
        #expect(request.stop == ["END"])
        #expect(request.maxTokens == 99)
        #expect(request.responseFormat == .jsonObject)
        #expect(request.user == "u1")
    }

    @Test("encoding then decoding gives the same request")
    func roundTrip() throws {
        let request = ChatRequest(
            messages: [.system("s"), .user([.text("a"), .image(url: "data:image/png;base64,AA==")]),
                       .assistant("b", toolCalls: [ToolCall(id: "1", name: "f", arguments: #"{"x":1}"#)]),
                       .tool(callID: "1", content: "r")],
            tools: [weatherTool], toolChoice: .required, parallelToolCalls: false, stop: ["x", "y"],
            temperature: 0.5, topP: 1, maxTokens: 10, frequencyPenalty: 0.1, presencePenalty: 0.2,
            responseFormat: .jsonSchema(name: "n", schema: ["type": "object"], strict: true), user: "u", seed: 7)
        #expect(try ChatRequest(jsonBytes: request.jsonBytes()) == request)
    }

    @Test("an unknown role is rejected, naming the field")
    func unknownRole() {
        #expect(throws: ChatRequestJSONError(path: "messages[0].role", message: "must be one of system, user, assistant, tool")) {
            try ChatRequest(jsonBytes: Array(#"{"messages":[{"role":"robot","content":"x"}]}"#.utf8))
        }
    }
}
