import Catalog
import CurlHTTP
import Foundation

/// Translates between the neutral chat types and one provider's wire format.
///
/// Adapters do no I/O: `prepare` builds the `CurlHTTPRequest` and `parse` reads the `CurlHTTPResponse`,
/// so both directions are tested against fixtures without a network. `ProviderClient` joins them
/// with a transport.
public protocol ChatAdapter: Sendable {
    /// The provider row this adapter sends to (base URL, timeouts).
    var provider: Provider { get }

    /// The JSON body for `request` addressed to `model`, and what could not be translated.
    /// Throws `invalid_request` (detected locally) for requests this API cannot express.
    func makeBody(for request: ChatRequest, model: String, options: ChatCallOptions) throws(ProviderError) -> TranslatedBody

    /// The auth and protocol headers, without content type.
    func headers(apiKey: APIKey?) -> [(name: String, value: String)]

    /// The endpoint path appended to the base URL (`/v1/chat/completions`).
    var endpointPath: String { get }

    /// Reads a response: a completion for 2xx, a classified `ProviderError` otherwise.
    func parse(_ response: CurlHTTPResponse, apiKey: APIKey?) throws(ProviderError) -> ChatResponse
}

/// Per-call settings that are not part of the neutral request: what the catalog knows about the
/// model, so adapters send only what that model accepts.
public struct ChatCallOptions: Sendable, Equatable {
    /// Upper bound for the `max_tokens` sent when the request sets none and the API requires one
    /// (Anthropic). The gateway passes the model's catalog `max_output_tokens` here; the value sent
    /// is the smallest of this, `defaultOutputTokens` and what fits the context window.
    public var defaultMaxTokens: Int?
    /// Overrides the provider's whole-request timeout for this call.
    public var timeout: Duration?
    /// The model's context window (input + output tokens), from the catalog.
    public var contextWindow: Int?
    /// The model's largest output, from the catalog (`max_output_tokens`).
    public var maxOutputTokens: Int?
    /// The temperatures the model accepts, from the catalog (gpt-5 and o-series: 1…1). A request
    /// temperature outside it is dropped with a warning.
    public var temperatureRange: ClosedRange<Double>?
    /// Whether the model is a reasoning model (OpenAI o-series, gpt-5): `nil` derives it from the
    /// model name. Reasoning models get `max_completion_tokens` and no sampling parameters.
    public var isReasoningModel: Bool?
    /// Whether the model takes a reasoning control (the catalog's `reasoning` capability, any
    /// provider): `nil` leaves it to the adapter's knowledge of model names.
    public var supportsReasoning: Bool?
    /// Request parameters (wire names: `top_p`, `stop`, `parallel_tool_calls`…) this model refuses;
    /// they are dropped with a warning. Added to what the adapter knows from the model name.
    public var unsupportedParameters: Set<String>

    /// `max_tokens` sent by default when neither the request nor the catalog limit is smaller: a
    /// long answer, but not so long that a non-streaming call outlives its timeout or that input
    /// plus output overflows the context window.
    public static let defaultOutputTokens = 8192

    public init(
        defaultMaxTokens: Int? = nil,
        timeout: Duration? = nil,
        contextWindow: Int? = nil,
        maxOutputTokens: Int? = nil,
        temperatureRange: ClosedRange<Double>? = nil,
        isReasoningModel: Bool? = nil,
        supportsReasoning: Bool? = nil,
        unsupportedParameters: Set<String> = []
    ) {
        self.defaultMaxTokens = defaultMaxTokens
        self.timeout = timeout
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.temperatureRange = temperatureRange
        self.isReasoningModel = isReasoningModel
        self.supportsReasoning = supportsReasoning
        self.unsupportedParameters = unsupportedParameters
    }

    /// The catalog's facts about `model`: limits, temperature range and the `reasoning` capability.
    public init(model: LLMModel, timeout: Duration? = nil) {
        let range = model.minTemperature <= model.maxTemperature ? model.minTemperature...model.maxTemperature : nil
        self.init(
            defaultMaxTokens: model.maxOutputTokens,
            timeout: timeout,
            contextWindow: model.contextWindow,
            maxOutputTokens: model.maxOutputTokens,
            temperatureRange: range,
            isReasoningModel: model.provider == "openai" && model.capabilities.contains("reasoning") ? true : nil,
            supportsReasoning: model.capabilities.contains("reasoning") ? true : nil)
    }

