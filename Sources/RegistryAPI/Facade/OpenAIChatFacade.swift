import ChatModel
import JSON

/// OpenAI Chat Completions ⇄ the queue: a `POST /v1/chat/completions` body becomes the job's
/// neutral request (the same format minus `model`), and a succeeded job's result becomes a
/// `chat.completion` object or its SSE chunks.
enum OpenAIChatFacade {
    /// Members of the neutral request (validated by `ChatRequest(json:)`).
    static let chatFields: Set<String> = [
        "messages", "tools", "tool_choice", "parallel_tool_calls", "stop", "temperature", "top_p", "max_tokens",
        "max_completion_tokens", "frequency_penalty", "presence_penalty", "response_format", "user", "seed",
        "reasoning_effort", "verbosity", "safety_identifier", "prompt_cache_key", "reasoning", "top_k",
    ]
    /// Members about the call itself. `n` must be 1 and `logprobs` false; `store`, `metadata` and
    /// `service_tier` are accepted and ignored (they concern OpenAI's own storage and billing).
    static let callFields: Set<String> = ["model", "stream", "stream_options", "n", "logprobs", "store", "metadata", "service_tier"]

    static func parse(_ document: JSONValue) throws(FacadeError) -> FacadeCall {
        guard case .object(let members) = document else { throw .invalidRequest("the request body must be a JSON object") }
        for member in members where !chatFields.contains(member.key) && !callFields.contains(member.key) {
            throw .invalidRequest("unsupported parameter '\(member.key)'", param: member.key, code: "unsupported_parameter")
        }
        let model = try FacadeParsing.model(document["model"])
        let stream = try FacadeParsing.optionalBool(document["stream"], "stream") ?? false
        var includeUsage = false
        if let options = document["stream_options"], !options.isNull {
            guard options.isObject else { throw .invalidRequest("stream_options must be an object", param: "stream_options") }
            includeUsage = try FacadeParsing.optionalBool(options["include_usage"], "stream_options.include_usage") ?? false
        }
        if let n = document["n"], !n.isNull, n.intValue != 1 {
            throw .invalidRequest("only n = 1 is supported", param: "n", code: "unsupported_value")
        }
        if try FacadeParsing.optionalBool(document["logprobs"], "logprobs") == true {
            throw .invalidRequest("logprobs are not supported", param: "logprobs", code: "unsupported_value")
        }
        let chat = JSONValue.object(members.filter { chatFields.contains($0.key) && !$0.value.isNull })
        let request: ChatRequest
        do {
            request = try ChatRequest(json: chat)
        } catch {
            throw .invalidRequest(error.description, param: error.path.isEmpty ? nil : error.path)
        }
        try FacadeParsing.check(request)
        return FacadeCall(model: model, request: request, stream: stream, includeUsage: includeUsage)
    }

    // MARK: - Answers

    /// A refusal is answered as OpenAI answers one: `message.refusal` with finish reason `stop`
    /// (the neutral result says `content_filter`, which the SDKs' `.parse()` raises on instead of
    /// returning the refusal).
    static func finishReason(_ result: FacadeResult) -> String {
        if let refusal = result.refusal, !refusal.isEmpty, result.finishReason == "content_filter" { return "stop" }
        switch result.finishReason {
        case "stop"?, "length"?, "tool_calls"?, "content_filter"?: return result.finishReason ?? "stop"
        default: return result.toolCalls.isEmpty ? "stop" : "tool_calls"
        }
    }

    /// nil when the provider reported none: the member is then left out (the official schemas
    /// do not allow `usage: null`).
    static func usage(_ result: FacadeResult) -> JSONValue? {
        guard let usage = result.usage else { return nil }
        return .object([
            ("prompt_tokens", .int(usage.inputTokens)),
            ("completion_tokens", .int(usage.outputTokens)),
            ("total_tokens", .int(usage.inputTokens + usage.outputTokens)),
            ("prompt_tokens_details", .object([("cached_tokens", .int(usage.cachedInputTokens))])),
            ("completion_tokens_details", .object([("reasoning_tokens", .int(usage.reasoningTokens))])),
        ])
    }

    static func toolCalls(_ result: FacadeResult, indexed: Bool) -> JSONValue {
        .array(result.toolCalls.enumerated().map { index, call in
            var members: [(key: String, value: JSONValue)] = []
            if indexed { members.append(("index", .int(index))) }
            members += [
                ("id", .string(call.id)), ("type", "function"),
                ("function", .object([("name", .string(call.name)), ("arguments", .string(call.arguments))])),
            ]
            return .object(members)
        })
    }

