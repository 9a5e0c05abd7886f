/// What OpenAI's Chat Completions API refuses beyond field shapes, with its own wording and codes.
enum StubOpenAIRules {
    /// Request fields Chat Completions takes; anything else is "Unrecognized request argument".
    static let knownFields: Set<String> = [
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "stop", "temperature", "top_p",
        "max_tokens", "max_completion_tokens", "frequency_penalty", "presence_penalty", "response_format",
        "user", "seed", "n", "stream", "stream_options", "logprobs", "top_logprobs", "logit_bias",
        "reasoning_effort", "metadata", "store", "modalities", "audio", "prediction", "service_tier",
        "verbosity", "web_search_options", "functions", "function_call", "safety_identifier", "prompt_cache_key",
    ]

    static func check(_ body: StubJSON) -> StubValidationError? {
        for member in body.object ?? [] where !knownFields.contains(member.key) {
            return .init("Unrecognized request argument supplied: \(member.key)")
        }
        if let stops = body["stop"]?.array, stops.count > 4 {
            return .init(
                "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length \(stops.count) instead.",
                param: "stop", code: "array_above_max_length")
        }
        if let user = body["user"]?.string, user.count > 64 {
            return .init(
                "Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length \(user.count) instead.",
                param: "user", code: "string_above_max_length")
        }
        if let violation = checkReasoningModel(body) { return violation }
        return checkToolMessages(body["messages"]?.array ?? [])
    }

    /// o-series and gpt-5 (not gpt-5-chat) refuse max_tokens and the sampling parameters.
    static func checkReasoningModel(_ body: StubJSON) -> StubValidationError? {
        let name = Substring((body["model"]?.string ?? "").split(separator: "/").last ?? "").lowercased()
        let oSeries = name.count >= 2 && name.first == "o" && name.dropFirst().first.map { ("1"..."9").contains($0) } == true
        guard oSeries || (name.hasPrefix("gpt-5") && !name.hasPrefix("gpt-5-chat")) else { return nil }
        if body["max_tokens"] != nil {
            return .init(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                param: "max_tokens", code: "unsupported_parameter")
        }
        if let temperature = body["temperature"]?.double, temperature != 1 {
            return .init(
                "Unsupported value: 'temperature' does not support \(body["temperature"]?.scalarText ?? "") with this model. Only the default (1) value is supported.",
                param: "temperature", code: "unsupported_value")
        }
        var refused = ["top_p", "presence_penalty", "frequency_penalty", "stop", "logprobs"]
        if oSeries { refused.append("parallel_tool_calls") }
        for parameter in refused where body[parameter] != nil {
            return .init(
                "Unsupported parameter: '\(parameter)' is not supported with this model.",
                param: parameter, code: "unsupported_parameter")
        }
        return nil
    }

    /// A `tool` message answers a call of the assistant turn before it; every call is answered.
    static func checkToolMessages(_ messages: [StubJSON]) -> StubValidationError? {
        var open: [String] = []
        var openSince = 0
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.string ?? ""
            if role == "tool" {
                let id = message["tool_call_id"]?.string ?? ""
                guard let position = open.firstIndex(of: id) else {
                    return .init(
                        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                        param: "messages.[\(index)].role")
                }
                open.remove(at: position)
                continue
            }
            if !open.isEmpty {
                return .init(
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: \(open.joined(separator: ", "))",
                    param: "messages.[\(openSince)].role")
            }
            open = message["tool_calls"]?.array?.compactMap { $0["id"]?.string } ?? []
            openSince = index
        }
        return nil
    }
}
