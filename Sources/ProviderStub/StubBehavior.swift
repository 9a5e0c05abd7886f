/// What a request asks the stub to do, read from its model name.
///
/// The model's last path component is split on `-`; when its first word is `stub`, the following
/// words are directives, in any order and combination, and unknown words are ignored (so
/// `stub-gpt-4o-latency-200ms` works). Any other model name gets a plain, immediate reply.
///
/// | directive | effect |
/// |---|---|
/// | `latency-500ms`, `latency-2s` | wait before answering |
/// | `error-429` (any status) | answer with that status and the provider's error body |
/// | `error-quota` | quota exhausted (OpenAI `insufficient_quota`, Anthropic low credit) |
/// | `error-context` | context length exceeded |
/// | `error-filter` | content-policy rejection |
/// | `rate-30` | the preceding error happens on 30% of requests (seeded) |
/// | `after-5` | `Retry-After` of 5 seconds on 429/503/529 (default 1) |
/// | `hang` | never answer (until the configured hang duration) |
/// | `gather-2000` | hold each request until 2,000 requests for this model are in flight |
/// | `malformed` | 200 with a truncated JSON body |
/// | `chaos-30` | 30% of requests fail, a third each as 429, 500 and a hang (seeded) |
/// | `no-usage` | omit usage from the reply |
/// | `plain` | the injected error's body is plain text, no error object (vLLM/TGI style) |
/// | `usage-max`, `usage-negative`, `usage-int4` | every token count is `Int.max`, −1 or 2³¹ (a hostile provider) |
/// | `cache` | report half of the prompt as served from the prompt cache (Anthropic requests with `cache_control` markers instead get real cache semantics: the prefix up to the last marker is written by the first request and read by later ones) |
/// | `reasoning` | report reasoning tokens (OpenAI format) |
/// | `refusal` | the model refuses (OpenAI `message.refusal` with finish_reason `stop`, Anthropic `refusal`) |
/// | `tool` | call a tool whenever tools are offered and tool_choice allows |
/// | `quota-5` | a provider's rate limit: at most 5 requests for this model per window, the rest 429 with `Retry-After` until the window ends |
/// | `window-2s` | the `quota` window's length (default 60 s), windows aligned on the clock (epoch multiples) |
///
/// Streamed replies (`stream: true`; a token is a word of text or a piece of tool arguments):
///
/// | directive | effect |
/// |---|---|
/// | `pace-20ms` | wait between tokens (added to `--token-delay-ms`) |
/// | `firsttoken-2s` | wait before the first token (headers already sent) |
/// | `errorevent-3` | an error event after 3 tokens (`errorevent-0`: before the first) |
/// | `stall-3` | after 3 tokens only `: ping` comments, until the hang duration |
/// | `cut-3` | close the connection after 3 tokens, without the stream's end |
/// | `garble-3` | a chunk that is not JSON after 3 tokens |
struct StubBehavior: Equatable {
    enum InjectedError: Equatable {
        case status(Int)
        case quota
        case contextLength
        case contentFilter
    }

    var latency: Duration = .zero
    var error: InjectedError?
    /// Percent of requests the error applies to; `nil` means all.
    var errorRatePercent: Double?
    var retryAfterSeconds = 1
    var hang = false
    /// Requests for this model wait until this many are in flight together.
    var gatherCount: Int?
    var malformed = false
    /// Percent of requests that fail with a 429, a 500 or a hang, in equal shares.
    var chaosPercent: Double?
    var omitUsage = false
    var plainErrorBody = false
    /// Reported for every token count instead of the real ones.
    var hostileTokenCount: Int?
    var reportCache = false
    var reportReasoning = false
    var refuse = false
    var forceToolCall = false
    /// Streamed replies: between tokens, and before the first.
    var tokenDelay: Duration = .zero
    var firstTokenDelay: Duration = .zero
    var streamFault: StubStreamFault?
    /// Requests of this model the stub accepts per window (`quota-N`); the rest get 429.
    var quotaLimit: Int?
    var quotaWindow: Duration = .seconds(60)

    init() {}

    init(model: String) {
        let name = model.split(separator: "/").last.map(String.init) ?? model
        let words = name.lowercased().split(separator: "-").map(String.init)
        guard words.first == "stub" else { return }
        var index = 1
        func next() -> String? {
            index += 1
            return index < words.count ? words[index] : nil
        }
        while index < words.count {
            switch words[index] {
            case "latency":
                if let word = next(), let duration = Self.duration(word) { latency = duration }
            case "error":
                switch next() {
                case "quota": error = .quota
                case "context": error = .contextLength
                case "filter": error = .contentFilter
                case let word?: if let status = Int(word), (400...599).contains(status) { error = .status(status) }
                case nil: break
                }
            case "rate":
                if let word = next(), let percent = Double(word) { errorRatePercent = min(100, max(0, percent)) }
            case "after":
                if let word = next(), let seconds = Int(word) { retryAfterSeconds = max(0, seconds) }
            case "hang": hang = true
            case "gather":
                if let word = next(), let count = Int(word), count > 0 { gatherCount = count }
            case "malformed": malformed = true
            case "chaos":
                if let word = next(), let percent = Double(word) { chaosPercent = min(100, max(0, percent)) }
            case "no":
                if index + 1 < words.count, words[index + 1] == "usage" {
                    omitUsage = true
                    index += 1
                }
            case "usage":
                switch next() {
                case "max": hostileTokenCount = Int.max
                case "negative": hostileTokenCount = -1
                case "int4": hostileTokenCount = 1 << 31
                default: break
                }
            case "plain": plainErrorBody = true
            case "cache", "cached": reportCache = true
            case "reasoning": reportReasoning = true
            case "refusal", "refuse": refuse = true
            case "tool", "tools": forceToolCall = true
            case "pace":
                if let word = next(), let duration = Self.duration(word) { tokenDelay = duration }
            case "firsttoken":
                if let word = next(), let duration = Self.duration(word) { firstTokenDelay = duration }
            case "errorevent", "stall", "cut", "garble":
                let kind: StubStreamFault.Kind = switch words[index] {
                case "errorevent": .errorEvent
                case "stall": .stall
                case "cut": .cut
                default: .garble
                }
                // Only with its count (`cut-3`): in a name such as `stub-cut-latency-2s` the next
                // word is another directive and stays one.
                guard index + 1 < words.count, let count = Int(words[index + 1]), count >= 0 else { break }
                index += 1
                streamFault = StubStreamFault(kind: kind, afterTokens: count)
            case "quota":
                // `error-quota` is consumed by `error`; here `quota-N`.
                if let word = next(), let limit = Int(word), limit > 0 { quotaLimit = limit }
            case "window":
                if let word = next(), let duration = Self.duration(word), duration > .zero { quotaWindow = duration }
            default: break
            }
            index += 1
        }
    }

    /// `500ms`, `2s`, or a bare number of milliseconds.
    static func duration(_ word: String) -> Duration? {
        if word.hasSuffix("ms"), let value = Int(word.dropLast(2)) { return .milliseconds(value) }
        if word.hasSuffix("s"), let value = Int(word.dropLast()) { return .seconds(value) }
        if let value = Int(word) { return .milliseconds(value) }
        return nil
    }
}