    /// The output budget when the request sets none: min(catalog limit, `defaultOutputTokens`,
    /// context window − estimated input), at least 1.
    func defaultOutputBudget(estimatedInputTokens: Int) -> Int {
        var budget = Self.defaultOutputTokens
        if let limit = defaultMaxTokens ?? maxOutputTokens { budget = min(budget, limit) }
        if let contextWindow { budget = min(budget, contextWindow - estimatedInputTokens) }
        return max(1, budget)
    }
}

/// A request body (JSON bytes, written directly by the adapter) and the parts of the neutral
/// request that were left out of it.
public struct TranslatedBody: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Human-readable notes such as "frequency_penalty is not supported by Anthropic; dropped".
    public var warnings: [String]
    /// The least whole-request timeout that lets the requested output finish (long non-streaming
    /// answers); the provider's timeout applies when it is longer.
    public var minimumTimeout: Duration?

    public init(bytes: [UInt8], warnings: [String] = [], minimumTimeout: Duration? = nil) {
        self.bytes = bytes
        self.warnings = warnings
        self.minimumTimeout = minimumTimeout
    }

    public init(json: JSONValue, warnings: [String] = []) {
        self.init(bytes: json.encodedBytes(), warnings: warnings)
    }

    /// The body parsed back (for tests and diagnostics; `.null` if the bytes were not JSON).
    public var json: JSONValue { JSONValue.parse(bytes) ?? .null }
}

/// An HTTP request ready to send, with the translation warnings to attach to the result.
public struct PreparedRequest: Sendable {
    public var httpRequest: CurlHTTPRequest
    public var warnings: [String]
}

extension ChatAdapter {
    /// The full URL. A base URL without a path gets the whole endpoint path (`/v1/chat/completions`);
    /// a base URL with its own path is taken to include the version, as in the OpenAI SDKs
    /// (`…/v1`, Gemini's `…/v1beta/openai`), and gets the rest (`/chat/completions`).
    public var endpointURL: String {
        var base = provider.baseURL.trimmedWhitespace
        while base.hasSuffix("/") { base.removeLast() }
        let hasPath: Bool = {
            guard let scheme = base.range(of: "://") else { return false }
            return base[scheme.upperBound...].contains("/")
        }()
        guard hasPath, endpointPath.hasPrefix("/v1/") else { return base + endpointPath }
        if base.hasSuffix("/v1") || providerPathIncludesVersion {
            return base + endpointPath.dropFirst(3)
        }
        return base + endpointPath
    }

    /// Whether a base URL with a path is a versioned root (OpenAI style: yes; Anthropic: only `/v1`).
    var providerPathIncludesVersion: Bool { provider.apiStyle == .openai }
    /// Builds the complete HTTP request for one call.
    public func prepare(
        _ request: ChatRequest, model: String, apiKey: APIKey?, options: ChatCallOptions = ChatCallOptions()
    ) throws(ProviderError) -> PreparedRequest {
        let body = try makeBody(for: request, model: model, options: options)
        var timeout = options.timeout ?? Self.duration(seconds: provider.requestTimeoutSeconds)
        // A long answer needs longer than the usual row timeout (120 s) or the gateway's per-call
        // timeout (60 s) to arrive non-streaming, so the request's expected output size sets a
        // floor (F4: a caller's timeout used to switch this off). Timeouts set under a minute are
        // deliberate fast-fail settings and are kept as they are.
        if timeout >= Self.shortestStretchableTimeout, let minimum = body.minimumTimeout, minimum > timeout {
            timeout = minimum
        }
        let httpRequest = CurlHTTPRequest(
            method: "POST",
            url: endpointURL,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")] + headers(apiKey: apiKey),
            body: Data(body.bytes),
            timeout: timeout,
            connectTimeout: Self.duration(seconds: provider.connectTimeoutSeconds),
            maxResponseBytes: ChatAdapters.maxResponseBytes
        )
        return PreparedRequest(httpRequest: httpRequest, warnings: body.warnings)
    }

