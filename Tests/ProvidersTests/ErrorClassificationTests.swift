import CurlHTTP
import Foundation
@testable import Providers
import Testing

/// One row of the classification table.
struct ClassificationCase: Sendable, CustomTestStringConvertible {
    var label: String
    var status: Int
    var body: String
    var expected: ProviderErrorClass
    var retryable: Bool

    var testDescription: String { label }
}

@Suite("Error classification")
struct ErrorClassificationTests {
    static let table: [ClassificationCase] = [
        // OpenAI
        .init(label: "OpenAI 429 rate limit", status: 429,
              body: #"{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 30000, Requested 500.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
              expected: .rateLimited, retryable: true),
        .init(label: "OpenAI 429 insufficient_quota", status: 429,
              body: #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
              expected: .quotaExhausted, retryable: false),
        .init(label: "OpenAI 401 invalid key", status: 401,
              body: #"{"error":{"message":"Incorrect API key provided: sk-abc***wxyz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
              expected: .auth, retryable: false),
        .init(label: "OpenAI 403 region", status: 403,
              body: #"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
              expected: .auth, retryable: false),
        .init(label: "OpenAI 404 model", status: 404,
              body: #"{"error":{"message":"The model `gpt-5-turbo` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
              expected: .modelNotFound, retryable: false),
        .init(label: "OpenAI 400 context length", status: 400,
              body: #"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
              expected: .contextLengthExceeded, retryable: false),
        .init(label: "OpenAI 400 content policy", status: 400,
              body: #"{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}"#,
              expected: .contentFilter, retryable: false),
        .init(label: "Azure 400 content_filter", status: 400,
              body: #"{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400}}"#,
              expected: .contentFilter, retryable: false),
        .init(label: "OpenAI 400 invalid parameter", status: 400,
              body: #"{"error":{"message":"Invalid value for 'temperature': expected <= 2.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#,
              expected: .invalidRequest, retryable: false),
        .init(label: "OpenAI 400 unsupported_parameter max_tokens", status: 400,
              body: #"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "OpenAI 400 unsupported_parameter parallel_tool_calls", status: 400,
              body: #"{"error":{"message":"Unsupported parameter: 'parallel_tool_calls' is not supported with this model.","type":"invalid_request_error","param":"parallel_tool_calls","code":"unsupported_parameter"}}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "OpenAI 400 unsupported_value temperature", status: 400,
              body: #"{"error":{"message":"Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "OpenAI 400 unsupported parameter without a code (proxy; message text)", status: 400,
              body: #"{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":null,"code":null}}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "OpenAI 400 invalid_prompt", status: 400,
              body: #"{"error":{"message":"Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please try again with a different prompt: https://platform.openai.com/docs/guides/reasoning#advice-on-prompting","type":"invalid_request_error","param":null,"code":"invalid_prompt"}}"#,
              expected: .contentFilter, retryable: false),
        .init(label: "OpenAI 400 string_above_max_length on user is not a context error", status: 400,
              body: #"{"error":{"message":"Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length 80 instead.","type":"invalid_request_error","param":"user","code":"string_above_max_length"}}"#,
              expected: .invalidRequest, retryable: false),
        .init(label: "OpenAI 429 request larger than the TPM limit", status: 429,
              body: #"{"error":{"message":"Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 45000. The input or output tokens must be reduced in order to run successfully.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
              expected: .requestTooLarge, retryable: false),
        .init(label: "OpenAI 500", status: 500,
              body: #"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#,
              expected: .serverError, retryable: true),
        .init(label: "OpenAI 503 overloaded", status: 503,
              body: #"{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}"#,
              expected: .overloaded, retryable: true),
        .init(label: "502 HTML from a load balancer", status: 502,
              body: "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>",
              expected: .serverError, retryable: true),
        .init(label: "504 HTML", status: 504, body: "<html>504 Gateway Time-out</html>", expected: .timeout, retryable: true),
        .init(label: "408 empty body", status: 408, body: "", expected: .timeout, retryable: true),
        .init(label: "409 conflict", status: 409, body: "{}", expected: .serverError, retryable: true),

        // Anthropic
        .init(label: "Anthropic 529 overloaded", status: 529,
              body: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#,
              expected: .overloaded, retryable: true),
        .init(label: "Anthropic 429 rate limit", status: 429,
              body: #"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization."}}"#,
              expected: .rateLimited, retryable: true),
        .init(label: "Anthropic 429 spend limit", status: 429,
              body: #"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your monthly spend limit.","details":{"error_code":"enforced_spend_limit_reached"}}}"#,
              expected: .quotaExhausted, retryable: false),
        .init(label: "Anthropic 400 low credit (message text, last resort)", status: 400,
              body: #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#,
              expected: .quotaExhausted, retryable: false),
        .init(label: "Anthropic 402 billing", status: 402,
              body: #"{"type":"error","error":{"type":"billing_error","message":"No credit."}}"#,
              expected: .quotaExhausted, retryable: false),
        .init(label: "Anthropic 400 prompt too long (message text, last resort)", status: 400,
              body: #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210432 tokens > 200000 maximum"}}"#,
              expected: .contextLengthExceeded, retryable: false),
        .init(label: "Anthropic 413 request too large", status: 413,
              body: #"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#,
              expected: .requestTooLarge, retryable: false),
        .init(label: "Anthropic 400 input + max_tokens exceed context limit (message text)", status: 400,
              body: #"{"type":"error","error":{"type":"invalid_request_error","message":"input length and `max_tokens` exceed context limit: 178959 + 64000 > 200000, decrease input length or `max_tokens` and try again"}}"#,
              expected: .contextLengthExceeded, retryable: false),
        .init(label: "Anthropic 400 temperature and top_p together (message text)", status: 400,
              body: #"{"type":"error","error":{"type":"invalid_request_error","message":"`temperature` and `top_p` cannot both be specified for this model. Please use only one."}}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "413 without a body", status: 413, body: "", expected: .requestTooLarge, retryable: false),
        .init(label: "Anthropic 400 content filtering (message text, last resort)", status: 400,
              body: #"{"type":"error","error":{"type":"invalid_request_error","message":"Output blocked by content filtering policy"}}"#,
              expected: .contentFilter, retryable: false),
        .init(label: "Anthropic 401", status: 401,
              body: #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
              expected: .auth, retryable: false),
        .init(label: "Anthropic 403", status: 403,
              body: #"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission."}}"#,
              expected: .auth, retryable: false),
        .init(label: "Anthropic 404", status: 404,
              body: #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#,
              expected: .modelNotFound, retryable: false),
        .init(label: "Anthropic 400 invalid request", status: 400,
              body: #"{"type":"error","error":{"type":"invalid_request_error","message":"messages.0.role: Input should be 'user' or 'assistant'"}}"#,
              expected: .invalidRequest, retryable: false),
        .init(label: "Anthropic 500", status: 500,
              body: #"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
              expected: .serverError, retryable: true),
        .init(label: "Anthropic 504 timeout_error", status: 504,
              body: #"{"type":"error","error":{"type":"timeout_error","message":"Request timeout"}}"#,
              expected: .timeout, retryable: true),
        .init(label: "overloaded_error type wins over a 500 status", status: 500,
              body: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
              expected: .overloaded, retryable: true),

        // OpenAI-compatible servers
        .init(label: "vLLM 404 unknown model", status: 404,
              body: #"{"object":"error","message":"The model `llama` does not exist.","type":"NotFoundError","param":null,"code":404}"#,
              expected: .modelNotFound, retryable: false),
        .init(label: "vLLM 400 context (message text)", status: 400,
              body: #"{"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","param":null,"code":400}"#,
              expected: .contextLengthExceeded, retryable: false),
        .init(label: "TGI 422 validation", status: 422,
              body: #"{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}"#,
              expected: .contextLengthExceeded, retryable: false),
        .init(label: "TGI 422 other validation", status: 422,
              body: #"{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}"#,
              expected: .invalidRequest, retryable: false),
        .init(label: "Ollama 400 model without tool support (message text)", status: 400,
              body: #"{"error":{"message":"registry.ollama.ai/library/gemma:2b does not support tools","type":"api_error","param":null,"code":null}}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "vLLM 400 tool choice without a parser (message text)", status: 400,
              body: #"{"object":"error","message":"\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set","type":"BadRequestError","param":null,"code":400}"#,
              expected: .unsupportedParameter, retryable: false),
        .init(label: "HuggingFace router 400 unsupported model (message text)", status: 400,
              body: #"{"error":{"message":"The requested model 'org/none' is not supported by any provider you have enabled.","type":"invalid_request_error","param":"model","code":"model_not_supported"}}"#,
              expected: .modelNotFound, retryable: false),
        .init(label: "Ollama 404", status: 404,
              body: #"{"error":"model \"llama9\" not found, try pulling it first"}"#,
              expected: .modelNotFound, retryable: false),
        .init(label: "FastAPI 503 detail", status: 503, body: #"{"detail":"Service Unavailable"}"#, expected: .overloaded, retryable: true),
    ]

    @Test("status and body → class and retryability", arguments: table)
    func classify(row: ClassificationCase) {
        let error = ProviderErrorClassifier.classify(response: response(row.status, row.body))
        #expect(error.errorClass == row.expected)
        #expect(error.isRetryable == row.retryable)
        #expect(error.httpStatus == row.status)
    }

    @Test("a body without a message gets a placeholder naming the status")
    func placeholderMessage() {
        #expect(ProviderErrorClassifier.classify(response: response(502, "")).message == "HTTP 502 without an error message")
        #expect(ProviderErrorClassifier.classify(response: response(400, #"{"error":{"message":"bad things"}}"#)).message == "bad things")
    }

    @Test("provider type and code are kept for the record")
    func keepsTypeAndCode() {
        let error = ProviderErrorClassifier.classify(response: response(429, Self.table[1].body))
        #expect(error.providerErrorType == "insufficient_quota")
        #expect(error.providerErrorCode == "insufficient_quota")
        #expect(error.message.hasPrefix("You exceeded your current quota"))
    }

    @Test("long bodies are truncated in the message")
    func truncation() {
        let error = ProviderErrorClassifier.classify(response: response(502, String(repeating: "x", count: 10_000)))
        #expect(error.message.count <= 501)
    }

    @Test("the gateway action of every class (the table in docs/providers.md)")
    func gatewayActions() {
        let expected: [ProviderErrorClass: ProviderErrorAction] = [
            .rateLimited: .retry, .overloaded: .retry, .serverError: .retry, .timeout: .retry,
            .connection: .retry, .malformedResponse: .retry,
            .quotaExhausted: .nextModel, .auth: .nextModel, .modelNotFound: .nextModel,
            .contextLengthExceeded: .nextModel, .unsupportedParameter: .nextModel, .requestTooLarge: .nextModel,
            .contentFilter: .nextModel, .missingCredentials: .nextModel, .providerMisconfigured: .nextModel,
            .invalidRequest: .failJob, .streamInterrupted: .failJob,
            .cancelled: .release,
        ]
        #expect(Set(expected.keys) == Set(ProviderErrorClass.allCases))
        for errorClass in ProviderErrorClass.allCases {
            #expect(errorClass.gatewayAction == expected[errorClass], "\(errorClass)")
            #expect(errorClass.isRetryable == (expected[errorClass] == .retry), "\(errorClass)")
            let fallback = expected[errorClass] == .retry || expected[errorClass] == .nextModel
            #expect(errorClass.allowsFallback == fallback, "\(errorClass)")
            #expect(ProviderError(errorClass, message: "x").gatewayAction == errorClass.gatewayAction)
        }
    }

    @Test("stored raw values never change")
    func rawValues() {
        let raw = ProviderErrorClass.allCases.map(\.rawValue)
        for existing in ["rate_limited", "quota_exhausted", "overloaded", "server_error", "timeout", "connection", "auth",
                         "model_not_found", "context_length_exceeded", "invalid_request", "content_filter",
                         "missing_credentials", "malformed_response"] {
            #expect(raw.contains(existing))
        }
        #expect(ProviderErrorClass(rawValue: "unsupported_parameter") == .unsupportedParameter)
        #expect(ProviderErrorClass(rawValue: "request_too_large") == .requestTooLarge)
        #expect(ProviderErrorClass(rawValue: "cancelled") == .cancelled)
    }

    @Test("transport failures", arguments: [
        (CurlHTTPError.timeout, ProviderErrorClass.timeout),
        (.timeoutAfterSend, .timeout),
        (.connectionRefused, .connection),
        (.nameResolution(host: "api.example.com"), .connection),
        (.tls("certificate verify failed"), .connection),
        (.connection("reset by peer"), .connection),
        (.transfer(code: 56, message: "Failure when receiving data"), .connection),
        (.shutdown, .connection),
        (.invalidURL("::"), .providerMisconfigured),
        (.unsupportedScheme("ftp"), .providerMisconfigured),
    ])
    func transport(error: CurlHTTPError, expected: ProviderErrorClass) {
        let classified = ProviderErrorClassifier.classify(transportError: error)
        #expect(classified.errorClass == expected)
        #expect(classified.httpStatus == nil)
        #expect(classified.afterSend == (error == .timeoutAfterSend))
    }

    @Test("an API key echoed in a provider message is redacted")
    func redactsKey() {
        let key = APIKey("sk-live-0123456789abcdef")
        let body = #"{"error":{"message":"Incorrect API key provided: sk-live-0123456789abcdef.","type":"invalid_request_error","code":"invalid_api_key"}}"#
        let error = ProviderErrorClassifier.classify(response: response(401, body), apiKey: key)
        #expect(!error.message.contains(key.value))
        #expect(!error.description.contains(key.value))
        #expect(error.message.contains("[redacted]"))
        #expect(!"\(key)".contains(key.value))
        #expect(!String(reflecting: key).contains(key.value))
    }
}

@Suite("Retry-After")
struct RetryAfterTests {
    static let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT

    @Test("header values", arguments: [
        ("120", Duration.seconds(120)),
        ("0", .zero),
        ("1.5", .milliseconds(1500)),
        ("Wed, 21 Oct 2015 07:28:30 GMT", .seconds(30)),
        ("Wednesday, 21-Oct-15 07:29:00 GMT", .seconds(60)),
        ("Wed Oct 21 07:28:10 2015", .seconds(10)),
        ("Wed, 21 Oct 2015 07:00:00 GMT", .zero),
    ])
    func values(text: String, expected: Duration) {
        #expect(RetryAfter.parse(headers: [("Retry-After", text)], now: Self.now) == expected)
    }

    @Test("asctime's padded single-digit day")
    func asctimePadding() {
        let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.parse(headers: [("retry-after", "Sun Nov  6 08:49:47 1994")], now: now) == .seconds(10))
    }

    @Test("retry-after-ms wins over Retry-After")
    func millisecondsFirst() {
        let headers: [(name: String, value: String)] = [("retry-after", "20"), ("retry-after-ms", "250.5")]
        #expect(RetryAfter.parse(headers: headers, now: Self.now) == .milliseconds(251))
    }

    @Test("hostile values are clamped to a day instead of trapping", arguments: [
        [("Retry-After", "1e17")], [("Retry-After", "99999999999999999")], [("retry-after-ms", "1e19")],
        [("retry-after-ms", "99999999999999999999999")], [("Retry-After", "1e400")], [("retry-after-ms", "inf")],
        [("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")],
    ] as [[(name: String, value: String)]])
    func clamped(headers: [(name: String, value: String)]) {
        #expect(RetryAfter.parse(headers: headers, now: Self.now) == .seconds(86_400))
    }

    @Test("negative and NaN values", arguments: [("-5", Duration.zero), ("nan", nil)] as [(String, Duration?)])
    func negative(text: String, expected: Duration?) {
        #expect(RetryAfter.parse(headers: [("Retry-After", text)], now: Self.now) == expected)
    }

    @Test("Anthropic reset headers of an exhausted limit, when Retry-After is absent")
    func anthropicReset() {
        let headers: [(name: String, value: String)] = [
            ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2015-10-21T07:28:20Z"),
            ("anthropic-ratelimit-tokens-remaining", "12000"),
            ("anthropic-ratelimit-tokens-reset", "2015-10-21T07:29:00Z"),
            ("anthropic-ratelimit-output-tokens-remaining", "0"),
            ("anthropic-ratelimit-output-tokens-reset", "2015-10-21T07:28:30.500Z"),
        ]
        // The tokens limit is not exhausted, so its later reset does not count.
        #expect(RetryAfter.parse(headers: headers, now: Self.now) == .milliseconds(30_500))
        #expect(RetryAfter.parse(headers: headers + [("retry-after", "7")], now: Self.now) == .seconds(7))
    }

    @Test("OpenAI x-ratelimit-reset durations of an exhausted limit")
    func openAIReset() {
        let headers: [(name: String, value: String)] = [
            ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-remaining-tokens", "100"), ("x-ratelimit-reset-tokens", "1h"),
        ]
        #expect(RetryAfter.parse(headers: headers, now: Self.now) == .seconds(360))
        #expect(RetryAfter.parseGoDuration("1h2m3.5s") == 3723.5)
        #expect(RetryAfter.parseGoDuration("20ms") == 0.02)
        #expect(RetryAfter.parseGoDuration("6m0s") == 360)
        #expect(RetryAfter.parseGoDuration("soon") == nil)
        #expect(RetryAfter.parseGoDuration("5") == nil)
    }

    @Test("absent or unreadable values give nil", arguments: [[], [("Retry-After", "soon")], [("X-Other", "5")]] as [[(name: String, value: String)]])
    func absent(headers: [(name: String, value: String)]) {
        #expect(RetryAfter.parse(headers: headers, now: Self.now) == nil)
    }
}