    /// The `chat.completion` object. `created` is the job's finish time (Unix seconds).
    static func completion(_ result: FacadeResult, jobID: Int64, created: Int) -> JSONValue {
        let refused = result.refusal.map { !$0.isEmpty } ?? false
        var message: [(key: String, value: JSONValue)] = [
            ("role", "assistant"),
            ("content", refused ? .null : result.content.map(JSONValue.string) ?? .null),
            ("refusal", result.refusal.map(JSONValue.string) ?? .null),
        ]
        if !result.toolCalls.isEmpty { message.append(("tool_calls", toolCalls(result, indexed: false))) }
        // No `system_fingerprint`: Switchboard has none, and the schemas do not allow null.
        var completion: [(key: String, value: JSONValue)] = [
            ("id", .string(responseID(jobID))),
            ("object", "chat.completion"),
            ("created", .int(created)),
            ("model", .string(result.model)),
            ("choices", .array([.object([
                ("index", 0), ("message", .object(message)), ("logprobs", .null), ("finish_reason", .string(finishReason(result))),
            ])])),
        ]
        if let usage = usage(result) { completion.append(("usage", usage)) }
        return .object(completion)
    }

    /// The last chunk of a stream with `stream_options.include_usage`: no choices, the usage
    /// (zeros when the provider reported none: the SDKs expect the member on this chunk).
    static func usageChunk(_ result: FacadeResult, jobID: Int64, created: Int) -> JSONValue {
        .object([
            ("id", .string(responseID(jobID))), ("object", "chat.completion.chunk"), ("created", .int(created)),
            ("model", .string(result.model)), ("choices", .array([])),
            ("usage", usage(result) ?? .object([("prompt_tokens", 0), ("completion_tokens", 0), ("total_tokens", 0)])),
        ])
    }

    static func responseID(_ jobID: Int64) -> String { "chatcmpl-sb\(jobID)" }

    /// The whole answer as `chat.completion.chunk` events ending in `data: [DONE]`: the role, the
    /// text, each tool call, the refusal, the finish reason, and (when asked) the usage.
    static func stream(_ result: FacadeResult, jobID: Int64, created: Int, includeUsage: Bool) -> [UInt8] {
        func chunk(_ delta: JSONValue, finish: String? = nil) -> JSONValue {
            .object([
                ("id", .string(responseID(jobID))), ("object", "chat.completion.chunk"), ("created", .int(created)),
                ("model", .string(result.model)),
                ("choices", .array([.object([
                    ("index", 0), ("delta", delta), ("logprobs", .null), ("finish_reason", finish.map(JSONValue.string) ?? .null),
                ])])),
            ])
        }
        var events: [JSONValue] = [chunk(.object([("role", "assistant"), ("content", "")]))]
        if let content = result.content, !content.isEmpty { events.append(chunk(.object([("content", .string(content))]))) }
        if case .array(let calls) = toolCalls(result, indexed: true) {
            for call in calls { events.append(chunk(.object([("tool_calls", .array([call]))]))) }
        }
        if let refusal = result.refusal, !refusal.isEmpty { events.append(chunk(.object([("refusal", .string(refusal))]))) }
        events.append(chunk(.object([]), finish: finishReason(result)))
        if includeUsage { events.append(usageChunk(result, jobID: jobID, created: created)) }
        var bytes: [UInt8] = []
        for event in events { FacadeSSE.append(data: event, to: &bytes) }
        bytes += Array("data: [DONE]\n\n".utf8)
        return bytes
    }
}

/// Server-sent events framing.
enum FacadeSSE {
    /// `event: <name>` (when given), then `data: <json>` and a blank line. The JSON writer never
    /// emits a raw newline (control characters are escaped), so one `data:` line holds the event.
    static func append(event: String? = nil, data: JSONValue, to bytes: inout [UInt8]) {
        if let event { bytes += Array("event: \(event)\n".utf8) }
        bytes += Array("data: ".utf8)
        bytes += data.encodedBytes()
        bytes += Array("\n\n".utf8)
    }
}

/// Checks shared by both formats.
enum FacadeParsing {
    static let maximumModelLength = 256

    static func model(_ value: JSONValue?) throws(FacadeError) -> String {
        guard let value, !value.isNull else { throw .invalidRequest("model is required: agent:<name>, agent:<uuid> or a catalog model id", param: "model") }
        guard let text = value.stringValue, !text.isEmpty, text.count <= maximumModelLength else {
            throw .invalidRequest("model must be a string of 1–\(maximumModelLength) characters", param: "model")
        }
        return text
    }

    static func optionalBool(_ value: JSONValue?, _ name: String) throws(FacadeError) -> Bool? {
        guard let value, !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw .invalidRequest("\(name) must be true or false", param: name) }
        return flag
    }

    /// The same value checks as `POST /api/jobs`.
    static func check(_ request: ChatRequest) throws(FacadeError) {
        if request.messages.isEmpty { throw .invalidRequest("messages must contain at least one message", param: "messages") }
        if let issue = JobInput.checkSampling(request).first { throw .invalidRequest("\(issue.field) \(issue.message)", param: issue.field) }
    }
}