    /// Provider timeouts from this length up are stretched to fit the requested output.
    static var shortestStretchableTimeout: Duration { .seconds(60) }

    /// How long a non-streaming answer of `outputTokens` may take: a minute plus an hour per
    /// 128k tokens (≈ 35 tokens/s, slow for today's models), at most 10 minutes.
    static func timeoutFor(outputTokens: Int) -> Duration {
        let seconds = min(600, 60 + 3600 * Double(max(0, outputTokens)) / 128_000)
        return .milliseconds(Int64(seconds * 1000))
    }

    static func duration(seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .seconds(1) }
        // Clamped to a day: a huge value typed into the table must not trap the conversion.
        return .milliseconds(Int64(min(seconds, 86_400) * 1000))
    }

    /// Parses a 2xx body as JSON, or fails as `malformed_response`.
    func parseSuccessBody(_ response: CurlHTTPResponse) throws(ProviderError) -> JSONValue {
        guard let json = JSONValue.parse(response.body), json.objectValue != nil else {
            throw ProviderError(
                .malformedResponse,
                message: "response body is not a JSON object (\(response.body.count) bytes)",
                httpStatus: response.status,
                requestID: response.providerRequestID)
        }
        return json
    }

    /// Some servers (proxies, OpenAI-compatible routers) answer 200 with an error object. It is
    /// classified like an error response, using the status the body names when it names one.
    func errorInSuccessBody(_ json: JSONValue, response: CurlHTTPResponse, apiKey: APIKey?) -> ProviderError {
        let named = json["error"]?["code"]?.intValue ?? json["code"]?.intValue
        var asError = response
        asError.status = named.flatMap { (400...599).contains($0) ? $0 : nil } ?? 502
        return ProviderErrorClassifier.classify(response: asError, apiKey: apiKey)
    }

    func malformed(_ what: String, _ response: CurlHTTPResponse) -> ProviderError {
        ProviderError(
            .malformedResponse, message: what, httpStatus: response.status,
            requestID: response.providerRequestID)
    }
}

/// Picks the adapter for a provider row.
public enum ChatAdapters {
    /// The most a provider's answer to one call may be (review finding P2-8): 8 MiB, far above any
    /// chat completion, against a broken or hostile endpoint filling the worker's memory (up to
    /// 256 calls in flight). A larger answer fails the attempt as `malformed_response`.
    public static let maxResponseBytes = 8 << 20

    /// The lowercased host of an http(s) URL, without port or credentials (no Foundation URL
    /// parsing: this runs on every call).
    static func host(of url: String) -> String {
        var rest = Substring(url.trimmedWhitespace)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostAndPort = authority.split(separator: "@").last ?? authority
        if hostAndPort.hasPrefix("[") {
            return String(hostAndPort.prefix { $0 != "]" }).lowercased() + "]"
        }
        return String(hostAndPort.prefix { $0 != ":" }).lowercased()
    }

    /// Anthropic-style rows get the Messages adapter. OpenAI-style rows get the OpenAI dialect
    /// when they are named `openai` or point at api.openai.com (so a local `openai` row aimed at
    /// provider-stub behaves like production), and the OpenAI-compatible dialect otherwise
    /// (HuggingFace, vLLM, Ollama, LM Studio, Groq…).
    public static func adapter(for provider: Provider) -> any ChatAdapter {
        switch provider.apiStyle {
        case .anthropic:
            return AnthropicMessagesAdapter(provider: provider)
        case .openai:
            let isOpenAI = provider.name.equalsIgnoringASCIICase("openai") || Self.host(of: provider.baseURL) == "api.openai.com"
            return OpenAIChatAdapter(provider: provider, dialect: isOpenAI ? .openAI : .compatible)
        }
    }
}

/// Builds a JSON object in insertion order, leaving out keys whose value is absent, so adapters can
/// write `body["temperature"] = request.temperature.map(JSONValue.double)` without `if let` ladders.
struct JSONObjectBuilder {
    private(set) var members: [(key: String, value: JSONValue)] = []

    init() {
        members.reserveCapacity(8)
    }

    subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    var value: JSONValue { .object(members) }
}
