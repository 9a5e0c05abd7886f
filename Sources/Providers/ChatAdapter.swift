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

/// Per-call settings that are not part of the neutral request.
public struct ChatCallOptions: Sendable, Equatable {
    /// `max_tokens` to send when the request sets none and the API requires one (Anthropic);
    /// the gateway passes the model's catalog `max_output_tokens` here.
    public var defaultMaxTokens: Int?
    /// Overrides the provider's whole-request timeout for this call.
    public var timeout: Duration?

    public init(defaultMaxTokens: Int? = nil, timeout: Duration? = nil) {
        self.defaultMaxTokens = defaultMaxTokens
        self.timeout = timeout
    }
}

/// A request body and the parts of the neutral request that were left out of it.
public struct TranslatedBody: Sendable, Equatable {
    public var json: JSONValue
    /// Human-readable notes such as "frequency_penalty is not supported by Anthropic; dropped".
    public var warnings: [String]

    public init(json: JSONValue, warnings: [String] = []) {
        self.json = json
        self.warnings = warnings
    }
}

/// An HTTP request ready to send, with the translation warnings to attach to the result.
public struct PreparedRequest: Sendable {
    public var httpRequest: CurlHTTPRequest
    public var warnings: [String]
}

extension ChatAdapter {
    /// The full URL: the base URL (which carries no `/v1`) plus the endpoint path. A base URL
    /// that already ends in `/v1` is tolerated, since that is how most providers document it.
    public var endpointURL: String {
        var base = provider.baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1"), endpointPath.hasPrefix("/v1/") {
            base.removeLast(3)
        }
        return base + endpointPath
    }

    /// Builds the complete HTTP request for one call.
    public func prepare(
        _ request: ChatRequest, model: String, apiKey: APIKey?, options: ChatCallOptions = ChatCallOptions()
    ) throws(ProviderError) -> PreparedRequest {
        let body = try makeBody(for: request, model: model, options: options)
        let httpRequest = CurlHTTPRequest(
            method: "POST",
            url: endpointURL,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")] + headers(apiKey: apiKey),
            body: body.json.encoded(),
            timeout: options.timeout ?? Self.duration(seconds: provider.requestTimeoutSeconds),
            connectTimeout: Self.duration(seconds: provider.connectTimeoutSeconds)
        )
        return PreparedRequest(httpRequest: httpRequest, warnings: body.warnings)
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
                requestID: response.header("x-request-id") ?? response.header("request-id"))
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
            requestID: response.header("x-request-id") ?? response.header("request-id"))
    }
}

/// Picks the adapter for a provider row.
public enum ChatAdapters {
    /// Anthropic-style rows get the Messages adapter. OpenAI-style rows get the OpenAI dialect
    /// when they are named `openai` or point at api.openai.com (so a local `openai` row aimed at
    /// provider-stub behaves like production), and the OpenAI-compatible dialect otherwise
    /// (HuggingFace, vLLM, Ollama, LM Studio, Groq…).
    public static func adapter(for provider: Provider) -> any ChatAdapter {
        switch provider.apiStyle {
        case .anthropic:
            return AnthropicMessagesAdapter(provider: provider)
        case .openai:
            let host = URLComponents(string: provider.baseURL)?.host?.lowercased() ?? ""
            let isOpenAI = host == "api.openai.com" || provider.name.lowercased() == "openai"
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
